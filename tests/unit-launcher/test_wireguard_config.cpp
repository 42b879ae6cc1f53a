#include "wireguard_config.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>

using namespace nsjv::wireguard;

namespace {

// Keys whose bytes are easy to check: 00 01 .. 1f, all 11, all 22, all 33.
const std::string key_seq = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const std::string key_11 = "ERERERERERERERERERERERERERERERERERERERERERE=";
const std::string key_22 = "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=";
const std::string key_33 = "MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM=";
const std::string hex_seq = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const std::string hex_11 = std::string(64, '1');
const std::string hex_22 = std::string(64, '2');
const std::string hex_33 = std::string(64, '3');

// The text with {seq}, {11}, {22} and {33} replaced by those keys in base64, and
// {hex-seq} ... {hex-33} by them in hex, so that a test's file reads as a file.
std::string keyed(std::string text)
{
    const std::pair<const char*, const std::string*> names[] = {
        {"{seq}", &key_seq},   {"{11}", &key_11},       {"{22}", &key_22},
        {"{33}", &key_33},     {"{hex-seq}", &hex_seq}, {"{hex-11}", &hex_11},
        {"{hex-22}", &hex_22}, {"{hex-33}", &hex_33},
    };
    for (const auto& [name, value] : names)
        for (size_t at; (at = text.find(name)) != std::string::npos;)
            text.replace(at, strlen(name), *value);
    return text;
}

// Stands in for the host's resolver and remembers what it was asked.
struct FakeResolver {
    std::vector<std::string> asked;

    nsjv::openvpn::Resolver get()
    {
        return [this](const std::string& host, std::string& why) -> std::vector<std::string> {
            asked.push_back(host);
            if (host == "vpn.example.net")
                return {"203.0.113.20", "203.0.113.21"};
            if (host == "v6only.example.net")
                return {"2001:db8::20"};
            why = "Name or service not known";
            return {};
        };
    }
};

const std::string interface_part =
    "[Interface]\nPrivateKey = " + key_seq + "\nAddress = 198.18.0.2/32\n";
const std::string peer_part =
    "[Peer]\nPublicKey = " + key_11 + "\nEndpoint = 203.0.113.5:51820\nAllowedIPs = 0.0.0.0/0\n";

// A valid configuration with extra lines in [Interface] and in [Peer].
std::string with(const std::string& interface_lines, const std::string& peer_lines = "")
{
    return interface_part + interface_lines + peer_part + peer_lines;
}

Config must_parse(const std::string& text)
{
    FakeResolver r;
    auto c = parse(text, r.get());
    REQUIRE_MESSAGE(c.ok(), c.error());
    return *c;
}

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

// No 12 characters in a row of any key of these tests: a message never shows one.
void check_no_key(const std::string& message)
{
    for (const auto& k : {key_seq, key_11, key_22, key_33})
        for (size_t i = 0; i + 12 <= k.size(); i++)
            REQUIRE_MESSAGE(!contains(message, k.substr(i, 12)), message);
}

std::string must_fail(const std::string& text)
{
    FakeResolver r;
    auto c = parse(text, r.get());
    REQUIRE_MESSAGE(!c.ok(), text);
    check_no_key(c.error());
    return c.error();
}

Key bytes(uint8_t first, bool sequence)
{
    Key k{};
    for (size_t i = 0; i < k.size(); i++)
        k[i] = sequence ? static_cast<uint8_t>(first + i) : first;
    return k;
}

} // namespace

