#include "prepare.hpp"

#include "dns.hpp"
#include "log.hpp"
#include "state.hpp"
#include "openvpn_client.hpp"
#include "sys.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <netdb.h>
#include <sys/stat.h>
#include <termios.h>

namespace nsjv {

namespace {

std::vector<std::string> resolve(const std::string& host, std::string& why)
{
    addrinfo hints{};
    addrinfo* res = nullptr;
    std::vector<std::string> out;

    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    if (int err = getaddrinfo(host.c_str(), nullptr, &hints, &res); err != 0) {
        why = gai_strerror(err);
        return out;
    }
    for (auto* ai = res; ai; ai = ai->ai_next) {
        char buf[INET_ADDRSTRLEN];
        auto* sin = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
        inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
        if (std::find(out.begin(), out.end(), buf) == out.end())
            out.emplace_back(buf);
    }
    freeaddrinfo(res);
    return out;
}

// A VPN client's program: a path as given, or a name looked up in PATH and then in the
// sbin directories, which unprivileged users' PATH often lacks (OpenVPN and
// OpenConnect live there). Relative directories of PATH are skipped.
std::string find_program(const std::string& name)
{
    if (name.find('/') != std::string::npos)
        return access(name.c_str(), X_OK) == 0 ? name : "";
    std::string path = getenv("PATH") ? getenv("PATH") : "";
    path += ":/usr/sbin:/sbin";
    for (size_t pos = 0; pos <= path.size();) {
        size_t end = path.find(':', pos);
        std::string dir = path.substr(pos, end == std::string::npos ? end : end - pos);
        pos = end == std::string::npos ? path.size() + 1 : end + 1;
        std::string candidate = dir + "/" + name;
        if (!dir.empty() && dir[0] == '/' && access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return "";
}

Result<bool> find_self(Context& ctx)
{
    char real[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", real, sizeof real - 1);
    if (n <= 0)
        return fail("cannot find this program's own path: " + sys::why(errno));
    ctx.self_path.assign(real, static_cast<size_t>(n));
    return true;
}

// The text of a word for sh -c: in single quotes, a quote itself as '\''.
std::string sh_quote(const std::string& word)
{
    std::string out = "'";
    for (char c : word)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Reads one line from the terminal; echo off for secrets.
Result<std::string> ask(int tty, const std::string& prompt, bool secret)
{
    termios saved{};
    bool restore = secret && tcgetattr(tty, &saved) == 0;
    if (restore) {
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    (void)!write(tty, prompt.data(), prompt.size());
    std::string line;
    char c;
    ssize_t n;
    while ((n = read(tty, &c, 1)) == 1 && c != '\n')
        line += c;
    if (restore) {
        tcsetattr(tty, TCSAFLUSH, &saved);
        (void)!write(tty, "\n", 1);
    }
    if (n != 1)
        return fail("no answer on the terminal");
    return line;
}

Result<bool> ask_secrets(Context& ctx)
{
    const auto& plan = ctx.plan;
    if (!plan.ask_credentials && !plan.ask_passphrase)
        return true;
    UniqueFd tty(open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
    if (!tty)
        return fail(plan.ask_credentials
                        ? "the VPN asks for a user name and password but there is no terminal "
                          "to ask on: put them on two lines of a file only you can read, and "
                          "name it in the configuration: auth-user-pass FILE"
                        : "the VPN key asks for a passphrase but there is no terminal to ask on: "
                          "put it in a file only you can read, and name it: askpass FILE");
    if (plan.ask_credentials) {
        auto user = ask(tty.get(), "VPN user name: ", false);
        if (!user)
            return fail(user.error());
        auto password = ask(tty.get(), "VPN password: ", true);
        if (!password)
            return fail(password.error());
        // In memory only: the client reads it through its inherited fd.
        ctx.credentials = sys::memfd("nsjail-vpn-auth", *user + "\n" + *password + "\n");
    }
    if (plan.ask_passphrase) {
        auto pass = ask(tty.get(), "Private key passphrase: ", true);
        if (!pass)
            return fail(pass.error());
        ctx.passphrase = sys::memfd("nsjail-vpn-askpass", *pass + "\n");
    }
    return true;
}

Result<bool> prepare_openvpn(Context& ctx, const std::string& text, const char* real)
{
    const std::string& file = ctx.options.vpn_file;
    std::string directory = real;
    directory = directory.substr(0, directory.rfind('/'));
    if (directory.empty())
        directory = "/";
    auto plan = openvpn::plan(text, directory, resolve);
    if (!plan)
        return fail("cannot use the VPN configuration '" + file + "': " + plan.error());
    ctx.plan = std::move(*plan);
    for (const auto& n : ctx.plan.notices)
        log::notice("%s", n.c_str());

    ctx.client_path = find_program("openvpn");
    if (ctx.client_path.empty())
        return fail("cannot find 'openvpn' in PATH, /usr/sbin or /sbin: install OpenVPN "
                    "(Debian: apt install openvpn)");
    ctx.config = sys::memfd("nsjail-vpn-config", ctx.plan.config);
    if (!ctx.config)
        return fail("cannot hold the VPN configuration in memory: " + sys::why(errno));
    return ask_secrets(ctx);
}

Result<bool> prepare_wireguard(Context& ctx, const std::string& text)
{
    auto config = wireguard::parse(text, resolve);
    if (!config)
        return fail("cannot use the WireGuard configuration '" + ctx.options.vpn_file +
                    "': " + config.error());
    if (config->dns.empty() && ctx.options.dns.empty()) {
        wireguard::wipe(*config);
        return fail("the WireGuard configuration '" + ctx.options.vpn_file + "' has no DNS line, " +
                    "so the sandbox would have no resolver: add 'DNS = ADDR' under [Interface], " +
                    "or pass --dns ADDR with a resolver reachable through the tunnel");
    }
    // wg-quick hands DNS to the host's resolver; in the sandbox a loopback one is dead.
    auto& servers = config->dns;
    auto dead = std::stable_partition(servers.begin(), servers.end(),
                                      [](const std::string& d) { return !dns::this_host(d); });
    if (dead != servers.end() && ctx.options.dns.empty()) {
        std::string first = *dead;
        bool none_left = dead == servers.begin();
        servers.erase(dead, servers.end());
        if (none_left) {
            wireguard::wipe(*config);
            return fail("the WireGuard configuration '" + ctx.options.vpn_file + "' gives DNS " +
                        first + ", which means this host (loopback): inside the sandbox " +
                        "nothing answers there (wg-quick hands it to the host's resolver); " +
                        "give the VPN's resolver in 'DNS = ADDR', or pass --dns ADDR");
        }
        log::notice("ignoring the WireGuard DNS server %s: it means this host (loopback), "
                    "where nothing answers inside the sandbox", first.c_str());
    }
    ctx.wireguard = std::move(*config);
    wireguard::wipe(*config);
    for (const auto& n : ctx.wireguard.notices)
        log::notice("%s", n.c_str());
    // Not finding it is an error only where the kernel has no WireGuard either: the
    // supervisor knows that once the sandbox exists.
    ctx.client_path = find_program("wireguard-go");
    return true;
}

Result<bool> prepare_vpn(Context& ctx)
{
    const std::string& file = ctx.options.vpn_file;
    char real[PATH_MAX];
    struct stat st {};

    if (!realpath(file.c_str(), real) || stat(real, &st) < 0)
        return fail("cannot read the VPN configuration '" + file + "': " + sys::why(errno));
    if (!S_ISREG(st.st_mode))
        return fail("cannot read the VPN configuration '" + file + "': not a regular file");
    auto text = sys::read_file(real);
    if (!text && errno == EFBIG)
        return fail("cannot read the VPN configuration '" + file + "': larger than 1 MiB, " +
                    "which no VPN configuration is: check that it is the right file");
    if (!text)
        return fail("cannot read the VPN configuration '" + file + "': " + sys::why(errno));
    if (auto ok = find_self(ctx); !ok)
        return ok;

    const std::string& type = ctx.options.vpn_type;
    bool wg = type.empty() ? wireguard::detect(*text) == wireguard::Kind::wireguard
                           : type == "wireguard";
    ctx.vpn = wg ? Vpn::wireguard : Vpn::openvpn;
    auto ok = wg ? prepare_wireguard(ctx, *text) : prepare_openvpn(ctx, *text, real);
    wireguard::wipe(*text);  // a WireGuard file holds the private key
    return ok;
}

// --vpn-cmd: the client's command line with our script in vpnc-script's place.
Result<bool> prepare_command(Context& ctx)
{
    auto words = script::split_command(ctx.options.vpn_cmd);
    if (!words)
        return fail("cannot use --vpn-cmd: " + words.error());
    if (auto ok = find_self(ctx); !ok)
        return ok;
    std::string hook = sh_quote(ctx.self_path) + " " + script::hook_argument;
    auto command = script::plan_command(*words, hook, openvpn::tunnel_name, resolve);
    if (!command)
        return fail("cannot use --vpn-cmd: " + command.error());
    ctx.vpn = Vpn::script;
    ctx.command = std::move(*command);
    for (const auto& n : ctx.command.notices)
        log::notice("%s", n.c_str());
    const std::string& program = ctx.command.argv.front();
    ctx.client_path = find_program(program);
    if (ctx.client_path.empty())
        return fail("cannot find the VPN client '" + log::shown(program) + "' in PATH, /usr/sbin " +
                    "or /sbin" + (program == "openconnect" ? ": install OpenConnect (Debian: apt "
                                                             "install openconnect)" : ""));
    return true;
}

} // namespace

Result<bool> prepare(Context& ctx)
{
    ctx.host_resolv_conf = sys::read_file("/etc/resolv.conf").value_or("");
    ctx.host_resolv_upstream = sys::read_file("/run/systemd/resolve/resolv.conf").value_or("");
    ctx.host_nsswitch = sys::read_file("/etc/nsswitch.conf").value_or("");
    // Every sandbox hides the state of named ones; only a named one needs it to exist.
    auto dir = state::directory();
    if (!dir && !ctx.options.name.empty())
        return fail("cannot name the sandbox: " + dir.error());
    ctx.state_dir = dir ? *dir : "";
    ctx.hidden_state = state::candidates();
    if (ctx.options.net == Net::vpn)
        return ctx.options.vpn_cmd.empty() ? prepare_vpn(ctx) : prepare_command(ctx);
    return true;
}

} // namespace nsjv
