#include "vpnc_script.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace nsjv;
using namespace nsjv::script;

namespace {

using Env = std::vector<std::string>;

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

// What OpenConnect 9 gives vpnc-script on connect, with the user's environment around
// it (the client inherits ours) and the variables we do not use.
Env connect_env()
{
    return {"HOME=/home/nsjvtest1",
            "PATH=/usr/bin:/bin",
            "reason=connect",
            "VPNGATEWAY=203.0.113.20",
            "VPNPID=4242",
            "TUNDEV=vpn0",
            "IDLE_TIMEOUT=1800",
            "LOG_LEVEL=1",
            "INTERNAL_IP4_ADDRESS=198.18.20.5",
            "INTERNAL_IP4_MTU=1406",
            "INTERNAL_IP4_NETMASK=255.255.255.0",
            "INTERNAL_IP4_NETMASKLEN=24",
            "INTERNAL_IP4_NETADDR=198.18.20.0",
            "INTERNAL_IP4_DNS=198.18.20.53 198.18.20.54",
            "INTERNAL_IP4_NBNS=198.18.20.99",
            "INTERNAL_IP6_ADDRESS=2001:db8:20::5",
            "INTERNAL_IP6_NETMASK=2001:db8:20::5/64",
            "CISCO_DEF_DOMAIN=corp.example",
            "CISCO_BANNER=Welcome\nto the corporate network",
            "CISCO_CSTP_OPTIONS=X-CSTP-Keep=true\n"};
}

Env with(Env env, const std::vector<std::string>& more)
{
    for (const auto& kv : more) {
        std::string key = kv.substr(0, kv.find('='));
        env.erase(std::remove_if(env.begin(), env.end(),
                                 [&](const std::string& e) { return e.starts_with(key + "="); }),
                  env.end());
        env.push_back(kv);
    }
    return env;
}

Env without(Env env, const std::string& key)
{
    env.erase(std::remove_if(env.begin(), env.end(),
                             [&](const std::string& e) { return e.starts_with(key + "="); }),
              env.end());
    return env;
}

Report must_parse(const Env& env)
{
    auto r = parse_report(env);
    REQUIRE_MESSAGE(r.ok(), r.error());
    return *r;
}

std::string must_not_parse(const Env& env)
{
    auto r = parse_report(env);
    REQUIRE_FALSE(r.ok());
    return r.error();
}

std::vector<std::string> must_split(std::string_view text)
{
    auto w = split_command(text);
    REQUIRE_MESSAGE(w.ok(), w.error());
    return *w;
}

std::string must_not_split(std::string_view text)
{
    auto w = split_command(text);
    REQUIRE_FALSE(w.ok());
    return w.error();
}

// The host's resolver stands in as a table; every name it was asked for is kept, so a
// test can tell whether resolution happened at all.
struct Table {
    std::vector<std::string> asked;

