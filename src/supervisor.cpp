#include "supervisor.hpp"

#include "caps.hpp"
#include "channel.hpp"
#include "dns.hpp"
#include "helper_client.hpp"
#include "log.hpp"
#include "mounts.hpp"
#include "netlink.hpp"
#include "openvpn_client.hpp"
#include "openvpn_report.hpp"
#include "script_client.hpp"
#include "sys.hpp"
#include "wireguard_client.hpp"
#include "wireguard_genl.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace nsjv::supervisor {

namespace {

using Clock = std::chrono::steady_clock;

struct State {
    State(Context& c, int ctl, UniqueFd sig) : ctx(c), control(ctl), signals(std::move(sig)) {}

    Context& ctx;
    int control;
    UniqueFd signals;
    UniqueFd outer, inner;  // network namespaces; inner only with --vpn
    UniqueFd etc_upper;     // the /etc overlay's tmpfs
    std::optional<openvpn::Client> vpn;
    std::optional<script::Report> script_report;  // what a --vpn-cmd tunnel was set up from
    pid_t app = -1;
    Clock::time_point started = Clock::now();
    std::string address;  // the app's address: the tunnel's, or the uplink's with --net nat
    // After the VPN client died: the next attempt to connect again, and how many failed.
    bool reconnecting = false;
    bool stopping = false;      // `nsjail-vpn stop`: the client's end is expected
    bool app_reported = false;  // the first app's end went to the launcher
    bool link_down = false;     // the client is up but restarting its connection
    // wireguard-go's control socket, and what its counters say about the tunnel.
    bool wg_watching = false, wg_unanswered = false;
    UniqueFd wg_uapi;
    wireguard::Watch wg_watch;
    Clock::time_point wg_look_at;
    std::optional<Clock::time_point> retry_at;
    int attempts = 0;
};

// A reconnect attempt that failed: the sandbox goes on, offline, and tries again.
struct Retry {};

// One JSON line on --json-events FD, if given: {"time", "event", ...}.
void event(const State& s, const char* name, const std::string& address = "")
{
    if (s.ctx.options.events_fd < 0)
        return;
    nlohmann::json j;
    j["time"] = time(nullptr);
    j["event"] = name;
    if (!s.ctx.options.name.empty())
        j["name"] = s.ctx.options.name;
    if (!address.empty())
        j["address"] = address;
    std::string line = j.dump() + "\n";
    (void)!write(s.ctx.options.events_fd, line.data(), line.size());
}

[[noreturn]] void finish(State& s, const std::string& report)
{
    channel::send(s.control, report);
    // Our exit ends the PID namespace: the kernel kills the VPN client and anything
    // the app left behind before the launcher can reap us.
    _exit(0);
}

[[noreturn]] void failed(State& s, const std::string& message, const std::string& hint = "")
{
    if (s.reconnecting) {
        log::warning("cannot reconnect: %s", message.c_str());
        throw Retry{};
    }
    log::error("%s", message.c_str());
    if (!hint.empty())
        log::hint("%s", hint.c_str());
    finish(s, "fail " + std::to_string(exit_failure));
}

// Turns IPv6 off in the current network namespace before any interface but lo
// exists: an interface that comes up would otherwise get an fe80:: address.
int disable_ipv6()
{
    for (const char* conf : {"all", "default", "lo"}) {
        std::string path = std::string("/proc/sys/net/ipv6/conf/") + conf + "/disable_ipv6";
        if (int err = sys::write_file(path, "1"); err < 0 && err != -ENOENT)
            return err;
    }
    return 0;
}

Result<bool> setup_namespace(const char* which)
{
    if (int err = disable_ipv6(); err < 0)
        return fail(std::string("cannot disable IPv6 in the ") + which + " namespace: " +
                    sys::why(err));
    auto nl = netlink::Socket::open();
    if (!nl)
        return fail("cannot open netlink: " + nl.error());
    if (int err = nl->set_up("lo"); err < 0)
        return fail("cannot bring 'lo' up: " + netlink::why(err));
    return true;
}

// INNER is a second network namespace of the same user namespace: creating it
// and coming back to OUTER needs no privilege beyond the one we hold.
Result<bool> make_inner(State& s)
{
    if (unshare(CLONE_NEWNET) < 0)
        return fail("cannot create the app's network namespace: " + sys::why(errno));
    s.inner.reset(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    auto ok = setup_namespace("app's");
    if (setns(s.outer.get(), CLONE_NEWNET) < 0)
        return fail("cannot return to the VPN client's namespace: " + sys::why(errno));
    return ok;
}

// Runs f() inside INNER (sysctl files belong to the namespace of who opens them).
template <class F> auto in_inner(State& s, F f)
{
    setns(s.inner.get(), CLONE_NEWNET);
    auto r = f();
    setns(s.outer.get(), CLONE_NEWNET);
    return r;
}

Result<bool> configure_uplink(const helper::Lease& lease)
{
    auto nl = netlink::Socket::open();
    if (!nl)
        return fail("cannot open netlink: " + nl.error());
    std::string local = lease.sandbox_addr + "/" + std::to_string(lease.prefixlen);
    if (int err = nl->add_address(lease.sandbox_if, local, ""); err < 0)
        return fail("cannot address '" + lease.sandbox_if + "': " + netlink::why(err));
    if (int err = nl->set_up(lease.sandbox_if); err < 0)
        return fail("cannot bring '" + lease.sandbox_if + "' up: " + netlink::why(err));
    netlink::Route def{AF_INET, "0.0.0.0/0", lease.host_addr, 0, 0, 0, 0, 0};
    if (int err = nl->add_route(def, lease.sandbox_if); err < 0)
        return fail("cannot add the default route: " + netlink::why(err));
    return true;
}

// The launcher runs the setuid helper on our OUTER namespace; we get its lease.
void attach_uplink(State& s)
{
    channel::send(s.control, "need-uplink");
    auto answer = channel::receive(s.control);
    if (!answer)
        _exit(exit_failure);
    if (answer->rfind("lease ", 0) != 0)
        finish(s, "fail " + std::to_string(exit_failure));  // the launcher said why
    auto lease = helper::parse_lease(answer->substr(6));
    if (!lease)
        failed(s, lease.error());
    if (auto ok = configure_uplink(*lease); !ok)
        failed(s, "cannot configure the sandbox's uplink: " + ok.error());
    s.address = lease->sandbox_addr;
    log::debug("uplink %s: %s/%d via %s (host side %s)", lease->sandbox_if.c_str(),
               lease->sandbox_addr.c_str(), lease->prefixlen, lease->host_addr.c_str(),
               lease->host_if.c_str());
}

// Moves the tunnel from OUTER into INNER and gives it its addresses, routes and MTU
// there. Only the interface we named is ever moved.
Result<bool> hand_over(State& s, const netlink::Tunnel& tunnel)
{
    auto outer_nl = netlink::Socket::open();
    if (!outer_nl)
        return fail(outer_nl.error());
    if (int err = outer_nl->move(tunnel.name, s.inner.get()); err < 0)
        return fail("cannot move '" + tunnel.name + "' into the app's namespace: " +
                    netlink::why(err));
    return in_inner(s, [&]() -> Result<bool> {
        // The app gets exactly the tunnel's IPv6 address: no fe80:: one beside it (mode 1:
        // no link-local address is generated), set before IPv6 comes on.
        if (tunnel.has_ipv6()) {
            std::string conf = "/proc/sys/net/ipv6/conf/" + tunnel.name;
            int err = sys::write_file(conf + "/addr_gen_mode", "1");
            if (err == 0)
                err = sys::write_file(conf + "/disable_ipv6", "0");
            if (err < 0)
                return fail("cannot enable IPv6 on '" + tunnel.name + "': " + sys::why(err));
        }
        auto nl = netlink::Socket::open();
        if (!nl)
            return fail(nl.error());
        return nl->replay(tunnel);
    });
}

// Captures the tunnel OpenVPN configured in OUTER and hands it over: the same
// capture-and-move serves a full tunnel and a split one, whatever the server pushed.
Result<netlink::Tunnel> move_tunnel(State& s, const std::string& device)
{
    auto outer_nl = netlink::Socket::open();
    if (!outer_nl)
        return fail(outer_nl.error());
    auto tunnel = outer_nl->capture(device);
    if (!tunnel)
        return fail(tunnel.error());
    if (auto ok = hand_over(s, *tunnel); !ok)
        return fail(ok.error());
    return tunnel;
}

// A hook's message: NUL-separated "KEY=VALUE" strings.
std::vector<std::string> split_nul(const std::string& msg)
{
    std::vector<std::string> out;
    for (size_t pos = 0; pos < msg.size();) {
        size_t end = msg.find('\0', pos);
        out.push_back(msg.substr(pos, end - pos));
        pos = end == std::string::npos ? msg.size() : end + 1;
    }
    return out;
}

std::string explain_exit(State& s, int status, std::string& hint)
{
    switch (s.ctx.vpn) {
    case Vpn::openvpn:
        return openvpn::explain_exit(*s.vpn, status, hint);
    case Vpn::script:
        return script::explain_exit(*s.vpn, status, hint);
    case Vpn::wireguard:
        break;
    }
    std::string why = s.vpn->failure.empty() && !s.vpn->tail.empty() ? s.vpn->tail.back()
                                                                       : s.vpn->failure;
    hint = "run with -v to see wireguard-go's log";
    return "wireguard-go exited before the tunnel was up" + (why.empty() ? "" : ": " + why);
}

std::string where(const Context& ctx)
{
    return ctx.vpn == Vpn::script ? "--vpn-cmd" : "'" + ctx.options.vpn_file + "'";
}

void obey(State& s);
void reap_app(State& s);
[[noreturn]] void stop_all(State& s);

// SIGINT, SIGTERM, SIGHUP to a named sandbox whose first app has ended (--keep, or exec'd
// apps still running): the user means the sandbox, and gets `stop`.
bool ends_named(unsigned sig) { return sig == SIGINT || sig == SIGTERM || sig == SIGHUP; }

// One turn of waiting for the tunnel, of at most slice_ms (-1: until the deadline).
// The client, the launcher, a signal and the clock can each end the wait for good;
// the client's log is drained. Returns the hook's message if one came, its
// NUL-separated strings split.
std::optional<std::vector<std::string>> wait_turn(State& s, int slice_ms = -1)
{
    auto& c = *s.vpn;
    auto deadline = s.started + std::chrono::seconds(s.ctx.options.connect_timeout);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
        kill(c.pid, SIGKILL);
        failed(s, "no VPN connection within " + std::to_string(s.ctx.options.connect_timeout) +
                      " s" + (c.failure.empty() ? "" : ": " + c.failure),
               "check that the server in " + where(s.ctx) +
                   " is reachable, or raise --connect-timeout; -v shows the client's log");
    }
    int timeout = static_cast<int>(left.count());
    if (slice_ms >= 0 && slice_ms < timeout)
        timeout = slice_ms;
    pollfd fds[4] = {{s.signals.get(), POLLIN, 0},
                     {s.control, POLLIN, 0},
                     {c.log.get(), POLLIN, 0},
                     {c.hook.get(), POLLIN, 0}};
    if (poll(fds, 4, timeout) < 0 && errno != EINTR)
        failed(s, "poll: " + sys::why(errno));
    if (fds[1].revents)
        obey(s);  // the launcher: gone, or a named sandbox's "stop" or "end"
    if (fds[2].revents)
        openvpn::drain_log(c);
    if (fds[0].revents) {
        signalfd_siginfo si{};
        while (read(s.signals.get(), &si, sizeof si) == sizeof si) {
            if (si.ssi_signo != SIGCHLD && s.reconnecting) {
                // Reconnecting: the sandbox lives on. The app (if it still runs) gets what
                // it would have got; a named sandbox whose first app is gone is stopped.
                if (s.app > 0 && (si.ssi_code != SI_KERNEL || s.ctx.options.new_session))
                    kill(s.app, static_cast<int>(si.ssi_signo));
                else if (s.app <= 0 && ends_named(si.ssi_signo))
                    stop_all(s);
                continue;
            }
            if (si.ssi_signo != SIGCHLD) {
                // Interrupted while connecting: nothing to pass on yet, so stop.
                kill(c.pid, SIGTERM);
                finish(s, "status signal " + std::to_string(si.ssi_signo));
            }
            int status = 0;
            if (s.app > 0)
                reap_app(s);
            if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
                openvpn::drain_log(c);
                std::string hint;
                std::string why = explain_exit(s, status, hint);
                failed(s, why, hint);
            }
        }
    }
    if (!fds[3].revents)
        return std::nullopt;
    auto msg = channel::receive(c.hook.get());
    if (!msg)
        return std::nullopt;
    return split_nul(*msg);
}

