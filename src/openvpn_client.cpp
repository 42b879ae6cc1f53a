#include "openvpn_client.hpp"

#include "caps.hpp"
#include "channel.hpp"
#include "log.hpp"
#include "openvpn_report.hpp"
#include "sys.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <vector>

namespace nsjv::openvpn {

namespace {

constexpr int hook_fd = 3;
constexpr int config_fd = 4;
constexpr int credentials_fd = 5;
constexpr int passphrase_fd = 6;

std::vector<std::string> arguments(const Context& ctx)
{
    // Options after --config win over the file's; the file was planned so it has
    // none of these anyway.
    return {ctx.client_path,
            "--cd", ctx.plan.directory,
            "--config", "/dev/fd/" + std::to_string(config_fd),
            "--dev", tunnel_name,
            "--dev-type", "tun",
            "--disable-dco",
            "--persist-tun",
            "--script-security", "2",
            "--route-up", "'" + ctx.self_path + "' " + hook_argument,
            "--suppress-timestamps"};
}

[[noreturn]] void exec_client(const Context& ctx, int log_w, int hook_w)
{
    std::vector<std::string> args = arguments(ctx);
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    // Its own session: no terminal, so Ctrl-C in the user's terminal reaches the
    // app and the launcher, never the tunnel under it.
    setsid();
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    bool placed = devnull >= 0 && sys::place_fds({{devnull, 0},
                                                  {log_w, 1},
                                                  {log_w, 2},
                                                  {hook_w, hook_fd},
                                                  {ctx.config.get(), config_fd},
                                                  {ctx.credentials.get(), credentials_fd},
                                                  {ctx.passphrase.get(), passphrase_fd}});
    if (!placed)
        _exit(exit_failure);
    sys::reset_signals();
    if (caps::keep_only_net_admin() < 0)
        _exit(exit_failure);
    execv(args[0].c_str(), argv.data());
    _exit(exit_not_found);
}

void remember(Client& c, const std::string& line)
{
    struct Known {
        const char* text;
        const char* meaning;
    };
    static const Known known[] = {
        {"AUTH_FAILED", "authentication failed"},
        {"Cannot open TUN/TAP dev", "cannot open /dev/net/tun"},
        {"Options error:", nullptr},
        {"Cannot load", nullptr},
        {"Cannot pre-load", nullptr},
        {"Error opening", nullptr},
        {"No such file or directory", nullptr},
    };
    for (const auto& k : known) {
        if (line.find(k.text) == std::string::npos || !c.failure.empty())
            continue;
        c.failure = k.meaning ? k.meaning : line;
    }
    if (auto why = restart_reason(line); !why.empty()) {
        c.restarting = why;
        c.completed = false;
    }
    // Printed after every connection, the first and each after a restart; with
    // --persist-tun and the same pushed options, OpenVPN runs no route-up then.
    if (connection_completed(line))
        c.completed = true;
    c.tail.push_back(line);
    if (c.tail.size() > 12)
        c.tail.pop_front();
}

} // namespace

Result<Client> spawn(const Context& ctx, Exec exec)
{
    int log[2];
    auto hook = channel::pair();
    if (pipe2(log, O_CLOEXEC) < 0 || !hook)
        return fail("cannot create pipes for the VPN client: " + sys::why(errno));
    UniqueFd log_r(log[0]), log_w(log[1]);

    pid_t pid = fork();
    if (pid == 0)
        exec(ctx, log_w.get(), hook->second.get());
    if (pid < 0)
        return fail("cannot start the VPN client: " + sys::why(errno));

    Client c;
    c.pid = pid;
    c.log = std::move(log_r);
    c.hook = std::move(hook->first);
    fcntl(c.log.get(), F_SETFL, O_NONBLOCK);
    return c;
}

Result<Client> start(const Context& ctx)
{
    return spawn(ctx, exec_client);
}

bool drain_log(Client& c)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(c.log.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN;
        if (n == 0)
            return false;
        c.pending.append(buf, static_cast<size_t>(n));
        size_t nl;
        while ((nl = c.pending.find('\n')) != std::string::npos) {
            std::string line = c.pending.substr(0, nl);
            c.pending.erase(0, nl + 1);
            log::debug("%s: %s", c.program.c_str(), log::shown(line).c_str());
            remember(c, line);
        }
    }
}

std::string explain_exit(const Client& c, int status, std::string& hint)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == exit_not_found) {
        hint = "install OpenVPN (Debian: apt install openvpn)";
        return "cannot run '" + std::string("openvpn") + "'";
    }
    if (c.failure == "authentication failed") {
        hint = "check the user name and password (or the file named by auth-user-pass)";
        return "the VPN server rejected the login: authentication failed";
    }
    if (c.failure == "cannot open /dev/net/tun") {
        hint = "the VPN client needs /dev/net/tun readable and writable by you; most distributions "
               "ship it mode 0666 (as root: chmod 0666 /dev/net/tun)";
        return "the VPN client cannot create its tunnel: /dev/net/tun is not accessible";
    }
    std::string why = c.failure;
    if (why.empty() && !c.tail.empty())
        why = c.tail.back();
    hint = "run with -v to see the VPN client's log";
    return "the VPN client exited before the tunnel was up" + (why.empty() ? "" : ": " + why);
}

int hook_main() { return channel::relay_environment(hook_fd, report_variable, hook_argument); }

} // namespace nsjv::openvpn
