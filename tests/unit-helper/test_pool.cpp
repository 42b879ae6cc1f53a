// Addresses, the pool's safety on a host, the free /31 and the quota.
#include "core.hpp"

#include <doctest/doctest.h>

using namespace nsjv;

namespace
{

uint32_t ip(const char* text)
{
    return *parse_ipv4(text);
}
Net net(const char* text)
{
    return *parse_net(text);
}

Policy pool_policy(std::vector<const char*> pools)
{
    Policy p;
    for (const char* pool : pools)
        p.pools.push_back(net(pool));
    p.uplinks = {"uplink0"};
    return p;
}

// A laptop: uplink0 (index 2) in 203.0.113.0/24 with a default route, loopback, and the
// local-table routes the kernel adds for its addresses.
HostNet laptop()
{
    HostNet h;
    h.links = {{1, 0, "lo"}, {2, 0, "uplink0"}};
    h.routes = {{2, {0, 0}, ip("203.0.113.1")},
                {2, net("203.0.113.0/24")},
                {1, net("127.0.0.0/8")},
                {2, {ip("203.0.113.2"), 32}},
                {1, {ip("127.0.0.1"), 32}}};
    h.nameservers = {ip("127.0.0.53")};
    return h;
}

} // namespace

TEST_CASE("IPv4 text")
{
    CHECK(ip("198.18.64.1") == 0xc6124001);
    CHECK(format_ipv4(0xc6124001) == "198.18.64.1");
    CHECK(format_ipv4(0) == "0.0.0.0");
    for (const char* bad : {"", "198.18.64", "198.18.64.1.2", "198.18.64.256", "198.18.064.1",
                            "0xc6.18.64.1", " 198.18.64.1", "198.18.64.1 ", "::1"}) {
        CAPTURE(std::string(bad));
        CHECK(!parse_ipv4(bad));
    }
    CHECK(net("198.18.64.0/24") == Net{0xc6124000, 24});
    CHECK(net("198.18.64.7/32") == Net{0xc6124007, 32});
    CHECK(!parse_net("198.18.64.0/33"));
    CHECK(!parse_net("198.18.64.0/0")); // a pool is never the whole address space
    CHECK(!parse_net("198.18.64.1/31"));
}

TEST_CASE("overlaps")
{
    CHECK(overlaps(net("198.18.64.0/24"), net("198.18.64.128/25")));
    CHECK(overlaps(net("198.18.64.128/25"), net("198.18.0.0/16")));
    CHECK(overlaps(net("198.18.64.0/24"), {0, 0}));
    CHECK(!overlaps(net("198.18.64.0/24"), net("198.18.65.0/24")));
    CHECK(!overlaps(net("198.18.64.0/31"), {ip("198.18.64.2"), 32}));
    CHECK(overlaps(net("198.18.64.0/31"), {ip("198.18.64.1"), 32}));
}

TEST_CASE("resolv.conf nameservers")
{
    auto ns = parse_resolv_conf("# x\nnameserver 198.51.100.53\nnameserver\t203.0.113.53 # c\n"
                                "nameserver fd00::1\nsearch example\n nameserver 198.51.100.9\n"
                                "nameservers 198.51.100.8\nnameserver 198.51.100.7;x\n"
                                "nameserver  198.51.100.6");
    CHECK(ns == std::vector<uint32_t>{ip("198.51.100.53"), ip("203.0.113.53"), ip("198.51.100.7"),
                                      ip("198.51.100.6")});
    CHECK(parse_resolv_conf("").empty());
}

// The refusal of plan(), or "" and the /31 picked.
std::string refusal(const Policy& p, const HostNet& h, uint32_t uid = 1000, unsigned max = 8)
{
    Plan plan = nsjv::plan(p, h, uid, max);
    return plan.refusal ? std::to_string(plan.refusal) + " " + plan.why : "";
}

