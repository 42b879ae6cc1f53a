// libFuzzer target: the launcher's planner for a provider's .ovpn file
// (src/openvpn_config.cpp): tokenize and plan, with a resolver stub (no real DNS).
// Input: the file's text.
#include "openvpn_config.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace nsjv::openvpn;

namespace {

std::vector<std::string> resolve(const std::string& host, std::string& error)
{
    if (host.find("unresolvable") != std::string::npos) {
        error = "Name or service not known";
        return {};
    }
    return {"203.0.113.10"};
}

// OpenVPN drops a leading "--" from the first word of every line of a config file, not only
// of one-word lines (bypass_doubledash in its options.c), outside inline blocks: "--up x" is
// "up x" to it. (A quoted first word, "--up", is not modelled here.)
std::string as_openvpn_reads(const std::vector<Directive>& directives)
{
    std::string out;
    for (const Directive& d : directives) {
        std::string line = d.raw;
        size_t first = line.find_first_not_of(" \t");
        if (!d.block && first != std::string::npos && line.compare(first, 2, "--") == 0 &&
            first + 2 < line.size() && !strchr(" \t\r", line[first + 2]))
            line.erase(first, 2);
        out += line + "\n";
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    tokenize(text);
    auto p = plan(text, "/run/nsjv-test/home/nsjvtest1/vpn", resolve);
    if (!p)
        return 0;

    // What the sandboxed client reads must hold nothing the planner refuses or neutralises:
    // planned again, read the way OpenVPN reads it, it gives no error and no notice.
    auto planned = tokenize(p->config);
    if (!planned) {
        fprintf(stderr, "fuzz property: the plan does not tokenize: %s\n", planned.error().c_str());
        abort();
    }
    auto again = plan(as_openvpn_reads(*planned), p->directory, resolve);
    if (!again || !again->notices.empty()) {
        fprintf(stderr, "fuzz property: what OpenVPN reads of the plan is planned again with: %s\n",
                !again ? again.error().c_str() : again->notices[0].c_str());
        abort();
    }
    return 0;
}
