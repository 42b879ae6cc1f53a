// libFuzzer target: the launcher's reading of the helper's answer (src/helper_client.cpp):
// parse_answer (notes, then the lease line), parse_lease on the first line, and the advice
// shown for each note. Input: the helper's stdout.
#include "helper_client.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace nsjv::helper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view out(reinterpret_cast<const char*>(data), size);
    parse_lease(out.substr(0, out.find('\n')));
    auto answer = parse_answer(out);
    if (!answer || !*answer)
        return 0;
    const Lease& l = **answer;
    if (l.prefixlen < 16 || l.prefixlen > 31 || l.host_if.empty() || l.sandbox_if.empty()) {
        fprintf(stderr, "fuzz property: accepted a lease with prefix /%d\n", l.prefixlen);
        abort();
    }
    for (const Conflict& c : l.conflicts)
        advise(c);
    return 0;
}
