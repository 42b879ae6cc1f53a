// Running WireGuard for the sandbox, in its OUTER namespace: through the kernel
// where it has WireGuard, else through wireguard-go. Either way the interface is
// created in OUTER, where its UDP socket stays, and moved into INNER by the
// supervisor. The keys reach the kernel or wireguard-go only over their
// configuration channel (generic netlink, the UAPI socket): never a file, an
// argument or an environment variable.
#pragma once

#include "context.hpp"
#include "fd.hpp"
#include "netlink.hpp"
#include "openvpn_client.hpp"
#include "result.hpp"

#include <string>

namespace nsjv::wireguard {

// Starts wireguard-go as the caller, in its own session and its own mount
// namespace (a private /run for its UAPI socket, which nothing else can reach),
// with CAP_NET_ADMIN as its only capability and an environment of our own.
Result<openvpn::Client> start_go(const Context& ctx);

// Connects to the UAPI socket of the wireguard-go the supervisor started:
// -EAGAIN until it exists.
int uapi_connect(pid_t pid, UniqueFd& out);

// Sends one UAPI request (ending in a blank line) and returns the answer, without
// its "errno=N" line; fails if N is not 0.
Result<std::string> uapi(int fd, const std::string& request);

// The time of the latest handshake with any peer, from a UAPI "get" answer; 0 if none.
long last_handshake(const std::string& get_answer);

// What INNER gets: the config's addresses, MTU (1420 when not given), and one route
// per AllowedIPs entry of every peer. IPv6 routes only where the config gives the
// tunnel an IPv6 address: without one, the app has no IPv6 at all.
netlink::Tunnel tunnel(const Config& config, const std::string& name);

} // namespace nsjv::wireguard