void connected(State& s, const std::string& local, const std::string& server,
               const dns::Choice& choice)
{
    s.address = local;
    s.link_down = false;
    if (s.vpn) {  // restarts while connecting were part of it
        s.vpn->restarting.clear();
        s.vpn->completed = false;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - s.started);
    std::string servers;
    for (const auto& d : choice.servers)
        servers += (servers.empty() ? "" : ", ") + d;
    log::progress("connected: %s via %s, DNS %s, %.1f s", local.c_str(), server.c_str(),
                  servers.c_str(), static_cast<double>(ms.count()) / 1000);
}

dns::Choice choose_vpn_dns(State& s, const dns::Offer& offer)
{
    auto choice = dns::choose(s.ctx.options.dns, offer);
    if (!choice)
        failed(s, "no DNS server for the sandbox: " + choice.error(),
               "pass --dns ADDR with a resolver reachable through the tunnel");
    return *choice;
}

dns::Choice connect_openvpn(State& s)
{
    auto client = openvpn::start(s.ctx);
    if (!client)
        failed(s, client.error());
    s.vpn = std::move(*client);

    const auto& first = s.ctx.plan.endpoints.front();
    log::progress("connecting to VPN %s%s%s ...", first.host.c_str(),
                  first.host == first.address ? "" : " at ", first.host == first.address ? "" :
                  first.address.c_str());

    std::optional<std::vector<std::string>> env;
    while (!(env = wait_turn(s))) {
    }
    openvpn::Report report = openvpn::parse_report(*env);
    for (const auto& w : report.warnings)
        log::warning("%s", w.c_str());
    // We named the tunnel (--dev vpn0); a report naming another device is not acted on,
    // so only the interface we asked for is ever moved.
    if (!report.device.empty() && report.device != openvpn::tunnel_name) {
        channel::send(s.vpn->hook.get(), "fail");
        failed(s, "the VPN client reported device '" + report.device + "', not '" +
                      openvpn::tunnel_name + "'");
    }
    auto tunnel = move_tunnel(s, openvpn::tunnel_name);
    if (!tunnel) {
        channel::send(s.vpn->hook.get(), "fail");
        failed(s, "cannot hand the tunnel to the app: " + tunnel.error());
    }
    channel::send(s.vpn->hook.get(), "ok");

    auto choice = choose_vpn_dns(s, report.dns);
    connected(s, report.local, report.server, choice);
    return choice;
}

