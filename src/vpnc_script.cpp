#include "vpnc_script.hpp"

#include "log.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <strings.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>

namespace nsjv::script {

namespace {

// No real server pushes this many; more is a bug or an attempt on our memory.
constexpr unsigned max_routes = 1000;

using Vars = std::map<std::string, std::string>;

bool one_of(const std::string& s, std::initializer_list<const char*> names)
{
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return s == n; });
}

template <class T> void add_once(std::vector<T>& list, const T& item)
{
    if (std::find(list.begin(), list.end(), item) == list.end())
        list.push_back(item);
}

std::vector<std::string> split_on(const std::string& text, const char* separators)
{
    std::vector<std::string> out;
    size_t pos = 0;
    while ((pos = text.find_first_not_of(separators, pos)) != std::string::npos) {
        size_t end = text.find_first_of(separators, pos);
        out.push_back(text.substr(pos, end == std::string::npos ? end : end - pos));
        pos = end;
    }
    return out;
}

// A number as OpenConnect prints one with %d: digits only, no sign, no leading zero.
std::optional<unsigned> number(const std::string& text, unsigned max)
{
    if (text.empty() || text.size() > 6 || (text.size() > 1 && text[0] == '0'))
        return std::nullopt;
    unsigned n = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n > max)
        return std::nullopt;
    return n;
}

std::string quoted(const std::string& text)
{
    return "'" + log::shown(text) + "'";
}

std::string bad(const std::string& key, const std::string& value, const std::string& why)
{
    return key + " " + quoted(value) + ": " + why;
}

const std::string& get(const Vars& vars, const std::string& key)
{
    static const std::string none;
    auto it = vars.find(key);
    return it == vars.end() ? none : it->second;
}

// --- addresses, as host-order integers and canonical text

std::optional<uint32_t> ipv4(const std::string& text)
{
    in_addr a{};
    if (inet_pton(AF_INET, text.c_str(), &a) != 1)
        return std::nullopt;
    return ntohl(a.s_addr);
}

std::string ipv4_text(uint32_t address)
{
    in_addr a{};
    char buf[INET_ADDRSTRLEN];
    a.s_addr = htonl(address);
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

std::optional<in6_addr> ipv6(const std::string& text)
{
    in6_addr a{};
    if (inet_pton(AF_INET6, text.c_str(), &a) != 1)
        return std::nullopt;
    return a;
}

std::string ipv6_text(const in6_addr& a)
{
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a, buf, sizeof buf);
    return buf;
}

uint32_t mask_bits(unsigned length)
{
    return length == 0 ? 0 : ~uint32_t{0} << (32 - length);
}

std::optional<unsigned> mask_length(uint32_t mask)
{
    unsigned length = 0;
    while (length < 32 && (mask & (uint32_t{1} << (31 - length))))
        length++;
    if (mask != mask_bits(length))
        return std::nullopt;
    return length;
}

void clear_host_bits(in6_addr& a, unsigned length)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = length >= 8 * (i + 1) ? 8 : length > 8 * i ? length - 8 * i : 0;
        a.s6_addr[i] &= static_cast<uint8_t>(0xff00u >> keep);
    }
}

// As the kernel takes one (dev_valid_name), and printable.
bool valid_ifname(const std::string& name)
{
    if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == "..")
        return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return c > ' ' && c < 127 && c != '/' && c != ':'; });
}

// --- the report

// "CISCO_SPLIT_INC_<n>_ADDR" and the like, with n as OpenConnect writes it.
bool indexed_key(const std::string& key, const std::string& list,
                 std::initializer_list<const char*> fields)
{
    if (!key.starts_with(list + "_"))
        return false;
    size_t start = list.size() + 1;
    size_t end = key.find('_', start);
    if (end == std::string::npos || !number(key.substr(start, end - start), max_routes - 1))
        return false;
    return one_of(key.substr(end + 1), fields);
}

Result<Vars> collect(const std::vector<std::string>& env)
{
    Vars vars;
    for (const auto& kv : env) {
        size_t eq = kv.find('=');
        if (eq == std::string::npos || !report_variable(kv.substr(0, eq)))
            continue;
        // The script's environment is a list; a name twice would be read differently by
        // different readers, so it is no report.
        if (!vars.emplace(kv.substr(0, eq), kv.substr(eq + 1)).second)
            return fail("the script received " + kv.substr(0, eq) + " twice");
    }
    return vars;
}

