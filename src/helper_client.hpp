// The launcher's side of nsjail-vpn-helper: run it with the sandbox's network
// namespace on fd 3 and read its one-line answer.
#pragma once

#include "result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace nsjv::helper {

// Another firewall's base chain on the forward hook that drops what the helper's table
// accepts ("w1 forward-drop FAMILY TABLE CHAIN"; family ip or inet for nftables, xt for
// legacy iptables): the helper reports it and never touches it.
struct Conflict {
    std::string family, table, chain;
};
// What to tell the user about one: the warning and the fix, as root.
struct Advice {
    std::string warning, hint;
};
Advice advise(const Conflict& c);

struct Lease {
    std::string host_if;       // nsjv0, in the host's namespace
    std::string host_addr;     // the sandbox's gateway
    std::string sandbox_addr;  // for eth0 inside
    int prefixlen = 0;
    std::string sandbox_if;    // eth0
    std::vector<Conflict> conflicts;
};

// Parses "v1 nsjv0 198.18.64.0 198.18.64.1 31 eth0"; anything else is an error.
Result<Lease> parse_lease(std::string_view line);
// A whole answer: "w1 ..." notes, each on its line, then the lease line. Unknown notes are
// skipped (a newer helper may say more). Empty while the lease line is not yet complete.
std::optional<Result<Lease>> parse_answer(std::string_view out);

// Runs the installed helper. On failure the message is complete, with a hint line
// ("hint: ...") where one is known.
struct Failure {
    std::string message;
    std::string hint;
};
// The helper prints its lease as its very last step; we go on at once and leave its exit
// (which waits for the kernel to free its sockets) to finish meanwhile: the caller reaps
// `helper_pid` later.
Result<Lease> attach(int netns_fd, Failure& failure, pid_t& helper_pid);

// Runs `nsjail-vpn-helper refresh` for the sandbox whose network namespace is netns_fd:
// forwarding on the policy's uplinks that exist now. False with failure set on error.
bool refresh(int netns_fd, Failure& failure);

// `nsjail-vpn-helper publish NAME` with the app's network namespace on fd 3, and
// `unpublish NAME`: the sandbox at published_path(NAME), for root's ip netns.
bool publish(int netns_fd, const std::string& name, Failure& failure);
bool unpublish(const std::string& name, Failure& failure);
std::string published_path(const std::string& name);

// A published entry outlives a launcher killed with SIGKILL and pins the sandbox's
// namespace: once the sandbox NAME is known to be gone (its stale state removed), this
// unpublishes a leftover entry, with a warning either way.
void forget_published(const std::string& name);

} // namespace nsjv::helper
