// Clients that create a tun and configure it through a script, the vpnc-script
// protocol (OpenConnect, vpnc): our own script stands in for vpnc-script. It
// touches nothing; it reports what the client would have configured, and the
// supervisor configures the tun inside the sandbox instead. Pure, unit-tested.
#pragma once

#include "dns.hpp"
#include "openvpn_config.hpp"  // Resolver
#include "result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace nsjv::script {

// The argument that makes nsjail-vpn act as the client's script.
inline constexpr const char* hook_argument = "__vpnc-script";

// What a script call with reason=connect (or reconnect) says, reduced to what
// the sandbox needs.
struct Report {
    std::string reason;      // pre-init, connect, disconnect, reconnect, attempt-reconnect
    std::string device;      // TUNDEV
    std::string gateway;     // VPNGATEWAY: the server's address
    std::string address;     // INTERNAL_IP4_ADDRESS with its length, "198.18.20.5/24"
    std::string address6;    // INTERNAL_IP6_ADDRESS (or _NETMASK), "2001:db8::5/64"; may be empty
    unsigned mtu = 0;        // INTERNAL_IP4_MTU
    // CISCO_SPLIT_INC_* as "a.b.c.d/len"; empty means everything goes through the tunnel.
    std::vector<std::string> routes;
    std::vector<std::string> routes6;  // CISCO_IPV6_SPLIT_INC_*
    // CISCO_SPLIT_EXC_*: ranges the server says to send outside the tunnel. In the
    // sandbox they go nowhere (never around the tunnel); each one is a warning.
    std::vector<std::string> excluded;
    dns::Offer dns;          // INTERNAL_IP4_DNS (into dhcp_option), CISCO_DEF_DOMAIN (search)
    std::vector<std::string> warnings;
};

// env: "KEY=VALUE" strings as the script received them. Fails on a connect report
// without a usable device, address or on malformed values.
Result<Report> parse_report(const std::vector<std::string>& env);

// The script forwards only these variables to the supervisor.
bool report_variable(const std::string& key);

// Splits --vpn-cmd's text into words the way sh does for a simple command: blanks
// separate, 'single' quotes are literal, "double" quotes take \" \\ \$ \` escapes,
// a backslash outside quotes escapes the next character. No expansion: $, `, *, ~,
// ;, |, &, <, > and ( ) outside quotes are an error that says to quote them.
Result<std::vector<std::string>> split_command(std::string_view text);

struct Command {
    std::vector<std::string> argv;     // argv[0] as written (the launcher finds it in PATH)
    std::vector<std::string> notices;
    std::string server_host;           // the server the client will reach, as written
    std::string server_address;        // and the IPv4 literal it resolved to ("" if a literal)
};

// Plans the client's command line. For openconnect (by basename): refuses the
// options that take the script or the interface from us or leave our control
// (-s/--script, -S/--script-tun, -i/--interface, -b/--background, -U/--setuid,
// --pid-file, -l/--syslog, --csd-wrapper, --csd-user), finds the server argument,
// resolves its host on the host with resolve and adds --resolve=HOST:ADDR, then
// adds --interface=TUN and --script=SCRIPT. Any other program must carry the
// placeholders {script} and {tun} in its words (replaced there); without them it
// is refused with a hint.
Result<Command> plan_command(const std::vector<std::string>& words, const std::string& script,
                             const std::string& tun, const openvpn::Resolver& resolve);

} // namespace nsjv::script