// A --vpn-cmd client: it calls our script with reason=pre-init, then connect once
// its tun exists; we configure the tun in INNER from what the script reports.
dns::Choice connect_script(State& s)
{
    auto client = script::start(s.ctx);
    if (!client)
        failed(s, client.error());
    s.vpn = std::move(*client);
    const auto& cmd = s.ctx.command;
    log::progress("connecting to VPN %s%s%s with %s ...", cmd.server_host.c_str(),
                  cmd.server_address.empty() ? "" : " at ", cmd.server_address.c_str(),
                  s.vpn->program.c_str());

    for (;;) {
        auto env = wait_turn(s);
        if (!env)
            continue;
        auto report = script::parse_report(*env);
        if (report && report->reason != "connect" && report->reason != "reconnect") {
            channel::send(s.vpn->hook.get(), "ok");
            continue;
        }
        auto refuse = [&](const std::string& why) {
            channel::send(s.vpn->hook.get(), "fail");
            kill(s.vpn->pid, SIGTERM);
            failed(s, why);
        };
        if (!report)
            refuse("cannot use what the VPN client reported: " + report.error());
        for (const auto& w : report->warnings)
            log::warning("%s", w.c_str());
        if (report->device != openvpn::tunnel_name)
            refuse("the VPN client reported device '" + log::shown(report->device) + "', not '" +
                   openvpn::tunnel_name + "'");
        if (auto ok = hand_over(s, script::tunnel(*report, openvpn::tunnel_name)); !ok)
            refuse("cannot hand the tunnel to the app: " + ok.error());
        channel::send(s.vpn->hook.get(), "ok");
        s.script_report = *report;
        auto choice = choose_vpn_dns(s, report->dns);
        std::string local = report->address.substr(0, report->address.find('/'));
        connected(s, local, report->gateway, choice);
        return choice;
    }
}

