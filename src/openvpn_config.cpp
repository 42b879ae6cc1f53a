#include "openvpn_config.hpp"

#include "dns.hpp"
#include "log.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

namespace nsjv::openvpn {

namespace {

std::string line_error(int line, const std::string& what)
{
    return "line " + std::to_string(line) + ": " + what;
}

// Splits one line into tokens; returns false on an unterminated quote.
bool split_line(std::string_view line, std::vector<std::string>& out)
{
    std::string token;
    bool in_token = false;
    char quote = 0;

    for (size_t i = 0; i < line.size(); i++) {
        char c = line[i];
        // Inside 'single' quotes everything is literal; inside "double" ones a backslash
        // still escapes the next character.
        bool escape = c == '\\' && i + 1 < line.size() && quote != '\'';
        if (quote && !escape) {
            if (c == quote)
                quote = 0;
            else
                token += c;
            continue;
        }
        if (escape) {
            token += line[++i];
            in_token = true;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            if (in_token)
                out.push_back(std::move(token));
            token.clear();
            in_token = false;
            continue;
        }
        if (!in_token && (c == '#' || c == ';'))
            break;
        if (c == '"' || c == '\'') {
            quote = c;
            in_token = true;
            continue;
        }
        token += c;
        in_token = true;
    }
    if (quote)
        return false;
    if (in_token)
        out.push_back(std::move(token));
    return true;
}

bool is_block_open(const std::string& t)
{
    return t.size() > 2 && t.front() == '<' && t.back() == '>' && t[1] != '/';
}

std::string quote(const std::string& arg)
{
    if (!arg.empty() && arg.find_first_of(" \t\"'\\#;") == std::string::npos)
        return arg;
    std::string q = "\"";
    for (char c : arg) {
        if (c == '"' || c == '\\')
            q += '\\';
        q += c;
    }
    return q + '"';
}

std::string join(const std::vector<std::string>& args)
{
    std::string s;
    for (const auto& a : args) {
        if (!s.empty())
            s += ' ';
        s += quote(a);
    }
    return s;
}

bool one_of(const std::string& name, std::initializer_list<const char*> names)
{
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
}

// Options we drop because the sandbox does that job itself; the notice says why.
const char* neutralised_reason(const std::string& name)
{
    if (one_of(name, {"up", "down", "route-up", "route-pre-down", "ipchange", "down-pre",
                      "up-restart", "up-delay", "plugin"}))
        return "nsjail-vpn configures the tunnel, its routes and its DNS inside the sandbox, and "
               "the host's resolver is never touched";
    if (one_of(name, {"user", "group"}))
        return "the client already runs as you, with only CAP_NET_ADMIN, inside the sandbox";
    if (one_of(name, {"daemon", "log", "log-append", "syslog", "writepid"}))
        return "nsjail-vpn supervises the client and shows its log with -v";
    if (one_of(name, {"management", "management-client", "management-hold",
                      "management-query-passwords", "management-signal", "management-forget-disconnect",
                      "management-up-down", "management-client-auth", "management-external-key"}))
        return "the sandbox's client has no management interface";
    if (one_of(name, {"chroot", "iproute", "dev-node", "lladdr", "bind-dev"}))
        return "it does not apply inside the sandbox";
    if (name == "mlock")
        return "an unprivileged client cannot lock its memory";
    if (one_of(name, {"route-noexec", "ifconfig-noexec"}))
        return "nsjail-vpn needs the client to configure its tunnel so it can move it into the app's "
               "namespace";
    if (name == "remote-random-hostname")
        return "server names are resolved once, on the host, before the sandbox starts";
    return nullptr;
}

// Options we drop silently because the launcher sets them on the command line.
bool overridden(const std::string& name)
{
    return one_of(name, {"dev", "dev-type", "persist-tun", "disable-dco", "script-security",
                         "resolv-retry", "cd"});
}

const char* refused_reason(const Directive& d)
{
    const std::string& name = d.args[0];
    if (name == "config")
        return "nested 'config' files are not supported: merge them into one file";
    if (one_of(name, {"http-proxy", "socks-proxy", "http-proxy-option"}))
        return "proxies are not supported yet: the sandbox cannot reach a proxy on the host";
    if (one_of(name, {"server", "server-bridge", "mode", "tls-server"}))
        return "this is a server configuration; --vpn takes a client configuration";
    if (name == "dev" && d.args.size() > 1 && d.args[1].rfind("tap", 0) == 0)
        return "'dev tap' (layer 2) is not supported: use the provider's 'dev tun' configuration";
    if (name == "dev-type" && d.args.size() > 1 && d.args[1] == "tap")
        return "'dev-type tap' (layer 2) is not supported: use the provider's 'dev tun' configuration";
    return nullptr;
}

using dns::is_ipv4;
using dns::is_ipv6;

class Planner {
public:
    Planner(const Resolver& resolve, std::string directory) : resolve_(resolve)
    {
        plan_.directory = std::move(directory);
    }

    std::optional<std::string> add(const Directive& d);
    Plan take() { return std::move(plan_); }

private:
    std::optional<std::string> add_remote(const Directive& d);
    std::optional<std::string> add_block(const Directive& d);
    void emit(const std::string& text) { plan_.config += text + "\n"; }

