#include "sandbox.hpp"

#include "channel.hpp"
#include "helper_client.hpp"
#include "log.hpp"
#include "state.hpp"
#include "supervisor.hpp"
#include "sys.hpp"
#include "wireguard_config.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

namespace nsjv::sandbox {

namespace {

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

// Dies of the same signal as the app, so the shell sees what it would have seen
// without us; 128+N where the signal does not kill (it was caught or ignored).
void raise_signal(int sig)
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

namespace {

// A connection to a named sandbox's control socket: `ls` and `stop` ask and go;
// `exec` joins, and its app counts until the connection closes.
struct Peer {
    UniqueFd fd;
    bool joined = false;
};

// What the launcher of a named sandbox keeps, and serves on its control socket.
struct Named {
    const Context& ctx;
    pid_t supervisor;
    UniqueFd listener;
    std::vector<Peer> peers;
    UniqueFd app_net;  // the namespace its apps run in, from the supervisor
    std::string address;
    time_t started = time(nullptr);
    bool first_running = false;
    bool connected = false;
    bool ended = false;
    bool stopping = false;
    bool published = false;

    int apps() const
    {
        int n = first_running;
        for (const auto& p : peers)
            n += p.joined;
        return n;
    }

    std::string describe() const
    {
        const Options& o = ctx.options;
        nlohmann::json j;
        j["name"] = o.name;
        j["pid"] = getpid();
        j["started"] = started;
        j["uptime"] = time(nullptr) - started;
        j["net"] = o.net == Net::vpn ? "vpn" : o.net == Net::nat ? "nat" : "none";
        if (o.net != Net::vpn)
            j["vpn"] = nullptr;
        else
            j["vpn"] = ctx.vpn == Vpn::wireguard ? "wireguard" : ctx.vpn == Vpn::script ? "command"
                                                                                         : "openvpn";
        j["state"] = stopping                ? "stopping"
                     : connected             ? (o.net == Net::vpn ? "connected" : "up")
                     : app_net               ? "down"
                                             : "connecting";
        j["address"] = address.empty() ? nlohmann::json(nullptr) : nlohmann::json(address);
        j["apps"] = apps();
        j["keep"] = o.keep;
        j["published"] = published ? nlohmann::json(helper::published_path(o.name))
                                   : nlohmann::json(nullptr);
        return j.dump();
    }

    // The last app gone, and not --keep: the supervisor may end the sandbox.
    void maybe_end(int ctl)
    {
        if (!ended && !first_running && apps() == 0 && !ctx.options.keep && app_net) {
            channel::send(ctl, "end");
            ended = true;
        }
    }

    void join(Peer& p)
    {
        if (!app_net || stopping || ended) {
            channel::send(p.fd.get(), stopping || ended ? "error the sandbox is ending"
                                                        : "error the sandbox is not running yet");
            return;
        }
        std::string proc = "/proc/" + std::to_string(supervisor) + "/ns/";
        UniqueFd user(open((proc + "user").c_str(), O_RDONLY | O_CLOEXEC));
        UniqueFd mnt(open((proc + "mnt").c_str(), O_RDONLY | O_CLOEXEC));
        UniqueFd pid(open((proc + "pid").c_str(), O_RDONLY | O_CLOEXEC));
        if (!user || !mnt || !pid) {
            channel::send(p.fd.get(), "error cannot open the sandbox's namespaces: " +
                                          sys::why(errno));
            return;
        }
        if (channel::send_fds(p.fd.get(), "joined",
                              {user.get(), mnt.get(), pid.get(), app_net.get()}))
            p.joined = true;
    }

    // One request of a peer; false when it is gone.
    bool serve(Peer& p, int ctl)
    {
        std::vector<UniqueFd> ignored;
        auto msg = channel::receive_fds(p.fd.get(), ignored);
        if (!msg)
            return false;
        if (*msg == "status") {
            channel::send(p.fd.get(), describe());
        } else if (*msg == "stop") {
            channel::send(p.fd.get(), describe());
            if (!stopping)
                channel::send(ctl, "stop");
            stopping = true;  // the peer sees end of file once the sandbox is gone
        } else if (*msg == "join") {
            join(p);
        } else {
            return false;
        }
        return true;
    }

