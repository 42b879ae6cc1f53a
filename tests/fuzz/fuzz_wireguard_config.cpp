// libFuzzer target: the launcher's reading of a wg-quick configuration
// (src/wireguard_config.cpp): detect and parse, with a resolver stub (no real DNS),
// then wireguard-go's UAPI request made from it; the text also as wireguard-go's
// answers to the supervisor's watch of the tunnel.
// Input: the file's text.
#include "dns.hpp"
#include "wireguard_config.hpp"

#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

using namespace nsjv;
using namespace nsjv::wireguard;

namespace {

std::vector<std::string> resolve(const std::string& host, std::string& error)
{
    if (host.find("unresolvable") != std::string::npos) {
        error = "Name or service not known";
        return {};
    }
    return {"203.0.113.10"};
}

[[noreturn]] void broken(const char* what, const std::string& detail)
{
    fprintf(stderr, "fuzz property: %s:\n%s\n", what, detail.c_str());
    abort();
}

// An error message never quotes a key: no 40 characters of base64 in a row.
void check_error(const std::string& error)
{
    size_t run = 0;
    for (char c : error) {
        run = (isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=') ? run + 1
                                                                                           : 0;
        if (run >= 40)
            broken("an error message holds what may be a key", error);
    }
    if (!error.starts_with("line ") && !error.starts_with("no ["))
        broken("an error message names no line", error);
}

// Canonical text, a length the family allows and, for an allowed IP, no host bits.
void check_prefix(const Prefix& p, bool network)
{
    unsigned char bytes[16] = {};
    char text[INET6_ADDRSTRLEN] = {};
    const int max = p.family == AF_INET ? 32 : 128;

    if ((p.family != AF_INET && p.family != AF_INET6) || p.length < 0 || p.length > max)
        broken("a prefix has a bad family or length", p.text());
    if (inet_pton(p.family, p.address.c_str(), bytes) != 1 ||
        !inet_ntop(p.family, bytes, text, sizeof text) || p.address != text)
        broken("a prefix's address is not in inet_ntop's spelling", p.text());
    for (int bit = p.length; network && bit < max; bit++)
        if (bytes[bit / 8] & (0x80 >> (bit % 8)))
            broken("an allowed IP has host bits set", p.text());
}

// Only the keys wireguard-go's set request has, one "key=value" per line, ending
// with the blank line that submits it.
void check_uapi(const std::string& uapi, const Config& c)
{
    static const std::set<std::string> keys = {"set",
                                               "private_key",
                                               "listen_port",
                                               "replace_peers",
                                               "public_key",
                                               "preshared_key",
                                               "endpoint",
                                               "persistent_keepalive_interval",
                                               "replace_allowed_ips",
                                               "allowed_ip"};
    size_t peers = 0, ips = 0, expected_ips = 0;

    if (!uapi.starts_with("set=1\nprivate_key=") || !uapi.ends_with("\n\n"))
        broken("the UAPI request does not start with set=1 or end with a blank line", uapi);
    for (size_t pos = 0; pos < uapi.size() - 1;) {
        size_t end = uapi.find('\n', pos);
        std::string line = uapi.substr(pos, end - pos);
        size_t eq = line.find('=');
        if (eq == std::string::npos || eq + 1 == line.size() || !keys.count(line.substr(0, eq)) ||
            line.find_first_of("\r\t =", eq + 1) != std::string::npos)
            broken("the UAPI request has a line that is not one known key=value", line);
        peers += line.starts_with("public_key=");
        ips += line.starts_with("allowed_ip=");
        pos = end + 1;
    }
    for (const auto& p : c.peers)
        expected_ips += p.allowed_ips.size();
    if (peers != c.peers.size() || ips != expected_ips)
        broken("the UAPI request has not every peer and allowed IP", uapi);
}

void check_config(const Config& c)
{
    bool ipv6 = false;
    for (const auto& a : c.addresses) {
        check_prefix(a, false);
        ipv6 |= a.family == AF_INET6;
    }
    for (const auto& s : c.dns)
        if (!dns::valid_server(s))
            broken("a DNS server is not an address", s);
    for (const auto& s : c.search)
        if (!dns::valid_domain(s))
            broken("a search domain is not a domain", s);
    if (c.mtu && (c.mtu < 576 || c.mtu > 9000 || (ipv6 && c.mtu < 1280)))
        broken("the MTU is out of range", std::to_string(c.mtu));
    if (c.addresses.empty() || c.peers.empty())
        broken("a configuration without an address or a peer was accepted", "");
    for (const auto& p : c.peers) {
        in_addr a{};
        for (const auto& ip : p.allowed_ips)
            check_prefix(ip, true);
        if (!p.endpoint_host.empty() &&
            (inet_pton(AF_INET, p.endpoint_address.c_str(), &a) != 1 || p.endpoint_port == 0))
            broken("an endpoint is not an IPv4 address and a port", p.endpoint_address);
        if (p.keepalive > 65535)
            broken("a keepalive is out of range", std::to_string(p.keepalive));
    }
}

// The configuration written out again as wg-quick text.
std::string render(const Config& c)
{
    std::string out = "[Interface]\nPrivateKey = " + encode_key(c.private_key) + "\n";
    if (c.listen_port)
        out += "ListenPort = " + std::to_string(c.listen_port) + "\n";
    for (const auto& a : c.addresses)
        out += "Address = " + a.text() + "\n";
    for (const auto& d : c.dns)
        out += "DNS = " + d + "\n";
    for (const auto& s : c.search)
        out += "DNS = " + s + "\n";
    if (c.mtu)
        out += "MTU = " + std::to_string(c.mtu) + "\n";
    for (const auto& p : c.peers) {
        out += "[Peer]\nPublicKey = " + encode_key(p.public_key) + "\n";
        if (p.preshared_key)
            out += "PresharedKey = " + encode_key(*p.preshared_key) + "\n";
        if (!p.endpoint_host.empty())
            out += "Endpoint = " + p.endpoint_host + ":" + std::to_string(p.endpoint_port) + "\n";
        for (const auto& ip : p.allowed_ips)
            out += "AllowedIPs = " + ip.text() + "\n";
        if (p.keepalive)
            out += "PersistentKeepalive = " + std::to_string(p.keepalive) + "\n";
    }
    return out;
}

} // namespace

// The same text as wireguard-go's answers to the supervisor's watch, looked at twice,
// 20 s apart, after a first look: a change only where the counters say one.
void watch(const std::string& text)
{
    Watch w;
    if (w.look(text, 0) != Watch::Change::none)
        broken("a first look reported a change", text);
    if (w.look(text, 10) != Watch::Change::none || w.look(text, 30) != Watch::Change::none)
        broken("counters that did not move reported a change", text);
    if (w.down())
        broken("counters that never moved made the tunnel down", text);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    detect(text);
    watch(std::string(text));
    auto c = parse(text, resolve);
    if (!c) {
        check_error(c.error());
        return 0;
    }
    check_config(*c);
    std::string uapi = uapi_set(*c);
    check_uapi(uapi, *c);

    // What was read, written out again, reads the same.
    std::string again_text = render(*c);
    if (detect(again_text) != Kind::wireguard)
        broken("the configuration written out again is not detected as WireGuard", again_text);
    auto again = parse(again_text, resolve);
    if (!again)
        broken("the configuration written out again does not parse", again.error());
    if (uapi_set(*again) != uapi || again->dns != c->dns || again->search != c->search ||
        again->mtu != c->mtu || render(*again) != again_text)
        broken("the configuration written out again reads differently", again_text);
    wipe(uapi);
    wipe(*c);
    return 0;
}
