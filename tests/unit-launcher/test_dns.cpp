#include "dns.hpp"

#include <doctest/doctest.h>

using namespace nsjv::dns;

TEST_CASE("precedence: --dns, then 'dns', then 'dhcp-option DNS'")
{
    Offer both{{"198.18.8.1"}, {"198.18.9.1"}, {}};
    auto cli = choose({"198.51.100.53"}, both);
    REQUIRE(cli.ok());
    CHECK(cli->servers == std::vector<std::string>{"198.51.100.53"});
    CHECK(cli->source == "--dns");

    auto dns = choose({}, both);
    REQUIRE(dns.ok());
    CHECK(dns->servers == std::vector<std::string>{"198.18.8.1"});

    auto dhcp = choose({}, Offer{{}, {"198.18.9.1"}, {}});
    REQUIRE(dhcp.ok());
    CHECK(dhcp->servers == std::vector<std::string>{"198.18.9.1"});
}

TEST_CASE("no resolver at all is an error, never an empty resolv.conf")
{
    auto none = choose({}, Offer{});
    CHECK_FALSE(none.ok());
    CHECK_FALSE(choose({"not-an-address"}, Offer{}).ok());
}

TEST_CASE("NAT mode uses the host's upstreams, skipping loopback stubs")
{
    auto plain = choose_host({}, "nameserver 198.51.100.53\n", "");
    REQUIRE(plain.ok());
    CHECK(plain->servers == std::vector<std::string>{"198.51.100.53"});

    auto stub = choose_host({}, "nameserver 127.0.0.53\noptions edns0\n",
                            "nameserver 203.0.113.53\nnameserver ::1\n");
    REQUIRE(stub.ok());
    CHECK(stub->servers == std::vector<std::string>{"203.0.113.53"});

    CHECK_FALSE(choose_host({}, "nameserver 127.0.0.1\n", "").ok());
    CHECK_FALSE(choose_host({}, "", "").ok());
    auto cli = choose_host({"198.51.100.1"}, "nameserver 127.0.0.53\n", "");
    REQUIRE(cli.ok());
    CHECK(cli->servers == std::vector<std::string>{"198.51.100.1"});
}

TEST_CASE("resolv.conf names at most three servers and the search domains")
{
    Choice c{{"198.18.8.1", "198.18.8.2", "198.18.8.3", "198.18.8.4"}, {"a.test", "b.test"}, "x"};
    std::string text = render_resolv_conf(c);
    CHECK(text.find("nameserver 198.18.8.1\n") != std::string::npos);
    CHECK(text.find("nameserver 198.18.8.3\n") != std::string::npos);
    CHECK(text.find("\nnameserver 198.18.8.4") == std::string::npos);
    CHECK(text.find("search a.test b.test\n") != std::string::npos);
}

TEST_CASE("nsswitch hosts line cannot reach host daemons")
{
    std::string host = "passwd: files systemd\nhosts: files mdns4_minimal [NOTFOUND=return] resolve "
                       "[!UNAVAIL=return] dns mymachines myhostname\nnetworks: files\n";
    std::string out = render_nsswitch(host);
    CHECK(out.find("hosts: files dns\n") != std::string::npos);
    CHECK(out.find("resolve") == std::string::npos);
    CHECK(out.find("mdns") == std::string::npos);
    CHECK(out.find("mymachines") == std::string::npos);
    CHECK(out.find("passwd: files systemd\n") != std::string::npos);
    CHECK(out.find("networks: files\n") != std::string::npos);
    CHECK(render_nsswitch("") == "hosts: files dns\n");
}

TEST_CASE("this_host: the addresses where nothing answers inside a sandbox")
{
    for (const char* a : {"127.0.0.1", "127.0.0.53", "127.255.255.254", "::1", "::ffff:127.0.0.1",
                          "0.0.0.0", "::"})
        CHECK_MESSAGE(this_host(a), a);
    for (const char* a : {"126.255.255.255", "128.0.0.1", "198.18.8.1", "0.0.0.1", "::2",
                          "::ffff:198.18.8.1", "2001:db8::1", "localhost", ""})
        CHECK_MESSAGE(!this_host(a), a);
}