// A netmask as MASK (dotted), MASKLEN, or both, which must then agree.
Result<unsigned> prefix_length(const Vars& vars, const std::string& mask_key,
                               const std::string& length_key, std::optional<unsigned> otherwise)
{
    const std::string& mask = get(vars, mask_key);
    const std::string& length = get(vars, length_key);
    std::optional<unsigned> from_mask, from_length;

    if (!mask.empty()) {
        if (auto m = ipv4(mask))
            from_mask = mask_length(*m);
        if (!from_mask)
            return fail(bad(mask_key, mask, "not a netmask"));
    }
    if (!length.empty() && !(from_length = number(length, 32)))
        return fail(bad(length_key, length, "not a prefix length from 0 to 32"));
    if (from_mask && from_length && *from_mask != *from_length)
        return fail(mask_key + " " + quoted(mask) + " and " + length_key + " " + quoted(length) +
                    " disagree");
    if (from_length)
        return *from_length;
    if (from_mask)
        return *from_mask;
    if (otherwise)
        return *otherwise;
    return fail(mask_key + " and " + length_key + " are both missing");
}

Result<std::string> route4(const Vars& vars, const std::string& entry)
{
    const std::string key = entry + "_ADDR";
    const std::string& text = get(vars, key);
    if (text.empty())
        return fail(key + " is missing");
    auto address = ipv4(text);
    if (!address)
        return fail(bad(key, text, "not an IPv4 address"));
    auto length = prefix_length(vars, entry + "_MASK", entry + "_MASKLEN", std::nullopt);
    if (!length)
        return fail(length.error());
    return ipv4_text(*address & mask_bits(*length)) + "/" + std::to_string(*length);
}

Result<std::string> route6(const Vars& vars, const std::string& entry)
{
    const std::string key = entry + "_ADDR", length_key = entry + "_MASKLEN";
    const std::string& text = get(vars, key);
    const std::string& length_text = get(vars, length_key);
    if (text.empty())
        return fail(key + " is missing");
    auto address = ipv6(text);
    if (!address)
        return fail(bad(key, text, "not an IPv6 address"));
    auto length = number(length_text, 128);
    if (!length)
        return fail(length_text.empty()
                        ? length_key + " is missing"
                        : bad(length_key, length_text, "not a prefix length from 0 to 128"));
    clear_host_bits(*address, *length);
    return ipv6_text(*address) + "/" + std::to_string(*length);
}

// CISCO_SPLIT_INC and its kin: a count, then entries 0 to count - 1. Entries past the
// count are not part of the list (OpenConnect counts only the ones it wrote).
Result<std::vector<std::string>> route_list(const Vars& vars, const std::string& list, bool v6)
{
    std::vector<std::string> out;
    const std::string& count_text = get(vars, list);

    if (count_text.empty())
        return out;
    auto count = number(count_text, max_routes);
    if (!count)
        return fail(
            bad(list, count_text, "not a number of routes up to " + std::to_string(max_routes)));
    for (unsigned i = 0; i < *count; i++) {
        std::string entry = list + "_" + std::to_string(i);
        auto route = v6 ? route6(vars, entry) : route4(vars, entry);
        if (!route)
            return fail(route.error());
        add_once(out, *route);
    }
    return out;
}

// A split-include of everything is a full tunnel, which is what no routes means.
bool everything(const std::vector<std::string>& routes)
{
    return std::any_of(routes.begin(), routes.end(),
                       [](const std::string& r) { return r.ends_with("/0"); });
}

Result<bool> read_link(const Vars& vars, Report& r)
{
    r.device = get(vars, "TUNDEV");
    if (r.device.empty())
        return fail("the client named no tun device (TUNDEV)");
    if (!valid_ifname(r.device))
        return fail(bad("TUNDEV", r.device, "not a network interface name"));

    r.gateway = get(vars, "VPNGATEWAY");
    if (!r.gateway.empty() && !dns::valid_server(r.gateway))
        return fail(bad("VPNGATEWAY", r.gateway, "not an IP address"));

    // OpenConnect always sets it, to 0 when it does not know.
    const std::string& mtu = get(vars, "INTERNAL_IP4_MTU");
    if (!mtu.empty() && mtu != "0") {
        auto n = number(mtu, 65535);
        if (!n || *n < 68)
            return fail(bad("INTERNAL_IP4_MTU", mtu, "not an MTU from 68 to 65535"));
        r.mtu = *n;
    }
    return true;
}

