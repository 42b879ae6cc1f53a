// The policy grammar: every kind of bad line makes the whole file invalid.
#include "core.hpp"

#include <doctest/doctest.h>

using namespace nsjv;

namespace
{

const char* const base = "pool 198.18.64.0/24\nuplink eth0\n";

// The error of `text` (after a valid base), or "" if it parses.
std::string error_of(const std::string& text)
{
    ParsedPolicy p = parse_policy(base + text);
    return p.policy ? "" : p.why;
}

std::optional<uint32_t> fake_user(const std::string& name)
{
    return name == "alice" ? std::optional<uint32_t>(1000) : std::nullopt;
}

std::optional<uint32_t> fake_group(const std::string& name)
{
    return name == "vpnusers" ? std::optional<uint32_t>(2000) : std::nullopt;
}

} // namespace

TEST_CASE("the documented example parses, trailing comments included")
{
    ParsedPolicy p = parse_policy("# lines: KEY VALUE\n"
                                  "allow-user alice            # name or numeric uid\n"
                                  "allow-user 1001 20          # and its own limit\n"
                                  "allow-group vpnusers        # name or numeric gid\n"
                                  "pool 198.18.64.0/24         # IPv4 CIDR\n"
                                  "pool 198.18.128.0/30\n"
                                  "uplink eth0\n"
                                  "uplink wlan0\n"
                                  "forwarding yes\n"
                                  "max-per-user 8\n"
                                  "max-sandboxes 100\n"
                                  "host-access no\n");
    REQUIRE(p.policy);
    CHECK(p.policy->users == std::vector<Principal>{{"alice", 0}, {"1001", 20}});
    CHECK(p.policy->groups == std::vector<Principal>{{"vpnusers", 0}});
    CHECK(p.policy->pools == std::vector<Net>{{0xc6124000, 24}, {0xc6128000, 30}});
    CHECK(p.policy->uplinks == std::vector<std::string>{"eth0", "wlan0"});
    CHECK(p.policy->forwarding);
    CHECK(!p.policy->host_access);
    CHECK(!p.policy->publish);
    CHECK(parse_policy(std::string(base) + "publish yes").policy->publish);
    CHECK(error_of("publish yes\npublish no") == "duplicate key");
    CHECK(p.policy->max_per_user == 8);
    CHECK(p.policy->max_sandboxes == 100);
}

TEST_CASE("defaults, blank lines, tabs and spaces")
{
    ParsedPolicy p =
        parse_policy("\n   \n\t# comment\n\tpool\t198.18.64.0/24  \n  uplink  eth0\t\n#");
    REQUIRE(p.policy);
    CHECK(!p.policy->forwarding);
    CHECK(!p.policy->host_access);
    CHECK(!p.policy->publish);
    CHECK(parse_policy(std::string(base) + "publish yes").policy->publish);
    CHECK(error_of("publish yes\npublish no") == "duplicate key");
    CHECK(p.policy->max_per_user == 8);
    CHECK(p.policy->max_sandboxes == 64);
    CHECK(p.policy->users.empty());
    CHECK(
        parse_policy(std::string(base) + "max-per-user 1\nforwarding no\nhost-access yes").policy);
    CHECK(parse_policy(std::string(base) + "max-per-user 1024").policy->max_per_user == 1024);
}

TEST_CASE("a file needs a pool and an uplink")
{
    CHECK(parse_policy("").why == "no pool");
    CHECK(parse_policy("uplink eth0\n").why == "no pool");
    CHECK(parse_policy("pool 198.18.64.0/24\n").why == "no uplink");
    CHECK(parse_policy("pool 198.18.64.0/24\n").line == 0);
    CHECK(parse_policy(std::string(70 * 1024, '#')).why == "file too large");
}

TEST_CASE("bad lines, and the line they are on")
{
    ParsedPolicy p = parse_policy("pool 198.18.64.0/24\n\n# x\nuplink eth0 eth1\n");
    CHECK(p.why == "expected KEY VALUE");
    CHECK(p.line == 4);
    CHECK(error_of("allow-user") == "expected KEY VALUE");
    CHECK(error_of("allow-user alice bob") == "bad value");
    CHECK(error_of("allow_user alice") == "unknown key");
    CHECK(error_of("Allow-user alice") == "unknown key");
    CHECK(error_of("alice") == "expected KEY VALUE");
    CHECK(error_of("pool 198.18.65.0/24\r") == "control character");
    CHECK(error_of("uplink e\x01th1") == "control character");
}

