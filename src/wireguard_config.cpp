#include "wireguard_config.hpp"

#include "dns.hpp"
#include "log.hpp"

#include <arpa/inet.h>
#include <string.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <utility>

namespace nsjv::wireguard {

namespace {

constexpr const char* base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string line_error(int line, const std::string& what)
{
    return "line " + std::to_string(line) + ": " + what;
}

std::string_view trim(std::string_view s)
{
    size_t first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos)
        return {};
    return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// A line without its comment and surrounding blanks. wg(8) and wg-quick(8) both
// end a line at the first '#', wherever it is.
std::string_view content(std::string_view line)
{
    return trim(line.substr(0, line.find('#')));
}

// A value as an error message may quote it. A run of base64 as long as a key is
// left out: whatever line it was written on, it may be somebody's private key.
std::string quoted(std::string_view value)
{
    size_t run = 0;
    for (char c : value) {
        bool b64 = (c && strchr(base64_alphabet, c)) || c == '=';
        run = b64 ? run + 1 : 0;
        if (run >= 40)
            return "(a value that looks like a key, not shown)";
    }
    return "'" + log::shown(value) + "'";
}

// Comma-separated entries, blanks around each dropped; empty entries are skipped,
// as wg-quick does for Address and DNS.
std::vector<std::string_view> entries(std::string_view value)
{
    std::vector<std::string_view> out;
    size_t pos = 0;
    while (pos <= value.size()) {
        size_t comma = std::min(value.find(',', pos), value.size());
        auto entry = trim(value.substr(pos, comma - pos));
        if (!entry.empty())
            out.push_back(entry);
        pos = comma + 1;
    }
    return out;
}

// Decimal digits only, no sign and no blanks, at most max.
std::optional<unsigned> number(std::string_view s, unsigned max)
{
    unsigned n = 0;
    if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || n > max)
        return std::nullopt;
    return n;
}

using dns::is_ipv4;
using dns::is_ipv6;

// An address literal in inet_ntop's spelling, or nullopt.
std::optional<std::string> canonical(const std::string& text, int& family)
{
    unsigned char bytes[16] = {};
    char out[INET6_ADDRSTRLEN] = {};

    for (int f : {AF_INET, AF_INET6}) {
        if (inet_pton(f, text.c_str(), bytes) == 1 && inet_ntop(f, bytes, out, sizeof out)) {
            family = f;
            return std::string(out);
        }
    }
    return std::nullopt;
}

// "addr" or "addr/len". With to_network, the host bits are cleared, as the kernel
// stores an allowed IP; an Address keeps them, they are the tunnel's own address.
Result<Prefix> parse_prefix(std::string_view text, bool to_network)
{
    size_t slash = text.find('/');
    std::string address(text.substr(0, slash));
    unsigned char bytes[16] = {};
    char out[INET6_ADDRSTRLEN] = {};
    Prefix p;

    if (!canonical(address, p.family))
        return fail(quoted(text) + " is not an IP address with an optional /length");
    const unsigned max = p.family == AF_INET ? 32 : 128;
    unsigned length = max;
    if (slash != std::string_view::npos) {
        auto n = number(text.substr(slash + 1), max);
        if (!n)
            return fail(quoted(text) + " has a bad prefix length: an " +
                        (p.family == AF_INET ? "IPv4 one is 0 to 32" : "IPv6 one is 0 to 128"));
        length = *n;
    }
    inet_pton(p.family, address.c_str(), bytes);
    if (to_network) {
        for (unsigned bit = length; bit < max; bit++)
            bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
    }
    inet_ntop(p.family, bytes, out, sizeof out);
    p.address = out;
    p.length = static_cast<int>(length);
    return p;
}

enum class Section { none, interface, peer };

// Keys of wg-quick that act on the host, and why the sandbox does without them.
const char* refused_reason(const std::string& key)
{
    if (key == "preup" || key == "postup" || key == "predown" || key == "postdown")
        return "wg-quick runs it as root on the host, and nsjail-vpn never runs commands from a "
               "VPN file; remove the line (the sandbox sets up the tunnel, its routes and its DNS "
               "itself)";
    if (key == "table")
        return "the tunnel's routes go into the sandbox's own network namespace, so there is no "
               "host routing table to pick; remove the line";
    if (key == "fwmark")
        return "it marks packets for the host's firewall, but the tunnel's socket lives in the "
               "sandbox's network namespace; remove the line";
    if (key == "saveconfig")
        return "it would write the running configuration, private key included, back to the "
               "file; remove the line";
    return nullptr;
}

struct KeyName {
    const char* lower;
    const char* shown;
    Section section;
};

constexpr KeyName known_keys[] = {
    {"privatekey", "PrivateKey", Section::interface},
    {"listenport", "ListenPort", Section::interface},
    {"address", "Address", Section::interface},
    {"dns", "DNS", Section::interface},
    {"mtu", "MTU", Section::interface},
    {"preup", "PreUp", Section::interface},
    {"postup", "PostUp", Section::interface},
    {"predown", "PreDown", Section::interface},
    {"postdown", "PostDown", Section::interface},
    {"table", "Table", Section::interface},
    {"fwmark", "FwMark", Section::interface},
    {"saveconfig", "SaveConfig", Section::interface},
    {"publickey", "PublicKey", Section::peer},
    {"presharedkey", "PresharedKey", Section::peer},
    {"endpoint", "Endpoint", Section::peer},
    {"allowedips", "AllowedIPs", Section::peer},
    {"persistentkeepalive", "PersistentKeepalive", Section::peer},
};

const KeyName* find_key(const std::string& key)
{
    for (const auto& k : known_keys)
        if (key == k.lower)
            return &k;
    return nullptr;
}

// A key name as an error message may show it, quoted, or nullopt: only what looks
// like a name. The text before the '=' of a bare pasted key is 43 characters of base64.
std::optional<std::string> shown_key(std::string_view key)
{
    bool name = !key.empty() && key.size() <= 24 && isalpha(static_cast<unsigned char>(key[0])) &&
                std::all_of(key.begin(), key.end(), [](char c) {
                    return isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                });
    if (!name)
        return std::nullopt;
    return "'" + std::string(key) + "'";
}

std::string unknown_key(std::string_view key, Section section)
{
    auto shown = shown_key(key);
    std::string what =
        shown ? "unknown key " + *shown + " in " : "the text before '=' is no key of ";
    if (section == Section::interface)
        return what + "[Interface]: its keys are PrivateKey, ListenPort, Address, DNS and MTU";
    return what + "[Peer]: its keys are PublicKey, PresharedKey, Endpoint, AllowedIPs and "
                  "PersistentKeepalive";
}

class Parser {
public:
    explicit Parser(const openvpn::Resolver& resolve) : resolve_(resolve) {}
    ~Parser() { wipe(config_); }

