// nsjail-vpn: run one application in a sandbox whose only network is a VPN tunnel.
#include "commands.hpp"
#include "context.hpp"
#include "dns.hpp"
#include "log.hpp"
#include "openvpn_client.hpp"
#include "script_client.hpp"
#include "prepare.hpp"
#include "sandbox.hpp"
#include "state.hpp"
#include "sys.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <unistd.h>

namespace {

using namespace nsjv;

// Where our options end and COMMAND begins: at "--", or at the first argument that
// is neither one of our options nor the value of one. COMMAND is passed on exactly
// as written, and an unknown option before it is an error, not the app's name.
int command_start(const CLI::App& app, int argc, char** argv)
{
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        if (arg == "--")
            return i;
        if (arg.size() < 2 || arg[0] != '-')
            return i;
        if (arg.find('=') != std::string::npos)
            continue;
        const CLI::Option* opt = app.get_option_no_throw(arg);
        if (opt && opt->get_expected_min() > 0 && i + 1 < argc && std::string(argv[i + 1]) != "--")
            i++;  // its value, even if it looks like an option ("--" never is)
    }
    return argc;
}

// Parses the command line into opt; returns an exit code to stop with, or -1 to
// go on. CLI11 throws: this is the edge where that ends.
int parse(int argc, char** argv, Options& opt)
{
    CLI::App app{"Run COMMAND as you, in a sandbox whose only network is a VPN tunnel "
                 "(--vpn, --vpn-cmd), the host's network through NAT (--net nat), or none "
                 "(--net none).",
                 "nsjail-vpn"};
    std::string net, vpn;
    bool verbose = false, quiet = false;

    app.footer("COMMAND [ARGS...] follows the options, or '--'; it is run exactly as written.\n"
               "Named sandboxes: nsjail-vpn exec NAME [--] COMMAND...; nsjail-vpn ls [--json]; "
               "nsjail-vpn stop NAME [--json].\n"
               "Exit status: COMMAND's; 125 nsjail-vpn failed; 126 cannot execute; 127 not found.\n"
               "See nsjail-vpn(1).");
    app.set_version_flag("--version", "nsjail-vpn " NSJV_VERSION);
    app.add_option("--vpn", vpn,
                   "VPN configuration for the app's only network: OpenVPN (.ovpn) or WireGuard "
                   "(wg-quick .conf), told apart by content")
        ->type_name("FILE");
    app.add_option("--vpn-type", opt.vpn_type, "what --vpn FILE is, where its content does not say")
        ->type_name("openvpn|wireguard");
    app.add_option("--vpn-cmd", opt.vpn_cmd,
                   "run this VPN client (OpenConnect, or any client of the vpnc-script kind) "
                   "in the sandbox; one string, quoted as for sh")
        ->type_name("COMMAND");
    app.add_option("--net", net, "'none': only loopback; 'nat': the host's network through NAT")
        ->type_name("none|nat");
    app.add_option("--dns", opt.dns, "DNS server for the sandbox (repeatable; overrides the VPN's)")
        ->type_name("ADDR")
        ->allow_extra_args(false);
    app.add_option("--connect-timeout", opt.connect_timeout,
                   "seconds to wait for the VPN to connect (default 30; 300 with --vpn-cmd, "
                   "whose client may ask for a password)")
        ->type_name("SECONDS");
    app.add_flag("--new-session", opt.new_session,
                 "run COMMAND in a session of its own, without your terminal as its controlling "
                 "terminal, so that it cannot type into it (TIOCSTI)");
    app.add_option("--name", opt.name,
                   "name the sandbox, so that 'nsjail-vpn exec NAME', 'ls' and 'stop' know it")
        ->type_name("NAME");
    app.add_flag("--keep", opt.keep,
                 "keep the named sandbox after its apps have exited, until 'nsjail-vpn stop NAME'");
    app.add_flag("--publish", opt.publish,
                 "show the named sandbox to root's tools: ip netns exec nsjv-UID-NAME ... "
                 "(if the helper policy allows it)");
    app.add_option("--json-events", opt.events_fd,
                   "write the VPN's state changes (down, reconnecting, connected) to this open "
                   "file descriptor, one JSON object per line")
        ->type_name("FD");
    app.add_flag("-v,--verbose", verbose, "show each step and the VPN client's log");
    app.add_flag("-q,--quiet", quiet, "show errors only");

    int start = command_start(app, argc, argv);
    for (int i = start + (start < argc && std::string(argv[start]) == "--"); i < argc; i++)
        opt.command.emplace_back(argv[i]);
    argc = start;

    // CLI11 reads an empty "--name=" as no value at all and then trips over the next
    // word; the user meant a name, and is told what a name is.
    for (int i = 1; i < argc; i++) {
        if (std::string(argv[i]) == "--name=") {
            log::error("not a sandbox name: ''");
            log::hint("a name is %s", state::name_rule);
            return exit_failure;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ConversionError& e) {
        // CLI11 says "Could not convert: --connect-timeout = abc".
        std::string what = e.what();
        size_t colon = what.find(": "), eq = what.find(" = ");
        std::string option = colon < eq && eq != std::string::npos
                                 ? what.substr(colon + 2, eq - colon - 2)
                                 : "";
        if (option == "--connect-timeout" || option == "--json-events")
            log::error("%s takes a whole number in range, not '%s'", option.c_str(),
                       log::shown(what.substr(eq + 3)).c_str());
        else
            log::error("%s", log::shown(what).c_str());
        log::hint("see 'nsjail-vpn --help'");
        return exit_failure;
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0)
            return app.exit(e);
        log::error("%s", e.what());
        log::hint("see 'nsjail-vpn --help'");
        return exit_failure;
    }
    log::set_level(quiet ? log::Level::quiet : verbose ? log::Level::verbose : log::Level::normal);

    if (verbose && quiet) {
        log::error("-v and -q contradict each other: use one");
        return exit_failure;
    }
    for (const char* name : {"--vpn", "--vpn-cmd", "--net"}) {
        if (app.count(name) > 0 && app[name]->as<std::string>().empty()) {
            log::error("%s is empty", name);
            log::hint("%s", std::string(name) == "--vpn"
                                ? "give the VPN configuration file: --vpn FILE"
                            : std::string(name) == "--vpn-cmd"
                                ? "give the VPN client's command line: --vpn-cmd 'openconnect ...'"
                                : "use --net none or --net nat");
            return exit_failure;
        }
    }
    int chosen = !vpn.empty() + !opt.vpn_cmd.empty() + !net.empty();
    if (chosen > 1) {
        log::error("choose one network: --vpn FILE, --vpn-cmd COMMAND or --net none|nat");
        return exit_failure;
    }
    if (chosen == 0) {
        log::error("no network chosen for the sandbox");
        log::hint("pass --vpn FILE (.ovpn or WireGuard .conf) or --vpn-cmd 'openconnect ...' to "
                  "use a VPN, --net nat for the host's network, or --net none for no network");
        // `nsjail-vpn lss`: a mistyped command reads as an app to run.
        int err = 0;
        if (opt.command.size() == 1 && opt.command.front().find('/') == std::string::npos &&
            sys::find_command(opt.command.front(), err).empty())
            log::hint("'%s' is taken as the app to run; the commands for named sandboxes are "
                      "exec, ls and stop", log::shown(opt.command.front()).c_str());
        return exit_failure;
    }
    if (!opt.vpn_type.empty() && vpn.empty()) {
        log::error("--vpn-type says what --vpn FILE is: it has no use without --vpn");
        return exit_failure;
    }
    if (!opt.vpn_type.empty() && opt.vpn_type != "openvpn" && opt.vpn_type != "wireguard") {
        log::error("unknown --vpn-type '%s'", log::shown(opt.vpn_type).c_str());
        log::hint("use --vpn-type openvpn or --vpn-type wireguard");
        return exit_failure;
    }
    if (!vpn.empty() || !opt.vpn_cmd.empty()) {
        opt.net = Net::vpn;
        opt.vpn_file = vpn;
    } else if (net == "none" || net == "nat") {
        opt.net = net == "none" ? Net::none : Net::nat;
    } else {
        log::error("unknown network '%s' for --net", net.c_str());
        log::hint("use --net none, --net nat, --vpn FILE or --vpn-cmd COMMAND");
        return exit_failure;
    }
    for (const auto& d : opt.dns) {
        if (!dns::valid_server(d)) {
            log::error("not an IP address for --dns: '%s'", d.c_str());
            return exit_failure;
        }
        if (dns::this_host(d)) {
            log::error("--dns %s means this host (loopback): inside the sandbox nothing "
                       "answers there", d.c_str());
            log::hint("give a resolver the sandbox can reach: the VPN's, or with --net nat one "
                      "on your network");
            return exit_failure;
        }
    }
    if (!opt.dns.empty() && opt.net == Net::none) {
        log::error("--dns has no use with --net none: the sandbox has no network");
        return exit_failure;
    }
    if (app.count("--connect-timeout") == 0)
        opt.connect_timeout = opt.vpn_cmd.empty() ? 30 : 300;
    else if (opt.connect_timeout < 1 || opt.connect_timeout > 3600) {
        log::error("--connect-timeout must be between 1 and 3600 seconds, not %d",
                   opt.connect_timeout);
        return exit_failure;
    }
    if (app.count("--name") && !state::valid_name(opt.name)) {
        log::error("not a sandbox name: '%s'", log::shown(opt.name).c_str());
        log::hint("a name is %s", state::name_rule);
        return exit_failure;
    }
    if (app.count("--json-events")) {
        int flags = opt.events_fd > 2 ? fcntl(opt.events_fd, F_GETFL) : -1;
        if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY) {
            log::error("--json-events %d: not a file descriptor open for writing above 2",
                       opt.events_fd);
            log::hint("open one in the shell: nsjail-vpn --json-events 3 ... 3>>events.jsonl");
            return exit_failure;
        }
    }
    if (opt.publish && opt.name.empty()) {
        log::error("--publish shows a named sandbox: it needs --name NAME");
        return exit_failure;
    }
    if (opt.publish && opt.net == Net::none) {
        log::error("--publish has no use with --net none: the sandbox has no network to look at");
        return exit_failure;
    }
    if (opt.keep && opt.name.empty()) {
        log::error("--keep keeps a named sandbox: it needs --name NAME");
        return exit_failure;
    }
    if (opt.command.empty()) {
        log::error("no COMMAND to run in the sandbox");
        log::hint("for example: nsjail-vpn --vpn work.ovpn -- firefox --no-remote -P vpn");
        return exit_failure;
    }
    return -1;
}

} // namespace

