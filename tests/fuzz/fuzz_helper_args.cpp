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

    using nsjv::Command;
    Command c = nsjv::parse_command(int(args.size()), argv.data());
    // Only these words are ever accepted, each as the one argument; publish and unpublish
    // take exactly one NAME more, of the name rule, which can go into a path as it is.
    auto name_ok = [](const std::string& n) {
        return !n.empty() && n.size() <= 24 && n[0] != '-' &&
               n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == n.npos;
    };
    bool ok = c == Command::refused ||
              (args.size() == 2 && c == Command::attach && args[1] == "attach") ||
              (args.size() == 2 && c == Command::refresh && args[1] == "refresh") ||
              (args.size() == 2 && c == Command::version && args[1] == "--version") ||
              (args.size() == 3 && c == Command::publish && args[1] == "publish" && name_ok(args[2])) ||
              (args.size() == 3 && c == Command::unpublish && args[1] == "unpublish" &&
               name_ok(args[2]));
    if (!ok) {
        fprintf(stderr, "fuzz property: accepted %zu arguments\n", args.size());
        abort();
    }
    return 0;
}