    std::optional<std::string> add(int line, std::string_view text);
    std::optional<std::string> finish();
    Config take() { return std::move(config_); }

private:
    std::optional<std::string> header(int line, std::string_view text);
    std::optional<std::string> interface_key(int line, const std::string& key,
                                             std::string_view value);
    std::optional<std::string> peer_key(int line, const std::string& key, std::string_view value);
    std::optional<std::string> endpoint(int line, std::string_view value, Peer& peer);
    std::optional<std::string> close_peer();

    const openvpn::Resolver& resolve_;
    Config config_;
    Section section_ = Section::none;
    int interface_line_ = 0;
    int private_key_line_ = 0;
    int mtu_line_ = 0;
    std::map<std::string, int> seen_; // keys that may appear once, per section: their line
    bool peer_has_key_ = false;
};

std::optional<std::string> Parser::header(int line, std::string_view text)
{
    if (text.back() != ']')
        return line_error(line, "a section header is '[Interface]' or '[Peer]', with the ']'");
    const std::string name = lower(trim(text.substr(1, text.size() - 2)));
    if (name != "interface" && name != "peer")
        return line_error(line, "unknown section " + quoted(text) +
                                    ": a WireGuard configuration has only [Interface] and [Peer]");

    if (auto err = close_peer())
        return err;
    seen_.clear();
    if (name == "interface") {
        section_ = Section::interface;
        if (!interface_line_)
            interface_line_ = line;
        return std::nullopt;
    }
    section_ = Section::peer;
    peer_has_key_ = false;
    config_.peers.push_back(Peer{});
    config_.peers.back().line = line;
    return std::nullopt;
}

std::optional<std::string> Parser::add(int line, std::string_view raw)
{
    std::string_view text = content(raw);

    if (text.empty())
        return std::nullopt;
    if (std::any_of(text.begin(), text.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return (u < 0x20 && c != '\t') || u == 0x7f;
        }))
        return line_error(line, "the line holds a control character: save the file as plain text");
    if (text.front() == '[')
        return header(line, text);

