// PID 1 of the sandbox. It builds the network namespaces, starts the VPN client
// and the app, forwards the launcher's signals, reaps, and reports the app's end.
// It keeps CAP_NET_ADMIN in the sandbox's user namespace for its whole life and
// never runs user code itself.
#pragma once

#include "context.hpp"
#include "fd.hpp"

#include <csignal>

namespace nsjv::supervisor {

// The signals the launcher passes on to the app.
inline constexpr int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

// Blocks SIGCHLD and the forwarded signals, and returns a signalfd (close-on-exec,
// non-blocking) that reads them: how the launcher, `exec` and the supervisor wait for them.
UniqueFd block_signals();

// How long `nsjail-vpn stop` lets the apps end after SIGTERM, before SIGKILL.
inline constexpr int stop_grace_seconds = 5;

[[noreturn]] void run(Context& ctx, UniqueFd control);

} // namespace nsjv::supervisor