Result<bool> read_address(const Vars& vars, Report& r)
{
    const std::string& text = get(vars, "INTERNAL_IP4_ADDRESS");
    if (text.empty())
        return fail("the VPN gave no IPv4 address (INTERNAL_IP4_ADDRESS); IPv6-only VPNs are not "
                    "supported yet");
    auto address = ipv4(text);
    if (!address)
        return fail(bad("INTERNAL_IP4_ADDRESS", text, "not an IPv4 address"));
    auto length = prefix_length(vars, "INTERNAL_IP4_NETMASK", "INTERNAL_IP4_NETMASKLEN", 32);
    if (!length)
        return fail(length.error());
    if (*length == 0)
        return fail(bad("INTERNAL_IP4_NETMASK", "0.0.0.0", "an address's netmask cannot be /0"));
    r.address = ipv4_text(*address) + "/" + std::to_string(*length);
    return true;
}

// INTERNAL_IP6_NETMASK is "address/length" (OpenConnect sets INTERNAL_IP6_ADDRESS from
// it when the server gave only that); a bare length is accepted too.
Result<bool> read_address6(const Vars& vars, Report& r)
{
    std::string text = get(vars, "INTERNAL_IP6_ADDRESS");
    const std::string& netmask = get(vars, "INTERNAL_IP6_NETMASK");
    unsigned length = 128;

    if (!netmask.empty()) {
        size_t slash = netmask.find('/');
        auto n = number(slash == std::string::npos ? netmask : netmask.substr(slash + 1), 128);
        if (!n || (slash != std::string::npos && !ipv6(netmask.substr(0, slash))))
            return fail(bad("INTERNAL_IP6_NETMASK", netmask, "not an IPv6 address/length"));
        length = *n;
        if (text.empty() && slash != std::string::npos)
            text = netmask.substr(0, slash);
    }
    if (text.empty())
        return true;
    auto address = ipv6(text);
    if (!address)
        return fail(bad("INTERNAL_IP6_ADDRESS", text, "not an IPv6 address"));
    r.address6 = ipv6_text(*address) + "/" + std::to_string(length);
    return true;
}

Result<bool> read_split(const Vars& vars, Report& r)
{
    auto inc = route_list(vars, "CISCO_SPLIT_INC", false);
    auto inc6 = route_list(vars, "CISCO_IPV6_SPLIT_INC", true);
    auto exc = route_list(vars, "CISCO_SPLIT_EXC", false);
    auto exc6 = route_list(vars, "CISCO_IPV6_SPLIT_EXC", true);
    for (const auto* list : {&inc, &inc6, &exc, &exc6})
        if (!*list)
            return fail(list->error());

    if (!everything(*inc))
        r.routes = *inc;
    if (!everything(*inc6))
        r.routes6 = *inc6;
    // Nothing in the app's namespace goes around the tunnel, so what the server wants
    // sent around it goes nowhere instead: an unreachable route each.
    // An exclude of everything, or of a route it also includes, would clash with that
    // route in the tunnel's table; it stays in the tunnel.
    for (const auto& e : *exc) {
        if (e.ends_with("/0")) {
            r.warnings.push_back("ignoring the VPN's split-exclude of everything ('" + e +
                                 "'): nothing in the sandbox goes around the tunnel");
            continue;
        }
        if (std::find(r.routes.begin(), r.routes.end(), e) != r.routes.end()) {
            r.warnings.push_back("ignoring the VPN's split-exclude '" + e +
                                 "', which it also includes: it stays in the tunnel");
            continue;
        }
        r.excluded.push_back(e);
        r.warnings.push_back("the VPN sends '" + e + "' outside the tunnel: in the sandbox " +
                             "it is unreachable, as nothing goes around the tunnel");
    }
    for (const auto& e : *exc6)
        r.warnings.push_back("ignoring the VPN's IPv6 split-exclude '" + e +
                             "': nothing in the sandbox goes around the tunnel");
    return true;
}