    size_t eq = text.find('=');
    if (eq == std::string_view::npos)
        return line_error(line, "expected 'Key = value' or a section header such as '[Peer]'");
    const std::string_view name = trim(text.substr(0, eq));
    const std::string key = lower(name);
    const std::string_view value = trim(text.substr(eq + 1));
    const KeyName* known = find_key(key);

    if (const char* why = refused_reason(key))
        return line_error(line, std::string("'") + known->shown + "' is refused: " + why);
    if (section_ == Section::none)
        return line_error(line, shown_key(name).value_or("this line") +
                                    " is outside a section: put it under [Interface] or [Peer]");
    if (!known)
        return line_error(line, unknown_key(name, section_));
    if (known->section != section_)
        return line_error(
            line, std::string("'") + known->shown + "' belongs in " +
                      (known->section == Section::interface ? "[Interface]" : "a [Peer] section"));

    // Address, DNS and AllowedIPs add up; any other key given twice is a mistake
    // that wg would settle silently by taking the last.
    if (key != "address" && key != "dns" && key != "allowedips") {
        auto [it, fresh] = seen_.emplace(key, line);
        if (!fresh)
            return line_error(line, std::string("a second '") + known->shown +
                                        "' (the first is on line " + std::to_string(it->second) +
                                        "): keep one");
    }
    if (section_ == Section::interface)
        return interface_key(line, key, value);
    return peer_key(line, key, value);
}

std::optional<std::string> Parser::interface_key(int line, const std::string& key,
                                                 std::string_view value)
{
    if (key == "privatekey") {
        // A second [Interface] starts a fresh set of keys; the private key is still one.
        if (private_key_line_)
            return line_error(line, "a second PrivateKey (the first is on line " +
                                        std::to_string(private_key_line_) + "): keep one");
        auto k = decode_key(value);
        if (!k)
            return line_error(line, "PrivateKey is not a WireGuard key: it is 44 characters of "
                                    "base64 ending in '=', as 'wg genkey' prints it");
        config_.private_key = *k;
        explicit_bzero(k->data(), k->size());
        if (std::all_of(config_.private_key.begin(), config_.private_key.end(),
                        [](uint8_t b) { return b == 0; }))
            return line_error(line, "PrivateKey is all zeros: use the key your provider gave you");
        private_key_line_ = line;
        return std::nullopt;
    }
    if (key == "listenport") {
        auto port = number(value, 65535);
        if (!port)
            return line_error(line,
                              "ListenPort " + quoted(value) +
                                  " is not a port number (0 to 65535); leave it out for any port");
        config_.listen_port = static_cast<uint16_t>(*port);
        return std::nullopt;
    }
    if (key == "address") {
        for (auto entry : entries(value)) {
            auto p = parse_prefix(entry, false);
            if (!p)
                return line_error(line, "Address " + p.error() + ", such as 198.18.0.2/32");
            config_.addresses.push_back(*p);
        }
        return std::nullopt;
    }
    if (key == "dns") {
        for (auto entry : entries(value)) {
            std::string text(entry);
            int family = 0;
            if (auto address = canonical(text, family))
                config_.dns.push_back(*address);
            else if (dns::valid_domain(text))
                config_.search.push_back(text);
            else
                return line_error(line, "DNS entry " + quoted(entry) +
                                            " is neither an IP address nor a search domain");
        }
        return std::nullopt;
    }
    // MTU, the last key of [Interface].
    auto mtu = number(value, 1u << 20);
    if (!mtu || *mtu < 576 || *mtu > 9000)
        return line_error(line, "MTU " + quoted(value) +
                                    " is not a number from 576 to 9000: use your provider's value, "
                                    "or leave it out for 1420");
    config_.mtu = *mtu;
    mtu_line_ = line;
    return std::nullopt;
}

