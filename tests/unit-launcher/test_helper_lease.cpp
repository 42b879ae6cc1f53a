#include "helper_client.hpp"

#include <doctest/doctest.h>

using namespace nsjv::helper;

TEST_CASE("the helper's answer is parsed strictly")
{
    auto l = parse_lease("v1 nsjv0 198.18.64.0 198.18.64.1 31 eth0");
    REQUIRE(l.ok());
    CHECK(l->host_if == "nsjv0");
    CHECK(l->host_addr == "198.18.64.0");
    CHECK(l->sandbox_addr == "198.18.64.1");
    CHECK(l->prefixlen == 31);
    CHECK(l->sandbox_if == "eth0");

    for (const char* bad : {"", "v2 nsjv0 198.18.64.0 198.18.64.1 31 eth0",
                            "v1 nsjv0 198.18.64.0 198.18.64.1 31 eth0 extra",
                            "v1 nsjv0 198.18.64.0 198.18.64.1 8 eth0",
                            "v1 nsjv0 host 198.18.64.1 31 eth0",
                            "v1 ../x 198.18.64.0 198.18.64.1 31 eth0",
                            "v1 nsjv0 198.18.64.0 198.18.64.1 31 averyveryverylongname"})
        CHECK_MESSAGE(!parse_lease(bad).ok(), bad);
}

TEST_CASE("notes before the lease: other firewalls' forward chains that drop")
{
    CHECK(!parse_answer("w1 forward-drop ip filter FORWARD\nv1 nsjv0 198.18.64.0"));
    CHECK(!parse_answer(""));
    auto a = parse_answer("w1 forward-drop ip filter FORWARD\n"
                          "w1 forward-drop inet firewalld filter_FORWARD\n"
                          "w1 something-newer x y z\n"
                          "w1 forward-drop xt filter FORWARD\n"    // legacy iptables
                          "w1 forward-drop ip6 filter FORWARD\n"   // not IPv4: skipped
                          "w1 forward-drop ip fil;ter FORWARD\n"   // not plain: skipped
                          "v1 nsjv0 198.18.64.0 198.18.64.1 31 eth0\n");
    REQUIRE(a);
    REQUIRE(a->ok());
    REQUIRE((*a)->conflicts.size() == 3);
    CHECK((*a)->conflicts[2].family == "xt");
    CHECK((*a)->conflicts[0].table == "filter");
    CHECK((*a)->conflicts[1].chain == "filter_FORWARD");
    CHECK((*a)->host_if == "nsjv0");
    auto bad = parse_answer("w1 forward-drop ip filter FORWARD\nv1 nonsense\n");
    REQUIRE(bad);
    CHECK(!bad->ok());
}

TEST_CASE("each kind of conflict gets its own fix")
{
    CHECK(advise({"ip", "filter", "FORWARD"}).hint.find("DOCKER-USER") != std::string::npos);
    CHECK(advise({"xt", "filter", "FORWARD"}).warning.find("legacy iptables") != std::string::npos);
    CHECK(advise({"xt", "filter", "FORWARD"}).hint.find("DOCKER-USER") != std::string::npos);
    CHECK(advise({"inet", "firewalld", "filter_FORWARD"}).hint.find("firewall-cmd") !=
          std::string::npos);
    Advice own = advise({"inet", "mine", "fwd"});
    CHECK(own.warning.find("'inet mine fwd'") != std::string::npos);
    CHECK(own.hint.find("nft insert rule inet mine fwd iifname \"nsjv*\" accept") !=
          std::string::npos);
}
