// libFuzzer target: the helper's command line (nsjv::parse_command, helper/core.cpp).
// Input: the arguments, NUL-separated, argv[0] first; argc counts them (0 for no input:
// an empty argv, as execve allows).
#include "core.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::vector<std::string> args;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    for (size_t pos = 0; size && pos <= in.size();) {
        size_t end = std::min(in.find('\0', pos), in.size());
        args.emplace_back(in.substr(pos, end - pos));
        pos = end + 1;
    }
    std::vector<const char*> argv;
    for (const auto& a : args)
        argv.push_back(a.c_str());
    argv.push_back(nullptr);

    nsjv::Command c = nsjv::parse_command(int(args.size()), argv.data());
    // Exactly two words are ever accepted, and only as the one argument.
    if (c != nsjv::Command::refused &&
        !(args.size() == 2 && (args[1] == (c == nsjv::Command::attach ? "attach" : "--version")))) {
        fprintf(stderr, "fuzz property: accepted %zu arguments\n", args.size());
        abort();
    }
    return 0;
}