TEST_CASE("a full configuration with two peers")
{
    FakeResolver r;
    auto c = parse(keyed("# from the provider\n"
                         "[Interface]\n"
                         "PrivateKey = {seq}\n"
                         "ListenPort = 51820\n"
                         "Address = 198.18.0.2/24, fd00:198:18::2/64\n"
                         "DNS = 198.18.0.53, 2001:DB8::53, corp.example\n"
                         "MTU = 1380\n"
                         "\n"
                         "[Peer]\n"
                         "PublicKey = {11}\n"
                         "PresharedKey = {22}\n"
                         "Endpoint = vpn.example.net:51820\n"
                         "AllowedIPs = 0.0.0.0/0, ::/0\n"
                         "PersistentKeepalive = 25\n"
                         "\n"
                         "[Peer]\n"
                         "PublicKey = {33}\n"
                         "Endpoint = 198.51.100.7:4500\n"
                         "AllowedIPs = 198.18.64.0/18\n"),
                   r.get());
    REQUIRE_MESSAGE(c.ok(), c.error());

    CHECK(c->private_key == bytes(0, true));
    CHECK(c->listen_port == 51820);
    REQUIRE(c->addresses.size() == 2);
    CHECK(c->addresses[0].family == AF_INET);
    CHECK(c->addresses[0].text() == "198.18.0.2/24");
    CHECK(c->addresses[1].family == AF_INET6);
    CHECK(c->addresses[1].text() == "fd00:198:18::2/64");
    CHECK(c->dns == std::vector<std::string>{"198.18.0.53", "2001:db8::53"});
    CHECK(c->search == std::vector<std::string>{"corp.example"});
    CHECK(c->mtu == 1380);
    CHECK(c->notices.empty());

    REQUIRE(c->peers.size() == 2);
    const Peer& a = c->peers[0];
    CHECK(a.line == 9);
    CHECK(a.public_key == bytes(0x11, false));
    REQUIRE(a.preshared_key.has_value());
    CHECK(*a.preshared_key == bytes(0x22, false));
    CHECK(a.endpoint_host == "vpn.example.net");
    CHECK(a.endpoint_address == "203.0.113.20");
    CHECK(a.endpoint_port == 51820);
    REQUIRE(a.allowed_ips.size() == 2);
    CHECK(a.allowed_ips[0].text() == "0.0.0.0/0");
    CHECK(a.allowed_ips[1].text() == "::/0");
    CHECK(a.keepalive == 25);

    const Peer& b = c->peers[1];
    CHECK(b.line == 16);
    CHECK(b.public_key == bytes(0x33, false));
    CHECK_FALSE(b.preshared_key.has_value());
    CHECK(b.endpoint_host == "198.51.100.7");
    CHECK(b.endpoint_address == "198.51.100.7");
    CHECK(b.endpoint_port == 4500);
    REQUIRE(b.allowed_ips.size() == 1);
    CHECK(b.allowed_ips[0].text() == "198.18.64.0/18");
    CHECK(b.keepalive == 0);

    // Only the name is resolved; the literal is not.
    CHECK(r.asked == std::vector<std::string>{"vpn.example.net"});
}

TEST_CASE("detect: [Interface] or [Peer] as the first section or key line, any case")
{
    CHECK(detect("[Interface]\nPrivateKey = x\n") == Kind::wireguard);
    CHECK(detect("[Peer]\n") == Kind::wireguard);
    CHECK(detect("# comment\n\n   \n; other comment\n  [INTERFACE]   # trailing\n") ==
          Kind::wireguard);
    CHECK(detect("\xEF\xBB\xBF[interface]\r\n") == Kind::wireguard);
    CHECK(detect("\t[pEeR]\t\n") == Kind::wireguard);

    CHECK(detect("") == Kind::openvpn);
    CHECK(detect("# only a comment\n") == Kind::openvpn);
    CHECK(detect("client\n[Interface]\n") == Kind::openvpn);
    CHECK(detect("remote vpn.example.net 1194\n") == Kind::openvpn);
    CHECK(detect("[Interfaces]\n") == Kind::openvpn);
    CHECK(detect("[Interface\n") == Kind::openvpn);
    CHECK(detect("<ca>\n[Interface]\n</ca>\n") == Kind::openvpn);
}

TEST_CASE("keys and sections in any case, comments anywhere, blanks around '=' and ','")
{
    Config c = must_parse(keyed("[INTERFACE]   # the sandbox's end\r\n"
                                "privatekey={seq}# comment right after the key\r\n"
                                "  ADDRESS\t =\t198.18.0.2 ,, fd00::2 ,\r\n"
                                "dns=198.18.0.53,example.org\n"
                                "#Address = 198.18.99.99/32\n"
                                "[peer]\n"
                                "PUBLICKEY   =   {11}   \n"
                                "allowedips = 198.18.0.0/16 ,198.19.0.0/16\n"
                                "endpoint=203.0.113.5:51820\n"
                                "persistentKEEPALIVE = OFF\n"));
    REQUIRE(c.addresses.size() == 2);
    CHECK(c.addresses[0].text() == "198.18.0.2/32");
    CHECK(c.addresses[1].text() == "fd00::2/128");
    CHECK(c.dns == std::vector<std::string>{"198.18.0.53"});
    CHECK(c.search == std::vector<std::string>{"example.org"});
    CHECK(c.private_key == bytes(0, true));
    REQUIRE(c.peers.size() == 1);
    CHECK(c.peers[0].public_key == bytes(0x11, false));
    REQUIRE(c.peers[0].allowed_ips.size() == 2);
    CHECK(c.peers[0].allowed_ips[1].text() == "198.19.0.0/16");
    CHECK(c.peers[0].keepalive == 0);
}

TEST_CASE("Address, DNS and AllowedIPs may be repeated and add up")
{
    Config c = must_parse(with("Address = fd00::2/64\nDNS = 198.18.0.53\nDNS = 198.18.0.54\n",
                               "AllowedIPs = ::/0\n"));
    REQUIRE(c.addresses.size() == 2);
    CHECK(c.addresses[1].text() == "fd00::2/64");
    CHECK(c.dns.size() == 2);
    REQUIRE(c.peers[0].allowed_ips.size() == 2);
    CHECK(c.peers[0].allowed_ips[1].text() == "::/0");
}

