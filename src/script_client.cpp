#include "script_client.hpp"

#include "caps.hpp"
#include "channel.hpp"
#include "log.hpp"
#include "sys.hpp"

#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/wait.h>

namespace nsjv::script {

namespace {

constexpr int hook_fd = 3;

// The client's environment: enough to find programs and speak the user's language,
// nothing that could carry the user's secrets into its script.
std::vector<std::string> environment()
{
    std::vector<std::string> env;
    for (const char* name : {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_MESSAGES",
                             "TERM"})
        if (const char* value = getenv(name))
            env.push_back(std::string(name) + "=" + value);
    return env;
}

[[noreturn]] void exec_client(const Context& ctx, int log_w, int hook_w)
{
    std::vector<std::string> args = ctx.command.argv;
    std::vector<std::string> env = environment();
    std::vector<char*> argv = sys::pointers(args), envp = sys::pointers(env);

    // A session of its own: Ctrl-C in the user's terminal is for the app, never for
    // the tunnel under it. Reading a password from a terminal that is not our
    // controlling terminal is still allowed.
    setsid();
    // TODO: with --passwd-on-stdin the client reads stdin ahead (stdio buffering) and the
    // app may find nothing left there; hand it only the first line, through a pipe.
    if (!sys::place_fds({{log_w, 1}, {hook_w, hook_fd}}))
        _exit(exit_failure);
    sys::reset_signals();
    if (caps::keep_only_net_admin() < 0)
        _exit(exit_failure);
    execve(ctx.client_path.c_str(), argv.data(), envp.data());
    _exit(exit_not_found);
}

} // namespace

Result<openvpn::Client> start(const Context& ctx)
{
    auto c = openvpn::spawn(ctx, exec_client);
    if (c) {
        const std::string& program = ctx.command.argv.front();
        c->program = program.substr(program.rfind('/') + 1);
    }
    return c;
}

netlink::Tunnel tunnel(const Report& report, const std::string& name)
{
    netlink::Tunnel t;
    t.name = name;
    t.mtu = report.mtu;
    auto route = [&t](int family, const std::string& dst, int type) {
        netlink::Route r;
        r.family = family;
        r.dst = dst;
        r.scope = type == RTN_UNICAST ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
        r.type = type;
        t.routes.push_back(r);
    };
    t.addresses.push_back({AF_INET, report.address, ""});
    if (report.routes.empty())
        route(AF_INET, "0.0.0.0/0", RTN_UNICAST);
    for (const auto& r : report.routes)
        route(AF_INET, r, RTN_UNICAST);
    for (const auto& r : report.excluded)
        route(AF_INET, r, RTN_UNREACHABLE);
    if (!report.address6.empty()) {
        t.addresses.push_back({AF_INET6, report.address6, ""});
        if (report.routes6.empty())
            route(AF_INET6, "::/0", RTN_UNICAST);
        for (const auto& r : report.routes6)
            route(AF_INET6, r, RTN_UNICAST);
    }
    return t;
}

std::string explain_exit(const openvpn::Client& c, int status, std::string& hint)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == exit_not_found) {
        hint = "check the program named in --vpn-cmd";
        return "cannot run the VPN client '" + c.program + "'";
    }
    // Its errors went to the user's terminal already; its stdout is only progress.
    hint = "the client's own messages are above; -v shows the rest of its log";
    std::string how = WIFEXITED(status) ? "with status " + std::to_string(WEXITSTATUS(status))
                                        : "of signal " + std::to_string(WTERMSIG(status));
    return "the VPN client '" + c.program + "' exited " + how + " before the tunnel was up";
}

int hook_main() { return channel::relay_environment(hook_fd, report_variable, hook_argument); }

} // namespace nsjv::script
