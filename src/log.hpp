// One message shape for the whole launcher:
//   nsjail-vpn: <what failed> '<object>': <why>
//   nsjail-vpn: hint: <the fix>
// Errors and warnings always go to stderr; progress only to a person on a terminal.
#pragma once

#include <string>
#include <string_view>

namespace nsjv::log {

// Text from outside (a VPN server's push, a config) as it may be shown on a terminal:
// control characters and bytes outside printable ASCII as '?', at most 200 characters.
std::string shown(std::string_view text);

enum class Level { quiet = -1, normal = 0, verbose = 1 };

void set_level(Level level);
Level level();

// True when progress lines should be shown: stderr is a terminal (or -v) and not -q.
bool progress_enabled();

[[gnu::format(printf, 1, 2)]] void error(const char* fmt, ...);
[[gnu::format(printf, 1, 2)]] void warning(const char* fmt, ...);
[[gnu::format(printf, 1, 2)]] void hint(const char* fmt, ...);
[[gnu::format(printf, 1, 2)]] void notice(const char* fmt, ...);
[[gnu::format(printf, 1, 2)]] void progress(const char* fmt, ...);
[[gnu::format(printf, 1, 2)]] void debug(const char* fmt, ...);

} // namespace nsjv::log
