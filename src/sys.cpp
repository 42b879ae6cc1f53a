#include "sys.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

namespace nsjv::sys {

int write_file(const std::string& path, const std::string& content)
{
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd)
        return -errno;
    ssize_t n = write(fd.get(), content.data(), content.size());
    if (n < 0)
        return -errno;
    return static_cast<size_t>(n) == content.size() ? 0 : -EIO;
}

std::optional<std::string> read_file(const std::string& path, size_t limit)
{
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return std::nullopt;
    std::string out;
    char buf[4096];
    // Sized once, and the buffer cleared: a file may hold a key, and neither a
    // reallocation nor the stack should leave a copy of it behind.
    struct stat st {};
    if (fstat(fd.get(), &st) == 0 && st.st_size > 0)
        out.reserve(std::min(static_cast<size_t>(st.st_size) + 1, limit));
    bool failed = false;
    for (;;) {
        ssize_t n = read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            failed = true;
            break;
        }
        if (n == 0)
            break;
        if (out.size() + static_cast<size_t>(n) > limit) {
            errno = EFBIG;  // never a silently shortened file
            failed = true;
            break;
        }
        out.append(buf, static_cast<size_t>(n));
    }
    explicit_bzero(buf, sizeof buf);
    if (failed) {
        int err = errno;
        explicit_bzero(out.data(), out.size());
        errno = err;
        return std::nullopt;
    }
    return out;
}

UniqueFd memfd(const char* name, const std::string& content)
{
    UniqueFd fd(memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd)
        return fd;
    if (write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
        return UniqueFd();
    fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    return fd;
}

std::optional<Child> clone_into(unsigned long long flags, int& err)
{
    int pidfd = -1;
    clone_args args{};
    args.flags = flags | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uintptr_t>(&pidfd);
    args.exit_signal = SIGCHLD;

    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) {
        err = errno;
        return std::nullopt;
    }
    Child c;
    c.pid = static_cast<pid_t>(pid);
    if (pid > 0) {
        c.pidfd.reset(pidfd);
        fcntl(pidfd, F_SETFD, FD_CLOEXEC);
    }
    return c;
}

int pidfd_send_signal(int pidfd, int sig)
{
    return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

bool place_fds(std::initializer_list<Placement> fds)
{
    int lifted[16];
    size_t n = 0;

    for (const auto& p : fds) {
        if (n == 16)
            return false;
        lifted[n++] = p.source < 0 ? -1 : fcntl(p.source, F_DUPFD_CLOEXEC, 64);
        if (p.source >= 0 && lifted[n - 1] < 0)
            return false;
    }
    n = 0;
    for (const auto& p : fds) {
        int fd = lifted[n++];
        if (fd >= 0 && dup2(fd, p.target) != p.target)
            return false;
    }
    return true;
}

void reset_signals()
{
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &sa, nullptr);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
}

// Finds COMMAND the way a shell does: a directory of PATH we may not search is
// skipped, not reported (execvp() would turn it into EACCES), so a missing command
// is "not found" (127) and one that exists but cannot run is 126.
std::string find_command(const std::string& name, int& err)
{
    err = ENOENT;
    if (name.find('/') != std::string::npos)
        return name;
    const char* env = getenv("PATH");
    std::string path = env ? env : "/usr/local/bin:/usr/bin:/bin";
    for (size_t pos = 0; pos <= path.size();) {
        size_t end = path.find(':', pos);
        std::string dir = path.substr(pos, end == std::string::npos ? end : end - pos);
        pos = end == std::string::npos ? path.size() + 1 : end + 1;
        std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        struct stat st {};
        if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(candidate.c_str(), X_OK) == 0)
                return candidate;
            err = EACCES;
        }
    }
    return "";
}

std::vector<char*> pointers(std::vector<std::string>& strings)
{
    std::vector<char*> out;
    for (auto& s : strings)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

std::string why(int err) { return strerror(err < 0 ? -err : err); }

std::string userns_hint()
{
    auto value = [](const char* path) {
        auto v = read_file(path);
        return v ? v->substr(0, v->find('\n')) : std::string();
    };
    if (value("/proc/sys/kernel/unprivileged_userns_clone") == "0")
        return "unprivileged user namespaces are disabled: sysctl kernel.unprivileged_userns_clone=1";
    if (value("/proc/sys/user/max_user_namespaces") == "0")
        return "user namespaces are disabled: sysctl user.max_user_namespaces=15000";
    if (value("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1")
        return "AppArmor restricts unprivileged user namespaces: allow nsjail-vpn with an AppArmor "
               "profile ('userns,'), or sysctl kernel.apparmor_restrict_unprivileged_userns=0";
    return "";
}

} // namespace nsjv::sys
