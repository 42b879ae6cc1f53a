#include "sandbox.hpp"

#include "channel.hpp"
#include "helper_client.hpp"
#include "wireguard_config.hpp"
#include "log.hpp"
#include "supervisor.hpp"
#include "sys.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

namespace nsjv::sandbox {

namespace {

UniqueFd block_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int sig : supervisor::forwarded)
        sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    return UniqueFd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

// The child's uid and gid map to themselves, so the app is the user, not "root",
// inside. An unprivileged writer may map only its own ids, and only after denying
// setgroups: the user keeps the supplementary groups it has (access through them
// still works; they show as the overflow group, nogroup, inside) but cannot drop
// them to dodge a group-denied file.
int write_maps(pid_t pid)
{
    std::string proc = "/proc/" + std::to_string(pid);
    int err = sys::write_file(proc + "/setgroups", "deny");
    if (!err)
        err = sys::write_file(proc + "/uid_map", std::to_string(getuid()) + " " +
                                                     std::to_string(getuid()) + " 1");
    if (!err)
        err = sys::write_file(proc + "/gid_map", std::to_string(getgid()) + " " +
                                                     std::to_string(getgid()) + " 1");
    return err;
}

bool give_uplink(pid_t pid, int control, pid_t& helper_pid)
{
    std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
    UniqueFd netns(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns) {
        log::error("cannot open the sandbox's network namespace: %s", sys::why(errno).c_str());
        return false;
    }
    helper::Failure failure;
    auto lease = helper::attach(netns.get(), failure, helper_pid);
    if (!lease) {
        log::error("%s", failure.message.c_str());
        if (!failure.hint.empty())
            log::hint("%s", failure.hint.c_str());
        return false;
    }
    for (const helper::Conflict& c : lease->conflicts) {
        helper::Advice advice = helper::advise(c);
        log::warning("%s", advice.warning.c_str());
        log::hint("%s", advice.hint.c_str());
    }
    return channel::send(control, "lease v1 " + lease->host_if + " " + lease->host_addr + " " +
                                      lease->sandbox_addr + " " + std::to_string(lease->prefixlen) +
                                      " " + lease->sandbox_if);
}

// Dies of the same signal as the app, so the shell sees what it would have seen
// without us; 128+N where the signal does not kill (it was caught or ignored).
[[noreturn]] void raise_signal(int sig)
{
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // the app dumped its own core, if any
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    raise(sig);
    _exit(128 + sig);
}

struct Outcome {
    int status = exit_failure;
    int signal = 0;
};

Outcome parse_outcome(const std::string& msg)
{
    Outcome o;
    int value = 0;
    if (sscanf(msg.c_str(), "status exit %d", &value) == 1)
        o.status = value;
    else if (sscanf(msg.c_str(), "status signal %d", &value) == 1)
        o.signal = value;
    else if (sscanf(msg.c_str(), "fail %d", &value) == 1)
        o.status = value;
    return o;
}

} // namespace

int run(Context& ctx)
{
    UniqueFd signals = block_signals();
    auto control = channel::pair();
    if (!control || !signals) {
        log::error("cannot set up the sandbox: %s", sys::why(errno).c_str());
        return exit_failure;
    }

    // One clone: the new user namespace comes first, so it owns the others. The
    // child is PID 1 of the new PID namespace: our supervisor.
    int err = 0;
    auto child = sys::clone_into(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET, err);
    if (!child) {
        log::error("cannot create the sandbox's namespaces: %s", sys::why(err).c_str());
        if (auto hint = sys::userns_hint(); !hint.empty())
            log::hint("%s", hint.c_str());
        return exit_failure;
    }
    if (child->pid == 0) {
        control->first.reset();
        supervisor::run(ctx, std::move(control->second));
    }
    control->second.reset();
    wireguard::wipe(ctx.wireguard);  // the supervisor has its copy
    int ctl = control->first.get();

    if (int e = write_maps(child->pid); e < 0) {
        log::error("cannot map your user into the sandbox: %s", sys::why(e).c_str());
        if (auto hint = sys::userns_hint(); !hint.empty())
            log::hint("%s", hint.c_str());
        sys::pidfd_send_signal(child->pidfd.get(), SIGKILL);
        waitpid(child->pid, nullptr, 0);
        return exit_failure;
    }
    channel::send(ctl, "go");

    Outcome outcome;
    pid_t helper_pid = -1;
    for (bool done = false; !done;) {
        pollfd fds[2] = {{ctl, POLLIN, 0}, {signals.get(), POLLIN, 0}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        signalfd_siginfo si{};
        while (read(signals.get(), &si, sizeof si) == sizeof si) {
            // The terminal already signalled the whole process group, app included.
            if (si.ssi_signo != SIGCHLD && si.ssi_code != SI_KERNEL)
                sys::pidfd_send_signal(child->pidfd.get(), static_cast<int>(si.ssi_signo));
        }
        if (!fds[0].revents)
            continue;
        auto msg = channel::receive(ctl);
        if (!msg) {
            log::error("the sandbox's supervisor died unexpectedly");
            break;
        }
        if (*msg == "need-uplink") {
            if (!give_uplink(child->pid, ctl, helper_pid))
                channel::send(ctl, "no-uplink");
        } else if (msg->rfind("status ", 0) == 0 || msg->rfind("fail ", 0) == 0) {
            outcome = parse_outcome(*msg);
            done = true;
        }
    }

    int status = 0;
    while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (helper_pid > 0)
        waitpid(helper_pid, nullptr, 0);
    if (outcome.signal)
        raise_signal(outcome.signal);
    return outcome.status;
}

} // namespace nsjv::sandbox
