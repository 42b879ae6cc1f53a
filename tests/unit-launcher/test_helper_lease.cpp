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