TEST_CASE("yes/no values")
{
    for (const char* bad : {"Yes", "true", "1", "on", "y"}) {
        CAPTURE(std::string(bad));
        CHECK(error_of(std::string("forwarding ") + bad) == "bad value");
        CHECK(error_of(std::string("host-access ") + bad) == "bad value");
        CHECK(error_of(std::string("publish ") + bad) == "bad value");
    }
}

TEST_CASE("numbers out of range or not plain decimal")
{
    for (const char* bad : {"0", "1025", "-1", "+8", "08", "8x", "0x10", "99999999999", "1e3"}) {
        CAPTURE(std::string(bad));
        CHECK(error_of(std::string("max-per-user ") + bad) == "bad value");
    }
    for (const char* bad : {"4294967295", "4294967296", "-5", "007"}) {
        CAPTURE(std::string(bad));
        CHECK(error_of(std::string("allow-user ") + bad) == "bad value");
        CHECK(error_of(std::string("allow-group ") + bad) == "bad value");
    }
    CHECK(error_of("allow-user 0") == "");
    CHECK(error_of("allow-user 4294967294") == "");
}

TEST_CASE("user and group names")
{
    CHECK(error_of("allow-user alice.b_c-d") == "");
    CHECK(error_of("allow-group vpn-users") == "");
    for (const char* bad : {"-alice", "al$ce", "al/ce", "al:ce", "alice\xc3\xa9",
                            "a23456789012345678901234567890123"}) {
        CAPTURE(std::string(bad));
        CHECK(error_of(std::string("allow-user ") + bad) == "bad value");
    }
}

TEST_CASE("pools: no special-purpose ranges, no overlap between pools; no lo uplink")
{
    for (const char* bad : {"0.0.0.0/16", "127.0.0.0/16", "169.254.0.0/16", "224.0.0.0/16",
                            "240.0.0.0/16", "255.255.0.0/16"})
        CHECK_MESSAGE(error_of(std::string("pool ") + bad) == "bad value", bad);
    CHECK(parse_policy("pool 198.18.0.0/16\npool 198.18.64.0/24\nuplink eth0\n").why ==
          "bad value");
    CHECK(parse_policy("pool 198.18.64.0/24\nuplink lo\n").why == "bad value");
}

TEST_CASE("pools: IPv4 CIDR, prefix 16..30, host bits zero")
{
    CHECK(error_of("pool 198.19.0.0/16") == "");
    CHECK(error_of("pool 198.19.0.0/30") == "");
    for (const char* bad :
         {"198.18.0.0/15", "198.18.64.0/31", "198.18.64.0/32", "198.18.64.0", "198.18.64.1/24",
          "198.18.64/24", "198.018.64.0/24", "0xc6.18.64.0/24", "198.18.64.0/024", "198.18.64.0/",
          "/24", "198.18.256.0/24", "fd00::/64", "198.18.64.0/24/1", " 198.18.64.0/24x"}) {
        CAPTURE(std::string(bad));
        CHECK(error_of(std::string("pool ") + bad) == "bad value");
    }
    CHECK(error_of("pool 198.18.64.0/24") == "duplicate entry");
}

TEST_CASE("uplinks: the kernel's interface names, never our own prefix")
{
    CHECK(error_of("uplink wlp0s20f3") == "");
    CHECK(error_of("uplink 123456789012345") == "");
    for (const char* bad : {"1234567890123456", ".", "..", "a/b", "eth0:1", "nsjv0", "nsjv"}) {
        CAPTURE(std::string(bad));
        CHECK(error_of(std::string("uplink ") + bad) == "bad value");
    }
}

TEST_CASE("duplicates")
{
    CHECK(error_of("uplink eth0") == "duplicate entry");
    CHECK(error_of("allow-user alice\nallow-user alice") == "duplicate entry");
    CHECK(error_of("allow-group 5\nallow-group 5") == "duplicate entry");
    CHECK(error_of("allow-user 5\nallow-group 5") == "");
    CHECK(error_of("forwarding yes\nforwarding yes") == "duplicate key");
    CHECK(error_of("host-access no\nhost-access yes") == "duplicate key");
    CHECK(error_of("max-per-user 2\nmax-per-user 3") == "duplicate key");
    CHECK(parse_policy(std::string(base) + "forwarding no\nforwarding no").line == 4);
}