std::optional<std::string> Parser::endpoint(int line, std::string_view value, Peer& peer)
{
    std::string host;
    std::string_view port_text;

    if (value.starts_with("[")) {
        size_t close = value.find(']');
        if (close == std::string_view::npos || value.substr(close + 1, 1) != ":")
            return line_error(line, "Endpoint " + quoted(value) +
                                        " is not '[address]:port' or 'host:port'");
        host = value.substr(1, close - 1);
        port_text = value.substr(close + 2);
    } else {
        size_t colon = value.rfind(':');
        if (colon == std::string_view::npos)
            return line_error(line, "Endpoint " + quoted(value) +
                                        " has no port: write it as 'host:port', such as "
                                        "'vpn.example.net:51820'");
        host = value.substr(0, colon);
        port_text = value.substr(colon + 1);
    }
    if (is_ipv6(host) || is_ipv6(std::string(value)))
        return line_error(line, "IPv6 endpoints are not supported yet (" + quoted(value) +
                                    "): use the server's IPv4 address or its name");
    auto port = number(port_text, 65535);
    if (!port || *port == 0)
        return line_error(line, "Endpoint " + quoted(value) +
                                    " has a bad port: it is a number from 1 to 65535");

    if (is_ipv4(host)) {
        int family = 0;
        peer.endpoint_address = *canonical(host, family);
    } else if (dns::valid_domain(host)) {
        std::string why;
        auto addresses = resolve_(host, why);
        auto first = std::find_if(addresses.begin(), addresses.end(), is_ipv4);
        if (first == addresses.end())
            return line_error(line, "cannot resolve the Endpoint host " + quoted(host) + ": " +
                                        (why.empty() ? "it has no IPv4 address" : why));
        peer.endpoint_address = *first;
    } else {
        return line_error(line, "the Endpoint host " + quoted(host) +
                                    " is neither an IPv4 address nor a host name");
    }
    peer.endpoint_host = host;
    peer.endpoint_port = static_cast<uint16_t>(*port);
    return std::nullopt;
}

std::optional<std::string> Parser::peer_key(int line, const std::string& key,
                                            std::string_view value)
{
    Peer& peer = config_.peers.back();

    if (key == "publickey" || key == "presharedkey") {
        const char* name = key == "publickey" ? "PublicKey" : "PresharedKey";
        auto k = decode_key(value);
        if (!k)
            return line_error(line, std::string(name) +
                                        " is not a WireGuard key: it is 44 characters of base64 "
                                        "ending in '=', as your provider gave it");
        if (key == "presharedkey") {
            peer.preshared_key = *k;
        } else {
            peer.public_key = *k;
            peer_has_key_ = true;
        }
        explicit_bzero(k->data(), k->size());
        return std::nullopt;
    }
    if (key == "endpoint")
        return endpoint(line, value, peer);
    if (key == "allowedips") {
        for (auto entry : entries(value)) {
            auto p = parse_prefix(entry, true);
            if (!p)
                return line_error(line, "AllowedIPs " + p.error() + ", such as 0.0.0.0/0");
            peer.allowed_ips.push_back(*p);
        }
        return std::nullopt;
    }
    // PersistentKeepalive, the last key of [Peer].
    if (lower(value) == "off") {
        peer.keepalive = 0;
        return std::nullopt;
    }
    auto seconds = number(value, 65535);
    if (!seconds)
        return line_error(line, "PersistentKeepalive " + quoted(value) +
                                    " is not a number of seconds (0 to 65535) or 'off'");
    peer.keepalive = *seconds;
    return std::nullopt;
}

// Checks the [Peer] that just ended, if any.
std::optional<std::string> Parser::close_peer()
{
    if (section_ != Section::peer)
        return std::nullopt;
    const Peer& peer = config_.peers.back();

    if (!peer_has_key_)
        return line_error(peer.line, "this [Peer] has no PublicKey: add the server's public key");
    for (size_t i = 0; i + 1 < config_.peers.size(); i++)
        if (config_.peers[i].public_key == peer.public_key)
            return line_error(peer.line, "this [Peer] has the same PublicKey as the one on line " +
                                             std::to_string(config_.peers[i].line) +
                                             ": merge the two sections");
    if (peer.endpoint_host.empty())
        config_.notices.push_back(
            "the [Peer] on line " + std::to_string(peer.line) +
            " has no Endpoint: it can be reached only after it has sent to us");
    if (peer.allowed_ips.empty())
        config_.notices.push_back("the [Peer] on line " + std::to_string(peer.line) +
                                  " has no AllowedIPs: no traffic goes to it");
    return std::nullopt;
}

std::optional<std::string> Parser::finish()
{
    if (auto err = close_peer())
        return err;
    if (!interface_line_)
        return std::string("no [Interface] section: a WireGuard configuration starts with "
                           "[Interface] and its PrivateKey");
    if (!private_key_line_)
        return line_error(interface_line_, "[Interface] has no PrivateKey: add the one your "
                                           "provider gave you");
    if (config_.addresses.empty())
        return line_error(interface_line_, "[Interface] has no Address: add the tunnel address "
                                           "your provider gave you");
    if (config_.peers.empty())
        return std::string("no [Peer] section: add the server's [Peer] with its PublicKey, "
                           "Endpoint and AllowedIPs");
    // The kernel removes IPv6 from a link whose MTU is below IPv6's minimum.
    bool ipv6 = std::any_of(config_.addresses.begin(), config_.addresses.end(),
                            [](const Prefix& p) { return p.family == AF_INET6; });
    if (ipv6 && config_.mtu && config_.mtu < 1280)
        return line_error(mtu_line_, "MTU " + std::to_string(config_.mtu) +
                                         " is too small for the IPv6 Address: IPv6 needs at least "
                                         "1280; raise it or leave it out");
    return std::nullopt;
}