    openvpn::Resolver resolver()
    {
        return [this](const std::string& host, std::string& why) -> std::vector<std::string> {
            asked.push_back(host);
            if (host == "vpn.example")
                return {"203.0.113.20", "203.0.113.21"};
            if (host == "silent.example")
                return {};
            why = "Name or service not known";
            return {};
        };
    }
};

const std::string hook = "'/usr/bin/nsjail-vpn' __vpnc-script";

Command must_plan(const std::vector<std::string>& words, Table& table)
{
    auto c = plan_command(words, hook, "vpn0", table.resolver());
    REQUIRE_MESSAGE(c.ok(), c.error());
    return *c;
}

Command must_plan(const std::vector<std::string>& words)
{
    Table table;
    return must_plan(words, table);
}

std::string must_not_plan(const std::vector<std::string>& words)
{
    Table table;
    auto c = plan_command(words, hook, "vpn0", table.resolver());
    REQUIRE_FALSE(c.ok());
    return c.error();
}

using Words = std::vector<std::string>;

// What the client ends up with after the user's words: ours, in this order.
Words ours(const std::string& resolve)
{
    Words w;
    if (!resolve.empty())
        w.push_back("--resolve=" + resolve);
    w.push_back("--interface=vpn0");
    w.push_back("--script=" + hook);
    return w;
}

Words join(Words a, const Words& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

} // namespace

TEST_CASE("a full-tunnel connect report from OpenConnect 9")
{
    Report r = must_parse(connect_env());
    CHECK(r.reason == "connect");
    CHECK(r.device == "vpn0");
    CHECK(r.gateway == "203.0.113.20");
    CHECK(r.address == "198.18.20.5/24");
    CHECK(r.address6 == "2001:db8:20::5/64");
    CHECK(r.mtu == 1406);
    CHECK(r.routes.empty());
    CHECK(r.routes6.empty());
    CHECK(r.excluded.empty());
    CHECK(r.dns.dhcp_option == Words{"198.18.20.53", "198.18.20.54"});
    CHECK(r.dns.dns_option.empty());
    CHECK(r.dns.search == Words{"corp.example"});
    CHECK(r.warnings.empty());
}

TEST_CASE("an address with a /0 netmask is refused, not added as a route to everything")
{
    Env env = with(without(without(connect_env(), "INTERNAL_IP4_NETMASK"), "INTERNAL_IP4_NETMASKLEN"),
                   {"INTERNAL_IP4_NETMASK=0.0.0.0"});
    CHECK(contains(must_not_parse(env), "cannot be /0"));
}

TEST_CASE("an address without a netmask is a /32, and an MTU of 0 is no MTU")
{
    Report r = must_parse(
        with(without(without(connect_env(), "INTERNAL_IP4_NETMASK"), "INTERNAL_IP4_NETMASKLEN"),
             {"INTERNAL_IP4_MTU=0"}));
    CHECK(r.address == "198.18.20.5/32");
    CHECK(r.mtu == 0);

    // Either form of the netmask alone is enough.
    CHECK(must_parse(without(connect_env(), "INTERNAL_IP4_NETMASKLEN")).address ==
          "198.18.20.5/24");
    CHECK(must_parse(without(connect_env(), "INTERNAL_IP4_NETMASK")).address == "198.18.20.5/24");
}

TEST_CASE("the IPv6 address comes from INTERNAL_IP6_NETMASK when that is all there is")
{
    Report only_netmask = must_parse(without(connect_env(), "INTERNAL_IP6_ADDRESS"));
    CHECK(only_netmask.address6 == "2001:db8:20::5/64");

    Report only_address = must_parse(without(connect_env(), "INTERNAL_IP6_NETMASK"));
    CHECK(only_address.address6 == "2001:db8:20::5/128");

    Report canonical =
        must_parse(with(connect_env(), {"INTERNAL_IP6_ADDRESS=2001:DB8:20:0:0:0:0:5"}));
    CHECK(canonical.address6 == "2001:db8:20::5/64");

    Report none =
        must_parse(without(without(connect_env(), "INTERNAL_IP6_ADDRESS"), "INTERNAL_IP6_NETMASK"));
    CHECK(none.address6.empty());
}

TEST_CASE("split includes, numbered in reverse as OpenConnect does, keep their numbers' order")
{
    // OpenConnect numbers the server's list from its end; the environment's order is
    // not the numbers' order either.
    Report r = must_parse(
        with(connect_env(),
             {"CISCO_SPLIT_INC=3", "CISCO_SPLIT_INC_1_ADDR=198.18.40.7",
              "CISCO_SPLIT_INC_1_MASK=255.255.0.0", "CISCO_SPLIT_INC_1_MASKLEN=16",
              "CISCO_SPLIT_INC_0_ADDR=198.18.30.0", "CISCO_SPLIT_INC_0_MASK=255.255.255.0",
              "CISCO_SPLIT_INC_0_MASKLEN=24", "CISCO_SPLIT_INC_2_ADDR=198.18.30.9",
              "CISCO_SPLIT_INC_2_MASKLEN=24", "CISCO_SPLIT_INC_3_ADDR=198.18.99.0",
              "CISCO_SPLIT_INC_3_MASKLEN=24", "CISCO_IPV6_SPLIT_INC=2",
              "CISCO_IPV6_SPLIT_INC_1_ADDR=2001:db8:30::1", "CISCO_IPV6_SPLIT_INC_1_MASKLEN=48",
              "CISCO_IPV6_SPLIT_INC_0_ADDR=2001:db8:40::", "CISCO_IPV6_SPLIT_INC_0_MASKLEN=64"}));
    // Host bits masked; the same range twice is one route; entry 3 is past the count.
    CHECK(r.routes == Words{"198.18.30.0/24", "198.18.0.0/16"});
    CHECK(r.routes6 == Words{"2001:db8:40::/64", "2001:db8:30::/48"});
    CHECK(r.warnings.empty());
}

TEST_CASE("a split include of everything is a full tunnel")
{
    Report r = must_parse(with(
        connect_env(), {"CISCO_SPLIT_INC=2", "CISCO_SPLIT_INC_0_ADDR=198.18.30.0",
                        "CISCO_SPLIT_INC_0_MASKLEN=24", "CISCO_SPLIT_INC_1_ADDR=0.0.0.0",
                        "CISCO_SPLIT_INC_1_MASK=0.0.0.0", "CISCO_IPV6_SPLIT_INC=1",
                        "CISCO_IPV6_SPLIT_INC_0_ADDR=::", "CISCO_IPV6_SPLIT_INC_0_MASKLEN=0"}));
    CHECK(r.routes.empty());
    CHECK(r.routes6.empty());

    Report split =
        must_parse(with(connect_env(), {"CISCO_SPLIT_INC=1", "CISCO_SPLIT_INC_0_ADDR=198.18.30.0",
                                        "CISCO_SPLIT_INC_0_MASKLEN=24"}));
    CHECK(split.routes == Words{"198.18.30.0/24"});
}

TEST_CASE("split excludes are unreachable in the sandbox, and each one is a warning")
{
    Report r = must_parse(
        with(connect_env(),
             {"CISCO_SPLIT_INC=1", "CISCO_SPLIT_INC_0_ADDR=198.18.30.0",
              "CISCO_SPLIT_INC_0_MASKLEN=24", "CISCO_SPLIT_EXC=4",
              "CISCO_SPLIT_EXC_0_ADDR=198.51.100.77", "CISCO_SPLIT_EXC_0_MASK=255.255.255.0",
              "CISCO_SPLIT_EXC_0_MASKLEN=24", "CISCO_SPLIT_EXC_1_ADDR=0.0.0.0",
              "CISCO_SPLIT_EXC_1_MASK=255.255.255.255", "CISCO_SPLIT_EXC_2_ADDR=0.0.0.0",
              "CISCO_SPLIT_EXC_2_MASKLEN=0", "CISCO_SPLIT_EXC_3_ADDR=198.18.30.1",
              "CISCO_SPLIT_EXC_3_MASKLEN=24", "CISCO_IPV6_SPLIT_EXC=1",
              "CISCO_IPV6_SPLIT_EXC_0_ADDR=2001:db8:99::", "CISCO_IPV6_SPLIT_EXC_0_MASKLEN=48"}));
    // Cisco's "local LAN access" (0.0.0.0/32) is kept; an exclude of everything and one
    // of an included range would clash with the tunnel's own routes.
    CHECK(r.excluded == Words{"198.51.100.0/24", "0.0.0.0/32"});
    CHECK(r.routes == Words{"198.18.30.0/24"});
    REQUIRE(r.warnings.size() == 5);
    CHECK(contains(r.warnings[0], "198.51.100.0/24"));
    CHECK(contains(r.warnings[0], "unreachable"));
    CHECK(contains(r.warnings[2], "everything"));
    CHECK(contains(r.warnings[3], "198.18.30.0/24"));
    CHECK(contains(r.warnings[4], "2001:db8:99::/48"));
}

TEST_CASE("reasons that configure nothing are reported without reading the rest")
{
    // pre-init comes before the tun exists.
    Report pre = must_parse({"reason=pre-init", "HOME=/home/u"});
    CHECK(pre.reason == "pre-init");
    CHECK(pre.device.empty());

    for (const char* reason : {"disconnect", "attempt-reconnect"}) {
        CAPTURE(reason);
        Report r = must_parse(with(connect_env(), {std::string("reason=") + reason,
                                                   "INTERNAL_IP4_ADDRESS=not-an-address"}));
        CHECK(r.reason == reason);
        CHECK(r.device == "vpn0");
        CHECK(r.address.empty());
        CHECK(r.dns.dhcp_option.empty());
    }
    CHECK(must_parse(with(connect_env(), {"reason=disconnect", "TUNDEV=../x"})).device.empty());

    // reconnect is read like connect.
    CHECK(must_parse(with(connect_env(), {"reason=reconnect"})).address == "198.18.20.5/24");
    CHECK(contains(
        must_not_parse(with(without(connect_env(), "INTERNAL_IP4_ADDRESS"), {"reason=reconnect"})),
        "INTERNAL_IP4_ADDRESS"));

    CHECK(contains(must_not_parse(without(connect_env(), "reason")), "without a reason"));
    CHECK(contains(must_not_parse(with(connect_env(), {"reason=whatever"})), "'whatever'"));
}

TEST_CASE("a connect report without a device or an IPv4 address is refused")
{
    CHECK(contains(must_not_parse(without(connect_env(), "TUNDEV")), "TUNDEV"));
    CHECK(contains(must_not_parse(with(connect_env(), {"TUNDEV="})), "TUNDEV"));
    std::string no_v4 = must_not_parse(without(connect_env(), "INTERNAL_IP4_ADDRESS"));
    CHECK(contains(no_v4, "INTERNAL_IP4_ADDRESS"));
    CHECK(contains(no_v4, "IPv6-only"));
}

TEST_CASE("every malformed value is refused, and the error names the variable")
{
    struct Case {
        std::vector<std::string> set;
        const char* names;
    };
    const std::string long_name(16, 'v');
    const Case cases[] = {
        {{"TUNDEV=vpn/0"}, "TUNDEV"},
        {{"TUNDEV=" + long_name}, "TUNDEV"},
        {{"TUNDEV=vpn 0"}, "TUNDEV"},
        {{"TUNDEV=.."}, "TUNDEV"},
        {{"VPNGATEWAY=gateway.example"}, "VPNGATEWAY"},
        {{"INTERNAL_IP4_ADDRESS=198.18.20"}, "INTERNAL_IP4_ADDRESS"},
        {{"INTERNAL_IP4_ADDRESS=2001:db8::5"}, "INTERNAL_IP4_ADDRESS"},
        {{"INTERNAL_IP4_ADDRESS=198.18.20.5/24"}, "INTERNAL_IP4_ADDRESS"},
        {{"INTERNAL_IP4_NETMASK=255.0.255.0"}, "INTERNAL_IP4_NETMASK"},
        {{"INTERNAL_IP4_NETMASK=24"}, "INTERNAL_IP4_NETMASK"},
        {{"INTERNAL_IP4_NETMASKLEN=33"}, "INTERNAL_IP4_NETMASKLEN"},
        {{"INTERNAL_IP4_NETMASKLEN=-1"}, "INTERNAL_IP4_NETMASKLEN"},
        {{"INTERNAL_IP4_NETMASKLEN=024"}, "INTERNAL_IP4_NETMASKLEN"},
        {{"INTERNAL_IP4_NETMASKLEN=16"}, "disagree"},
        {{"INTERNAL_IP4_MTU=abc"}, "INTERNAL_IP4_MTU"},
        {{"INTERNAL_IP4_MTU=67"}, "INTERNAL_IP4_MTU"},
        {{"INTERNAL_IP4_MTU=65536"}, "INTERNAL_IP4_MTU"},
        {{"INTERNAL_IP6_ADDRESS=2001:db8::g"}, "INTERNAL_IP6_ADDRESS"},
        {{"INTERNAL_IP6_ADDRESS=198.18.20.5"}, "INTERNAL_IP6_ADDRESS"},
        {{"INTERNAL_IP6_NETMASK=2001:db8::5/129"}, "INTERNAL_IP6_NETMASK"},
        {{"INTERNAL_IP6_NETMASK=not-v6/64"}, "INTERNAL_IP6_NETMASK"},
        {{"INTERNAL_IP6_NETMASK=2001:db8::5/"}, "INTERNAL_IP6_NETMASK"},
        {{"CISCO_SPLIT_INC=1001"}, "CISCO_SPLIT_INC"},
        {{"CISCO_SPLIT_INC=two"}, "CISCO_SPLIT_INC"},
        {{"CISCO_SPLIT_INC=-1"}, "CISCO_SPLIT_INC"},
        {{"CISCO_SPLIT_INC=1"}, "CISCO_SPLIT_INC_0_ADDR is missing"},
        {{"CISCO_SPLIT_INC=1", "CISCO_SPLIT_INC_0_ADDR=198.18.30.0"}, "CISCO_SPLIT_INC_0_MASK"},
        {{"CISCO_SPLIT_INC=1", "CISCO_SPLIT_INC_0_ADDR=198.18.30", "CISCO_SPLIT_INC_0_MASKLEN=24"},
         "CISCO_SPLIT_INC_0_ADDR"},
        {{"CISCO_SPLIT_INC=1", "CISCO_SPLIT_INC_0_ADDR=198.18.30.0",
          "CISCO_SPLIT_INC_0_MASK=255.255.255.0", "CISCO_SPLIT_INC_0_MASKLEN=16"},
         "disagree"},
        {{"CISCO_SPLIT_INC=1", "CISCO_SPLIT_INC_0_ADDR=198.18.30.0",
          "CISCO_SPLIT_INC_0_MASK=255.255.0.255"},
         "CISCO_SPLIT_INC_0_MASK"},
        {{"CISCO_SPLIT_EXC=1", "CISCO_SPLIT_EXC_0_ADDR=198.51.100.0",
          "CISCO_SPLIT_EXC_0_MASKLEN=40"},
         "CISCO_SPLIT_EXC_0_MASKLEN"},
        {{"CISCO_IPV6_SPLIT_INC=1", "CISCO_IPV6_SPLIT_INC_0_ADDR=2001:db8::"},
         "CISCO_IPV6_SPLIT_INC_0_MASKLEN is missing"},
        {{"CISCO_IPV6_SPLIT_INC=1",
          "CISCO_IPV6_SPLIT_INC_0_ADDR=2001:db8::", "CISCO_IPV6_SPLIT_INC_0_MASKLEN=129"},
         "CISCO_IPV6_SPLIT_INC_0_MASKLEN"},
        {{"CISCO_IPV6_SPLIT_INC=1", "CISCO_IPV6_SPLIT_INC_0_ADDR=198.51.100.0",
          "CISCO_IPV6_SPLIT_INC_0_MASKLEN=64"},
         "CISCO_IPV6_SPLIT_INC_0_ADDR"},
        {{"CISCO_IPV6_SPLIT_EXC=1"}, "CISCO_IPV6_SPLIT_EXC_0_ADDR is missing"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.set.front());
        CHECK(contains(must_not_parse(with(connect_env(), c.set)), c.names));
    }

    // A variable twice would be read differently by different readers.
    Env twice = connect_env();
    twice.push_back("INTERNAL_IP4_ADDRESS=198.18.20.6");
    CHECK(contains(must_not_parse(twice), "INTERNAL_IP4_ADDRESS twice"));

    // What the server sent is shown, not obeyed, by a terminal.
    std::string shown = must_not_parse(with(connect_env(), {"TUNDEV=\x1b]0;owned\x07"}));
    CHECK_FALSE(contains(shown, "\x1b"));
}

TEST_CASE(
    "DNS servers and search domains that are not addresses or names are dropped with a warning")
{
    Report r = must_parse(
        with(connect_env(), {"INTERNAL_IP4_DNS=198.18.20.53 not-an-ip\n198.18.20.54 198.18.20.53",
                             "INTERNAL_IP6_DNS=2001:db8:20::53",
                             "CISCO_DEF_DOMAIN=corp.example,lab.example  bad;domain "
                             "\x1b[31mred corp.example",
                             "CISCO_SPLIT_DNS=corp.example,lab.example"}));
    CHECK(r.dns.dhcp_option == Words{"198.18.20.53", "198.18.20.54", "2001:db8:20::53"});
    CHECK(r.dns.search == Words{"corp.example", "lab.example"});
    REQUIRE(r.warnings.size() == 4);
    CHECK(contains(r.warnings[0], "not-an-ip"));
    CHECK(contains(r.warnings[1], "bad;domain"));
    CHECK(contains(r.warnings[3], "split DNS"));
    for (const auto& w : r.warnings) {
        CHECK_FALSE(contains(w, "\n"));
        CHECK_FALSE(contains(w, "\x1b"));
    }

    auto choice = dns::choose({}, r.dns);
    REQUIRE(choice.ok());
    std::string conf = dns::render_resolv_conf(*choice);
    CHECK(contains(conf, "\nnameserver 198.18.20.53\nnameserver 198.18.20.54\n"
                         "nameserver 2001:db8:20::53\nsearch corp.example lab.example\n"));
    CHECK(std::count(conf.begin(), conf.end(), '\n') == 5);

    // No DNS at all is for the supervisor to say (dns::choose does).
    CHECK(must_parse(without(connect_env(), "INTERNAL_IP4_DNS")).dns.dhcp_option.empty());
}

TEST_CASE("the script forwards the variables it reports and nothing of the user's environment")
{
    for (const char* key : {"reason",
                            "TUNDEV",
                            "VPNGATEWAY",
                            "INTERNAL_IP4_ADDRESS",
                            "INTERNAL_IP4_NETMASK",
                            "INTERNAL_IP4_NETMASKLEN",
                            "INTERNAL_IP4_MTU",
                            "INTERNAL_IP4_DNS",
                            "INTERNAL_IP6_ADDRESS",
                            "INTERNAL_IP6_NETMASK",
                            "INTERNAL_IP6_DNS",
                            "CISCO_DEF_DOMAIN",
                            "CISCO_SPLIT_DNS",
                            "CISCO_SPLIT_INC",
                            "CISCO_SPLIT_INC_0_ADDR",
                            "CISCO_SPLIT_INC_12_MASK",
                            "CISCO_SPLIT_INC_999_MASKLEN",
                            "CISCO_SPLIT_EXC",
                            "CISCO_SPLIT_EXC_3_ADDR",
                            "CISCO_IPV6_SPLIT_INC",
                            "CISCO_IPV6_SPLIT_INC_0_ADDR",
                            "CISCO_IPV6_SPLIT_INC_0_MASKLEN",
                            "CISCO_IPV6_SPLIT_EXC",
                            "CISCO_IPV6_SPLIT_EXC_1_MASKLEN"}) {
        CAPTURE(key);
        CHECK(report_variable(key));
    }
    for (const char* key : {"HOME",
                            "PATH",
                            "LD_PRELOAD",
                            "USER",
                            "TERM",
                            "VPNPID",
                            "CISCO_BANNER",
                            "INTERNAL_IP4_NBNS",
                            "INTERNAL_IP4_NETADDR",
                            "CISCO_CSTP_OPTIONS",
                            "IDLE_TIMEOUT",
                            "LOG_LEVEL",
                            "CISCO_SPLIT_INC_0_PROTOCOL",
                            "CISCO_SPLIT_INC_01_ADDR",
                            "CISCO_SPLIT_INC_1000_ADDR",
                            "CISCO_SPLIT_INC__ADDR",
                            "CISCO_SPLIT_INC_0_",
                            "CISCO_SPLIT_INC_",
                            "CISCO_IPV6_SPLIT_INC_0_MASK",
                            "CISCO_SPLIT_INCX",
                            "reasons",
                            "Reason",
                            "tundev",
                            ""}) {
        CAPTURE(key);
        CHECK_FALSE(report_variable(key));
    }
}

TEST_CASE("split_command splits like sh does a simple command, without expanding anything")
{
    CHECK(must_split("  openconnect\t--user alice   vpn.example ") ==
          Words{"openconnect", "--user", "alice", "vpn.example"});
    // 'single' quotes are literal, backslash and all.
    CHECK(must_split("a 'b c' 'd\\e' 'f\"g' '$HOME;*'") ==
          Words{"a", "b c", "d\\e", "f\"g", "$HOME;*"});
    // "double" quotes take \" \\ \$ \` and keep any other backslash.
    CHECK(must_split(R"(a "b \" \\ \$ \` \n c")") == Words{"a", R"(b " \ $ ` \n c)"});
    // Outside quotes a backslash escapes the next character.
    CHECK(must_split(R"(a b\ c \; \$x \'q)") == Words{"a", "b c", ";", "$x", "'q"});
    // Quotes join with what touches them; an empty pair is an empty word.
    CHECK(must_split("a x'y'\"z\" '' \"\"") == Words{"a", "xyz", "", ""});
    // A backslash before a newline joins lines; it makes no word of its own.
    CHECK(must_split("a \\\n b\\\nc \"d\\\ne\"") == Words{"a", "bc", "de"});
    // '#' starts a comment only at the start of a word; {placeholders} are plain text.
    CHECK(must_split("vpnc a#b --script={script} '#c' \\#d") ==
          Words{"vpnc", "a#b", "--script={script}", "#c", "#d"});
    CHECK(must_split("a '\nb'") == Words{"a", "\nb"});
}

TEST_CASE("split_command refuses what sh would treat specially, and says to quote it")
{
    for (const char* text :
         {"a $HOME", "a `id`", "a *", "a b?", "a [ab]", "a ~/x", "a; b", "a | b", "a & b", "a && b",
          "a > f", "a < f", "a (b)", "a )", "a\nb", "a #comment", "a=1 b", "a ${x}", "a x$y"}) {
        CAPTURE(text);
        std::string why = must_not_split(text);
        if (std::string_view(text) == "a=1 b")
            CHECK(contains(why, "environment variable"));
        else
            CHECK(contains(why, "quote it"));
    }
    CHECK(contains(must_not_split("a b;c"), "';' at character 4"));

    // $ and ` expand even inside double quotes.
    CHECK(contains(must_not_split("a \"$HOME\""), "inside double quotes"));
    CHECK(contains(must_not_split("a \"`id`\""), "inside double quotes"));

    CHECK(contains(must_not_split("a 'b"), "single quote at character 3"));
    CHECK(contains(must_not_split("a \"b"), "double quote at character 3"));
    CHECK(contains(must_not_split("a \"b\\\""), "never closed"));
    CHECK(contains(must_not_split("a b\\"), "backslash"));
    CHECK(contains(must_not_split(""), "empty"));
    CHECK(contains(must_not_split(" \t "), "empty"));
    CHECK(contains(must_not_split("\\\n"), "empty"));
    CHECK(contains(must_not_split(std::string_view("a\0b", 3)), "NUL"));
    CHECK(contains(must_not_split(std::string_view("a '\0'", 5)), "NUL"));
}

TEST_CASE("openconnect: the server is resolved on the host and pinned with --resolve")
{
    Table table;
    Command c = must_plan({"openconnect", "vpn.example"}, table);
    CHECK(c.argv == join({"openconnect", "vpn.example"}, ours("vpn.example:203.0.113.20")));
    CHECK(c.server_host == "vpn.example");
    CHECK(c.server_address == "203.0.113.20");
    CHECK(c.notices.empty());
    CHECK(table.asked == Words{"vpn.example"});

    // argv[0] stays as written: the launcher looks it up.
    CHECK(must_plan({"/usr/sbin/openconnect", "vpn.example"}).argv.front() ==
          "/usr/sbin/openconnect");
}

TEST_CASE("openconnect: an IPv4 literal needs no resolution")
{
    Table table;
    Command c = must_plan({"openconnect", "--protocol=gp", "203.0.113.30"}, table);
    CHECK(c.argv == join({"openconnect", "--protocol=gp", "203.0.113.30"}, ours("")));
    CHECK(c.server_host == "203.0.113.30");
    CHECK(c.server_address.empty());
    CHECK(table.asked.empty());
}

TEST_CASE("openconnect: the host is found in URL and host:port forms")
{
    struct Case {
        const char* server;
        const char* host;
    };
    for (const Case& c :
         {Case{"https://vpn.example/staff", "vpn.example"},
          Case{"https://vpn.example:8443/staff?x=1", "vpn.example"},
          Case{"HTTPS://vpn.example", "vpn.example"}, Case{"vpn.example:443", "vpn.example"},
          Case{"vpn.example/staff", "vpn.example"},
          Case{"https://203.0.113.30:8443/", "203.0.113.30"},
          Case{"203.0.113.30:443", "203.0.113.30"}}) {
        CAPTURE(c.server);
        Command planned = must_plan({"openconnect", c.server});
        CHECK(planned.server_host == c.host);
        CHECK(planned.argv[1] == c.server); // passed on as written
        bool literal = std::string_view(c.host) == "203.0.113.30";
        CHECK(planned.server_address == (literal ? "" : "203.0.113.20"));
        CHECK(std::count_if(planned.argv.begin(), planned.argv.end(), [](const std::string& w) {
                  return w.starts_with("--resolve=");
              }) == (literal ? 0 : 1));
    }
}

TEST_CASE("openconnect: servers that are not one usable host are refused")
{
    for (const char* server : {"[2001:db8::1]", "2001:db8::1", "https://[2001:db8::1]:443/x"}) {
        CAPTURE(server);
        CHECK(contains(must_not_plan({"openconnect", server}),
                       "IPv6 VPN servers are not supported yet"));
    }
    CHECK(contains(must_not_plan({"openconnect", "http://vpn.example"}), "https://"));
    CHECK(contains(must_not_plan({"openconnect", "ftp://vpn.example"}), "https://"));
    CHECK(contains(must_not_plan({"openconnect", "vpn.example:https"}), "port"));
    CHECK(contains(must_not_plan({"openconnect", "vpn.example:0"}), "port"));
    CHECK(contains(must_not_plan({"openconnect", "vpn.example:70000"}), "port"));
    CHECK(contains(must_not_plan({"openconnect", "https:///path"}), "no host"));
    CHECK(contains(must_not_plan({"openconnect", "vpn_$x.example"}), "not a host name"));
    CHECK(contains(must_not_plan({"openconnect", "a..example"}), "not a host name"));
    // Not "IPv6": the colon is a password's.
    CHECK(contains(must_not_plan({"openconnect", "https://me:secret@vpn.example:443/"}),
                   "a user name or password in the URL is not supported"));
}

TEST_CASE("openconnect: exactly one server")
{
    CHECK(contains(must_not_plan({"openconnect"}), "needs the VPN server"));
    CHECK(contains(must_not_plan({"openconnect", "-v", "--user=alice"}), "needs the VPN server"));
    std::string two = must_not_plan({"openconnect", "vpn.example", "other.example"});
    CHECK(contains(two, "'vpn.example', 'other.example'"));
    CHECK(contains(two, "--option=value"));
    CHECK(contains(must_not_plan({"openconnect", "--server=vpn.example", "other.example"}),
                   "takes one VPN server"));
    CHECK(must_plan({"openconnect", "--server", "vpn.example"}).server_host == "vpn.example");
    CHECK(must_plan({"openconnect", "--server=vpn.example"}).server_host == "vpn.example");
}

TEST_CASE("openconnect: option values before the server are not taken for it")
{
    for (const Words& words :
         {Words{"openconnect", "-u", "alice", "vpn.example"},
          Words{"openconnect", "-ualice", "vpn.example"},
          Words{"openconnect", "--user", "alice", "vpn.example"},
          Words{"openconnect", "--user=alice", "vpn.example"},
          Words{"openconnect", "--cert-exp", "30", "vpn.example"}, // getopt takes abbreviations
          Words{"openconnect", "-vu", "alice", "vpn.example"},
          Words{"openconnect", "-qvualice", "vpn.example"},
          Words{"openconnect", "-C", "-webvpn=abc", "vpn.example"}, // a value may start with '-'
          Words{"openconnect", "--authgroup", "staff", "--protocol", "gp", "vpn.example"},
          Words{"openconnect", "vpn.example", "--authgroup", "staff"}, // getopt permutes
          Words{"openconnect", "--cookie-on-stdin", "vpn.example", "-F", "main:group=staff"},
          Words{"openconnect", "-c", "cert.pem", "-k", "key.pem", "-x", "profile.xml",
                "--servercert", "pin-sha256:abc", "--useragent", "AnyConnect", "vpn.example"}}) {
        CAPTURE(words[1]);
        Command c = must_plan(words);
        CHECK(c.server_host == "vpn.example");
        CHECK(c.argv == join(words, ours("vpn.example:203.0.113.20")));
    }
    CHECK(
        contains(must_not_plan({"openconnect", "vpn.example", "-u"}), "-u (--user) needs a value"));
    CHECK(
        contains(must_not_plan({"openconnect", "vpn.example", "--user"}), "--user needs a value"));
    CHECK(contains(must_not_plan({"openconnect", "--verbose=2", "vpn.example"}), "takes no value"));
}

TEST_CASE("openconnect: after '--' everything is the server, and our options go before it")
{
    Words words{"openconnect", "-v", "--", "vpn.example"};
    Command c = must_plan(words);
    CHECK(c.argv == join(join({"openconnect", "-v"}, ours("vpn.example:203.0.113.20")),
                         {"--", "vpn.example"}));
    // "-x" after "--" is not an option: it is a second server.
    CHECK(contains(must_not_plan({"openconnect", "vpn.example", "--", "-x"}), "takes one"));
}

TEST_CASE(
    "openconnect: each option that takes the tunnel out of our hands is refused, long and short")
{
    struct Case {
        Words words; // before the server
        const char* why;
    };
    const Case cases[] = {
        {{"--script=/etc/vpnc/vpnc-script"}, "runs its own script"},
        {{"--script", "/etc/vpnc/vpnc-script"}, "runs its own script"},
        {{"-s", "/etc/vpnc/vpnc-script"}, "runs its own script"},
        {{"-s/etc/vpnc/vpnc-script"}, "runs its own script"},
        {{"-vs", "x"}, "runs its own script"},
        {{"--script-tun"}, "not packets passed to a script"},
        {{"-S"}, "not packets passed to a script"},
        {{"--interface=tun7"}, "creates the tun device"},
        {{"-i", "tun7"}, "creates the tun device"},
        {{"--background"}, "foreground"},
        {{"-b"}, "foreground"},
        {{"-qb"}, "foreground"},
        {{"--setuid=nobody"}, "already runs as you"},
        {{"-U", "nobody"}, "already runs as you"},
        {{"--pid-file=/tmp/oc.pid"}, "knows its pid"},
        {{"--syslog"}, "no syslog"},
        {{"-l"}, "no syslog"},
        {{"--csd-wrapper=/usr/libexec/openconnect/csd-post.sh"}, "host scan"},
        {{"--csd-user=nobody"}, "already runs as you"},
        {{"--external-browser=/usr/bin/firefox"}, "the browser would run inside the sandbox"},
        {{"--config=/etc/openconnect.conf"}, "config file"},
        {{"--proxy=http://proxy.example:3128"}, "proxies are not supported"},
        {{"-P", "http://proxy.example:3128"}, "proxies are not supported"},
        {{"--libproxy"}, "proxies are not supported"},
        // Abbreviations mean the option they abbreviate; the error names it in full.
        {{"--pid=/tmp/oc.pid"}, "(--pid-file): nsjail-vpn supervises"},
        {{"--backg"}, "(--background)"},
        {{"--inter", "tun7"}, "(--interface)"},
        {{"--script-t"}, "(--script-tun)"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.words.front());
        Words words = join(join({"openconnect"}, c.words), {"vpn.example"});
        CHECK(contains(must_not_plan(words), c.why));
    }
    CHECK(must_not_plan({"openconnect", "--script=x", "vpn.example"})
              .starts_with("--script: nsjail-vpn runs its own script"));
    CHECK(must_not_plan({"openconnect", "-b", "vpn.example"}).starts_with("-b (--background): "));
}

TEST_CASE("openconnect: unknown and ambiguous options")
{
    // A newer openconnect's option is passed on, with a notice.
    Command c = must_plan({"openconnect", "--no-external-auth", "--sni=x.example", "vpn.example"});
    CHECK(c.server_host == "vpn.example");
    REQUIRE(c.notices.size() == 2);
    CHECK(contains(c.notices[0], "'--no-external-auth'"));
    CHECK(contains(c.notices[0], "unchecked"));

    CHECK(contains(must_not_plan({"openconnect", "-X", "vpn.example"}), "'-X' is not an option"));
    CHECK(contains(must_not_plan({"openconnect", "-vX", "vpn.example"}), "(in '-vX')"));
    // "--scri" could be --script or --script-tun, "--no" a dozen: getopt refuses both.
    CHECK(contains(must_not_plan({"openconnect", "--scri=x", "vpn.example"}), "ambiguous"));
    CHECK(contains(must_not_plan({"openconnect", "--no", "vpn.example"}), "ambiguous"));
    // An exact name wins over the longer ones it starts.
    CHECK(
        must_plan({"openconnect", "--server", "vpn.example", "--servercert", "pin"}).server_host ==
        "vpn.example");
}

TEST_CASE("openconnect: the user's own --resolve for the server is used, not the resolver")
{
    Table table;
    Words words{"openconnect", "--resolve=vpn.example:203.0.113.40", "vpn.example"};
    Command c = must_plan(words, table);
    CHECK(c.server_address == "203.0.113.40");
    CHECK(c.argv == join(words, ours("")));
    CHECK(table.asked.empty());

    // One for another host does not count.
    Table other;
    Command o =
        must_plan({"openconnect", "--resolve", "sso.example:203.0.113.41", "vpn.example"}, other);
    CHECK(o.server_address == "203.0.113.20");
    CHECK(other.asked == Words{"vpn.example"});

    CHECK(
        contains(must_not_plan({"openconnect", "--resolve=vpn.example:2001:db8::1", "vpn.example"}),
                 "IPv6 VPN servers"));
    CHECK(contains(must_not_plan({"openconnect", "--resolve=vpn.example:somewhere", "vpn.example"}),
                   "not an IPv4 address"));
}

TEST_CASE("openconnect: a resolver failure names the host and says why")
{
    std::string why = must_not_plan({"openconnect", "https://nowhere.example/x"});
    CHECK(contains(why, "cannot resolve VPN server 'nowhere.example'"));
    CHECK(contains(why, "Name or service not known"));
    CHECK(contains(must_not_plan({"openconnect", "silent.example"}),
                   "'silent.example': no IPv4 address"));
}

TEST_CASE("another client carries {script} and {tun} where they belong")
{
    Words words{"vpnc", "--script", "{script}", "--ifname={tun}", "--no-detach", "corp.conf"};
    Table table;
    Command c = must_plan(words, table);
    CHECK(c.argv == Words{"vpnc", "--script", hook, "--ifname=vpn0", "--no-detach", "corp.conf"});
    CHECK(c.server_host.empty());
    CHECK(table.asked.empty());

    // argv[0] as written; a script path holding "{tun}" is not filled in again.
    auto odd =
        plan_command({"./{tun}", "{script}", "{tun}{tun}"}, "/x/{tun}", "vpn0", table.resolver());
    REQUIRE(odd.ok());
    CHECK(odd->argv == Words{"./{tun}", "/x/{tun}", "vpn0vpn0"});

    std::string no_tun = must_not_plan({"vpnc", "--script", "{script}", "corp.conf"});
    CHECK(contains(no_tun, "no {tun}"));
    CHECK(contains(no_tun, "vpnc --script {script} --ifname {tun}"));
    CHECK(contains(must_not_plan({"vpnc", "--ifname", "{tun}"}), "no {script}"));
    CHECK(contains(must_not_plan({"/usr/sbin/vpnc", "corp.conf"}), "no {script} or {tun}"));
    // The program's own name does not count.
    CHECK(contains(must_not_plan({"{script}{tun}", "x"}), "no {script} or {tun}"));
    CHECK(contains(must_not_plan({}), "empty"));
}