// Sends one DNS query for the root's servers from INNER to an address the tunnel
// routes: the first packet into it, which makes WireGuard start its handshake.
void nudge(State& s, const std::string& server)
{
    in_inner(s, [&] {
        static const unsigned char query[] = {0x6e, 0x73, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                              0,    0,    2, 0, 1};
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(53);
        UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (fd && inet_pton(AF_INET, server.c_str(), &to.sin_addr) == 1)
            (void)!sendto(fd.get(), query, sizeof query, MSG_DONTWAIT,
                          reinterpret_cast<sockaddr*>(&to), sizeof to);
        return 0;
    });
}

// WireGuard through the kernel, if it has WireGuard; true if it did.
bool wireguard_kernel(State& s)
{
    int err = wireguard::genl::create_link(openvpn::tunnel_name);
    if (err < 0) {
        log::debug("no WireGuard in the kernel (%s): using wireguard-go", netlink::why(err).c_str());
        return false;
    }
    if (auto ok = wireguard::genl::configure(openvpn::tunnel_name, s.ctx.wireguard); !ok)
        failed(s, "cannot configure WireGuard in the kernel: " + ok.error());
    log::debug("WireGuard in the kernel");
    return true;
}

// WireGuard through wireguard-go: started in OUTER, configured over its UAPI socket.
// Returns the connected socket, for watching the handshake.
UniqueFd wireguard_go(State& s)
{
    if (s.ctx.client_path.empty())
        failed(s, "this kernel has no WireGuard, and wireguard-go is not installed",
               "install wireguard-go (Debian: apt install wireguard-go)");
    auto client = wireguard::start_go(s.ctx);
    if (!client)
        failed(s, client.error());
    s.vpn = std::move(*client);

    UniqueFd uapi;
    int err;
    while ((err = wireguard::uapi_connect(s.vpn->pid, uapi)) == -EAGAIN)
        wait_turn(s, 10);
    if (err < 0)
        failed(s, "cannot reach wireguard-go's control socket: " + sys::why(err));
    std::string request = wireguard::uapi_set(s.ctx.wireguard);
    auto answer = wireguard::uapi(uapi.get(), request);
    wireguard::wipe(request);
    if (!answer)
        failed(s, "cannot configure wireguard-go: " + answer.error());
    return uapi;
}

