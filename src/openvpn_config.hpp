// Reading a provider's .ovpn file and deciding, directive by directive, what the
// OpenVPN client inside the sandbox may do: keep it, rewrite it, neutralise it
// with a notice, or refuse the file. Pure: name resolution is passed in.
#pragma once

#include "result.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace nsjv::openvpn {

struct Directive {
    int line = 0;                   // 1-based line of the directive or the block's opening tag
    std::vector<std::string> args;  // args[0] is the option name; empty for a comment
    std::string raw;                // the original text, including a block's body
    bool block = false;             // <tag> ... </tag>
};

// Splits a config into directives the way OpenVPN reads them: '#' or ';' starts a
// comment at the start of a token, "double" quotes take backslash escapes,
// 'single' quotes are literal, and <tag>...</tag> blocks are kept whole.
Result<std::vector<Directive>> tokenize(std::string_view text);

struct Endpoint {
    std::string host;     // as written in the file
    std::string address;  // IPv4 literal the launcher resolved it to
};

struct Plan {
    std::string config;                // what the sandboxed client reads as --config
    std::vector<std::string> notices;  // one line each, shown unless -q
    std::vector<Endpoint> endpoints;
    std::string directory;             // relative paths in the file are relative to this
    bool ask_credentials = false;      // auth-user-pass without a file
    bool ask_passphrase = false;       // askpass without a file
};

// Resolves a host name to IPv4 literals, or fills error.
using Resolver = std::function<std::vector<std::string>(const std::string& host, std::string& error)>;

// Where the launcher puts the secrets it asked for, as seen by the client.
inline constexpr const char* credentials_path = "/dev/fd/5";
inline constexpr const char* passphrase_path = "/dev/fd/6";

// directory: the directory of the config file, absolute.
Result<Plan> plan(std::string_view text, const std::string& directory, const Resolver& resolve);

} // namespace nsjv::openvpn