Result<bool> read_dns(const Vars& vars, Report& r)
{
    r.dns.dhcp_source = "given by the VPN client (INTERNAL_IP4_DNS, INTERNAL_IP6_DNS)";
    for (const char* key : {"INTERNAL_IP4_DNS", "INTERNAL_IP6_DNS"})
        for (const auto& server : split_on(get(vars, key), " \t\n")) {
            if (dns::valid_server(server))
                add_once(r.dns.dhcp_option, server);
            else
                r.warnings.push_back("ignoring DNS server " + quoted(server) + " (" + key +
                                     "): not an IP address");
        }
    for (const auto& domain : split_on(get(vars, "CISCO_DEF_DOMAIN"), " \t\n,")) {
        if (dns::valid_domain(domain))
            add_once(r.dns.search, domain);
        else
            r.warnings.push_back("ignoring search domain " + quoted(domain) +
                                 " (CISCO_DEF_DOMAIN): not a domain name");
    }
    const std::string& split = get(vars, "CISCO_SPLIT_DNS");
    if (split.find_first_not_of(" \t\n,") != std::string::npos)
        r.warnings.push_back("the VPN asks for split DNS (" + quoted(split) +
                             "), which is not supported: all DNS queries go to its servers");
    return true;
}

// --- sh-like splitting

bool special_to_sh(char c)
{
    return std::string_view("$`*?[~;|&<>()\n").find(c) != std::string_view::npos;
}

std::string at(size_t i)
{
    return " at character " + std::to_string(i + 1);
}

// Inside "...": \ escapes only " \ $ ` and a newline; $ and ` would expand.
Result<bool> double_quoted(std::string_view text, size_t& i, std::string& word)
{
    const size_t open = i;
    for (i++; i < text.size(); i++) {
        char c = text[i];
        if (c == '"')
            return true;
        if (c == '\\' && i + 1 < text.size() &&
            std::string_view("\"\\$`\n").find(text[i + 1]) != std::string_view::npos) {
            if (text[++i] != '\n')
                word += text[i];
            continue;
        }
        if (c == '$' || c == '`') {
            const std::string ch(1, c);
            return fail("'" + ch + "'" + at(i) + " is expanded by sh even inside double quotes, " +
                        "and nsjail-vpn expands nothing: write \\" + ch + " or use single quotes");
        }
        word += c;
    }
    return fail("the double quote" + at(open) + " is never closed");
}

// NAME=value before the program sets a variable in sh; nothing here would.
bool assignment(const std::string& word)
{
    size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0 || (word[0] >= '0' && word[0] <= '9'))
        return false;
    return std::all_of(word.begin(), word.begin() + static_cast<std::ptrdiff_t>(eq), [](char c) {
        return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9');
    });
}

// --- OpenConnect's command line

// Why each option that would take the tunnel, the script or the process out of our
// hands is refused.
constexpr const char* own_script =
    "nsjail-vpn runs its own script, which configures the tunnel inside the sandbox";
constexpr const char* script_tun =
    "nsjail-vpn needs a tun device inside the sandbox, not packets passed to a script";
constexpr const char* own_tun = "nsjail-vpn creates the tun device inside the sandbox and names it";
constexpr const char* foreground =
    "nsjail-vpn supervises the client, which must stay in the foreground";
constexpr const char* as_you =
    "the client already runs as you, with only CAP_NET_ADMIN, inside the sandbox";
constexpr const char* pid_file = "nsjail-vpn supervises the client and knows its pid";
constexpr const char* no_syslog =
    "nsjail-vpn shows the client's errors (and its whole log with -v); the sandbox has no syslog";
constexpr const char* csd = "the host scan (CSD) program would run inside the sandbox with the "
                            "client's CAP_NET_ADMIN; it is not supported";
constexpr const char* browser =
    "the browser would run inside the sandbox with the client's CAP_NET_ADMIN, beside the "
    "tunnel rather than through it; it is not supported";
constexpr const char* config =
    "nsjail-vpn checks every option it passes to openconnect and cannot check a config file's: "
    "give them on the command line";
constexpr const char* proxy = "proxies are not supported yet: the client in the sandbox can "
                              "neither reach a proxy on the host nor resolve a proxy's name";

struct Option {
    const char* name;
    char letter;                   // the short form, or 0
    bool value;                    // takes a value (getopt's required_argument)
    const char* refused = nullptr; // why nsjail-vpn refuses it
};