// The lines of text, without their '\n'.
std::vector<std::string_view> lines(std::string_view text)
{
    std::vector<std::string_view> out;
    size_t pos = 0;

    // A byte order mark, as some Windows editors write, is not part of the first line.
    if (text.starts_with("\xEF\xBB\xBF"))
        pos = 3;
    while (pos < text.size()) {
        size_t end = std::min(text.find('\n', pos), text.size());
        out.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

void hex(std::string& out, const Key& key)
{
    constexpr const char* digits = "0123456789abcdef";
    for (uint8_t b : key) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
}

} // namespace

Kind detect(std::string_view text)
{
    // ';' starts a comment in OpenVPN files only, but a line that is one says nothing
    // about which kind the file is.
    for (auto raw : lines(text)) {
        std::string_view line = content(raw);
        if (line.empty() || line.front() == ';')
            continue;
        std::string l;
        for (char c : lower(line))  // "[ Interface ]" too, as the parser reads it
            if (c != ' ' && c != '\t')
                l += c;
        // A bare key (a file made by `wg genkey`) is WireGuard's, so that its parser,
        // not OpenVPN's, explains what is wrong with it.
        bool key = l.size() == 44 && decode_key(line).has_value();
        return l == "[interface]" || l == "[peer]" || key ? Kind::wireguard : Kind::openvpn;
    }
    return Kind::openvpn;
}

Result<Config> parse(std::string_view text, const openvpn::Resolver& resolve)
{
    Parser parser(resolve);

    int n = 0;

    for (auto line : lines(text))
        if (auto err = parser.add(++n, line))
            return fail(*err);
    if (auto err = parser.finish())
        return fail(*err);
    return parser.take();
}

std::string uapi_set(const Config& config)
{
    std::string out;

    // Reserved up front, so the string never reallocates and leaves a copy of the
    // private key in freed memory.
    size_t size = 200;
    for (const auto& peer : config.peers)
        size += 300 + peer.allowed_ips.size() * (sizeof "allowed_ip=/128\n" + INET6_ADDRSTRLEN);
    out.reserve(size);

    out += "set=1\nprivate_key=";
    hex(out, config.private_key);
    out += "\n";
    if (config.listen_port)
        out += "listen_port=" + std::to_string(config.listen_port) + "\n";
    out += "replace_peers=true\n";
    for (const auto& peer : config.peers) {
        out += "public_key=";
        hex(out, peer.public_key);
        out += "\n";
        if (peer.preshared_key) {
            out += "preshared_key=";
            hex(out, *peer.preshared_key);
            out += "\n";
        }
        if (!peer.endpoint_address.empty())
            out += "endpoint=" + peer.endpoint_address + ":" + std::to_string(peer.endpoint_port) +
                   "\n";
        if (peer.keepalive)
            out += "persistent_keepalive_interval=" + std::to_string(peer.keepalive) + "\n";
        out += "replace_allowed_ips=true\n";
        for (const auto& ip : peer.allowed_ips)
            out += "allowed_ip=" + ip.text() + "\n";
    }
    out += "\n";
    return out;
}

Watch::Watch(const Config& config)
{
    for (const auto& peer : config.peers)
        if (peer.keepalive)
            keepalives_.push_back(peer.keepalive);
}

bool Watch::keepalives_only(uint64_t sent, long elapsed) const
{
    uint64_t most = 1;  // a passive keepalive
    for (unsigned every : keepalives_)
        most += static_cast<uint64_t>(std::max(elapsed, 0L)) / every + 1;
    return sent % keepalive_bytes == 0 && sent <= most * keepalive_bytes;
}

Watch::Change Watch::look(const std::string& answer, long now)
{
    uint64_t rx = 0, tx = 0;
    for (size_t pos = 0; pos < answer.size();) {
        size_t end = answer.find('\n', pos);
        end = end == answer.npos ? answer.size() : end;
        std::string_view line(answer.data() + pos, end - pos);
        pos = end + 1;
        if (line.starts_with("rx_bytes="))
            rx += strtoull(line.data() + 9, nullptr, 10);
        else if (line.starts_with("tx_bytes="))
            tx += strtoull(line.data() + 9, nullptr, 10);
    }
    long elapsed = now - std::exchange(last_, now);
    // A restarted wireguard-go starts from zero: that is a first look too.
    if (std::exchange(first_, false) || rx < rx_ || tx < tx_) {
        rx_ = rx, tx_ = tx;
        return Change::none;
    }
    uint64_t sent = tx - tx_;
    bool heard = rx != rx_;
    rx_ = rx, tx_ = tx;
    if (heard) {
        unanswered_since_ = -1;
        return std::exchange(down_, false) ? Change::back : Change::none;
    }
    if (sent > 0 && !keepalives_only(sent, elapsed) && unanswered_since_ < 0)
        unanswered_since_ = now;
    if (!down_ && unanswered_since_ >= 0 && now - unanswered_since_ >= unanswered_limit) {
        down_ = true;
        return Change::lost;
    }
    return Change::none;
}

void wipe(Config& config)
{
    explicit_bzero(config.private_key.data(), config.private_key.size());
    for (auto& peer : config.peers) {
        explicit_bzero(peer.public_key.data(), peer.public_key.size());
        if (peer.preshared_key)
            explicit_bzero(peer.preshared_key->data(), peer.preshared_key->size());
    }
}

void wipe(std::string& secret)
{
    explicit_bzero(secret.data(), secret.size());
    secret.clear();
}

std::optional<Key> decode_key(std::string_view base64)
{
    Key key{};
    uint32_t bits = 0;
    int nbits = 0;
    size_t out = 0;

    // 32 bytes are 43 characters of base64 and one '=' of padding.
    if (base64.size() != 44 || base64[43] != '=')
        return std::nullopt;
    for (size_t i = 0; i < 43; i++) {
        const char* p = base64[i] ? strchr(base64_alphabet, base64[i]) : nullptr;
        if (!p)
            return std::nullopt;
        bits = (bits << 6) | static_cast<uint32_t>(p - base64_alphabet);
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            key[out++] = static_cast<uint8_t>(bits >> nbits);
            bits &= (1u << nbits) - 1;
        }
    }
    // The last character carries two bits beyond the key; wg refuses a key whose
    // spare bits are not zero, so that each key has one spelling.
    if (bits != 0)
        return std::nullopt;
    return key;
}

