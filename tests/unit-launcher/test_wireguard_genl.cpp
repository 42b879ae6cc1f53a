#include "wireguard_genl.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/wireguard.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <cstring>
#include <memory>
#include <vector>

using namespace nsjv::wireguard;

namespace {

struct MsgFree {
    void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgFree>;

constexpr int family_id = 0x2a; // what genl_ctrl_resolve would have said

Key filled(uint8_t first)
{
    Key k{};
    for (size_t i = 0; i < k.size(); i++)
        k[i] = static_cast<uint8_t>(first + i);
    return k;
}

Prefix prefix(int family, const char* address, int length)
{
    Prefix p;
    p.family = family;
    p.address = address;
    p.length = length;
    return p;
}

Config two_peers()
{
    Config c;
    c.private_key = filled(0x00);
    c.listen_port = 51820;

    Peer a;
    a.public_key = filled(0x40);
    a.preshared_key = filled(0x80);
    a.endpoint_host = "vpn.example.net";
    a.endpoint_address = "203.0.113.20";
    a.endpoint_port = 51820;
    a.keepalive = 25;
    a.allowed_ips = {prefix(AF_INET, "0.0.0.0", 0), prefix(AF_INET6, "2001:db8::", 64)};
    c.peers.push_back(a);

    Peer b;
    b.public_key = filled(0xc0);
    b.allowed_ips = {prefix(AF_INET, "198.18.64.0", 18)};
    c.peers.push_back(b);
    return c;
}

bool bytes_are(const nlattr* a, const void* expected, size_t size)
{
    return a && static_cast<size_t>(nla_len(a)) == size && memcmp(nla_data(a), expected, size) == 0;
}

bool is_nested(const nlattr* a)
{
    return a && (a->nla_type & NLA_F_NESTED);
}

// The entries of a nested list, each checked to be a nest of type 0, as wg sends them.
std::vector<nlattr*> list(nlattr* nest)
{
    std::vector<nlattr*> out;
    nlattr* pos;
    int rem;
    nla_for_each_nested(pos, nest, rem)
    {
        CHECK(nla_type(pos) == 0);
        CHECK(is_nested(pos));
        out.push_back(pos);
    }
    CHECK(rem == 0);
    return out;
}

struct AllowedIp {
    uint16_t family;
    std::vector<uint8_t> address;
    uint8_t cidr;
};

AllowedIp read_allowed_ip(nlattr* nest)
{
    nlattr* tb[WGALLOWEDIP_A_MAX + 1] = {};
    REQUIRE(nla_parse_nested(tb, WGALLOWEDIP_A_MAX, nest, nullptr) == 0);
    REQUIRE(tb[WGALLOWEDIP_A_FAMILY]);
    REQUIRE(tb[WGALLOWEDIP_A_IPADDR]);
    REQUIRE(tb[WGALLOWEDIP_A_CIDR_MASK]);
    CHECK(nla_len(tb[WGALLOWEDIP_A_FAMILY]) == 2);
    CHECK(nla_len(tb[WGALLOWEDIP_A_CIDR_MASK]) == 1);
    auto* data = static_cast<const uint8_t*>(nla_data(tb[WGALLOWEDIP_A_IPADDR]));
    return {nla_get_u16(tb[WGALLOWEDIP_A_FAMILY]),
            std::vector<uint8_t>(data, data + nla_len(tb[WGALLOWEDIP_A_IPADDR])),
            nla_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK])};
}

MsgPtr built(const Config& c, const std::string& ifname = "wg-nsjv")
{
    MsgPtr msg(nlmsg_alloc());
    REQUIRE(msg);
    REQUIRE(genl::build_set_device(msg.get(), family_id, ifname, c) == 0);
    return msg;
}

} // namespace

