#include "openvpn_report.hpp"

#include <cstring>

#include "dns.hpp"
#include "log.hpp"

#include <algorithm>
#include <map>
#include <sstream>

namespace nsjv::openvpn {

namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Parses "dns_server_<n>_address_<m>" into (n, m).
bool dns_server_key(const std::string& key, long& n, long& m)
{
    return sscanf(key.c_str(), "dns_server_%ld_address_%ld", &n, &m) == 2;
}

// A pushed search domain goes into resolv.conf: a word of a domain name, or nothing.
void add_search(const std::string& domain, std::vector<std::string>& search, Report& r)
{
    if (!dns::valid_domain(domain))
        r.warnings.push_back("ignoring pushed search domain '" + log::shown(domain) +
                             "': not a domain name");
    else if (std::find(search.begin(), search.end(), domain) == search.end())
        search.push_back(domain);
}

void add_foreign_option(const std::string& value, Report& r)
{
    std::istringstream in(value);
    std::string opt, kind, arg;
    in >> opt >> kind >> arg;
    if (opt != "dhcp-option" || arg.empty())
        return;
    if (kind == "DNS" || kind == "DNS6") {
        if (dns::valid_server(arg))
            r.dns.dhcp_option.push_back(arg);
        else
            r.warnings.push_back("ignoring pushed DNS server '" + log::shown(arg) +
                                 "': not an IP address");
    } else if (kind == "DOMAIN" || kind == "DOMAIN-SEARCH") {
        add_search(arg, r.dns.search, r);
    }
}

} // namespace

bool report_variable(const std::string& key)
{
    return starts_with(key, "foreign_option_") || starts_with(key, "dns_") ||
           starts_with(key, "ifconfig_") || starts_with(key, "trusted_") ||
           starts_with(key, "route_") || key == "dev" || key == "tun_mtu" || key == "script_type";
}

Report parse_report(const std::vector<std::string>& env)
{
    Report r;
    std::map<long, std::string> foreign;               // keep the pushed order
    std::map<std::pair<long, long>, std::string> dns;  // (priority, index) -> address
    std::map<std::pair<long, long>, std::string> dns_ports;
    std::map<long, std::string> search;

    for (const auto& kv : env) {
        auto eq = kv.find('=');
        if (eq == std::string::npos)
            continue;
        std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
        long n = 0, m = 0;
        if (key == "dev")
            r.device = value;
        else if (key == "ifconfig_local")
            r.local = value;
        else if (key == "trusted_ip")
            r.server = value;
        else if (key == "trusted_port")
            r.server_port = value;
        else if (sscanf(key.c_str(), "foreign_option_%ld", &n) == 1)
            foreign[n] = value;
        else if (dns_server_key(key, n, m))
            dns[{n, m}] = value;
        else if (sscanf(key.c_str(), "dns_server_%ld_port_%ld", &n, &m) == 2 && value != "53")
            dns_ports[{n, m}] = value;
        else if (sscanf(key.c_str(), "dns_search_domain_%ld", &n) == 1)
            search[n] = value;
    }
    for (const auto& [n, value] : foreign)
        add_foreign_option(value, r);
    for (const auto& [key, address] : dns) {
        if (dns_ports.count(key)) {
            r.warnings.push_back("ignoring pushed DNS server '" + log::shown(address) +
                                 "': resolv.conf cannot name port " + log::shown(dns_ports[key]));
            continue;
        }
        if (dns::valid_server(address))
            r.dns.dns_option.push_back(address);
        else
            r.warnings.push_back("ignoring pushed DNS server '" + log::shown(address) +
                                 "': not an IP address");
    }
    if (!search.empty()) {
        // The 2.6 'dns' option replaces dhcp-option DOMAIN when present.
        r.dns.search.clear();
        for (const auto& [n, d] : search)
            add_search(d, r.dns.search, r);
    }
    return r;
}

std::string restart_reason(const std::string& line)
{
    // OpenVPN 2.5 and 2.6 (with --suppress-timestamps): a whole line "SIG[soft,REASON]
    // received, process restarting", where SIG is SIGUSR1 or SIGHUP and REASON says what
    // (ping-restart, tls-error, connection-reset, server_poll). Anchored at both ends, so
    // that text a server pushes, which OpenVPN logs inside a line, cannot pose as one.
    const std::string_view tail = "] received, process restarting";
    size_t start = 0;
    for (const char* sig : {"SIGUSR1[soft,", "SIGHUP[soft,"})
        if (line.starts_with(sig))
            start = strlen(sig);
    if (start == 0 || !line.ends_with(tail) || line.size() <= start + tail.size())
        return "";
    std::string why = line.substr(start, line.size() - tail.size() - start);
    if (why.find_first_not_of("abcdefghijklmnopqrstuvwxyz-_") != why.npos)
        return "";
    return why;
}

bool connection_completed(const std::string& line)
{
    // "Initialization Sequence Completed", or "... Completed With Errors" when a route
    // could not be set, which with the routes ours to replay changes nothing.
    return line.starts_with("Initialization Sequence Completed");
}

} // namespace nsjv::openvpn