std::string encode_key(const Key& key)
{
    std::string out;
    uint32_t bits = 0;
    int nbits = 0;

    for (uint8_t b : key) {
        bits = (bits << 8) | b;
        nbits += 8;
        while (nbits >= 6) {
            nbits -= 6;
            out += base64_alphabet[(bits >> nbits) & 0x3f];
        }
        bits &= (1u << nbits) - 1;
    }
    out += base64_alphabet[(bits << (6 - nbits)) & 0x3f];
    return out + "=";
}

namespace {

bool inside(const Prefix& p, const std::string& address)
{
    unsigned char net[16], addr[16];
    if (inet_pton(p.family, p.address.c_str(), net) != 1 ||
        inet_pton(p.family, address.c_str(), addr) != 1)
        return false;
    for (int bit = 0; bit < p.length; bit++) {
        int mask = 0x80 >> (bit % 8);
        if ((net[bit / 8] & mask) != (addr[bit / 8] & mask))
            return false;
    }
    return true;
}

} // namespace

bool routed(const Config& config, const std::string& address)
{
    for (const auto& peer : config.peers)
        for (const auto& p : peer.allowed_ips)
            if (inside(p, address))
                return true;
    return false;
}

std::string nudge_target(const Config& config, const std::vector<std::string>& servers)
{
    for (const auto& s : servers)
        if (s.find(':') == std::string::npos && routed(config, s))
            return s;
    for (const auto& peer : config.peers)
        for (const auto& p : peer.allowed_ips) {
            if (p.family != AF_INET)
                continue;
            in_addr a{};
            inet_pton(AF_INET, p.address.c_str(), &a);
            if (p.length < 31)  // not the network's own address
                a.s_addr = htonl(ntohl(a.s_addr) + 1);
            char text[INET_ADDRSTRLEN];
            return inet_ntop(AF_INET, &a, text, sizeof text);
        }
    return "";
}

} // namespace nsjv::wireguard