TEST_CASE("build_set_device: header, device attributes and flags")
{
    MsgPtr msg = built(two_peers());
    nlmsghdr* nlh = nlmsg_hdr(msg.get());

    CHECK(nlh->nlmsg_type == family_id);
    CHECK((nlh->nlmsg_flags & NLM_F_REQUEST));
    CHECK((nlh->nlmsg_flags & NLM_F_ACK));
    CHECK_FALSE((nlh->nlmsg_flags & (NLM_F_DUMP | NLM_F_CREATE | NLM_F_REPLACE)));
    genlmsghdr* g = genlmsg_hdr(nlh);
    CHECK(g->cmd == WG_CMD_SET_DEVICE);
    CHECK(g->version == WG_GENL_VERSION);

    nlattr* tb[WGDEVICE_A_MAX + 1] = {};
    REQUIRE(genlmsg_parse(nlh, 0, tb, WGDEVICE_A_MAX, nullptr) == 0);
    REQUIRE(tb[WGDEVICE_A_IFNAME]);
    CHECK(std::string(nla_get_string(tb[WGDEVICE_A_IFNAME])) == "wg-nsjv");
    CHECK(nla_len(tb[WGDEVICE_A_IFNAME]) == 8); // with its NUL, as NLA_NUL_STRING wants
    const Key priv = filled(0x00);
    CHECK(bytes_are(tb[WGDEVICE_A_PRIVATE_KEY], priv.data(), 32));
    REQUIRE(tb[WGDEVICE_A_LISTEN_PORT]);
    CHECK(nla_len(tb[WGDEVICE_A_LISTEN_PORT]) == 2);
    CHECK(nla_get_u16(tb[WGDEVICE_A_LISTEN_PORT]) == 51820);
    REQUIRE(tb[WGDEVICE_A_FLAGS]);
    CHECK(nla_get_u32(tb[WGDEVICE_A_FLAGS]) == WGDEVICE_F_REPLACE_PEERS);
    CHECK_FALSE(tb[WGDEVICE_A_FWMARK]);
    CHECK_FALSE(tb[WGDEVICE_A_IFINDEX]);
    CHECK_FALSE(tb[WGDEVICE_A_PUBLIC_KEY]);
    CHECK(is_nested(tb[WGDEVICE_A_PEERS]));
}

