// Everything the launcher decides on the host before the sandbox exists. The
// supervisor is a fork of the launcher and reads it from the same memory.
#pragma once

#include "fd.hpp"
#include "openvpn_config.hpp"
#include "vpnc_script.hpp"
#include "wireguard_config.hpp"

#include <string>
#include <vector>

namespace nsjv {

// Exit codes of the launcher's own failures (nsjail-vpn(1), EXIT STATUS).
inline constexpr int exit_failure = 125;
inline constexpr int exit_cannot_execute = 126;
inline constexpr int exit_not_found = 127;

enum class Net { none, nat, vpn };

// Which kind of VPN client the sandbox runs (--vpn's content or --vpn-type; --vpn-cmd).
enum class Vpn { openvpn, wireguard, script };

struct Options {
    Net net = Net::none;
    std::string vpn_file;
    std::string vpn_type;  // --vpn-type: "", "openvpn" or "wireguard"
    std::string vpn_cmd;   // --vpn-cmd: the client's command line, as one string
    std::vector<std::string> dns;
    std::vector<std::string> command;
    int connect_timeout = 0;  // 0: the default, 30 s (300 s for --vpn-cmd, which may prompt)
    bool new_session = false;  // the app without a controlling terminal (no TIOCSTI into it)
    std::string name;          // --name: a named sandbox, which `exec`, `ls` and `stop` know
    bool keep = false;         // --keep: it outlives its apps, until `stop`
    bool publish = false;      // --publish: root's `ip netns` sees the app's namespace
    int events_fd = -1;        // --json-events FD: the VPN's state changes, one JSON line each
};

struct Context {
    Options options;

    Vpn vpn = Vpn::openvpn;
    std::string client_path;  // the VPN client's program: openvpn, wireguard-go, --vpn-cmd's
    std::string self_path;    // this program, which the clients run as their hook or script

    // --vpn, OpenVPN
    openvpn::Plan plan;
    UniqueFd config;       // the planned config, in memory
    UniqueFd credentials;  // "user\npassword\n", in memory, if asked for
    UniqueFd passphrase;

    // --vpn, WireGuard: the keys live only here, in memory, until handed to the client.
    wireguard::Config wireguard;

    // --vpn-cmd
    script::Command command;

    // The caller's state directory of named sandboxes; empty when there is none
    // (then no sandbox can be named). It and every other place such state may be in
    // are hidden inside every sandbox.
    std::string state_dir;
    std::vector<std::string> hidden_state;

    // What the host's resolver files said, read before the sandbox hides them.
    std::string host_resolv_conf;
    std::string host_resolv_upstream;  // /run/systemd/resolve/resolv.conf
    std::string host_nsswitch;
};

} // namespace nsjv
