// Running the OpenVPN client inside the sandbox's OUTER namespace, and the
// route-up hook through which it tells the supervisor that the tunnel is ready.
#pragma once

#include "context.hpp"
#include "fd.hpp"
#include "result.hpp"

#include <deque>
#include <string>
#include <sys/types.h>

namespace nsjv::openvpn {

inline constexpr const char* tunnel_name = "vpn0";
inline constexpr const char* hook_argument = "__openvpn-route-up";

// A VPN client process the supervisor started: OpenVPN, wireguard-go or a --vpn-cmd
// client.
struct Client {
    std::string program = "openvpn";  // names its lines in -v's log
    pid_t pid = -1;
    UniqueFd log;   // the client's stdout and stderr
    UniqueFd hook;  // route-up reports arrive here
    std::string pending;
    std::deque<std::string> tail;  // the last lines, to explain a failure
    std::string failure;           // what the log said went wrong, if anything
    // OpenVPN's log said it dropped the connection and is making a new one (ping-restart,
    // a TLS error, a reset TCP connection): why, in its words; the supervisor clears it.
    std::string restarting;
    bool completed = false;  // and then that it is connected again
};

// Starts the client as the caller, in its own session without a terminal, with
// CAP_NET_ADMIN as its only (ambient) capability.
Result<Client> start(const Context& ctx);

// What start() and script::start() share: pipes for the log and the hook, and a fork in
// which exec runs (it never returns) with the write ends.
using Exec = void (*)(const Context& ctx, int log_w, int hook_w);
Result<Client> spawn(const Context& ctx, Exec exec);

// Reads what any client printed; shows it with -v; remembers what explains a failure
// and whether OpenVPN restarted its connection or completed one. Returns false at end
// of file.
bool drain_log(Client& client);

// What to tell the user when the client exited before the tunnel was up.
std::string explain_exit(const Client& client, int status, std::string& hint);

// main() of `nsjail-vpn __openvpn-route-up`, run by OpenVPN with fd 3 inherited.
int hook_main();

} // namespace nsjv::openvpn
