#include "openvpn_config.hpp"

#include <doctest/doctest.h>

using namespace nsjv::openvpn;

namespace {

// Name resolution stands in for the host's resolver: a fixed table, so the planner's
// handling of names, several addresses and failures is what is tested.
Resolver table()
{
    return [](const std::string& host, std::string& why) -> std::vector<std::string> {
        if (host == "vpn.example")
            return {"203.0.113.20"};
        if (host == "multi.example")
            return {"203.0.113.21", "203.0.113.22"};
        why = "Name or service not known";
        return {};
    };
}

Plan must_plan(const std::string& text)
{
    auto p = plan(text, "/home/u/vpn", table());
    REQUIRE_MESSAGE(p.ok(), p.error());
    return *p;
}

std::string must_fail(const std::string& text)
{
    auto p = plan(text, "/home/u/vpn", table());
    REQUIRE_FALSE(p.ok());
    return p.error();
}

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("tokenize follows OpenVPN's quoting and comment rules")
{
    auto d = tokenize("remote \"a b\" 1194 # comment\n; whole comment\n"
                      "auth-user-pass 'it''s'\nsetenv X a\\ b\n  # indented\n");
    REQUIRE(d.ok());
    REQUIRE(d->size() == 3);
    CHECK((*d)[0].args == std::vector<std::string>{"remote", "a b", "1194"});
    CHECK((*d)[0].line == 1);
    CHECK((*d)[1].args == std::vector<std::string>{"auth-user-pass", "its"});
    CHECK((*d)[2].args == std::vector<std::string>{"setenv", "X", "a b"});
    CHECK((*d)[2].line == 4);
}

TEST_CASE("tokenize keeps inline blocks whole and reports unclosed ones")
{
    auto d = tokenize("<ca>\n-----BEGIN CERTIFICATE-----\nremote evil 1\n</ca>\nclient\n");
    REQUIRE(d.ok());
    REQUIRE(d->size() == 2);
    CHECK((*d)[0].block);
    CHECK(contains((*d)[0].raw, "remote evil 1"));
    CHECK((*d)[1].args[0] == "client");
    CHECK((*d)[1].line == 5);

    auto bad = tokenize("client\n<key>\nabc\n");
    REQUIRE_FALSE(bad.ok());
    CHECK(contains(bad.error(), "line 2"));
    CHECK_FALSE(tokenize("remote \"unterminated\n").ok());
}

TEST_CASE("remote names are resolved on the host and written as addresses")
{
    Plan p = must_plan("client\nremote vpn.example 1194 udp\nremote multi.example 443 tcp\n");
    CHECK(contains(p.config, "remote 203.0.113.20 1194 udp\n"));
    CHECK(contains(p.config, "remote 203.0.113.21 443 tcp\n"));
    CHECK(contains(p.config, "remote 203.0.113.22 443 tcp\n"));
    CHECK_FALSE(contains(p.config, "vpn.example"));
    REQUIRE(p.endpoints.size() == 3);
    CHECK(p.endpoints[0].host == "vpn.example");
    CHECK(p.endpoints[0].address == "203.0.113.20");

    Plan literal = must_plan("remote 198.51.100.9\n");
    CHECK(contains(literal.config, "remote 198.51.100.9\n"));
}

TEST_CASE("an unresolvable remote, a missing remote and IPv6 remotes are errors")
{
    CHECK(contains(must_fail("remote nowhere.example 1194\n"), "nowhere.example"));
    CHECK(contains(must_fail("client\n"), "no 'remote'"));
    CHECK(contains(must_fail("remote 2001:db8::1 1194\n"), "IPv6"));
}

TEST_CASE("scripts, plugins, user/group and daemon are neutralised with one notice each")
{
    Plan p = must_plan("remote vpn.example\nscript-security 2\nup /etc/openvpn/update-resolv-conf\n"
                       "down /etc/openvpn/update-resolv-conf\nplugin /x/down-root.so\nuser nobody\n"
                       "group nogroup\ndaemon\nlog /var/log/x\nmanagement 127.0.0.1 7505\n");
    CHECK(p.notices.size() == 8);
    for (const char* gone : {"update-resolv-conf", "plugin", "user ", "group ", "daemon",
                             "log ", "management", "script-security"})
        CHECK_MESSAGE(!contains(p.config, gone), gone);
    CHECK(contains(p.notices[0], "ignoring 'up /etc/openvpn/update-resolv-conf' (line 3)"));
}

TEST_CASE("options the launcher sets itself are dropped silently")
{
    Plan p = must_plan("remote vpn.example\ndev tun0\ndev-type tun\npersist-tun\nresolv-retry infinite\n");
    CHECK(p.notices.empty());
    CHECK_FALSE(contains(p.config, "dev"));
    CHECK_FALSE(contains(p.config, "persist-tun"));
}

TEST_CASE("layer 2, proxies, nested configs and server configs are refused with the line")
{
    CHECK(contains(must_fail("remote vpn.example\ndev tap0\n"), "line 2"));
    CHECK(contains(must_fail("remote vpn.example\ndev tap\n"), "dev tap"));
    CHECK(contains(must_fail("dev-type tap\nremote vpn.example\n"), "tap"));
    CHECK(contains(must_fail("remote vpn.example\nhttp-proxy 127.0.0.1 3128\n"), "prox"));
    CHECK(contains(must_fail("config other.conf\n"), "nested"));
    CHECK(contains(must_fail("server 10.8.0.0 255.255.255.0\n"), "server configuration"));
}

TEST_CASE("auth-user-pass and askpass without a file are asked for; with a file, kept")
{
    Plan ask = must_plan("remote vpn.example\nauth-user-pass\naskpass\n");
    CHECK(ask.ask_credentials);
    CHECK(ask.ask_passphrase);
    CHECK(contains(ask.config, std::string("auth-user-pass ") + credentials_path));
    CHECK(contains(ask.config, std::string("askpass ") + passphrase_path));

    Plan file = must_plan("remote vpn.example\nauth-user-pass creds.txt\n");
    CHECK_FALSE(file.ask_credentials);
    CHECK(contains(file.config, "auth-user-pass creds.txt"));
}

TEST_CASE("relative paths stay relative to the config's directory, or to an absolute cd")
{
    Plan p = must_plan("remote vpn.example\nca ca.crt\n");
    CHECK(p.directory == "/home/u/vpn");
    CHECK(contains(p.config, "ca ca.crt"));

    Plan cd = must_plan("cd /etc/openvpn/client\nremote vpn.example\n");
    CHECK(cd.directory == "/etc/openvpn/client");
    CHECK_FALSE(contains(cd.config, "cd "));
    CHECK(contains(must_fail("cd relative\nremote vpn.example\n"), "absolute"));
}

TEST_CASE("connection blocks are planned like top-level directives")
{
    Plan p = must_plan("<connection>\nremote vpn.example 1194 udp\n</connection>\n"
                       "<connection>\nremote 198.51.100.3 443 tcp\nup /bin/evil\n</connection>\n");
    CHECK(contains(p.config, "<connection>\nremote 203.0.113.20 1194 udp\n</connection>\n"));
    CHECK_FALSE(contains(p.config, "/bin/evil"));
    REQUIRE(p.notices.size() == 1);
    CHECK(contains(p.notices[0], "line 6"));
    CHECK(p.endpoints.size() == 2);
}

TEST_CASE("inline certificate blocks pass through untouched")
{
    Plan p = must_plan("remote vpn.example\n<ca>\nline one\nup /bin/evil\n</ca>\n");
    CHECK(contains(p.config, "<ca>\nline one\nup /bin/evil\n</ca>\n"));
    CHECK(p.notices.empty());
}

TEST_CASE("a leading '--' is read as OpenVPN reads it, on every line")
{
    Plan p = must_plan("client\n--remote vpn.example 1194\n--up /tmp/x.sh\n--daemon\n");
    CHECK(p.endpoints.size() == 1);
    CHECK(p.notices.size() == 2);
    CHECK_FALSE(contains(p.config, "/tmp/x.sh"));
    CHECK_FALSE(contains(p.config, "daemon"));
    CHECK(contains(must_fail("remote vpn.example\n--http-proxy 127.0.0.1 3128\n"), "prox"));
    CHECK(contains(must_fail("--config other.conf\n"), "nested"));
    // stripped once only: what is left is no option, and it is refused, not passed on
    CHECK(contains(must_fail("remote vpn.example\n----up /tmp/x.sh\n"), "line 2"));
    CHECK(contains(must_fail("remote vpn.example\n-up /tmp/x.sh\n"), "'-up' is not an option"));
}

TEST_CASE("verb 0 is raised to 1, so that the log tells a lost connection; others stay")
{
    Plan quiet = must_plan("remote 198.51.100.9\nverb 0\n");
    CHECK(quiet.config.find("\nverb 1\n") != std::string::npos);
    CHECK(quiet.config.find("verb 0") == std::string::npos);
    REQUIRE(quiet.notices.size() == 1);
    CHECK(quiet.notices[0].find("'verb 0' (line 2)") != std::string::npos);
    Plan loud = must_plan("remote 198.51.100.9\nverb 4\n");
    CHECK(loud.config.find("\nverb 4\n") != std::string::npos);
    CHECK(loud.notices.empty());
}
