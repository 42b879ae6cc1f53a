#include "wireguard_client.hpp"

#include "caps.hpp"
#include "log.hpp"
#include "sys.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

namespace nsjv::wireguard {

namespace {

// wireguard-go puts its UAPI socket in /var/run/wireguard, a path compiled in;
// /var/run is a link to /run on most systems, and the tmpfs goes where it leads.
std::string run_dir()
{
    char real[PATH_MAX];
    return realpath("/var/run", real) ? real : "/run";
}

[[noreturn]] void exec_go(const Context& ctx, const std::string& dir, int log_w)
{
    std::string name = openvpn::tunnel_name;
    std::vector<std::string> args = {ctx.client_path, "-f", name};
    std::vector<std::string> env = {
        "WG_PROCESS_FOREGROUND=1",  // no banner about running in the background
        std::string("LOG_LEVEL=") + (log::level() == log::Level::verbose ? "verbose" : "error"),
        "PATH=/usr/bin:/bin",
    };
    std::vector<char*> argv = sys::pointers(args), envp = sys::pointers(env);

    setsid();
    // A mount namespace of its own, so that its socket, which answers "get" with the
    // private key, lives in a /run no other process of the sandbox sees.
    std::string sockets = dir + "/wireguard";
    if (unshare(CLONE_NEWNS) < 0 ||
        mount("nsjail-vpn-wg", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0700") < 0 ||
        mkdir(sockets.c_str(), 0700) < 0)
        _exit(exit_failure);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || !sys::place_fds({{devnull, 0}, {log_w, 1}, {log_w, 2}}))
        _exit(exit_failure);
    sys::reset_signals();
    if (caps::keep_only_net_admin() < 0)
        _exit(exit_failure);
    execve(args[0].c_str(), argv.data(), envp.data());
    _exit(exit_not_found);
}

} // namespace

Result<openvpn::Client> start_go(const Context& ctx)
{
    int log[2];
    if (pipe2(log, O_CLOEXEC) < 0)
        return fail("cannot create a pipe for wireguard-go: " + sys::why(errno));
    UniqueFd log_r(log[0]), log_w(log[1]);
    std::string dir = run_dir();

    pid_t pid = fork();
    if (pid == 0)
        exec_go(ctx, dir, log_w.get());
    if (pid < 0)
        return fail("cannot start wireguard-go: " + sys::why(errno));
    openvpn::Client c;
    c.program = "wireguard-go";
    c.pid = pid;
    c.log = std::move(log_r);
    fcntl(c.log.get(), F_SETFL, O_NONBLOCK);
    return c;
}

int uapi_connect(pid_t pid, UniqueFd& out)
{
    // Through the client's own root: its /run is in its mount namespace only.
    std::string path = "/proc/" + std::to_string(pid) + "/root" + run_dir() + "/wireguard/" +
                       openvpn::tunnel_name + ".sock";
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (path.size() >= sizeof sun.sun_path)
        return -ENAMETOOLONG;
    path.copy(sun.sun_path, path.size());
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        return -errno;
    // The supervisor asks it every few seconds; a wireguard-go that hangs (or is stopped)
    // must not stall the supervisor, which passes on signals and reaps the apps. The send
    // limit covers connect too, should its backlog be full.
    timeval limit{2, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0)
        return errno == ENOENT || errno == ECONNREFUSED ? -EAGAIN : -errno;
    out = std::move(fd);
    return 0;
}

Result<std::string> uapi(int fd, const std::string& request)
{
    for (size_t done = 0; done < request.size();) {
        ssize_t n = write(fd, request.data() + done, request.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail("cannot write to wireguard-go's control socket: " + sys::why(errno));
        done += static_cast<size_t>(n);
    }
    // A "get" answer holds the private key: room for it up front, so that no growing
    // copy is left behind in freed memory, and the read buffer wiped.
    std::string answer;
    answer.reserve(16384);
    char buf[4096];
    struct Wipe {
        char* p;
        size_t n;
        ~Wipe() { explicit_bzero(p, n); }
    } wipe_buf{buf, sizeof buf};
    // The answer ends with an empty line; it is small (a few lines per peer).
    while (answer.size() < 2 || answer.compare(answer.size() - 2, 2, "\n\n") != 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return fail("wireguard-go did not answer on its control socket");
        if (n <= 0)
            return fail("wireguard-go closed its control socket");
        answer.append(buf, static_cast<size_t>(n));
        if (answer.size() > (1 << 20))
            return fail("wireguard-go's answer is too long");
    }
    size_t at = answer.rfind("errno=");
    if (at == std::string::npos || (at > 0 && answer[at - 1] != '\n'))
        return fail("wireguard-go gave no status");
    int err = atoi(answer.c_str() + at + 6);
    answer.erase(at);
    if (err != 0)
        return fail("wireguard-go refused the configuration (errno " + std::to_string(err) + ")");
    return answer;
}

long last_handshake(const std::string& answer)
{
    long latest = 0;
    const std::string key = "last_handshake_time_sec=";
    for (size_t pos = 0; (pos = answer.find(key, pos)) != std::string::npos; pos += key.size())
        if (pos == 0 || answer[pos - 1] == '\n')
            latest = std::max(latest, atol(answer.c_str() + pos + key.size()));
    return latest;
}

netlink::Tunnel tunnel(const Config& config, const std::string& name)
{
    netlink::Tunnel t;
    t.name = name;
    t.mtu = config.mtu ? config.mtu : 1420;
    bool ipv6 = false;
    for (const auto& a : config.addresses) {
        t.addresses.push_back({a.family, a.text(), ""});
        ipv6 = ipv6 || a.family == AF_INET6;
    }
    for (const auto& peer : config.peers)
        for (const auto& p : peer.allowed_ips) {
            if (p.family == AF_INET6 && !ipv6)
                continue;
            netlink::Route r;
            r.family = p.family;
            r.dst = p.text();
            r.scope = RT_SCOPE_LINK;
            t.routes.push_back(r);
        }
    return t;
}

} // namespace nsjv::wireguard