TEST_CASE("who is allowed, and how many sandboxes each may have")
{
    Policy p = *parse_policy(std::string(base) + "allow-user alice\nallow-user 1001 3\n"
                                                 "allow-group vpnusers 5\nallow-group 3000\n"
                                                 "max-per-user 2\n")
                    .policy;
    CHECK(allowance(p, 1000, {1000}, fake_user, fake_group) == 2);
    CHECK(allowance(p, 1001, {1001}, fake_user, fake_group) == 3);
    CHECK(allowance(p, 1001, {2000}, fake_user, fake_group) == 3); // the user's own entry wins
    CHECK(allowance(p, 1002, {1002, 2000}, fake_user, fake_group) == 5);
    CHECK(allowance(p, 1002, {3000, 2000}, fake_user, fake_group) == 5); // the largest group
    CHECK(allowance(p, 1003, {3000}, fake_user, fake_group) == 2);
    CHECK(allowance(p, 1004, {1004, 2001}, fake_user, fake_group) == 0);
    CHECK(allowance(p, 2000, {1004}, fake_user, fake_group) == 0); // a gid is not a uid
    Policy unknown = *parse_policy(std::string(base) + "allow-user bob\nallow-group staff").policy;
    CHECK(allowance(unknown, 1000, {1000, 2000}, fake_user, fake_group) == 0);
    CHECK(allowance(*parse_policy(base).policy, 0, {0}, fake_user, fake_group) == 0);
}

TEST_CASE("limits: a number from 1 to 1024, on allow lines only as a third word")
{
    CHECK(error_of("allow-user alice 0") == "bad value");
    CHECK(error_of("allow-user alice 1025") == "bad value");
    CHECK(error_of("allow-user alice 02") == "bad value");
    CHECK(error_of("allow-user alice many") == "bad value");
    CHECK(error_of("allow-user alice 1 2") == "expected KEY NAME [MAX]");
    CHECK(error_of("allow-user alice 1\nallow-user alice 2") == "duplicate entry");
    CHECK(error_of("uplink eth1 2") == "expected KEY VALUE");
    CHECK(error_of("max-sandboxes 0") == "bad value");
    CHECK(error_of("max-sandboxes 1\nmax-sandboxes 1") == "duplicate key");
    CHECK(error_of("max-sandboxes") == "expected KEY VALUE");
}

TEST_CASE("the command line: exactly one verb after argv[0]")
{
    auto of = [](std::vector<const char*> argv) {
        return parse_command(int(argv.size()), argv.data());
    };
    CHECK(of({"nsjail-vpn-helper", "attach"}) == Command::attach);
    CHECK(of({"nsjail-vpn-helper", "refresh"}) == Command::refresh);
    CHECK(of({"nsjail-vpn-helper", "refresh", "extra"}) == Command::refused);
    CHECK(of({"nsjail-vpn-helper", "Refresh"}) == Command::refused);
    CHECK(of({"nsjail-vpn-helper", "publish", "work"}) == Command::publish);
    CHECK(of({"nsjail-vpn-helper", "unpublish", "work-2"}) == Command::unpublish);
    CHECK(of({"nsjail-vpn-helper", "publish"}) == Command::refused);
    CHECK(of({"nsjail-vpn-helper", "publish", "work", "x"}) == Command::refused);
    CHECK(of({"nsjail-vpn-helper", "attach", "work"}) == Command::refused);
    for (const char* bad : {"", "-x", "../x", "a/b", "Work", "a.b", "a b", "aaaaaaaaaaaaaaaaaaaaaaaaa"})
        CHECK_MESSAGE(of({"nsjail-vpn-helper", "publish", bad}) == Command::refused, bad);
    CHECK(published_path(64001, "work") == "/run/netns/nsjv-64001-work");
    CHECK(published_target(64001, "work") == "/run/nsjail-vpn-netns/nsjv-64001-work");
    CHECK(of({"anything", "--version"}) == Command::version);
    CHECK(of({}) == Command::refused);
    CHECK(of({"nsjail-vpn-helper"}) == Command::refused);
    CHECK(of({"nsjail-vpn-helper", nullptr}) == Command::refused);
    CHECK(of({"nsjail-vpn-helper", "attach", "extra"}) == Command::refused);
    CHECK(of({"nsjail-vpn-helper", "attach "}) == Command::refused);
    CHECK(of({"nsjail-vpn-helper", "ATTACH"}) == Command::refused);
    CHECK(of({"nsjail-vpn-helper", "--version=1"}) == Command::refused);
    CHECK(of({"nsjail-vpn-helper", ""}) == Command::refused);
}

TEST_CASE("uplink names the kernel reserves for all interfaces' sysctls are refused")
{
    CHECK(error_of("uplink all") == "bad value");
    CHECK(error_of("uplink default") == "bad value");
    CHECK(error_of("uplink alls") == "");
}
