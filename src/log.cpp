#include "log.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace nsjv::log {

namespace {

Level current = Level::normal;

bool use_colour()
{
    return isatty(STDERR_FILENO) && getenv("NO_COLOR") == nullptr;
}

// One write per message, so lines from the launcher, the supervisor and the
// VPN client, which share stderr, never interleave mid-line.
[[gnu::format(printf, 3, 0)]] void emit(const char* colour, const char* tag, const char* fmt,
                                         va_list ap)
{
    char body[2048];
    char line[2200];

    vsnprintf(body, sizeof body, fmt, ap);
    const bool c = colour && use_colour();
    int n = snprintf(line, sizeof line, "nsjail-vpn: %s%s%s%s\n", c ? colour : "", tag,
                     c ? "\033[0m" : "", body);
    if (n > 0)
        (void)!write(STDERR_FILENO, line, static_cast<size_t>(n) < sizeof line ? n : sizeof line - 1);
}

} // namespace

std::string shown(std::string_view text)
{
    std::string out(text.substr(0, 200));
    for (char& c : out)
        if (c < 0x20 || c > 0x7e)
            c = '?';
    return text.size() > 200 ? out + "..." : out;
}

void set_level(Level level) { current = level; }
Level level() { return current; }

bool progress_enabled()
{
    if (current == Level::quiet)
        return false;
    return current == Level::verbose || isatty(STDERR_FILENO);
}

#define NSJV_EMIT(cond, colour, tag)                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return;                                                                                \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        emit(colour, tag, fmt, ap);                                                                \
        va_end(ap);                                                                                \
    } while (0)

void error(const char* fmt, ...) { NSJV_EMIT(true, nullptr, ""); }
void warning(const char* fmt, ...) { NSJV_EMIT(current != Level::quiet, "\033[1;33m", "warning: "); }
void hint(const char* fmt, ...) { NSJV_EMIT(true, "\033[1m", "hint: "); }
void notice(const char* fmt, ...) { NSJV_EMIT(current != Level::quiet, nullptr, ""); }
void progress(const char* fmt, ...) { NSJV_EMIT(progress_enabled(), nullptr, ""); }
void debug(const char* fmt, ...) { NSJV_EMIT(current == Level::verbose, nullptr, "debug: "); }

} // namespace nsjv::log
