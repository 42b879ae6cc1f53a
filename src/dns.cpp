#include "dns.hpp"

#include <arpa/inet.h>
#include <cctype>

#include <sstream>

namespace nsjv::dns {

namespace {

std::vector<std::string> words(std::string_view line)
{
    std::istringstream in{std::string(line)};
    std::vector<std::string> out;
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

} // namespace

bool valid_server(const std::string& address)
{
    in_addr a4{};
    in6_addr a6{};
    return inet_pton(AF_INET, address.c_str(), &a4) == 1 ||
           inet_pton(AF_INET6, address.c_str(), &a6) == 1;
}

bool this_host(const std::string& address)
{
    in_addr a4{};
    in6_addr a6{};
    if (inet_pton(AF_INET, address.c_str(), &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127 || a4.s_addr == 0;
    if (inet_pton(AF_INET6, address.c_str(), &a6) != 1)
        return false;
    return IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_UNSPECIFIED(&a6) ||
           (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
}

bool valid_domain(const std::string& name)
{
    size_t label = 0;
    if (name.empty() || name.size() > 253 || name[0] == '.')
        return false;
    for (char c : name) {
        if (c == '.' && label == 0)
            return false;
        if (c != '.' && !isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
            return false;
        label = c == '.' ? 0 : label + 1;
        if (label > 63)
            return false;
    }
    return true;
}

Result<Choice> choose(const std::vector<std::string>& cli, const Offer& offer)
{
    Choice c;

    c.search = offer.search;
    if (!cli.empty()) {
        c.servers = cli;
        c.source = "--dns";
    } else if (!offer.dns_option.empty()) {
        c.servers = offer.dns_option;
        c.source = "pushed by the VPN ('dns')";
    } else if (!offer.dhcp_option.empty()) {
        c.servers = offer.dhcp_option;
        c.source = offer.dhcp_source;
    } else {
        return fail("the VPN gave no DNS server");
    }
    for (const auto& s : c.servers)
        if (!valid_server(s))
            return fail("'" + s + "' is not an IP address of a DNS server");
    return c;
}

std::vector<std::string> nameservers(std::string_view resolv_conf)
{
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= resolv_conf.size()) {
        size_t end = resolv_conf.find('\n', pos);
        auto w = words(resolv_conf.substr(pos, end == std::string_view::npos ? end : end - pos));
        if (w.size() >= 2 && w[0] == "nameserver" && valid_server(w[1]))
            out.push_back(w[1]);
        if (end == std::string_view::npos)
            break;
        pos = end + 1;
    }
    return out;
}

Result<Choice> choose_host(const std::vector<std::string>& cli, std::string_view resolv_conf,
                           std::string_view fallback)
{
    if (!cli.empty())
        return choose(cli, {});

    Choice c;
    for (std::string_view text : {resolv_conf, fallback}) {
        for (auto& s : nameservers(text))
            if (!this_host(s))
                c.servers.push_back(s);
        if (!c.servers.empty()) {
            c.source = "the host's upstream resolvers";
            return c;
        }
    }
    return fail("the host has no resolver the sandbox can reach (only loopback ones)");
}

std::string render_resolv_conf(const Choice& choice)
{
    std::string out = "# Written by nsjail-vpn for this sandbox; DNS " + choice.source + ".\n";
    // glibc reads at most three; more would be silently ignored, so say so.
    size_t n = 0;
    for (const auto& s : choice.servers)
        out += (n++ < 3 ? "nameserver " : "# ignored (glibc reads three): nameserver ") + s + "\n";
    if (!choice.search.empty()) {
        out += "search";
        for (const auto& d : choice.search)
            if (valid_domain(d)) // checked where pushed, with a warning; here, never a new line
                out += " " + d;
        out += "\n";
    }
    return out;
}

std::string render_nsswitch(std::string_view host_nsswitch)
{
    std::string out;
    bool have_hosts = false;
    size_t pos = 0;
    while (pos < host_nsswitch.size()) {
        size_t end = host_nsswitch.find('\n', pos);
        std::string_view line =
            host_nsswitch.substr(pos, end == std::string_view::npos ? end : end - pos);
        pos = end == std::string_view::npos ? host_nsswitch.size() : end + 1;
        auto w = words(line);
        if (!w.empty() && w[0] == "hosts:") {
            if (!have_hosts)
                out += "hosts: files dns\n";
            have_hosts = true;
            continue;
        }
        out += std::string(line) + "\n";
    }
    if (!have_hosts)
        out += "hosts: files dns\n";
    return out;
}

bool is_ipv4(const std::string& address)
{
    in_addr a{};
    return inet_pton(AF_INET, address.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& address)
{
    in6_addr a{};
    return inet_pton(AF_INET6, address.c_str(), &a) == 1;
}

} // namespace nsjv::dns