// OpenConnect 9.01's getopt_long table: what `openconnect --help` lists and the hidden
// options it also accepts (no-cert-check, juniper, http-auth, compression, ...), each
// checked against /usr/sbin/openconnect 9.01, so that no option's value is taken for
// the server. Short ones from its optstring "bC:c:Dde:F:g:hi:k:lm:P:p:Q:qSs:U:u:Vvx:".
const Option openconnect_options[] = {
    {"allow-insecure-crypto", 0, false},
    {"authenticate", 0, false},
    {"authgroup", 0, true},
    {"background", 'b', false, foreground},
    {"base-mtu", 0, true},
    {"cafile", 0, true},
    {"cert-expire-warning", 'e', true},
    {"certificate", 'c', true},
    {"compression", 0, true},
    {"config", 0, true, config},
    {"cookie", 'C', true},
    {"cookie-on-stdin", 0, false},
    {"cookieonly", 0, false},
    {"csd-user", 0, true, as_you},
    {"csd-wrapper", 0, true, csd},
    {"deflate", 'd', false},
    {"disable-ipv6", 0, false},
    {"dtls-ciphers", 0, true},
    {"dtls-local-port", 0, true},
    {"dtls12-ciphers", 0, true},
    {"dump-http-traffic", 0, false},
    {"external-browser", 0, true, browser},
    {"force-dpd", 0, true},
    {"force-trojan", 0, true},
    {"form-entry", 'F', true},
    {"gnutls-debug", 0, true},
    {"gnutls-priority", 0, true},
    {"help", 'h', false},
    {"http-auth", 0, true},
    {"interface", 'i', true, own_tun},
    {"juniper", 0, false},
    {"key-password", 'p', true},
    {"key-password-from-fsid", 0, false},
    {"libproxy", 0, false, proxy},
    {"local-hostname", 0, true},
    {"mca-certificate", 0, true},
    {"mca-key", 0, true},
    {"mca-key-password", 0, true},
    {"mtu", 'm', true},
    {"no-cert-check", 0, false},
    {"no-deflate", 'D', false},
    {"no-dtls", 0, false},
    {"no-http-keepalive", 0, false},
    {"no-passwd", 0, false},
    {"no-proxy", 0, false},
    {"no-system-trust", 0, false},
    {"no-xmlpost", 0, false},
    {"non-inter", 0, false},
    {"os", 0, true},
    {"passtos", 0, false},
    {"passwd-on-stdin", 0, false},
    {"pfs", 0, false},
    {"pid-file", 0, true, pid_file},
    {"printcookie", 0, false},
    {"protocol", 0, true},
    {"proxy", 'P', true, proxy},
    {"proxy-auth", 0, true},
    {"queue-len", 'Q', true},
    {"quiet", 'q', false},
    {"reconnect-timeout", 0, true},
    {"resolve", 0, true},
    {"script", 's', true, own_script},
    {"script-tun", 'S', false, script_tun},
    {"server", 0, true},
    {"servercert", 0, true},
    {"setuid", 'U', true, as_you},
    {"sslkey", 'k', true},
    {"syslog", 'l', false, no_syslog},
    {"timestamp", 0, false},
    {"token-mode", 0, true},
    {"token-secret", 0, true},
    {"user", 'u', true},
    {"useragent", 0, true},
    {"usergroup", 'g', true},
    {"verbose", 'v', false},
    {"version", 'V', false},
    {"version-string", 0, true},
    {"xmlconfig", 'x', true},
};

// getopt_long's lookup: the exact name, else the one option it abbreviates. nullptr
// for a name openconnect 9.01 does not have.
Result<const Option*> find_long(const std::string& name)
{
    const Option* match = nullptr;
    for (const auto& o : openconnect_options)
        if (name == o.name)
            return &o;
    for (const auto& o : openconnect_options) {
        if (std::string_view(o.name).starts_with(name)) {
            if (match)
                return fail("'--" + log::shown(name) + "' is ambiguous (--" + match->name + ", --" +
                            o.name + ", ...): write the option in full");
            match = &o;
        }
    }
    return match;
}

const Option* find_short(char letter)
{
    for (const auto& o : openconnect_options)
        if (o.letter == letter)
            return &o;
    return nullptr;
}

std::string refusal(const Option& o, const std::string& written)
{
    std::string full = std::string("--") + o.name;
    return log::shown(written) + (written == full ? "" : " (" + full + ")") + ": " + o.refused;
}

struct Arguments {
    std::vector<std::string> servers;  // positional words and --server values
    std::vector<std::string> resolves; // --resolve values
    size_t end = 0;                    // where options end: at "--", or after the last word
    std::vector<std::string> notices;
};