dns::Choice connect_wireguard(State& s)
{
    auto& wg = s.ctx.wireguard;
    const auto& peer = wg.peers.front();
    // Before the tunnel: a sandbox without a resolver is refused before it connects.
    auto choice = choose_vpn_dns(s, dns::Offer{{}, wg.dns, wg.search,
                                               "from the WireGuard configuration's DNS line"});
    log::progress("connecting to WireGuard peer %s%s%s:%u ...", peer.endpoint_host.c_str(),
                  peer.endpoint_host == peer.endpoint_address ? "" : " at ",
                  peer.endpoint_host == peer.endpoint_address ? "" : peer.endpoint_address.c_str(),
                  peer.endpoint_port);

    for (const auto& server : choice.servers)
        if (!wireguard::routed(wg, server))
            log::warning("the sandbox's DNS server %s is in no peer's AllowedIPs: it cannot be "
                         "reached, and names will not resolve", server.c_str());
    std::string target = wireguard::nudge_target(wg, choice.servers);
    // An unprivileged process may not bind ports below 1024, but in OUTER, which
    // holds only the client, the limit is ours to lower.
    if (wg.listen_port && wg.listen_port < 1024)
        if (int err = sys::write_file("/proc/sys/net/ipv4/ip_unprivileged_port_start",
                                      std::to_string(wg.listen_port));
            err < 0)
            failed(s, "cannot allow ListenPort " + std::to_string(wg.listen_port) + ": " +
                          sys::why(err));

    UniqueFd uapi;
    bool kernel = wireguard_kernel(s);
    if (!kernel)
        uapi = wireguard_go(s);
    // The keys stay here, for starting wireguard-go again should it die; the
    // launcher's copy is gone.
    netlink::Tunnel tunnel = wireguard::tunnel(wg, openvpn::tunnel_name);
    if (auto ok = hand_over(s, tunnel); !ok)
        failed(s, "cannot hand the tunnel to the app: " + ok.error());

    // WireGuard has no connection to wait for; a handshake is the proof that the keys
    // and the endpoint are right. The kernel's is not watched.
    // TODO: read the kernel's handshake time with WG_CMD_GET_DEVICE, as for wireguard-go.
    std::string endpoint = peer.endpoint_address + ":" + std::to_string(peer.endpoint_port);
    if (!kernel) {
        auto last_nudge = Clock::time_point{};
        for (;;) {
            if (!target.empty() && Clock::now() - last_nudge > std::chrono::seconds(1)) {
                nudge(s, target);
                last_nudge = Clock::now();
            }
            auto state = wireguard::uapi(uapi.get(), "get=1\n\n");
            if (!state)
                failed(s, "cannot ask wireguard-go about the handshake: " + state.error());
            long handshake = wireguard::last_handshake(*state);
            wireguard::wipe(*state);  // it holds the private key
            if (handshake > 0)
                break;
            wait_turn(s, 20);
        }
    }
    std::string local = wg.addresses.empty() ? "(no address)" : wg.addresses.front().address;
    connected(s, local, endpoint, choice);
    s.wg_uapi = std::move(uapi);
    s.wg_watching = !kernel;
    s.wg_watch = wireguard::Watch(wg);
    s.wg_look_at = Clock::now();
    return choice;
}

dns::Choice connect_vpn(State& s)
{
    switch (s.ctx.vpn) {
    case Vpn::wireguard:
        return connect_wireguard(s);
    case Vpn::script:
        return connect_script(s);
    case Vpn::openvpn:
        break;
    }
    return connect_openvpn(s);
}

dns::Choice choose_dns(State& s)
{
    switch (s.ctx.options.net) {
    case Net::vpn:
        return connect_vpn(s);
    case Net::nat: {
        auto choice = dns::choose_host(s.ctx.options.dns, s.ctx.host_resolv_conf,
                                       s.ctx.host_resolv_upstream);
        if (!choice)
            failed(s, "no DNS server for the sandbox: " + choice.error(),
                   "pass --dns ADDR with a resolver reachable from the host's network");
        return *choice;
    }
    case Net::none:
        break;
    }
    return dns::Choice{{}, {}, "none: the sandbox has no network"};
}

[[noreturn]] void exec_app(State& s, int error_pipe)
{
    const auto& cmd = s.ctx.options.command;
    std::vector<char*> argv;
    for (const auto& a : cmd)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    int err = 0;
    if (s.inner && setns(s.inner.get(), CLONE_NEWNET) < 0)
        err = errno;
    sys::reset_signals();
    // Without a controlling terminal, the kernel refuses TIOCSTI on the user's terminal
    // (a process may push input only into its own controlling terminal).
    if (!err && s.ctx.options.new_session && setsid() < 0)
        err = errno;
    if (!err && caps::drop_all() < 0)
        err = errno;
    std::string program;
    if (!err && !(program = sys::find_command(cmd.front(), err)).empty()) {
        execv(program.c_str(), argv.data());
        err = errno;
    }
    (void)!write(error_pipe, &err, sizeof err);
    _exit(exit_not_found);
}

