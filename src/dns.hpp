// Which resolver the sandbox uses, and the files that say so. Pure.
#pragma once

#include "result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace nsjv::dns {

struct Choice {
    std::vector<std::string> servers;
    std::vector<std::string> search;
    std::string source;  // shown to the user: "--dns", "pushed by the VPN (dns)", ...
};

// What a VPN told us, in the order of precedence documented in nsjail-vpn(1):
// --dns first, then OpenVPN 2.6 'dns server' (lowest priority number first), then
// 'dhcp-option DNS' as pushed or configured.
struct Offer {
    std::vector<std::string> dns_option;   // from 'dns server N address'
    std::vector<std::string> dhcp_option;  // from 'dhcp-option DNS'
    std::vector<std::string> search;       // DOMAIN / DOMAIN-SEARCH / dns search-domains
    // Where dhcp_option came from, for resolv.conf's comment: the other clients give
    // their servers there too.
    std::string dhcp_source = "pushed by the VPN ('dhcp-option DNS')";
};

Result<Choice> choose(const std::vector<std::string>& cli, const Offer& offer);

// For --net nat: the host's own upstream resolvers. Loopback stubs (systemd-resolved's
// 127.0.0.53, a local dnsmasq) cannot be reached from the sandbox, so they are skipped;
// `fallback` is the text of /run/systemd/resolve/resolv.conf, which lists the real upstreams.
Result<Choice> choose_host(const std::vector<std::string>& cli, std::string_view resolv_conf,
                           std::string_view fallback);

std::vector<std::string> nameservers(std::string_view resolv_conf);

std::string render_resolv_conf(const Choice& choice);

// The host's nsswitch.conf with a 'hosts' line that cannot leave the sandbox through a
// host daemon: no resolve, mdns*, mymachines, myhostname's peers or nis, just files and dns.
std::string render_nsswitch(std::string_view host_nsswitch);

bool valid_server(const std::string& address);

// 127.0.0.0/8, ::1 (or an IPv4-mapped 127.x), or the unspecified 0.0.0.0 and ::, which
// also mean this host: inside a sandbox nothing answers there, since its loopback holds
// none of the host's resolvers.
bool this_host(const std::string& address);
bool is_ipv4(const std::string& address);
bool is_ipv6(const std::string& address);
// A search domain resolv.conf can hold as one word: letters, digits, '-' and '_' in labels of
// 1 to 63 characters, separated by dots (one may end it), at most 253 characters.
bool valid_domain(const std::string& name);

} // namespace nsjv::dns