void take(const Option& o, const std::string& value, Arguments& a)
{
    if (std::string_view(o.name) == "server")
        a.servers.push_back(value);
    else if (std::string_view(o.name) == "resolve")
        a.resolves.push_back(value);
}

Result<bool> long_option(const std::vector<std::string>& words, size_t& i, Arguments& a)
{
    const std::string& word = words[i];
    size_t eq = word.find('=');
    std::string written = word.substr(0, eq);

    auto found = find_long(written.substr(2));
    if (!found)
        return fail(found.error());
    if (!*found) {
        // A newer openconnect may know it; with its value after '=' it cannot hide the server.
        a.notices.push_back("passing " + quoted(word) + " to openconnect unchecked: it is not " +
                            "an option of openconnect 9.01, whose options nsjail-vpn knows");
        return true;
    }
    const Option& o = **found;
    if (o.refused)
        return fail(refusal(o, written));
    if (eq != std::string::npos && !o.value)
        return fail(quoted(word) + ": --" + o.name + " takes no value");
    if (eq != std::string::npos)
        take(o, word.substr(eq + 1), a);
    else if (o.value && i + 1 < words.size())
        take(o, words[++i], a);
    else if (o.value)
        return fail(std::string("--") + o.name + " needs a value");
    return true;
}

// A cluster like "-vu name" or "-vuname": an option with a value takes the rest.
Result<bool> short_options(const std::vector<std::string>& words, size_t& i, Arguments& a)
{
    const std::string& word = words[i];
    for (size_t k = 1; k < word.size(); k++) {
        const std::string written = std::string("-") + word[k];
        const Option* o = find_short(word[k]);
        if (!o)
            return fail(quoted(written) + (word.size() > 2 ? " (in " + quoted(word) + ")" : "") +
                        " is not an option of openconnect 9.01");
        if (o->refused)
            return fail(refusal(*o, written));
        if (!o->value)
            continue;
        if (k + 1 < word.size())
            take(*o, word.substr(k + 1), a);
        else if (i + 1 < words.size())
            take(*o, words[++i], a);
        else
            return fail(written + " (--" + o->name + ") needs a value");
        return true;
    }
    return true;
}

// GNU getopt permutes: the server may come anywhere, and everything after "--" is one.
Result<Arguments> read_arguments(const std::vector<std::string>& words)
{
    Arguments a;
    a.end = words.size();
    for (size_t i = 1; i < words.size(); i++) {
        const std::string& word = words[i];
        if (word == "--") {
            a.end = i;
            a.servers.insert(a.servers.end(), words.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                             words.end());
            break;
        }
        if (word.size() < 2 || word[0] != '-') {
            a.servers.push_back(word);
            continue;
        }
        auto ok = word[1] == '-' ? long_option(words, i, a) : short_options(words, i, a);
        if (!ok)
            return fail(ok.error());
    }
    return a;
}

bool valid_port(const std::string& port)
{
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    unsigned long n = std::stoul(port);
    return n >= 1 && n <= 65535;
}

// The host openconnect connects to, read the way it reads its server argument
// (internal_parse_url): "https://" or no scheme, everything up to the first '/', less
// a ":port" at its end.
Result<std::string> host_of(const std::string& server)
{
    std::string rest = server;
    size_t scheme = rest.find("://");
    if (scheme != std::string::npos) {
        if (scheme != 5 || strncasecmp(rest.c_str(), "https", 5) != 0)
            return fail("VPN server " + quoted(server) + ": openconnect takes only https:// URLs");
        rest.erase(0, scheme + 3);
    }
    std::string host = rest.substr(0, rest.find('/'));
    if (host.find('@') != std::string::npos)
        return fail("VPN server " + quoted(server) + ": a user name or password in the URL is " +
                    "not supported: use --user, and let openconnect ask for the password");
    if (host.starts_with('[') || std::count(host.begin(), host.end(), ':') > 1)
        return fail("IPv6 VPN servers are not supported yet (" + quoted(server) + ")");
    if (size_t colon = host.rfind(':'); colon != std::string::npos) {
        if (!valid_port(host.substr(colon + 1)))
            return fail("VPN server " + quoted(server) + ": " + quoted(host.substr(colon + 1)) +
                        " is not a port number");
        host.resize(colon);
    }
    if (host.empty())
        return fail("VPN server " + quoted(server) + " names no host");
    if (!ipv4(host) && !dns::valid_domain(host))
        return fail("VPN server " + quoted(server) + ": " + quoted(host) + " is not a host name");
    return host;
}

