// libFuzzer target: the launcher's reading of what OpenVPN reports to the route-up hook
// (src/openvpn_report.cpp), and the sandbox's resolv.conf made from it (src/dns.cpp);
// each NUL-separated piece is also read as a line of OpenVPN's log (restart_reason).
// Input: the hook's message as the supervisor receives it: "KEY=VALUE" strings,
// NUL-separated.
#include "dns.hpp"
#include "openvpn_report.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace nsjv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> env;
    for (size_t pos = 0; pos < in.size();) { // as supervisor.cpp splits it
        size_t end = std::min(in.find('\0', pos), in.size());
        env.emplace_back(in.substr(pos, end - pos));
        pos = end + 1;
    }
    for (const auto& kv : env) {
        openvpn::report_variable(kv.substr(0, kv.find('=')));
        // Each piece as a line of OpenVPN's log too: a reason is plain words or nothing.
        std::string why = openvpn::restart_reason(kv);
        if (why.find_first_not_of("abcdefghijklmnopqrstuvwxyz-_") != std::string::npos) {
            fprintf(stderr, "fuzz property: a restart reason that is not plain words: %s\n",
                    why.c_str());
            abort();
        }
    }

    openvpn::Report r = openvpn::parse_report(env);
    auto choice = dns::choose({}, r.dns);
    if (!choice)
        return 0;
    // Only the servers and the search list it chose, each on its own line.
    std::string conf = dns::render_resolv_conf(*choice);
    size_t lines = 0;
    for (char c : conf)
        lines += c == '\n';
    if (lines != 1 + choice->servers.size() + !choice->search.empty()) {
        fprintf(stderr, "fuzz property: the sandbox's resolv.conf has lines it did not choose:\n%s",
                conf.c_str());
        abort();
    }
    return 0;
}