int main(int argc, char** argv)
{
    // OpenVPN runs this program as its route-up hook, a --vpn-cmd client as its
    // script, inside the sandbox.
    if (argc == 2 && strcmp(argv[1], openvpn::hook_argument) == 0)
        return openvpn::hook_main();
    if (argc == 2 && strcmp(argv[1], script::hook_argument) == 0)
        return script::hook_main();

    // Only 0, 1 and 2 go on: any other descriptor the caller left open (a socket of the
    // host's network above all) would give the app a way out that is not the tunnel. They
    // are closed at every exec, so that '--vpn /dev/fd/N' can still be read here. A closed
    // 0-2 is opened on /dev/null, so that nothing of ours lands on it.
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
            return exit_failure;
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        log::error("cannot mark inherited file descriptors close-on-exec: %s", strerror(errno));
        return exit_failure;
    }

    // argv[1] "exec", "ls" or "stop": the commands about named sandboxes.
    if (argc >= 2 && commands::is_command(argv[1]))
        return commands::main(argc, argv);

    Context ctx;
    if (int code = parse(argc, argv, ctx.options); code >= 0)
        return code;
    if (auto ok = prepare(ctx); !ok) {
        log::error("%s", ok.error().c_str());
        return exit_failure;
    }
    return sandbox::run(ctx);
}