// The server's IPv4 address: the user's own --resolve for it, else the host's resolver.
// TODO: a server that redirects the client to another host name fails to connect: only
// the name given is resolved before the sandbox starts, and the sandbox cannot resolve.
Result<std::string> address_of(const std::string& host, const Arguments& a,
                               const openvpn::Resolver& resolve, bool& given)
{
    given = false;
    for (const auto& r : a.resolves) {
        if (!r.starts_with(host + ":"))
            continue;
        // openconnect reads HOST:IP up to the first ':'.
        std::string address = r.substr(host.size() + 1);
        given = true;
        if (ipv6(address))
            return fail("IPv6 VPN servers are not supported yet (--resolve=" + log::shown(r) + ")");
        if (!ipv4(address))
            return fail("--resolve=" + log::shown(r) + ": " + quoted(address) +
                        " is not an IPv4 address");
        return address;
    }

    std::string why;
    auto addresses = resolve(host, why);
    if (addresses.empty())
        return fail("cannot resolve VPN server " + quoted(host) + ": " +
                    (why.empty() ? "no IPv4 address" : why));
    if (!ipv4(addresses.front()))
        return fail("cannot resolve VPN server " + quoted(host) + ": " + quoted(addresses.front()) +
                    " is not an IPv4 address");
    return addresses.front();
}

Result<Command> plan_openconnect(const std::vector<std::string>& words, const std::string& script,
                                 const std::string& tun, const openvpn::Resolver& resolve)
{
    auto a = read_arguments(words);
    if (!a)
        return fail(a.error());
    if (a->servers.empty())
        return fail("openconnect needs the VPN server, as in 'openconnect vpn.example.com'");
    if (a->servers.size() > 1) {
        std::string list;
        for (const auto& s : a->servers)
            list += (list.empty() ? "" : ", ") + quoted(s);
        return fail("openconnect takes one VPN server, and this gives " +
                    std::to_string(a->servers.size()) + ": " + list +
                    "; if one is an option's value, write it as --option=value");
    }

    Command c;
    auto host = host_of(a->servers.front());
    if (!host)
        return fail(host.error());
    c.server_host = *host;
    std::vector<std::string> extra;
    if (!ipv4(*host)) {
        bool given = false;
        auto address = address_of(*host, *a, resolve, given);
        if (!address)
            return fail(address.error());
        c.server_address = *address;
        // The client in the sandbox never needs a resolver to find its server.
        if (!given)
            extra.push_back("--resolve=" + *host + ":" + *address);
    }
    extra.push_back("--interface=" + tun);
    extra.push_back("--script=" + script);

    // Before a "--", after which nothing is an option.
    c.argv = words;
    c.argv.insert(c.argv.begin() + static_cast<std::ptrdiff_t>(a->end), extra.begin(), extra.end());
    c.notices = std::move(a->notices);
    return c;
}

// One pass, so that text put in for one placeholder is never read as the other.
std::string fill(const std::string& word, const std::string& script, const std::string& tun,
                 bool& saw_script, bool& saw_tun)
{
    std::string out;
    for (size_t i = 0; i < word.size();) {
        if (word.compare(i, 8, "{script}") == 0) {
            out += script;
            saw_script = true;
            i += 8;
        } else if (word.compare(i, 5, "{tun}") == 0) {
            out += tun;
            saw_tun = true;
            i += 5;
        } else {
            out += word[i++];
        }
    }
    return out;
}

Result<Command> plan_placeholders(const std::vector<std::string>& words, const std::string& script,
                                  const std::string& tun)
{
    Command c;
    bool saw_script = false, saw_tun = false;

    c.argv.push_back(words.front());
    for (size_t i = 1; i < words.size(); i++)
        c.argv.push_back(fill(words[i], script, tun, saw_script, saw_tun));
    if (saw_script && saw_tun)
        return c;
    std::string missing = saw_script ? "{tun}" : saw_tun ? "{script}" : "{script} or {tun}";
    return fail(quoted(words.front()) +
                " is not openconnect, so nsjail-vpn cannot tell where its " +
                "script and tun device go, and the command has no " + missing +
                ": put both where they belong, for example --vpn-cmd 'vpnc --script {script} " +
                "--ifname {tun} --no-detach corp.conf'");
}

} // namespace

