// Running a --vpn-cmd client (OpenConnect, or another of the vpnc-script kind) in
// the sandbox's OUTER namespace, and the script through which it reports the
// tunnel it made: this program, run as `nsjail-vpn __vpnc-script`.
#pragma once

#include "context.hpp"
#include "netlink.hpp"
#include "openvpn_client.hpp"
#include "result.hpp"
#include "vpnc_script.hpp"

namespace nsjv::script {

// Starts the client as the caller, in a session of its own (the terminal's signals
// do not reach it), with CAP_NET_ADMIN as its only capability. Its stdin and stderr
// are the user's, so that it can ask for a user name, password or one-time code
// before the app starts; its stdout, where OpenConnect writes its progress, is the
// log shown with -v. Its environment is a short list of ours, not the user's.
Result<openvpn::Client> start(const Context& ctx);

// What INNER gets from a connect report: the address, MTU, the split routes (or a
// default route), and an unreachable route for each excluded range.
netlink::Tunnel tunnel(const Report& report, const std::string& name);

// Why the client exited before the tunnel was up.
std::string explain_exit(const openvpn::Client& client, int status, std::string& hint);

// main() of `nsjail-vpn __vpnc-script`, run by the client (through sh) with fd 3
// inherited: sends the reason and the variables it needs, waits for the answer.
int hook_main();

} // namespace nsjv::script
