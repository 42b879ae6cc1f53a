// What OpenVPN tells its route-up script in the environment, reduced to what the
// sandbox needs. Pure, so the 2.5/2.6 differences are unit-tested.
#pragma once

#include "dns.hpp"

#include <string>
#include <vector>

namespace nsjv::openvpn {

struct Report {
    std::string device;        // dev
    std::string local;         // ifconfig_local
    std::string server;        // trusted_ip: the endpoint actually used
    std::string server_port;   // trusted_port
    dns::Offer dns;
    std::vector<std::string> warnings;
};

// env: "KEY=VALUE" strings as the hook received them.
Report parse_report(const std::vector<std::string>& env);

// The hook only forwards variables with these prefixes: nothing else of the
// client's environment (which includes the user's) crosses the channel.
bool report_variable(const std::string& key);

// Why OpenVPN's log line says it is restarting the connection ("ping-restart" from the
// whole line "SIGUSR1[soft,ping-restart] received, process restarting"), or "".
std::string restart_reason(const std::string& line);

// Whether OpenVPN's log line says a connection is complete (the first or a new one).
bool connection_completed(const std::string& line);

} // namespace nsjv::openvpn