bool report_variable(const std::string& key)
{
    if (one_of(key, {"reason", "TUNDEV", "VPNGATEWAY", "INTERNAL_IP4_ADDRESS",
                     "INTERNAL_IP4_NETMASK", "INTERNAL_IP4_NETMASKLEN", "INTERNAL_IP4_MTU",
                     "INTERNAL_IP4_DNS", "INTERNAL_IP6_ADDRESS", "INTERNAL_IP6_NETMASK",
                     "INTERNAL_IP6_DNS", "CISCO_DEF_DOMAIN", "CISCO_SPLIT_DNS", "CISCO_SPLIT_INC",
                     "CISCO_SPLIT_EXC", "CISCO_IPV6_SPLIT_INC", "CISCO_IPV6_SPLIT_EXC"}))
        return true;
    return indexed_key(key, "CISCO_SPLIT_INC", {"ADDR", "MASK", "MASKLEN"}) ||
           indexed_key(key, "CISCO_SPLIT_EXC", {"ADDR", "MASK", "MASKLEN"}) ||
           indexed_key(key, "CISCO_IPV6_SPLIT_INC", {"ADDR", "MASKLEN"}) ||
           indexed_key(key, "CISCO_IPV6_SPLIT_EXC", {"ADDR", "MASKLEN"});
}

Result<Report> parse_report(const std::vector<std::string>& env)
{
    auto vars = collect(env);
    if (!vars)
        return fail(vars.error());

    Report r;
    r.reason = get(*vars, "reason");
    if (r.reason.empty())
        return fail("the script was called without a reason");
    if (!one_of(r.reason, {"pre-init", "connect", "disconnect", "reconnect", "attempt-reconnect"}))
        return fail(bad("reason", r.reason, "not one that vpnc-script knows"));
    if (r.reason != "connect" && r.reason != "reconnect") {
        // Nothing to configure: the rest is not read, only the device noted.
        if (valid_ifname(get(*vars, "TUNDEV")))
            r.device = get(*vars, "TUNDEV");
        return r;
    }

    using Step = Result<bool> (*)(const Vars&, Report&);
    const Step steps[] = {read_link, read_address, read_address6, read_split, read_dns};
    for (Step step : steps)
        if (auto ok = step(*vars, r); !ok)
            return fail(ok.error());
    return r;
}

Result<std::vector<std::string>> split_command(std::string_view text)
{
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;

    if (text.find('\0') != std::string_view::npos)
        return fail("it holds a NUL byte");
    for (size_t i = 0; i < text.size(); i++) {
        const char c = text[i];
        if (c == ' ' || c == '\t') {
            if (in_word)
                words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else if (c == '\\') {
            if (i + 1 == text.size())
                return fail("it ends with a backslash, which escapes nothing");
            // A backslash before a newline joins the lines, as in sh.
            if (text[++i] != '\n') {
                word += text[i];
                in_word = true;
            }
        } else if (c == '\'') {
            size_t close = text.find('\'', i + 1);
            if (close == std::string_view::npos)
                return fail("the single quote" + at(i) + " is never closed");
            word.append(text.substr(i + 1, close - i - 1));
            in_word = true;
            i = close;
        } else if (c == '"') {
            if (auto ok = double_quoted(text, i, word); !ok)
                return fail(ok.error());
            in_word = true;
        } else if (special_to_sh(c) || (c == '#' && !in_word)) {
            return fail(
                (c == '\n' ? std::string("a newline") : std::string("'") + c + "'") + at(i) +
                " is special to sh, and nsjail-vpn runs the command without a shell (no "
                "expansion, no redirection): quote it ('...') if it belongs to an argument");
        } else {
            word += c;
            in_word = true;
        }
    }
    if (in_word)
        words.push_back(std::move(word));

    if (words.empty())
        return fail("it is empty");
    if (assignment(words.front()))
        return fail(quoted(words.front()) +
                    " would set an environment variable in sh; nsjail-vpn "
                    "runs the command without a shell, so its first word must be the program");
    return words;
}

Result<Command> plan_command(const std::vector<std::string>& words, const std::string& script,
                             const std::string& tun, const openvpn::Resolver& resolve)
{
    if (words.empty())
        return fail("it is empty");
    const std::string& program = words.front();
    if (program.substr(program.rfind('/') + 1) == "openconnect")
        return plan_openconnect(words, script, tun, resolve);
    return plan_placeholders(words, script, tun);
}

} // namespace nsjv::script