void start_app(State& s)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        failed(s, "cannot start the app: " + sys::why(errno));
    UniqueFd r(p[0]), w(p[1]);

    s.app = fork();
    if (s.app == 0)
        exec_app(s, w.get());
    if (s.app < 0)
        failed(s, "cannot start the app: " + sys::why(errno));
    w.reset();

    int err = 0;
    if (read(r.get(), &err, sizeof err) == sizeof err) {
        const std::string& name = s.ctx.options.command.front();
        log::error("cannot run '%s': %s", name.c_str(),
                   err == ENOENT ? "command not found" : sys::why(err).c_str());
        waitpid(s.app, nullptr, 0);
        finish(s, "status exit " +
                      std::to_string(err == ENOENT ? exit_not_found : exit_cannot_execute));
    }
}

// The client dropped its connection and makes a new one by itself (OpenVPN's
// ping-restart, a --vpn-cmd client's attempt-reconnect): the apps are offline meanwhile,
// which the user, `ls` and --json-events hear once.
void link_lost(State& s, const std::string& why)
{
    if (s.link_down || !s.vpn || s.vpn->pid <= 0)  // a dead client is client_died's
        return;
    s.link_down = true;
    std::string trying = s.ctx.vpn == Vpn::wireguard ? "wireguard-go keeps trying its peer"
                                                     : s.vpn->program + " is reconnecting";
    log::warning("the VPN connection was lost (%s); %s, the apps are offline meanwhile",
                 why.c_str(), trying.c_str());
    event(s, "down");
    event(s, "reconnecting");
    channel::send(s.control, "state down");
}

// The client connected again after such a restart (OpenVPN's log, a --vpn-cmd client's
// hook): the tunnel carries traffic again. Said once, however many of those tell it.
void link_back(State& s)
{
    if (!std::exchange(s.link_down, false))
        return;
    log::notice("the VPN is connected again: %s", s.address.c_str());
    event(s, "connected", s.address);
    channel::send(s.control, "state connected " + s.address);
}

// Every few seconds, wireguard-go's counters: WireGuard has no connection that could
// be seen to drop (nor a client that exits when its peer goes), so this is how the
// user, `ls` and --json-events hear that the tunnel stopped carrying traffic.
// TODO: the kernel's WireGuard is not watched; reading its counters needs WG_CMD_GET_DEVICE.
void look_at_wireguard(State& s)
{
    constexpr auto period = std::chrono::seconds(2);
    if (!s.wg_watching || Clock::now() < s.wg_look_at)
        return;
    s.wg_look_at = Clock::now() + period;
    if (!s.wg_uapi && (!s.vpn || s.vpn->pid <= 0 ||
                       wireguard::uapi_connect(s.vpn->pid, s.wg_uapi) < 0))
        return;
    auto answer = wireguard::uapi(s.wg_uapi.get(), "get=1\n\n");
    if (!answer) {
        // Stopped, say: asked again on a new connection at the next look.
        if (!std::exchange(s.wg_unanswered, true))
            log::warning("cannot ask wireguard-go about the tunnel: %s; asking again",
                         answer.error().c_str());
        s.wg_uapi.reset();
        return;
    }
    if (std::exchange(s.wg_unanswered, false))
        log::notice("wireguard-go answers again");
    long now = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch())
                   .count();
    auto change = s.wg_watch.look(*answer, now);
    wireguard::wipe(*answer);  // it holds the private key
    if (change == wireguard::Watch::Change::lost)
        link_lost(s, "no answer from the WireGuard peer for " +
                         std::to_string(wireguard::Watch::unanswered_limit) + " s");
    else if (change == wireguard::Watch::Change::back)
        link_back(s);
}

// OpenVPN runs route-up again after a reconnect. With --persist-tun it kept its
// tun, which stays in INNER with the routes it had; OpenVPN's own attempt to add
// them again in OUTER fails harmlessly, since the device is not there. It waits
// for its hook, so the hook must get an answer. A --vpn-cmd client calls its
// script on every change (attempt-reconnect, reconnect, disconnect) and waits too.
// TODO: a reconnect that pushes a different address or routes keeps the old ones
// in INNER until the app restarts; re-capturing needs the tun back in OUTER.
void acknowledge_hook(State& s)
{
    auto msg = channel::receive(s.vpn->hook.get());
    if (!msg) {
        s.vpn->hook.reset();
        return;
    }
    channel::send(s.vpn->hook.get(), "ok");
    if (s.ctx.vpn == Vpn::openvpn) {
        link_back(s);
        return;
    }
    std::string reason;
    if (size_t at = msg->find("reason="); at != std::string::npos && (at == 0 || (*msg)[at - 1] == '\0'))
        reason = msg->substr(at + 7, msg->find('\0', at) - at - 7);
    if (reason == "reconnect") {
        link_back(s);
        auto now = script::parse_report(split_nul(*msg));
        const auto& was = *s.script_report;
        if (now && (now->address != was.address || now->routes != was.routes))
            log::warning("after reconnecting, the VPN gave the address %s (was %s) or other "
                         "routes; the app keeps the old ones and may be offline: restart it",
                         now->address.c_str(), was.address.c_str());
    }
    else if (reason == "attempt-reconnect")
        link_lost(s, "the client lost its server");
    else if (reason == "disconnect" && !s.link_down) {
        s.link_down = true;
        log::warning("the VPN client disconnected; the apps are offline");
        event(s, "down");
        channel::send(s.control, "state down");
    }
}

