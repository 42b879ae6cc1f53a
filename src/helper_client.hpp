// The launcher's side of nsjail-vpn-helper: run it with the sandbox's network
// namespace on fd 3 and read its one-line answer.
#pragma once

#include "result.hpp"

#include <string>
#include <string_view>
#include <sys/types.h>

namespace nsjv::helper {

struct Lease {
    std::string host_if;       // nsjv0, in the host's namespace
    std::string host_addr;     // the sandbox's gateway
    std::string sandbox_addr;  // for eth0 inside
    int prefixlen = 0;
    std::string sandbox_if;    // eth0
};

// Parses "v1 nsjv0 198.18.64.0 198.18.64.1 31 eth0"; anything else is an error.
Result<Lease> parse_lease(std::string_view line);

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

} // namespace nsjv::helper