TEST_CASE("commands, Table, FwMark and SaveConfig are refused with the reason")
{
    struct Case {
        const char* line;
        const char* name;
        const char* why;
    };
    const Case cases[] = {
        {"PreUp = iptables -A FORWARD -j ACCEPT", "PreUp", "as root on the host"},
        {"PostUp = iptables -A FORWARD -j ACCEPT", "PostUp", "never runs commands"},
        {"predown = true", "PreDown", "as root on the host"},
        {"POSTDOWN = resolvectl revert wg0", "PostDown", "never runs commands"},
        {"Table = off", "Table", "no host routing table"},
        {"FwMark = 0xca6c", "FwMark", "host's firewall"},
        {"SaveConfig = true", "SaveConfig", "private key included"},
    };
    for (const auto& c : cases) {
        std::string err = must_fail(with(std::string(c.line) + "\n"));
        CHECK_MESSAGE(contains(err, "line 4: '" + std::string(c.name) + "' is refused"), err);
        CHECK_MESSAGE(contains(err, c.why), err);
        CHECK_MESSAGE(contains(err, "remove the line"), err);
    }
    // The reason counts wherever the line is: in a [Peer] too.
    CHECK(contains(must_fail(with("", "PostUp = /bin/sh\n")), "line 8: 'PostUp' is refused"));
}

TEST_CASE("the structure of the file: sections, unknown keys, lines that are no key")
{
    CHECK(
        contains(must_fail("PrivateKey = " + key_seq + "\n" + interface_part + peer_part),
                 "line 1: 'PrivateKey' is outside a section: put it under [Interface] or [Peer]"));
    CHECK(contains(must_fail(with("[Wireguard]\n")), "line 4: unknown section '[Wireguard]'"));
    CHECK(contains(must_fail(with("[Peer\n")), "line 4: a section header is '[Interface]' or "
                                               "'[Peer]', with the ']'"));
    CHECK(contains(must_fail(with("Jc = 4\n")), "line 4: unknown key 'Jc' in [Interface]"));
    CHECK(contains(must_fail(with("", "IncludedApplications = firefox\n")),
                   "line 8: unknown key 'IncludedApplications' in [Peer]"));
    CHECK(contains(must_fail(with("PublicKey = " + key_22 + "\n")),
                   "line 4: 'PublicKey' belongs in a [Peer] section"));
    CHECK(contains(must_fail(with("", "Address = 198.18.0.3\n")),
                   "line 8: 'Address' belongs in [Interface]"));
    CHECK(contains(must_fail(with("just some words\n")),
                   "line 4: expected 'Key = value' or a section header"));
    CHECK(contains(must_fail(with("MTU = 1400\x01\n")),
                   "line 4: the line holds a control character"));
    CHECK(contains(must_fail(with(std::string("DNS = 198.18.0.53\0x", 19) + "\n")),
                   "line 4: the line holds a control character"));
}

TEST_CASE("what must be there: PrivateKey, Address, a peer, its PublicKey")
{
    CHECK(must_fail("") == "no [Interface] section: a WireGuard configuration starts with "
                           "[Interface] and its PrivateKey");
    CHECK(contains(must_fail(peer_part), "no [Interface] section"));
    CHECK(contains(must_fail("# x\n[Interface]\nAddress = 198.18.0.2\n" + peer_part),
                   "line 2: [Interface] has no PrivateKey"));
    CHECK(contains(must_fail("[Interface]\nPrivateKey = " + key_seq + "\n" + peer_part),
                   "line 1: [Interface] has no Address"));
    CHECK(contains(must_fail(interface_part), "no [Peer] section"));
    CHECK(contains(must_fail(interface_part + "[Peer]\nAllowedIPs = 0.0.0.0/0\n" + peer_part),
                   "line 4: this [Peer] has no PublicKey"));
    CHECK(contains(must_fail(interface_part + peer_part + "\n[Peer]\nEndpoint = 203.0.113.9:1\n"),
                   "line 9: this [Peer] has no PublicKey"));
    CHECK(contains(must_fail(interface_part + peer_part + peer_part),
                   "line 8: this [Peer] has the same PublicKey as the one on line 4"));
}

TEST_CASE("a key given twice is refused with both lines; a second [Interface] continues")
{
    CHECK(contains(must_fail(with("PrivateKey = " + key_22 + "\n")),
                   "line 4: a second 'PrivateKey' (the first is on line 2): keep one"));
    CHECK(contains(must_fail(with("[Interface]\nPrivateKey = " + key_22 + "\n")),
                   "line 5: a second PrivateKey (the first is on line 2)"));
    CHECK(contains(must_fail(with("MTU = 1400\nmtu = 1380\n")), "line 5: a second 'MTU'"));
    CHECK(contains(must_fail(with("", "Endpoint = 198.51.100.1:1\n")),
                   "line 8: a second 'Endpoint' (the first is on line 6)"));
    CHECK(contains(must_fail(with("", "PublicKey = " + key_22 + "\n")),
                   "line 8: a second 'PublicKey'"));

    Config c = must_parse(interface_part + peer_part + "[Interface]\nMTU = 1400\n");
    CHECK(c.mtu == 1400);
}