// The first app's end, for the launcher. A named sandbox goes on (other apps may run in
// it) until the launcher says "end"; any other ends with its first app.
void app_ended(State& s, int status)
{
    std::string report = WIFSIGNALED(status) ? "status signal " + std::to_string(WTERMSIG(status))
                                             : "status exit " + std::to_string(WEXITSTATUS(status));
    if (s.ctx.options.name.empty())
        finish(s, report);
    channel::send(s.control, report);
    s.app = -1;
    s.app_reported = true;
}

// The VPN client died: the apps are offline (INNER has no route but the tunnel,
// and the tunnel went with the client). OpenVPN and wireguard-go are started again,
// after 1, 2, 4 ... 60 s; a --vpn-cmd client is not, since it may need a password.
void client_died(State& s, int status)
{
    std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                          : "exited with status " + std::to_string(WEXITSTATUS(status));
    s.vpn->pid = -1;
    s.vpn->restarting.clear();  // what its log said is over with it
    s.vpn->completed = false;
    s.wg_uapi.reset();
    if (s.stopping)
        return;
    if (!std::exchange(s.link_down, false))
        event(s, "down");
    channel::send(s.control, "state down");
    if (s.ctx.vpn == Vpn::script) {
        log::warning("the VPN client %s; the apps are offline (a --vpn-cmd client is not "
                     "started again: it may need your password)", how.c_str());
        return;
    }
    static const int backoff[] = {1, 2, 4, 8, 16, 30, 60};
    int delay = backoff[std::min(s.attempts, 6)];
    log::warning("the VPN client %s; the apps are offline; connecting again in %d s", how.c_str(),
                 delay);
    s.retry_at = Clock::now() + std::chrono::seconds(delay);
}

void reap(State& s)
{
    int status = 0;
    pid_t pid;
    // Also apps of `nsjail-vpn exec` whose own parent died: we are their init.
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == s.app)
            app_ended(s, status);
        else if (s.vpn && pid == s.vpn->pid)
            client_died(s, status);
    }
}

// While reconnecting, only the app is reaped: the client is the connect's business.
void reap_app(State& s)
{
    int status = 0;
    if (s.app > 0 && waitpid(s.app, &status, WNOHANG) == s.app)
        app_ended(s, status);
}

dns::Choice connect_vpn(State& s);

// One attempt to connect again; a failure schedules the next.
void reconnect(State& s)
{
    s.retry_at.reset();
    s.reconnecting = true;
    s.started = Clock::now();
    event(s, "reconnecting");
    try {
        connect_vpn(s);
        s.reconnecting = false;
        s.attempts = 0;
        log::notice("the VPN is connected again: %s", s.address.c_str());
        event(s, "connected", s.address);
        channel::send(s.control, "state connected " + s.address);
    } catch (const Retry&) {
        s.reconnecting = false;
        s.attempts++;
        if (s.vpn && s.vpn->pid > 0) {
            kill(s.vpn->pid, SIGKILL);
            int status = 0;
            waitpid(s.vpn->pid, &status, 0);
            client_died(s, status);
        } else {
            s.retry_at = Clock::now() + std::chrono::seconds(std::min(60, 1 << std::min(s.attempts, 6)));
        }
    }
}

// `nsjail-vpn stop`: every process of the PID namespace but us gets SIGTERM, and
// SIGKILL after the grace period; then the namespace ends with us.
[[noreturn]] void stop_all(State& s)
{
    s.stopping = true;
    kill(-1, SIGTERM);
    auto deadline = Clock::now() + std::chrono::seconds(stop_grace_seconds);
    // kill(-1, 0) fails with ESRCH once no process but us is left.
    while (kill(-1, 0) == 0 && Clock::now() < deadline) {
        reap(s);
        usleep(20 * 1000);
    }
    kill(-1, SIGKILL);
    int status = 0;
    if (s.app > 0 && waitpid(s.app, &status, 0) == s.app) {
        channel::send(s.control, WIFSIGNALED(status)
                                     ? "status signal " + std::to_string(WTERMSIG(status))
                                     : "status exit " + std::to_string(WEXITSTATUS(status)));
    } else if (!s.app_reported) {
        channel::send(s.control, "status signal " + std::to_string(SIGTERM));  // none ran
    }
    _exit(0);
}

// What the launcher says: "end" (the last app of a named sandbox is gone), "stop".
// End of file: the launcher is gone, and so are we.
void obey(State& s)
{
    auto msg = channel::receive(s.control);
    if (!msg)
        _exit(exit_failure);
    if (*msg == "end")
        _exit(0);
    if (*msg == "stop")
        stop_all(s);
}