    const Resolver& resolve_;
    Plan plan_;
};

std::optional<std::string> Planner::add_remote(const Directive& d)
{
    if (d.args.size() < 2)
        return line_error(d.line, "'remote' needs a server");
    const std::string& host = d.args[1];
    std::vector<std::string> rest(d.args.begin() + 2, d.args.end());

    if (is_ipv6(host))
        return line_error(d.line, "IPv6 VPN servers ('remote " + host + "') are not supported yet");
    std::vector<std::string> addresses;
    if (is_ipv4(host)) {
        addresses.push_back(host);
    } else {
        std::string why;
        addresses = resolve_(host, why);
        if (addresses.empty())
            return "cannot resolve VPN server '" + host + "': " + (why.empty() ? "no IPv4 address" : why);
    }
    for (const auto& address : addresses) {
        std::vector<std::string> args{"remote", address};
        args.insert(args.end(), rest.begin(), rest.end());
        emit(join(args));
        plan_.endpoints.push_back({host, address});
    }
    return std::nullopt;
}

std::optional<std::string> Planner::add_block(const Directive& d)
{
    const std::string tag = d.args[0].substr(1, d.args[0].size() - 2);

    if (tag != "connection") {
        emit(d.raw);
        return std::nullopt;
    }
    // A <connection> block holds ordinary directives: plan them like the rest.
    auto inner_text = d.raw.substr(d.raw.find('\n') + 1);
    inner_text = inner_text.substr(0, inner_text.rfind("</connection>"));
    auto inner = tokenize(inner_text);
    if (!inner)
        return line_error(d.line, "in <connection>: " + inner.error());
    emit("<connection>");
    for (auto& directive : *inner) {
        directive.line += d.line;
        if (auto err = add(directive))
            return err;
    }
    emit("</connection>");
    return std::nullopt;
}

std::optional<std::string> Planner::add(const Directive& d)
{
    if (d.args.empty())
        return std::nullopt;
    if (d.block)
        return add_block(d);

    const std::string& name = d.args[0];
    if (const char* why = refused_reason(d))
        return line_error(d.line, why);
    if (const char* why = neutralised_reason(name)) {
        plan_.notices.push_back("ignoring '" + join(d.args) + "' (line " + std::to_string(d.line) +
                                "): " + why);
        return std::nullopt;
    }
    if (overridden(name))
        return std::nullopt;
    if (name == "remote")
        return add_remote(d);
    if (name == "auth-user-pass" && d.args.size() == 1) {
        plan_.ask_credentials = true;
        emit(std::string("auth-user-pass ") + credentials_path);
        return std::nullopt;
    }
    if (name == "askpass" && d.args.size() == 1) {
        plan_.ask_passphrase = true;
        emit(std::string("askpass ") + passphrase_path);
        return std::nullopt;
    }
    // The supervisor reads OpenVPN's log for a lost connection and for why it failed;
    // at verb 0 OpenVPN says neither.
    if (name == "verb" && d.args.size() == 2 && d.args[1] == "0") {
        plan_.notices.push_back("raising 'verb 0' (line " + std::to_string(d.line) +
                                ") to 'verb 1': nsjail-vpn reads OpenVPN's log to tell a lost "
                                "connection and why it failed");
        emit("verb 1");
        return std::nullopt;
    }
    emit(d.raw);
    return std::nullopt;
}

} // namespace

Result<std::vector<Directive>> tokenize(std::string_view text)
{
    std::vector<Directive> out;
    int lineno = 0;
    size_t pos = 0;

    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
        pos = end == std::string_view::npos ? text.size() : end + 1;
        lineno++;

        Directive d;
        d.line = lineno;
        d.raw = std::string(line);
        if (!split_line(line, d.args))
            return fail(line_error(lineno, "unterminated quote"));
        if (d.args.empty())
            continue;
        // As OpenVPN does: a leading "--" of the first word is dropped ("--up x" is "up x").
        if (d.args[0].size() >= 3 && d.args[0].starts_with("--"))
            d.args[0] = d.args[0].substr(2);
        // Only once, as OpenVPN does: "----up x" is the unknown option "--up", which a plan
        // written out again would turn into "up x". No option name starts with a dash.
        if (d.args[0].starts_with("-"))
            return fail(line_error(lineno, "'" + log::shown(d.args[0]) + "' is not an option"));
        if (is_block_open(d.args[0])) {
            const std::string close = "</" + d.args[0].substr(1);
            d.block = true;
            bool closed = false;
            while (pos < text.size() && !closed) {
                size_t e = text.find('\n', pos);
                std::string_view body = text.substr(pos, e == std::string_view::npos ? e : e - pos);
                pos = e == std::string_view::npos ? text.size() : e + 1;
                lineno++;
                d.raw += '\n';
                d.raw += body;
                std::vector<std::string> t;
                closed = split_line(body, t) && t.size() == 1 && t[0] == close;
            }
            if (!closed)
                return fail(line_error(d.line, d.args[0] + " is not closed by " + close));
        }
        out.push_back(std::move(d));
    }
    return out;
}

Result<Plan> plan(std::string_view text, const std::string& directory, const Resolver& resolve)
{
    auto directives = tokenize(text);
    if (!directives)
        return fail(directives.error());

    // A 'cd' line moves the base of relative paths; the client gets --cd instead.
    std::string base = directory;
    for (const auto& d : *directives) {
        if (!d.block && d.args.size() > 1 && d.args[0] == "cd") {
            if (d.args[1].empty() || d.args[1][0] != '/')
                return fail(line_error(d.line, "'cd' needs an absolute directory"));
            base = d.args[1];
        }
    }
    Planner planner(resolve, base);
    for (const auto& d : *directives)
        if (auto err = planner.add(d))
            return fail(*err);

    Plan p = planner.take();
    if (p.endpoints.empty())
        return fail("no 'remote' server in the configuration");
    return p;
}

} // namespace nsjv::openvpn
