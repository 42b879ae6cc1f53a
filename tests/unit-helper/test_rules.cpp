// The table's content: policy-derived, in nft's own rendering.
#include "core.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <bit>
#include <cstring>
#include <doctest/doctest.h>

using namespace nsjv;

namespace
{

// The rule in nft's syntax, decoded from the bytes the helper will load, as `nft list ruleset`
// shows them. "?" marks an encoding nft would not show that way.
std::string render(const RuleSpec& rule)
{
    static const char* const verdicts[] = {"accept", "drop", "masquerade"};
    std::string out;

    for (const Cond& c : rule.conds) {
        uint32_t v = 0;
        memcpy(&v, c.value.data(), std::min<size_t>(4, c.value.size()));
        std::string name = c.value.substr(0, c.value.find('\0'));
        bool exact = c.value.size() == 16 && c.value.back() == '\0';
        switch (c.load) {
        case Load::iifname:
        case Load::oifname:
            out += c.load == Load::iifname ? "iifname \"" : "oifname \"";
            out += name + (exact ? "\" " : "*\" ");
            break;
        case Load::nfproto: // ipv4 is implied by "ip saddr", and nft does not show it
            out += c.value == "\x0a" ? "meta nfproto ipv6 " : c.value == "\x02" ? "" : "? ";
            break;
        case Load::fib_route_back:
            out += v == 0 && c.equal && c.value.size() == 4 ? "fib saddr . iif oif missing " : "? ";
            break;
        case Load::fib_addr_type:
            out += v == 2 && c.equal ? "fib saddr type local " : "? ";
            break;
        case Load::ct_state:
            out += v != 0 || c.equal ? "? "
                   : c.mask == 6     ? "ct state established,related "
                   : c.mask == 2     ? "ct state established "
                   : c.mask == 4     ? "ct state related "
                                     : "? ";
            break;
        case Load::ip_saddr:
            out += "ip saddr " + format_ipv4(ntohl(v)) + "/" +
                   std::to_string(std::popcount(c.mask)) + " ";
            break;
        }
    }
    return out + verdicts[int(rule.verdict)];
}

std::vector<std::string> rendered(const Policy& p)
{
    std::vector<std::string> out;
    for (const RuleSpec& r : table_rules(p))
        out.push_back(std::string(r.chain) + ": " + render(r));
    return out;
}

} // namespace

TEST_CASE("the default policy's table")
{
    Policy p = *parse_policy("pool 198.18.64.0/24\nuplink uplink0\n").policy;
    CHECK(rendered(p) == std::vector<std::string>{
                             "prerouting: iifname \"nsjv*\" meta nfproto ipv6 drop",
                             "prerouting: iifname \"nsjv*\" fib saddr . iif oif missing drop",
                             "prerouting: iifname \"nsjv*\" fib saddr type local drop",
                             "input: iifname \"nsjv*\" ct state related drop",
                             "input: iifname \"nsjv*\" ct state established,related accept",
                             "input: iifname \"nsjv*\" drop",
                             "forward: iifname \"nsjv*\" ct state related drop",
                             "forward: ct state established,related accept",
                             "forward: oifname \"nsjv*\" drop",
                             "forward: iifname \"nsjv*\" oifname \"uplink0\" accept",
                             "forward: iifname \"nsjv*\" drop",
                             "postrouting: ip saddr 198.18.64.0/24 oifname \"uplink0\" masquerade",
                         });
}

TEST_CASE("with forwarding managed by the helper, the uplinks forward to sandboxes only")
{
    Policy p = *parse_policy("pool 198.18.64.0/24\nuplink uplink0\nuplink wlan0\n"
                             "forwarding yes\n")
                    .policy;
    auto r = rendered(p);
    auto at = [&](const char* rule) { return std::find(r.begin(), r.end(), rule) - r.begin(); };
    CHECK(at("forward: iifname \"uplink0\" drop") < long(r.size()));
    CHECK(at("forward: iifname \"wlan0\" drop") < long(r.size()));
    // after the replies to sandboxes are let through, never before
    CHECK(at("forward: ct state established,related accept") < at("forward: iifname \"uplink0\" drop"));
    Policy no = *parse_policy("pool 198.18.64.0/24\nuplink uplink0\n").policy;
    auto rn = rendered(no);
    CHECK(std::count(rn.begin(), rn.end(), "forward: iifname \"uplink0\" drop") == 0);
}

TEST_CASE("host-access, several pools and uplinks")
{
    Policy p = *parse_policy("pool 198.18.64.0/24\npool 198.19.0.0/16\nuplink eth0\n"
                             "uplink wlan0\nhost-access yes\n")
                    .policy;
    auto r = rendered(p);
    CHECK(std::count(r.begin(), r.end(), "input: iifname \"nsjv*\" drop") == 0);
    CHECK(std::count(r.begin(), r.end(), "forward: iifname \"nsjv*\" oifname \"wlan0\" accept"));
    CHECK(r.back() == "postrouting: ip saddr 198.19.0.0/16 oifname \"wlan0\" masquerade");
    CHECK(r.size() == 3 + 2 + 6 + 4);
    // host-access opens the host's services, never its own flows to a forged ICMP error
    CHECK(std::count(r.begin(), r.end(), "input: iifname \"nsjv*\" ct state related drop"));
}

TEST_CASE("every rule is in one of the table's four chains")
{
    Policy p = *parse_policy("pool 198.18.64.0/24\nuplink eth0\n").policy;
    for (const RuleSpec& r : table_rules(p)) {
        std::string chain = r.chain;
        CHECK((chain == "prerouting" || chain == "input" || chain == "forward" ||
               chain == "postrouting"));
        CHECK((chain == "postrouting") == (r.verdict == Verdict::masquerade));
    }
}

TEST_CASE("the bytes compared")
{
    Policy p = *parse_policy("pool 198.18.64.0/24\nuplink eth0\n").policy;
    std::vector<RuleSpec> rules = table_rules(p);
    const RuleSpec& masq = rules.back();
    REQUIRE(masq.conds.size() == 3);
    CHECK(masq.conds[0].load == Load::nfproto); // before the IPv4 header is read
    CHECK(masq.conds[0].value == std::string(1, 2));
    CHECK(masq.conds[1].value == std::string("\xc6\x12\x40\x00", 4)); // network byte order
    CHECK(masq.conds[1].mask == htonl(0xffffff00));
    CHECK(masq.conds[2].value == std::string("eth0\0\0\0\0\0\0\0\0\0\0\0\0", 16));
    CHECK(rules[0].conds[0].value == "nsjv"); // a prefix: 4 bytes, no NUL
}
