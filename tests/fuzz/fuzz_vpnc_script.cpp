// libFuzzer target: the launcher's reading of what a vpnc-script client (OpenConnect)
// reports to our script, and of --vpn-cmd (src/vpnc_script.cpp), with the sandbox's
// resolv.conf made from the report (src/dns.cpp).
// Input: "cmd:" and the text of --vpn-cmd; otherwise the script's message as the
// supervisor receives it, "KEY=VALUE" strings, NUL-separated.
#include "dns.hpp"
#include "vpnc_script.hpp"

#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace nsjv;

namespace {

[[noreturn]] void broken(const char* property, const std::string& detail)
{
    fprintf(stderr, "fuzz property: %s: '%s'\n", property, detail.c_str());
    abort();
}

// "a.b.c.d/len" (or IPv6) as the kernel would print it back, with no host bits when
// `network`: what the supervisor hands to netlink.
bool canonical(const std::string& prefix, int family, bool network)
{
    size_t slash = prefix.find('/');
    if (slash == std::string::npos || slash + 1 == prefix.size())
        return false;
    std::string address = prefix.substr(0, slash), length = prefix.substr(slash + 1);
    unsigned char bytes[16] = {};
    char back[INET6_ADDRSTRLEN];
    const unsigned size = family == AF_INET ? 4 : 16;
    if (length.find_first_not_of("0123456789") != std::string::npos || length.size() > 3 ||
        (length.size() > 1 && length[0] == '0'))
        return false;
    unsigned bits = static_cast<unsigned>(std::stoul(length));
    if (bits > 8 * size || inet_pton(family, address.c_str(), bytes) != 1 ||
        !inet_ntop(family, bytes, back, sizeof back) || address != back)
        return false;
    for (unsigned i = 0; network && i < size; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
        if (bytes[i] & (0xffu >> keep))
            return false;
    }
    return true;
}

bool same(const script::Report& a, const script::Report& b)
{
    return a.reason == b.reason && a.device == b.device && a.gateway == b.gateway &&
           a.address == b.address && a.address6 == b.address6 && a.mtu == b.mtu &&
           a.routes == b.routes && a.routes6 == b.routes6 && a.excluded == b.excluded &&
           a.dns.dhcp_option == b.dns.dhcp_option && a.dns.search == b.dns.search &&
           a.warnings == b.warnings;
}

void check_report(const std::vector<std::string>& env)
{
    auto r = script::parse_report(env);

    // What the script forwards is all the report reads: the same report from it alone.
    std::vector<std::string> forwarded;
    for (const auto& kv : env)
        if (script::report_variable(kv.substr(0, kv.find('='))))
            forwarded.push_back(kv);
    auto f = script::parse_report(forwarded);
    if (r.ok() != f.ok() || (r.ok() && !same(*r, *f)))
        broken("the forwarded variables give another report", r.ok() ? f.error() : r.error());
    if (!r)
        return;

    for (const auto& w : r->warnings)
        for (char c : w)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                broken("a warning holds a control character", w);
    if (r->reason != "connect" && r->reason != "reconnect")
        return;
    if (r->device.empty() || r->device.size() > 15 ||
        r->device.find_first_of("/: \t\n") != std::string::npos)
        broken("the device is no interface name", r->device);
    if (!canonical(r->address, AF_INET, false))
        broken("the address is not canonical", r->address);
    if (!r->address6.empty() && !canonical(r->address6, AF_INET6, false))
        broken("the IPv6 address is not canonical", r->address6);
    for (const auto& p : r->routes)
        if (!canonical(p, AF_INET, true) || p.ends_with("/0"))
            broken("a split route is not a canonical prefix short of everything", p);
    for (const auto& p : r->excluded)
        if (!canonical(p, AF_INET, true) || p.ends_with("/0"))
            broken("an excluded range is not a canonical prefix short of everything", p);
    for (const auto& p : r->routes6)
        if (!canonical(p, AF_INET6, true) || p.ends_with("/0"))
            broken("an IPv6 split route is not a canonical prefix short of everything", p);

    auto choice = dns::choose({}, r->dns);
    if (!choice)
        return;
    // Only the servers and the search list it chose, each on its own line.
    std::string conf = dns::render_resolv_conf(*choice);
    size_t lines = 0;
    for (char c : conf)
        lines += c == '\n';
    if (lines != 1 + choice->servers.size() + !choice->search.empty())
        broken("the sandbox's resolv.conf has lines it did not choose", conf);
}

std::string sh_quote(const std::string& word)
{
    std::string out = "'";
    for (char c : word)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::vector<std::string> resolve(const std::string& host, std::string& why)
{
    if (host.find("unresolvable") != std::string::npos) {
        why = "Name or service not known";
        return {};
    }
    return {"203.0.113.10"};
}

const std::string hook = "'/usr/bin/nsjail-vpn' __vpnc-script";

void check_plan(const std::vector<std::string>& words)
{
    auto c = script::plan_command(words, hook, "vpn0", resolve);
    if (!c)
        return;
    if (c->argv.empty() || c->argv.front() != words.front())
        broken("argv[0] is not as written", c->argv.empty() ? "" : c->argv.front());
    const std::string& program = words.front();
    if (program.substr(program.rfind('/') + 1) != "openconnect") {
        for (size_t i = 1; i < c->argv.size(); i++)
            if (c->argv[i].find("{script}") != std::string::npos ||
                c->argv[i].find("{tun}") != std::string::npos)
                broken("a placeholder is left", c->argv[i]);
        return;
    }
    // OpenConnect reads our options as options, in the order we gave them, and not as
    // some option's value or a second server: planned again, --interface is refused.
    auto again = script::plan_command(c->argv, hook, "vpn0", resolve);
    if (again || !again.error().starts_with("--interface: "))
        broken("our --interface is not read as an option", again ? "planned" : again.error());
}

void check_command(std::string_view text)
{
    auto words = script::split_command(text);
    if (!words)
        return;

    // Quoted again, the words split back to themselves.
    std::string quoted;
    for (const auto& w : *words)
        quoted += sh_quote(w) + " ";
    auto back = script::split_command(quoted);
    if (!back || *back != *words)
        broken("the words quoted again split otherwise", back ? quoted : back.error());

    // Unquoted text is split at blanks and nothing else, and what sh would expand,
    // redirect or take as a comment was refused.
    if (text.find_first_of("'\"\\") == std::string_view::npos) {
        for (const auto& w : *words)
            if (w.starts_with('#') || w.find_first_of("$`*?[~;|&<>()\n") != std::string::npos)
                broken("an unquoted character special to sh was let through", w);
        std::vector<std::string> plain;
        size_t pos = 0;
        while ((pos = text.find_first_not_of(" \t", pos)) != std::string_view::npos) {
            size_t end = text.find_first_of(" \t", pos);
            plain.emplace_back(text.substr(pos, end == std::string_view::npos ? end : end - pos));
            pos = end;
        }
        if (plain != *words)
            broken("plain words are split otherwise", std::string(text));
    }
    check_plan(*words);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (in.starts_with("cmd:")) {
        check_command(in.substr(4));
        return 0;
    }
    std::vector<std::string> env;
    for (size_t pos = 0; pos < in.size();) { // as supervisor.cpp splits it
        size_t end = std::min(in.find('\0', pos), in.size());
        env.emplace_back(in.substr(pos, end - pos));
        pos = end + 1;
    }
    check_report(env);
    return 0;
}