TEST_CASE("a pool clear of the host's nameservers, gateways, routes and addresses")
{
    HostNet h = laptop();
    CHECK(refusal(pool_policy({"198.18.64.0/24"}), h) == "");
    CHECK(refusal(pool_policy({"203.0.113.0/24"}), h).starts_with("5 "));
    CHECK(refusal(pool_policy({"198.18.64.0/24", "203.0.113.0/28"}), h).starts_with("5 "));

    h.nameservers.push_back(ip("198.18.64.53"));
    CHECK(refusal(pool_policy({"198.18.64.0/24"}), h) ==
          "5 refused: a pool of the helper policy contains a nameserver of the host");

    h = laptop(); // a default route through an on-link gateway inside the pool
    h.routes.push_back({2, {0, 0}, ip("198.18.64.1")});
    CHECK(refusal(pool_policy({"198.18.64.0/24"}), h) ==
          "5 refused: a pool of the helper policy contains a gateway of the host");

    h = laptop(); // a route in another table through a gateway in the pool
    h.routes.push_back({2, net("198.51.100.0/24"), ip("198.18.64.9")});
    CHECK(refusal(pool_policy({"198.18.64.0/24"}), h).starts_with("5 "));

    // a route in some table, a blackhole with no interface, an address
    for (Route r : {Route{2, net("198.18.64.128/26")}, Route{0, net("198.18.0.0/15")},
                    Route{2, {ip("198.18.64.200"), 32}}}) {
        HostNet with = laptop();
        with.routes.push_back(r);
        CHECK(refusal(pool_policy({"198.18.64.0/24"}), with) ==
              "5 refused: a pool of the helper policy overlaps a route or an address of the host");
    }
}

TEST_CASE("our own interfaces carry earlier allocations, not conflicts")
{
    HostNet h = laptop();
    h.links.push_back({7, 1000, "nsjv0"});
    h.routes.push_back({7, net("198.18.64.0/31")});
    h.routes.push_back({7, {ip("198.18.64.0"), 32}});
    CHECK(refusal(pool_policy({"198.18.64.0/24"}), h) == "");
    CHECK(plan(pool_policy({"198.18.64.0/24"}), h, 1000, 8).addr == ip("198.18.64.2"));
    h.links[2].name = "veth7"; // the same routes on someone else's interface
    CHECK(refusal(pool_policy({"198.18.64.0/24"}), h).starts_with("5 "));
}

TEST_CASE("the first free /31")
{
    HostNet h = laptop();
    Policy p = pool_policy({"198.18.64.0/30", "198.18.65.0/30"});
    h.links.push_back({9, 0, "nsjv9"});
    CHECK(plan(p, h, 1, 8).addr == ip("198.18.64.0"));
    h.routes.push_back({9, {ip("198.18.64.1"), 32}}); // one address of the pair in use
    CHECK(plan(p, h, 1, 8).addr == ip("198.18.64.2"));
    h.routes.push_back({9, net("198.18.64.2/31")});
    CHECK(plan(p, h, 1, 8).addr == ip("198.18.65.0")); // the next pool
    h.routes.push_back({9, net("198.18.65.0/30")});
    CHECK(refusal(p, h) == "5 refused: the helper policy's address pool is exhausted");
    CHECK(plan(pool_policy({"198.19.255.252/30"}), laptop(), 1, 8).addr == ip("198.19.255.252"));
}

TEST_CASE("at least one uplink must exist")
{
    Policy p = pool_policy({"198.18.64.0/24"});
    p.uplinks.push_back("wlan0"); // absent, like Wi-Fi on a docked laptop: fine
    CHECK(refusal(p, laptop()) == "");
    p.uplinks = {"wlan0", "enp0s31f6"};
    CHECK(refusal(p, laptop()) == "1 none of the helper policy's uplinks exists on this host");
}

TEST_CASE("the quota comes from the kernel's links")
{
    HostNet h = laptop();
    Policy p = pool_policy({"198.18.64.0/24"});
    h.links.push_back({10, 1000, "nsjv0"});
    h.links.push_back({11, 1001, "nsjv1"});
    h.links.push_back({12, 1000, "nsjv3"});
    h.links.push_back({13, 1000, "veth0"});
    CHECK(refusal(p, h, 1000, 2) == "3 refused: limit reached: 2 sandboxes at once for this user");
    CHECK(refusal(p, h, 1000, 3) == "");
    CHECK(refusal(p, h, 1001, 2) == "");
    CHECK(refusal(p, h, 1001, 1) == "3 refused: limit reached: 1 sandboxes at once for this user");
    CHECK(refusal(p, h, 0) == ""); // lo and uplink0 are group 0, but not ours
    // The host's limit counts everyone's: three of ours exist, veth0 is not one.
    p.max_sandboxes = 3;
    CHECK(refusal(p, h, 1002) == "3 refused: limit reached: 3 sandboxes at once on this host");
    p.max_sandboxes = 4;
    CHECK(refusal(p, h, 1002) == "");
}
