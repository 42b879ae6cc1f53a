#include "channel.hpp"

#include <doctest/doctest.h>

#include <sys/socket.h>

using namespace nsjv;

TEST_CASE("channel: a report larger than any fixed buffer arrives whole")
{
    auto p = channel::pair();
    REQUIRE(p);
    // As many routes as a large split tunnel pushes: each about 110 bytes.
    int size = 200 * 1024;
    setsockopt(p->first.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    std::string big;
    for (int i = 0; big.size() < 150 * 1024; i++)
        big += "CISCO_SPLIT_INC_" + std::to_string(i) + "_ADDR=198.51.100.1" + '\0';
    REQUIRE(channel::send(p->first.get(), big));
    REQUIRE(channel::send(p->first.get(), "second"));
    auto got = channel::receive(p->second.get());
    REQUIRE(got);
    CHECK(got->size() == big.size());
    CHECK(*got == big);
    CHECK(channel::receive(p->second.get()) == std::optional<std::string>("second"));
    p->first.reset();
    CHECK(!channel::receive(p->second.get()));  // the peer is gone
}
