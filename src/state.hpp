// Where named sandboxes are recorded: $XDG_RUNTIME_DIR/nsjail-vpn (or
// /run/user/UID/nsjail-vpn), 0700, holding per sandbox NAME.sock, the control
// socket its launcher serves, NAME.json, what it is, and NAME.lock, which its
// launcher holds locked (flock) for as long as the sandbox lives, from before the
// socket exists until after it is gone. An entry is never trusted: a socket that
// refuses, with its lock free, is a sandbox that is gone; with its lock held, one
// that is starting.
#pragma once

#include "fd.hpp"
#include "result.hpp"

#include <string>
#include <sys/types.h>
#include <vector>

namespace nsjv::state {

// 1 to 24 of [a-z0-9-], starting with a letter or a digit.
bool valid_name(const std::string& name);
inline constexpr const char* name_rule = "1 to 24 lower-case letters, digits and '-', starting "
                                         "with a letter or a digit";

// The caller's state directory, created (0700) if missing.
Result<std::string> directory();

// Every directory named sandboxes of this user may be recorded in, that exists:
// $XDG_RUNTIME_DIR/nsjail-vpn and /run/user/UID/nsjail-vpn. All are hidden in a sandbox.
std::vector<std::string> candidates();

std::string socket_path(const std::string& dir, const std::string& name);
std::string json_path(const std::string& dir, const std::string& name);
std::string lock_path(const std::string& dir, const std::string& name);

// Writes text to path through a temporary file and a rename, mode 0600.
int write_atomic(const std::string& path, const std::string& text);

// The names that have an entry (a control socket, a description or a lock) in dir,
// sorted.
std::vector<std::string> names(const std::string& dir);

// Whether process pid is in the caller's own user namespace (not in any sandbox's).
bool same_userns(pid_t pid);

// Connects to NAME's control socket and checks that its peer is the caller's uid, in the
// caller's own user namespace: a process inside a sandbox cannot pose as a launcher.
// Returns 0, or -errno (-ECONNREFUSED, -ENOENT: the sandbox is gone).
int connect(const std::string& dir, const std::string& name, UniqueFd& out);

// Takes NAME's lock without waiting: 0 and the held lock in out, -EWOULDBLOCK while a
// living launcher (or a command clearing its stale entry) holds it, or another -errno.
int lock(const std::string& dir, const std::string& name, UniqueFd& out);

// Removes NAME's entry (socket, description and lock file). Only with NAME's lock held:
// a lock file removed under a launcher that holds it would let a second one start.
void remove(const std::string& dir, const std::string& name);

} // namespace nsjv::state