TEST_CASE("keys must be base64 of exactly 32 bytes, and are never shown in a message")
{
    const std::string bad[] = {
        key_seq.substr(0, 43),              // no padding
        key_seq.substr(0, 43) + "==",       // 45 characters
        key_seq.substr(0, 40) + "===",      // 43 characters
        "A" + key_seq.substr(0, 42) + "!=", // not in the alphabet
        key_seq.substr(0, 42) + "-=",       // base64url's alphabet
        key_seq.substr(0, 42) + "9=",       // spare bits set: not how wg spells the key
        key_seq.substr(0, 20) + " " + key_seq.substr(20, 23),
        "",
        "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    };
    for (const auto& k : bad) {
        CHECK(contains(
            must_fail("[Interface]\nPrivateKey = " + k + "\nAddress = 198.18.0.2\n" + peer_part),
            "line 2: PrivateKey is not a WireGuard key: it is 44 characters of base64"));
        CHECK(contains(must_fail(interface_part + "[Peer]\nPublicKey = " + k + "\n"),
                       "line 5: PublicKey is not a WireGuard key"));
        CHECK(contains(must_fail(with("", "PresharedKey = " + k + "\n")),
                       "line 8: PresharedKey is not a WireGuard key"));
    }
    CHECK(contains(must_fail("[Interface]\nPrivateKey = " + std::string(43, 'A') +
                             "=\nAddress = 198.18.0.2\n" + peer_part),
                   "line 2: PrivateKey is all zeros"));

    // A key pasted where it does not belong is not echoed either.
    must_fail(with(key_22 + "\n"));
    must_fail(with(key_22.substr(0, 43) + "\n"));
    must_fail(with("PrivteKey = " + key_22 + "\n"));
    must_fail(with("MTU = " + key_22 + "\n"));
    must_fail(with("Address = " + key_22 + "\n"));
    must_fail(with("DNS = " + key_22 + "\n"));
    must_fail(with("ListenPort = " + key_22 + "\n"));
    must_fail(with("", "Endpoint = " + key_22 + "\n"));
    must_fail(with("", "AllowedIPs = " + key_22 + "\n"));
    must_fail(with("", "PersistentKeepalive = " + key_22 + "\n"));
    must_fail(with("[" + key_22 + "]\n"));
}

TEST_CASE("decode_key and encode_key: standard base64, 44 characters, one '='")
{
    auto k = decode_key(key_seq);
    REQUIRE(k.has_value());
    CHECK(*k == bytes(0, true));
    CHECK(encode_key(*k) == key_seq);

    for (const auto& s : {key_11, key_22, key_33, std::string(43, 'A') + "=",
                          std::string("//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA=")}) {
        auto d = decode_key(s);
        REQUIRE_MESSAGE(d.has_value(), s);
        CHECK(encode_key(*d) == s);
    }
    Key high{};
    for (size_t i = 0; i < high.size(); i++)
        high[i] = static_cast<uint8_t>(0xff - i);
    CHECK(encode_key(high) == "//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA=");
    CHECK(encode_key(bytes(0x11, false)) == key_11);

    CHECK_FALSE(decode_key(""));
    CHECK_FALSE(decode_key(key_seq.substr(0, 43)));
    CHECK_FALSE(decode_key(key_seq + "="));
    CHECK_FALSE(decode_key(key_seq.substr(0, 42) + "=="));
    CHECK_FALSE(decode_key(key_seq.substr(0, 42) + "9="));
    CHECK_FALSE(decode_key(key_seq.substr(0, 42) + "_="));
    CHECK_FALSE(decode_key(key_seq.substr(0, 42) + "8 "));
    CHECK_FALSE(decode_key(std::string(43, 'A') + "A"));
    CHECK_FALSE(decode_key(std::string("A\0", 2) + key_seq.substr(2)));
    CHECK_FALSE(decode_key("=" + key_seq.substr(1)));
}

TEST_CASE("addresses are spelt as inet_ntop does; Address keeps host bits, AllowedIPs not")
{
    Config c = must_parse("[Interface]\nPrivateKey = " + key_seq +
                          "\nAddress = 198.18.7.9/20, 2001:DB8:0:0::0:2/64, fd00::3\n" +
                          "[Peer]\nPublicKey = " + key_11 +
                          "\nAllowedIPs = 198.18.7.9/20, 2001:db8::1:2/64, 198.18.1.1, "
                          "198.18.0.255/31, 2001:db8::/0, fd00:0::1/128\n");
    REQUIRE(c.addresses.size() == 3);
    CHECK(c.addresses[0].text() == "198.18.7.9/20");
    CHECK(c.addresses[1].text() == "2001:db8::2/64");
    CHECK(c.addresses[1].address == "2001:db8::2");
    CHECK(c.addresses[1].length == 64);
    CHECK(c.addresses[2].text() == "fd00::3/128");

    const auto& ips = c.peers[0].allowed_ips;
    REQUIRE(ips.size() == 6);
    CHECK(ips[0].text() == "198.18.0.0/20");
    CHECK(ips[1].text() == "2001:db8::/64");
    CHECK(ips[1].family == AF_INET6);
    CHECK(ips[2].text() == "198.18.1.1/32");
    CHECK(ips[3].text() == "198.18.0.254/31");
    CHECK(ips[4].text() == "::/0");
    CHECK(ips[5].text() == "fd00::1/128");
}

TEST_CASE("bad prefixes name the line and the form expected")
{
    CHECK(contains(
        must_fail(with("Address = 198.18.0.2/33\n")),
        "line 4: Address '198.18.0.2/33' has a bad prefix length: an IPv4 one is 0 to 32"));
    CHECK(contains(must_fail(with("Address = fd00::2/129\n")), "an IPv6 one is 0 to 128"));
    CHECK(contains(must_fail(with("Address = 198.18.0.2/\n")), "line 4: Address '198.18.0.2/'"));
    CHECK(contains(must_fail(with("Address = 198.18.0.2/-1\n")), "bad prefix length"));
    CHECK(contains(must_fail(with("Address = 198.18.0.2/2/4\n")), "bad prefix length"));
    CHECK(contains(must_fail(with("Address = 198.18.0.2/ 24\n")), "bad prefix length"));
    CHECK(contains(must_fail(with("Address = 198.18.0.256\n")),
                   "line 4: Address '198.18.0.256' is not an IP address with an optional /length"));
    CHECK(contains(must_fail(with("Address = fe80::1%eth0/64\n")), "is not an IP address"));
    CHECK(contains(must_fail(with("Address = 198.18.0.2 198.18.0.3\n")), "is not an IP address"));
    CHECK(contains(must_fail(with("", "AllowedIPs = 198.18.0.0/16, 0.0.0.0/40\n")),
                   "line 8: AllowedIPs '0.0.0.0/40' has a bad prefix length"));
    CHECK(contains(must_fail(with("", "AllowedIPs = everything\n")),
                   "line 8: AllowedIPs 'everything' is not an IP address"));
}

TEST_CASE("ports: ListenPort 0 to 65535, Endpoint 1 to 65535")
{
    CHECK(must_parse(with("ListenPort = 0\n")).listen_port == 0);
    CHECK(must_parse(with("ListenPort = 65535\n")).listen_port == 65535);
    for (const char* bad : {"65536", "-1", "+1", "port", "51820x", "", "99999999999999"})
        CHECK_MESSAGE(contains(must_fail(with(std::string("ListenPort = ") + bad + "\n")),
                               "line 4: ListenPort"),
                      bad);
    CHECK(contains(must_fail(with("ListenPort = 70000\n")),
                   "'70000' is not a port number (0 to 65535)"));

    CHECK(must_parse(with("", "")).peers[0].endpoint_port == 51820);
    const std::string no_endpoint = interface_part + "[Peer]\nPublicKey = " + key_11 + "\n";
    CHECK(contains(
        must_fail(no_endpoint + "Endpoint = 203.0.113.5:0\n"),
        "line 6: Endpoint '203.0.113.5:0' has a bad port: it is a number from 1 to 65535"));
    CHECK(contains(must_fail(no_endpoint + "Endpoint = 203.0.113.5:65536\n"), "bad port"));
    CHECK(contains(must_fail(no_endpoint + "Endpoint = 203.0.113.5:\n"), "bad port"));
    CHECK(contains(must_fail(no_endpoint + "Endpoint = 203.0.113.5\n"),
                   "line 6: Endpoint '203.0.113.5' has no port: write it as 'host:port'"));
    CHECK(contains(must_fail(no_endpoint + "Endpoint = :51820\n"),
                   "line 6: the Endpoint host '' is neither an IPv4 address nor a host name"));
    CHECK(contains(must_fail(no_endpoint + "Endpoint = bad_host!:51820\n"),
                   "the Endpoint host 'bad_host!' is neither"));
    CHECK(contains(must_fail(no_endpoint + "Endpoint = [203.0.113.5:51820\n"),
                   "is not '[address]:port' or 'host:port'"));
}

TEST_CASE("MTU is 576 to 9000, and at least 1280 with an IPv6 Address")
{
    CHECK(must_parse(with("MTU = 576\n")).mtu == 576);
    CHECK(must_parse(with("MTU = 9000\n")).mtu == 9000);
    CHECK(must_parse(with("")).mtu == 0);
    for (const char* bad : {"575", "9001", "0", "1500 bytes", "auto", ""})
        CHECK_MESSAGE(
            contains(must_fail(with(std::string("MTU = ") + bad + "\n")),
                     "line 4: MTU '" + std::string(bad) + "' is not a number from 576 to 9000"),
            bad);

    // The Address may come after the MTU: the error still names the MTU's line.
    CHECK(contains(must_fail(with("MTU = 1279\nAddress = fd00::2/64\n")),
                   "line 4: MTU 1279 is too small for the IPv6 Address: IPv6 needs at least 1280"));
    CHECK(must_parse(with("MTU = 1280\nAddress = fd00::2/64\n")).mtu == 1280);
    CHECK(must_parse(with("MTU = 1000\n")).mtu == 1000);
    CHECK(must_parse(with("Address = fd00::2/64\n")).mtu == 0);
    // An IPv6 AllowedIPs alone does not make the tunnel carry IPv6.
    CHECK(must_parse(with("MTU = 1000\n", "AllowedIPs = ::/0\n")).mtu == 1000);
}

TEST_CASE("Endpoint names are resolved with the resolver passed in; IPv6 is refused")
{
    const std::string head = interface_part + "[Peer]\nPublicKey = " + key_11 + "\n";

    FakeResolver r;
    auto ok = parse(head + "Endpoint = vpn.example.net:443\n", r.get());
    REQUIRE_MESSAGE(ok.ok(), ok.error());
    CHECK(r.asked == std::vector<std::string>{"vpn.example.net"});
    CHECK(ok->peers[0].endpoint_host == "vpn.example.net");
    CHECK(ok->peers[0].endpoint_address == "203.0.113.20");
    CHECK(ok->peers[0].endpoint_port == 443);

    FakeResolver r2;
    auto nx = parse(head + "Endpoint = nowhere.example.net:51820\n", r2.get());
    REQUIRE_FALSE(nx.ok());
    CHECK(r2.asked == std::vector<std::string>{"nowhere.example.net"});
    CHECK(nx.error() == "line 6: cannot resolve the Endpoint host 'nowhere.example.net': Name or "
                        "service not known");

    CHECK(contains(must_fail(head + "Endpoint = v6only.example.net:51820\n"),
                   "line 6: cannot resolve the Endpoint host 'v6only.example.net': it has no IPv4 "
                   "address"));
    for (const char* v6 :
         {"[2001:db8::1]:51820", "2001:db8::1:51820", "[::ffff:203.0.113.5]:1", "2001:db8::1"}) {
        FakeResolver r3;
        auto e = parse(head + "Endpoint = " + v6 + "\n", r3.get());
        REQUIRE_FALSE(e.ok());
        CHECK_MESSAGE(contains(e.error(), "line 6: IPv6 endpoints are not supported yet"), v6);
        CHECK(r3.asked.empty());
    }

    // Brackets around an IPv4 address or a name are only brackets.
    CHECK(must_parse(head + "Endpoint = [198.51.100.7]:51820\n").peers[0].endpoint_address ==
          "198.51.100.7");
}

TEST_CASE("DNS entries: addresses are servers, names are search domains")
{
    Config c = must_parse(with("DNS = 198.18.0.53, fd00::53, corp.example, lan\n"));
    CHECK(c.dns == std::vector<std::string>{"198.18.0.53", "fd00::53"});
    CHECK(c.search == std::vector<std::string>{"corp.example", "lan"});
    CHECK(contains(must_fail(with("DNS = 198.18.0.53, bad..name\n")),
                   "line 4: DNS entry 'bad..name' is neither an IP address nor a search domain"));
    CHECK(contains(must_fail(with("DNS = 198.18.0.53 198.18.0.54\n")), "line 4: DNS entry"));
    CHECK(contains(must_fail(with("DNS = .example\n")), "line 4: DNS entry '.example'"));
    CHECK(contains(must_fail(with("DNS = " + std::string(64, 'a') + ".example\n")),
                   "line 4: DNS entry"));
}

TEST_CASE("PersistentKeepalive: seconds or 'off'")
{
    CHECK(must_parse(with("", "PersistentKeepalive = 25\n")).peers[0].keepalive == 25);
    CHECK(must_parse(with("", "PersistentKeepalive = 65535\n")).peers[0].keepalive == 65535);
    CHECK(must_parse(with("", "PersistentKeepalive = 0\n")).peers[0].keepalive == 0);
    CHECK(must_parse(with("", "PersistentKeepalive = Off\n")).peers[0].keepalive == 0);
    for (const char* bad : {"65536", "-5", "on", "25s", ""})
        CHECK_MESSAGE(
            contains(must_fail(with("", std::string("PersistentKeepalive = ") + bad + "\n")),
                     "line 8: PersistentKeepalive '" + std::string(bad) +
                         "' is not a number of seconds (0 to 65535) or 'off'"),
            bad);
}

TEST_CASE("a peer without Endpoint or AllowedIPs is accepted with a notice")
{
    Config c = must_parse(interface_part + "[Peer]\nPublicKey = " + key_11 + "\n");
    REQUIRE(c.notices.size() == 2);
    CHECK(c.notices[0] == "the [Peer] on line 4 has no Endpoint: it can be reached only after it "
                          "has sent to us");
    CHECK(c.notices[1] == "the [Peer] on line 4 has no AllowedIPs: no traffic goes to it");
    CHECK(c.peers[0].endpoint_address.empty());
}

TEST_CASE("uapi_set: wireguard-go's set request, exactly")
{
    Config c = must_parse(keyed("[Interface]\n"
                                "PrivateKey = {seq}\n"
                                "ListenPort = 51820\n"
                                "Address = 198.18.0.2/32\n"
                                "[Peer]\n"
                                "PublicKey = {11}\n"
                                "PresharedKey = {22}\n"
                                "Endpoint = vpn.example.net:51820\n"
                                "AllowedIPs = 0.0.0.0/0, ::/0\n"
                                "PersistentKeepalive = 25\n"
                                "[Peer]\n"
                                "PublicKey = {33}\n"
                                "AllowedIPs = 198.18.64.9/18\n"));
    CHECK(uapi_set(c) == keyed("set=1\n"
                               "private_key={hex-seq}\n"
                               "listen_port=51820\n"
                               "replace_peers=true\n"
                               "public_key={hex-11}\n"
                               "preshared_key={hex-22}\n"
                               "endpoint=203.0.113.20:51820\n"
                               "persistent_keepalive_interval=25\n"
                               "replace_allowed_ips=true\n"
                               "allowed_ip=0.0.0.0/0\n"
                               "allowed_ip=::/0\n"
                               "public_key={hex-33}\n"
                               "replace_allowed_ips=true\n"
                               "allowed_ip=198.18.64.0/18\n"
                               "\n"));

    Config minimal = must_parse(interface_part + peer_part);
    CHECK(uapi_set(minimal) == keyed("set=1\n"
                                     "private_key={hex-seq}\n"
                                     "replace_peers=true\n"
                                     "public_key={hex-11}\n"
                                     "endpoint=203.0.113.5:51820\n"
                                     "replace_allowed_ips=true\n"
                                     "allowed_ip=0.0.0.0/0\n"
                                     "\n"));
}

TEST_CASE("wipe zeroes every key, and a secret string")
{
    Config c = must_parse(with("", "PresharedKey = " + key_22 + "\n") +
                          "[Peer]\nPublicKey = " + key_33 + "\n");
    REQUIRE(c.peers.size() == 2);
    wipe(c);
    const Key zero{};
    CHECK(c.private_key == zero);
    CHECK(c.peers[0].public_key == zero);
    REQUIRE(c.peers[0].preshared_key.has_value());
    CHECK(*c.peers[0].preshared_key == zero);
    CHECK(c.peers[1].public_key == zero);
    CHECK_FALSE(c.peers[1].preshared_key.has_value());

    // Long enough to live on the heap: its buffer is still there, and zero.
    std::string secret = uapi_set(must_parse(interface_part + peer_part));
    const char* buffer = secret.data();
    const size_t size = secret.size();
    REQUIRE(size > 100);
    wipe(secret);
    CHECK(secret.empty());
    CHECK(secret.data() == buffer);
    CHECK(std::all_of(buffer, buffer + size, [](char ch) { return ch == 0; }));
}

TEST_CASE("detect: spaces inside the brackets, and a bare key, are WireGuard's")
{
    CHECK(detect("[ Interface ]\nPrivateKey = x\n") == Kind::wireguard);
    CHECK(detect("  [ peer ]  \n") == Kind::wireguard);
    CHECK(detect(key_seq + "\n") == Kind::wireguard);
    CHECK(detect("remote vpn.example 1194\n") == Kind::openvpn);
    CHECK(detect("[Interfaces]\n") == Kind::openvpn);
}

TEST_CASE("routed: which addresses some peer's AllowedIPs cover")
{
    Config c = must_parse(interface_part + "[Peer]\nPublicKey = " + key_11 +
                          "\nAllowedIPs = 198.18.10.0/24, 198.51.100.1/32, 2001:db8::/64\n");
    CHECK(routed(c, "198.18.10.1"));
    CHECK(routed(c, "198.18.10.255"));
    CHECK(!routed(c, "198.18.11.1"));
    CHECK(routed(c, "198.51.100.1"));
    CHECK(!routed(c, "198.51.100.2"));
    CHECK(routed(c, "2001:db8::53"));
    CHECK(!routed(c, "2001:db8:1::53"));
    CHECK(!routed(c, "not an address"));
    Config all = must_parse(with(""));
    CHECK(routed(all, "1.2.3.4"));
}

TEST_CASE("nudge_target: a routed DNS server, else an address inside the first IPv4 range")
{
    Config c = must_parse(interface_part + "[Peer]\nPublicKey = " + key_11 +
                          "\nAllowedIPs = 2001:db8::/64, 198.18.10.0/24, 198.51.100.1/32\n");
    CHECK(nudge_target(c, {"198.18.10.53"}) == "198.18.10.53");
    CHECK(nudge_target(c, {"9.9.9.9", "198.51.100.1"}) == "198.51.100.1");
    CHECK(nudge_target(c, {"9.9.9.9"}) == "198.18.10.1");  // the range's first host
    CHECK(nudge_target(c, {"2001:db8::53"}) == "198.18.10.1");  // IPv4 only
    Config host = must_parse(interface_part + "[Peer]\nPublicKey = " + key_11 +
                             "\nAllowedIPs = 198.51.100.7/32\n");
    CHECK(nudge_target(host, {}) == "198.51.100.7");
    Config v6 = must_parse(interface_part + "[Peer]\nPublicKey = " + key_11 +
                           "\nAllowedIPs = 2001:db8::/64\n");
    CHECK(nudge_target(v6, {"198.18.10.53"}).empty());
}

// A UAPI "get" answer as wireguard-go writes it, with the counters of one or two peers.
static std::string counters(uint64_t rx, uint64_t tx, uint64_t rx2 = 0, uint64_t tx2 = 0)
{
    return "private_key=" + std::string(64, '1') + "\nlisten_port=51820\npublic_key=" +
           std::string(64, '2') + "\nendpoint=203.0.113.20:51820\nlast_handshake_time_sec=1\n"
           "rx_bytes=" + std::to_string(rx) + "\ntx_bytes=" + std::to_string(tx) +
           "\npublic_key=" + std::string(64, '3') + "\nrx_bytes=" + std::to_string(rx2) +
           "\ntx_bytes=" + std::to_string(tx2) + "\n";
}

TEST_CASE("Watch: sending with nothing heard for 20 s is a lost tunnel; hearing again is back")
{
    using C = Watch::Change;
    Watch w;
    CHECK(w.look(counters(100, 200), 0) == C::none);  // the first look only learns
    CHECK(w.look(counters(300, 400), 2) == C::none);  // answered traffic
    CHECK(w.look(counters(300, 500), 4) == C::none);  // sent, unanswered since 4
    CHECK(w.look(counters(300, 648), 22) == C::none); // 18 s: a handshake attempt, still hoping
    CHECK(w.look(counters(300, 796), 24) == C::lost);
    CHECK(w.down());
    CHECK(w.look(counters(300, 944), 40) == C::none);  // said once
    CHECK(w.look(counters(392, 1092), 42) == C::back); // a handshake answer
    CHECK(!w.down());
    CHECK(w.look(counters(392, 1092), 80) == C::none); // idle is not lost
}

TEST_CASE("Watch: an answer within the limit, keepalives, other peers and a restart")
{
    using C = Watch::Change;
    Watch w;
    w.look(counters(10, 10), 0);
    CHECK(w.look(counters(10, 90), 2) == C::none);
    CHECK(w.look(counters(42, 90), 12) == C::none); // the peer's passive keepalive
    CHECK(w.look(counters(42, 90), 40) == C::none);
    // Persistent keepalives go out unanswered, one a look: idle, not lost.
    for (long t = 42, tx = 90; t < 200; t += 2)
        CHECK(w.look(counters(42, static_cast<uint64_t>(tx += 32)), t) == C::none);
    // A persistent keepalive every 2 s, looked at every 2 s: two can fall in one look.
    Config c;
    c.peers.resize(1);
    c.peers[0].keepalive = 2;
    Watch kept(c);
    kept.look(counters(42, 90), 0);
    for (long t = 2, tx = 90; t < 60; t += 2)
        CHECK(kept.look(counters(42, static_cast<uint64_t>(tx += t % 4 ? 64 : 0)), t) == C::none);
    // Data (a 48-byte packet) beside them does count, as do handshake initiations.
    CHECK(kept.look(counters(42, 90 + 15 * 64 + 48), 60) == C::none);
    CHECK(kept.look(counters(42, 90 + 15 * 64 + 48 + 148), 80) == C::lost);
    // Without keepalives configured, 64 bytes in a look is data.
    Watch plain;
    plain.look(counters(0, 0), 0);
    CHECK(plain.look(counters(0, 64), 2) == C::none);
    CHECK(plain.look(counters(0, 64), 22) == C::lost);
    Watch two;
    two.look(counters(0, 0, 0, 0), 0);
    CHECK(two.look(counters(0, 0, 0, 100), 1) == C::none);
    CHECK(two.look(counters(0, 0, 0, 100), 25) == C::lost); // any peer's traffic counts
    CHECK(two.look(counters(0, 0, 64, 100), 26) == C::back);
    Watch again;
    again.look(counters(500, 500), 0);
    CHECK(again.look(counters(0, 148), 2) == C::none);  // a new wireguard-go: a first look
    CHECK(again.look(counters(0, 296), 4) == C::none);
    CHECK(again.look(counters(0, 444), 24) == C::lost);
}