// After the app started: pass signals on, keep the VPN client's log drained, and
// report the app's end. A VPN client that dies leaves the app offline, never on
// another path: INNER has no route but the tunnel.
[[noreturn]] void supervise(State& s)
{
    for (;;) {
        pollfd fds[4] = {{s.signals.get(), POLLIN, 0},
                         {s.control, POLLIN, 0},
                         {s.vpn ? s.vpn->log.get() : -1, POLLIN, 0},
                         {s.vpn ? s.vpn->hook.get() : -1, POLLIN, 0}};
        auto wake = s.retry_at;
        if (s.wg_watching && s.vpn && s.vpn->pid > 0 && (!wake || s.wg_look_at < *wake))
            wake = s.wg_look_at;
        int timeout = -1;
        if (wake)
            timeout = static_cast<int>(std::max<long>(
                0, std::chrono::duration_cast<std::chrono::milliseconds>(*wake - Clock::now())
                       .count()));
        if (poll(fds, 4, timeout) < 0 && errno != EINTR)
            _exit(exit_failure);
        if (s.retry_at && Clock::now() >= *s.retry_at)
            reconnect(s);
        look_at_wireguard(s);
        if (fds[1].revents)
            obey(s);
        if (fds[2].revents && !openvpn::drain_log(*s.vpn))
            s.vpn->log.reset();
        if (s.vpn && !s.vpn->restarting.empty())
            link_lost(s, "OpenVPN's " + std::exchange(s.vpn->restarting, {}));
        if (s.vpn && std::exchange(s.vpn->completed, false))
            link_back(s);
        if (fds[3].revents)
            acknowledge_hook(s);

        signalfd_siginfo si{};
        while (read(s.signals.get(), &si, sizeof si) == sizeof si) {
            // A terminal's signals reach the app directly (same process group); only
            // signals sent to the launcher by kill(2) come here to be passed on. An app in
            // a session of its own is in no process group of the terminal: we pass those on.
            if (si.ssi_signo != SIGCHLD) {
                if (s.app > 0 && (si.ssi_code != SI_KERNEL || s.ctx.options.new_session))
                    kill(s.app, static_cast<int>(si.ssi_signo));
                else if (s.app <= 0 && ends_named(si.ssi_signo))
                    stop_all(s);
                continue;
            }
            reap(s);
        }
    }
}

} // namespace

UniqueFd block_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int sig : forwarded)
        sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    return UniqueFd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

void run(Context& ctx, UniqueFd control)
{
    State s(ctx, control.get(), block_signals());

    // The launcher writes our uid/gid maps, then says "go"; until then we hold no
    // usable identity in the new user namespace.
    auto go = channel::receive(s.control);
    if (!go || *go != "go")
        _exit(exit_failure);
    // Die with the launcher, even on SIGKILL. Set after the maps are written (a
    // credential change would clear it), then check the launcher did not die first.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pollfd alive{s.control, POLLIN, 0};
    if (poll(&alive, 1, 0) > 0 && (alive.revents & (POLLHUP | POLLERR)))
        _exit(exit_failure);

    if (auto ok = mounts::make_private_with_proc(); !ok)
        failed(s, ok.error(), sys::userns_hint());
    s.outer.reset(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (auto ok = setup_namespace("sandbox's"); !ok)
        failed(s, ok.error());
    if (ctx.options.net == Net::vpn)
        if (auto ok = make_inner(s); !ok)
            failed(s, ok.error());
    if (ctx.options.net != Net::none)
        attach_uplink(s);

    dns::Choice choice = choose_dns(s);
    if (ctx.options.net == Net::vpn)
        event(s, "connected", s.address);
    mounts::EtcFiles etc{dns::render_resolv_conf(choice), dns::render_nsswitch(ctx.host_nsswitch)};
    auto upper = mounts::overlay_etc(etc);
    if (!upper)
        failed(s, upper.error());
    s.etc_upper = std::move(*upper);
    if (auto ok = mounts::hide_host_resolvers(); !ok)
        failed(s, ok.error());
    for (const auto& dir : ctx.hidden_state)
        if (auto ok = mounts::hide(dir); !ok)
            failed(s, ok.error());

    // The namespace the app runs in: published for root's tools first, if asked, then
    // given to the launcher for `nsjail-vpn exec` to join.
    int app_net = s.inner ? s.inner.get() : s.outer.get();
    if (ctx.options.publish) {
        channel::send_fds(s.control, "publish", {app_net});
        auto answer = channel::receive(s.control);
        if (!answer)
            _exit(exit_failure);
        if (*answer != "published")
            finish(s, "fail " + std::to_string(exit_failure));  // the launcher said why
    }
    start_app(s);
    channel::send_fds(s.control, "started " + (s.address.empty() ? "-" : s.address), {app_net});
    supervise(s);
}

} // namespace nsjv::supervisor