TEST_CASE("build_set_device: every peer attribute, with key and sockaddr bytes")
{
    MsgPtr msg = built(two_peers());
    nlattr* tb[WGDEVICE_A_MAX + 1] = {};
    REQUIRE(genlmsg_parse(nlmsg_hdr(msg.get()), 0, tb, WGDEVICE_A_MAX, nullptr) == 0);
    auto peers = list(tb[WGDEVICE_A_PEERS]);
    REQUIRE(peers.size() == 2);

    nlattr* p[WGPEER_A_MAX + 1] = {};
    REQUIRE(nla_parse_nested(p, WGPEER_A_MAX, peers[0], nullptr) == 0);
    const Key pub = filled(0x40), psk = filled(0x80);
    CHECK(bytes_are(p[WGPEER_A_PUBLIC_KEY], pub.data(), 32));
    CHECK(bytes_are(p[WGPEER_A_PRESHARED_KEY], psk.data(), 32));
    // struct sockaddr_in, port and address in network order: 51820 is 0xca6c.
    REQUIRE(p[WGPEER_A_ENDPOINT]);
    REQUIRE(nla_len(p[WGPEER_A_ENDPOINT]) == sizeof(sockaddr_in));
    sockaddr_in sin{};
    memcpy(&sin, nla_data(p[WGPEER_A_ENDPOINT]), sizeof sin);
    CHECK(sin.sin_family == AF_INET);
    const uint8_t port[] = {0xca, 0x6c}, addr[] = {203, 0, 113, 20};
    CHECK(memcmp(&sin.sin_port, port, 2) == 0);
    CHECK(memcmp(&sin.sin_addr, addr, 4) == 0);
    REQUIRE(p[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
    CHECK(nla_len(p[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) == 2);
    CHECK(nla_get_u16(p[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) == 25);
    REQUIRE(p[WGPEER_A_FLAGS]);
    CHECK(nla_get_u32(p[WGPEER_A_FLAGS]) == WGPEER_F_REPLACE_ALLOWEDIPS);
    CHECK_FALSE(p[WGPEER_A_PROTOCOL_VERSION]);
    CHECK(is_nested(p[WGPEER_A_ALLOWEDIPS]));

    auto ips = list(p[WGPEER_A_ALLOWEDIPS]);
    REQUIRE(ips.size() == 2);
    AllowedIp v4 = read_allowed_ip(ips[0]);
    CHECK(v4.family == AF_INET);
    CHECK(v4.address == std::vector<uint8_t>{0, 0, 0, 0});
    CHECK(v4.cidr == 0);
    AllowedIp v6 = read_allowed_ip(ips[1]);
    CHECK(v6.family == AF_INET6);
    CHECK(v6.address ==
          std::vector<uint8_t>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    CHECK(v6.cidr == 64);

    // The second peer: no preshared key, no endpoint, keepalive off.
    nlattr* q[WGPEER_A_MAX + 1] = {};
    REQUIRE(nla_parse_nested(q, WGPEER_A_MAX, peers[1], nullptr) == 0);
    const Key pub2 = filled(0xc0);
    CHECK(bytes_are(q[WGPEER_A_PUBLIC_KEY], pub2.data(), 32));
    CHECK_FALSE(q[WGPEER_A_PRESHARED_KEY]);
    CHECK_FALSE(q[WGPEER_A_ENDPOINT]);
    REQUIRE(q[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
    CHECK(nla_get_u16(q[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) == 0);
    CHECK(nla_get_u32(q[WGPEER_A_FLAGS]) == WGPEER_F_REPLACE_ALLOWEDIPS);
    auto ips2 = list(q[WGPEER_A_ALLOWEDIPS]);
    REQUIRE(ips2.size() == 1);
    AllowedIp net = read_allowed_ip(ips2[0]);
    CHECK(net.family == AF_INET);
    CHECK(net.address == std::vector<uint8_t>{198, 18, 64, 0});
    CHECK(net.cidr == 18);
}

TEST_CASE("build_set_device: no listen port when any will do; empty lists are left out")
{
    Config c = two_peers();
    c.listen_port = 0;
    c.peers[1].allowed_ips.clear();
    MsgPtr msg = built(c);
    nlattr* tb[WGDEVICE_A_MAX + 1] = {};
    REQUIRE(genlmsg_parse(nlmsg_hdr(msg.get()), 0, tb, WGDEVICE_A_MAX, nullptr) == 0);
    CHECK_FALSE(tb[WGDEVICE_A_LISTEN_PORT]);
    auto peers = list(tb[WGDEVICE_A_PEERS]);
    REQUIRE(peers.size() == 2);
    nlattr* q[WGPEER_A_MAX + 1] = {};
    REQUIRE(nla_parse_nested(q, WGPEER_A_MAX, peers[1], nullptr) == 0);
    // libnl drops an empty nest, as wg leaves it out: the REPLACE flags alone already
    // remove what the peer, or the device, had.
    CHECK(nla_get_u32(q[WGPEER_A_FLAGS]) == WGPEER_F_REPLACE_ALLOWEDIPS);
    CHECK_FALSE(q[WGPEER_A_ALLOWEDIPS]);

    Config none;
    none.private_key = filled(1);
    MsgPtr empty = built(none);
    nlattr* tb2[WGDEVICE_A_MAX + 1] = {};
    REQUIRE(genlmsg_parse(nlmsg_hdr(empty.get()), 0, tb2, WGDEVICE_A_MAX, nullptr) == 0);
    CHECK(nla_get_u32(tb2[WGDEVICE_A_FLAGS]) == WGDEVICE_F_REPLACE_PEERS);
    CHECK_FALSE(tb2[WGDEVICE_A_PEERS]);
}

TEST_CASE("build_set_device refuses what the kernel would, and what does not fit")
{
    Config c = two_peers();
    MsgPtr msg(nlmsg_alloc());
    CHECK(genl::build_set_device(msg.get(), family_id, "", c) == -NLE_INVAL);
    CHECK(genl::build_set_device(msg.get(), family_id, "sixteen-chars-xx", c) == -NLE_INVAL);
    CHECK(genl::build_set_device(nullptr, family_id, "wg0", c) == -NLE_INVAL);

    Config bad_ip = two_peers();
    bad_ip.peers[0].allowed_ips.push_back(prefix(AF_INET, "198.18.0.0", 33));
    CHECK(genl::build_set_device(MsgPtr(nlmsg_alloc()).get(), family_id, "wg0", bad_ip) ==
          -NLE_INVAL);
    Config bad_family = two_peers();
    bad_family.peers[0].allowed_ips.push_back(prefix(0, "198.18.0.0", 16));
    CHECK(genl::build_set_device(MsgPtr(nlmsg_alloc()).get(), family_id, "wg0", bad_family) ==
          -NLE_INVAL);
    Config bad_endpoint = two_peers();
    bad_endpoint.peers[0].endpoint_address = "vpn.example.net";
    CHECK(genl::build_set_device(MsgPtr(nlmsg_alloc()).get(), family_id, "wg0", bad_endpoint) ==
          -NLE_INVAL);
    Config bad_keepalive = two_peers();
    bad_keepalive.peers[0].keepalive = 65536;
    CHECK(genl::build_set_device(MsgPtr(nlmsg_alloc()).get(), family_id, "wg0", bad_keepalive) ==
          -NLE_RANGE);

    // Too many allowed IPs for the message: an error, not a message cut short.
    Config big = two_peers();
    for (int i = 0; i < 200; i++)
        big.peers[1].allowed_ips.push_back(prefix(AF_INET6, "2001:db8::", 64));
    MsgPtr small(nlmsg_alloc_size(4096));
    CHECK(genl::build_set_device(small.get(), family_id, "wg0", big) == -NLE_NOMEM);
    MsgPtr large(nlmsg_alloc_size(32 * 1024));
    CHECK(genl::build_set_device(large.get(), family_id, "wg0", big) == 0);
}

TEST_CASE("build_new_link: RTM_NEWLINK of kind wireguard, created and not replaced")
{
    MsgPtr msg(nlmsg_alloc());
    REQUIRE(genl::build_new_link(msg.get(), "wg-nsjv") == 0);
    nlmsghdr* nlh = nlmsg_hdr(msg.get());

    CHECK(nlh->nlmsg_type == RTM_NEWLINK);
    const int want = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    CHECK((nlh->nlmsg_flags & want) == want);
    CHECK_FALSE((nlh->nlmsg_flags & NLM_F_REPLACE));
    auto* ifi = static_cast<ifinfomsg*>(nlmsg_data(nlh));
    CHECK(ifi->ifi_family == AF_UNSPEC);
    CHECK(ifi->ifi_index == 0);

    nlattr* tb[IFLA_MAX + 1] = {};
    REQUIRE(nlmsg_parse(nlh, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) == 0);
    REQUIRE(tb[IFLA_IFNAME]);
    CHECK(std::string(nla_get_string(tb[IFLA_IFNAME])) == "wg-nsjv");
    REQUIRE(is_nested(tb[IFLA_LINKINFO]));
    nlattr* info[IFLA_INFO_MAX + 1] = {};
    REQUIRE(nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) == 0);
    REQUIRE(info[IFLA_INFO_KIND]);
    CHECK(std::string(nla_get_string(info[IFLA_INFO_KIND])) == "wireguard");
    CHECK_FALSE(info[IFLA_INFO_DATA]);

    CHECK(genl::build_new_link(MsgPtr(nlmsg_alloc()).get(), "") == -NLE_INVAL);
    CHECK(genl::build_new_link(MsgPtr(nlmsg_alloc()).get(), std::string(16, 'w')) == -NLE_INVAL);
    CHECK(genl::build_new_link(MsgPtr(nlmsg_alloc()).get(), std::string(15, 'w')) == 0);
}
