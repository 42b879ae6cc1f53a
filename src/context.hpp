// Everything the launcher decides on the host before the sandbox exists. The
// supervisor is a fork of the launcher and reads it from the same memory.
#pragma once

#include "fd.hpp"
#include "openvpn_config.hpp"

#include <string>
#include <vector>

namespace nsjv {

// Exit codes of the launcher's own failures (nsjail-vpn(1), EXIT STATUS).
inline constexpr int exit_failure = 125;
inline constexpr int exit_cannot_execute = 126;
inline constexpr int exit_not_found = 127;

enum class Net { none, nat, vpn };

struct Options {
    Net net = Net::none;
    std::string vpn_file;
    std::vector<std::string> dns;
    std::vector<std::string> command;
    int connect_timeout = 30;
    bool new_session = false;  // the app without a controlling terminal (no TIOCSTI into it)
};

struct Context {
    Options options;

    // --vpn
    openvpn::Plan plan;
    UniqueFd config;       // the planned config, in memory
    UniqueFd credentials;  // "user\npassword\n", in memory, if asked for
    UniqueFd passphrase;
    std::string openvpn_path;
    std::string self_path;  // this program, which OpenVPN runs as its route-up hook

    // What the host's resolver files said, read before the sandbox hides them.
    std::string host_resolv_conf;
    std::string host_resolv_upstream;  // /run/systemd/resolve/resolv.conf
    std::string host_nsswitch;
};

} // namespace nsjv