    void accept_peer()
    {
        // Non-blocking: a peer that never reads cannot hold the sandbox's launcher up.
        UniqueFd fd(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        ucred cred{};
        socklen_t len = sizeof cred;
        // The directory is the caller's alone; the check holds even if it were not.
        if (!fd || getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
            cred.uid != getuid())
            return;
        // And only from where we are: a process in a sandbox (any sandbox's user
        // namespace) never drives one, whatever directory it found the socket in.
        if (!state::same_userns(cred.pid))
            return;
        peers.push_back({std::move(fd), false});
    }
};

// The host's link and route changes. A policy uplink that appears after the sandbox got its
// veth (a dock, a Wi-Fi back), or becomes the default route, needs forwarding for the
// replies, and only the helper can give it: `helper refresh`.
UniqueFd watch_host()
{
    UniqueFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE;
    if (!fd || bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
        return UniqueFd();
    return fd;
}

// Whether what arrived is worth a refresh: a link that is not a sandbox's, or a change of
// the main table's default route. Sandboxes starting and ending (nsjv* links) are not.
bool host_changed(int fd)
{
    alignas(nlmsghdr) char buf[16384];
    bool changed = false;
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        int left = static_cast<int>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == RTM_NEWLINK) {
                auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
                int len = static_cast<int>(IFLA_PAYLOAD(h));
                for (auto* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
                    if (a->rta_type == IFLA_IFNAME &&
                        strncmp(static_cast<char*>(RTA_DATA(a)), "nsjv", 4) != 0)
                        changed = true;
            } else if (h->nlmsg_type == RTM_NEWROUTE) {
                auto* r = static_cast<rtmsg*>(NLMSG_DATA(h));
                changed = changed || (r->rtm_dst_len == 0 && r->rtm_table == RT_TABLE_MAIN);
            }
        }
    }
    return changed;
}

// The control socket of a named sandbox, and in lock the name's lock, held until the
// launcher is done; fails if the name is taken by a live sandbox.
Result<UniqueFd> listen_as(const std::string& dir, const std::string& name, UniqueFd& lock)
{
    const std::string running = "a sandbox named '" + name + "' is already running (see "
                                "'nsjail-vpn ls')";
    // A living sandbox answers on its socket. A lock held with no answer is one starting,
    // or a command clearing a dead one's entry (the helper may take a few seconds to
    // unpublish it): worth waiting for.
    int err;
    UniqueFd probe;
    for (int waited_ms = 0; (err = state::lock(dir, name, lock)) == -EWOULDBLOCK; waited_ms += 50) {
        if (state::connect(dir, name, probe) == 0 || waited_ms >= 8000)
            return fail(running);
        usleep(50 * 1000);
    }
    if (err < 0)
        return fail("cannot lock the name '" + name + "' in '" + dir + "': " + sys::why(err));
    // A launcher of an older version holds no lock: its socket still answers. The lock
    // file is ours alone, then, to take away again.
    if (state::connect(dir, name, probe) == 0) {
        unlink(state::lock_path(dir, name).c_str());
        return fail(running);
    }
    // With the lock ours and no answer, whatever entry there is belongs to a launcher that
    // is gone, and so must its published entry.
    struct stat st {};
    if (lstat(state::socket_path(dir, name).c_str(), &st) == 0 ||
        lstat(state::json_path(dir, name).c_str(), &st) == 0) {
        helper::forget_published(name);
        unlink(state::socket_path(dir, name).c_str());
        unlink(state::json_path(dir, name).c_str());
    }
    std::string path = state::socket_path(dir, name);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (path.size() >= sizeof sun.sun_path) {
        state::remove(dir, name);
        return fail("the state directory's path is too long for a socket: '" + dir + "'");
    }
    path.copy(sun.sun_path, path.size());
    UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    mode_t old = umask(077);
    int rc = fd ? bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) : -1;
    err = errno;
    umask(old);
    if (rc == 0 && listen(fd.get(), 16) < 0)
        rc = -1, err = errno;
    if (rc < 0) {
        state::remove(dir, name);  // the lock file too, while it is ours
        return fail("cannot create the control socket '" + path + "': " + sys::why(err));
    }
    return fd;
}

} // namespace

int run(Context& ctx)
{
    UniqueFd signals = supervisor::block_signals();
    auto control = channel::pair();
    if (!control || !signals) {
        log::error("cannot set up the sandbox: %s", sys::why(errno).c_str());
        return exit_failure;
    }
    const std::string& name = ctx.options.name;
    UniqueFd listener, name_lock;  // the lock is held until we return
    if (!name.empty()) {
        auto l = listen_as(ctx.state_dir, name, name_lock);
        if (!l) {
            log::error("%s", l.error().c_str());
            return exit_failure;
        }
        listener = std::move(*l);
    }
    // After listen_as: a live sandbox of this name is "already running", and a dead one's
    // entry has just been removed. What is left there is not a sandbox of ours.
    struct stat taken {};
    if (ctx.options.publish && lstat(helper::published_path(name).c_str(), &taken) == 0) {
        log::error("cannot publish the sandbox: '%s' exists already",
                   helper::published_path(name).c_str());
        log::hint("choose another --name, or (as root) remove the entry: ip netns delete %s",
                  helper::published_path(name).substr(11).c_str());
        state::remove(ctx.state_dir, name);
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
        if (!name.empty())
            state::remove(ctx.state_dir, name);
        return exit_failure;
    }
    if (child->pid == 0) {
        control->first.reset();
        listener.reset();
        name_lock.reset();
        supervisor::run(ctx, std::move(control->second));
    }
    control->second.reset();
    wireguard::wipe(ctx.wireguard);  // the supervisor has its copy
    int ctl = control->first.get();
    Named named{ctx, child->pid, std::move(listener), {}, {}, "", time(nullptr)};

    if (int e = write_maps(child->pid); e < 0) {
        log::error("cannot map your user into the sandbox: %s", sys::why(e).c_str());
        if (auto hint = sys::userns_hint(); !hint.empty())
            log::hint("%s", hint.c_str());
        sys::pidfd_send_signal(child->pidfd.get(), SIGKILL);
        waitpid(child->pid, nullptr, 0);
        if (!name.empty())
            state::remove(ctx.state_dir, name);
        return exit_failure;
    }
    channel::send(ctl, "go");

    Outcome outcome;
    bool have_outcome = false;
    pid_t helper_pid = -1;
    UniqueFd host;
    std::optional<std::chrono::steady_clock::time_point> refresh_at;
    for (bool done = false; !done;) {
        std::vector<pollfd> fds = {{ctl, POLLIN, 0},
                                   {signals.get(), POLLIN, 0},
                                   {named.listener.get(), POLLIN, 0},
                                   {host.get(), POLLIN, 0}};
        for (const auto& p : named.peers)
            fds.push_back({p.fd.get(), POLLIN, 0});
        int timeout = -1;
        if (refresh_at)
            timeout = static_cast<int>(std::max<long>(
                0, std::chrono::duration_cast<std::chrono::milliseconds>(
                       *refresh_at - std::chrono::steady_clock::now())
                       .count()));
        if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR)
            break;
        // A burst of changes (a dock brings several links) is one refresh, 0.3 s after it.
        if (fds[3].revents && host_changed(host.get()))
            refresh_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
        if (refresh_at && std::chrono::steady_clock::now() >= *refresh_at) {
            refresh_at.reset();
            std::string path = "/proc/" + std::to_string(child->pid) + "/ns/net";
            UniqueFd netns(open(path.c_str(), O_RDONLY | O_CLOEXEC));
            helper::Failure failure;
            if (netns && !helper::refresh(netns.get(), failure))
                log::warning("the host's network changed, and the helper could not update "
                             "forwarding: %s", failure.message.c_str());
        }
        signalfd_siginfo si{};
        while (read(signals.get(), &si, sizeof si) == sizeof si) {
            // The terminal already signalled the whole process group, app included.
            if (si.ssi_signo != SIGCHLD && si.ssi_code != SI_KERNEL)
                sys::pidfd_send_signal(child->pidfd.get(), static_cast<int>(si.ssi_signo));
        }
        if (fds[2].revents)
            named.accept_peer();
        for (size_t i = 4, k = 0; i < fds.size(); i++) {
            // fds[i] is peers[k] as they were when polled; a peer that went is erased.
            if (fds[i].revents && !named.serve(named.peers[k], ctl)) {
                named.peers.erase(named.peers.begin() + static_cast<long>(k));
                named.maybe_end(ctl);
                continue;
            }
            k++;
        }
        if (!fds[0].revents)
            continue;
        std::vector<UniqueFd> passed;
        auto msg = channel::receive_fds(ctl, passed);
        if (!msg) {
            // A named sandbox's supervisor ends when told to (or stopped); otherwise
            // it dies only after reporting.
            if (!have_outcome && !named.ended && !named.stopping) {
                log::error("the sandbox's supervisor died unexpectedly");
                outcome = Outcome{};
            }
            break;
        }
        if (*msg == "need-uplink") {
            if (!give_uplink(child->pid, ctl, helper_pid))
                channel::send(ctl, "no-uplink");
            else
                host = watch_host();
        } else if (msg->rfind("started ", 0) == 0) {
            named.connected = named.first_running = true;
            named.address = msg->substr(8) == "-" ? "" : msg->substr(8);
            if (!passed.empty())
                named.app_net = std::move(passed.front());
            if (!name.empty())
                state::write_atomic(state::json_path(ctx.state_dir, name), named.describe() + "\n");
        } else if (*msg == "publish") {
            helper::Failure failure;
            if (!passed.empty() && helper::publish(passed.front().get(), name, failure)) {
                named.published = true;
                channel::send(ctl, "published");
            } else {
                log::error("%s", failure.message.c_str());
                if (!failure.hint.empty())
                    log::hint("%s", failure.hint.c_str());
                channel::send(ctl, "not-published");
            }
        } else if (*msg == "state down") {
            named.connected = false;
        } else if (msg->rfind("state connected ", 0) == 0) {
            named.connected = true;
            named.address = msg->substr(16);
        } else if (msg->rfind("status ", 0) == 0 || msg->rfind("fail ", 0) == 0) {
            outcome = parse_outcome(*msg);
            have_outcome = true;
            named.first_running = false;
            if (name.empty() || msg->rfind("fail ", 0) == 0)
                done = true;
            else
                named.maybe_end(ctl);
        }
    }

    int status = 0;
    while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (named.published) {
        helper::Failure failure;
        if (!helper::unpublish(name, failure))
            log::warning("cannot remove '%s': %s", helper::published_path(name).c_str(),
                         failure.message.c_str());
    }
    if (!name.empty())
        state::remove(ctx.state_dir, name);
    if (helper_pid > 0)
        waitpid(helper_pid, nullptr, 0);
    if (outcome.signal)
        raise_signal(outcome.signal);
    return outcome.status;
}

} // namespace nsjv::sandbox
