// Thin wrappers around the system calls the launcher needs, returning -errno or a value.
#pragma once

#include "fd.hpp"

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>
#include <sys/types.h>

namespace nsjv::sys {

// Writes all of `content` to an existing file (procfs, sysfs). Returns 0 or -errno.
int write_file(const std::string& path, const std::string& content);
// A file longer than limit is an error (EFBIG), never cut short.
std::optional<std::string> read_file(const std::string& path, size_t limit = 1 << 20);

// Creates a file of `content` in memory (never on disk), sealed against writes.
UniqueFd memfd(const char* name, const std::string& content);

struct Child {
    pid_t pid = -1;
    UniqueFd pidfd;
};
// clone3() with `flags` (CLONE_NEW*), returning a pidfd. In the child, pid is 0.
// Like fork(): the launcher is single-threaded when it calls this.
std::optional<Child> clone_into(unsigned long long flags, int& err);

int pidfd_send_signal(int pidfd, int sig);

// For a child about to exec: puts each {source, target} fd at its target number,
// without close-on-exec. Sources are first lifted above every target, so a source
// that happens to have a target's number is never clobbered. Sources of -1 are skipped.
struct Placement {
    int source;
    int target;
};
bool place_fds(std::initializer_list<Placement> fds);

// Resets every signal disposition to default and unblocks all: for exec'd children,
// which must not inherit the launcher's blocked mask or a shell's ignored SIGINT.
void reset_signals();

// Finds COMMAND the way a shell does, in PATH: "" with err set (ENOENT, EACCES) if
// there is none that can run.
std::string find_command(const std::string& name, int& err);

// The NULL-terminated array of pointers execve() takes, into strings that outlive it.
std::vector<char*> pointers(std::vector<std::string>& strings);

// Text of errno, for messages.
std::string why(int err);

// A hint for failures to create or use an unprivileged user namespace, naming the
// setting that blocks it on this machine; empty if none is known.
std::string userns_hint();

} // namespace nsjv::sys
