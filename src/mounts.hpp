// The sandbox's private view of the file system.
#pragma once

#include "fd.hpp"
#include "result.hpp"

#include <string>

namespace nsjv::mounts {

// Stops our mounts from propagating to the host and remounts /proc for the
// sandbox's PID namespace. Runs as the supervisor, PID 1 of that namespace.
Result<bool> make_private_with_proc();

struct EtcFiles {
    std::string resolv_conf;
    std::string nsswitch_conf;
};

// An overlay over /etc whose upper layer holds our resolv.conf, nsswitch.conf and a
// snapshot of hosts. The host replacing /etc/resolv.conf by rename (NetworkManager,
// systemd-resolved) cannot undo it, unlike a bind mount over that one dentry, and a
// dangling or missing host file does not matter. The upper layer is a tmpfs that is
// never attached anywhere: only the overlay refers to it. The returned fd holds it; keep it
// open for the sandbox's life, since closing a detached mount waits for an RCU grace period.
Result<UniqueFd> overlay_etc(const EtcFiles& files);

// Puts empty read-only directories over the sockets of host daemons that would
// resolve names on the host's network for the app: systemd-resolved, nscd, avahi.
Result<bool> hide_host_resolvers();

// Puts an empty read-only directory over dir, if it is one (the state of named
// sandboxes, so that no app can drive another sandbox).
Result<bool> hide(const std::string& dir);

} // namespace nsjv::mounts
