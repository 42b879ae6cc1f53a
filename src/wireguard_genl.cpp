#include "wireguard_genl.hpp"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <string.h>
#include <sys/socket.h>

#include <memory>

namespace nsjv::wireguard::genl {

namespace {

// The request holds the private key: its buffer is zeroed before libnl frees it.
struct MsgFree {
    void operator()(nl_msg* msg) const
    {
        explicit_bzero(nlmsg_hdr(msg), nlmsg_get_max_size(msg));
        nlmsg_free(msg);
    }
};
struct SockFree {
    void operator()(nl_sock* sk) const { nl_socket_free(sk); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgFree>;
using SockPtr = std::unique_ptr<nl_sock, SockFree>;

// One SET_DEVICE request must hold the whole configuration (see configure). The
// kernel refuses a message larger than the socket's send buffer, which libnl sets
// to 32 KiB and the kernel doubles; this leaves room to spare.
constexpr size_t max_message = 32 * 1024;

bool valid_ifname(const std::string& ifname)
{
    return !ifname.empty() && ifname.size() < IFNAMSIZ && ifname.find('\0') == std::string::npos;
}

int put_allowed_ip(nl_msg* msg, const Prefix& ip)
{
    unsigned char addr[16] = {};
    const int max = ip.family == AF_INET ? 32 : 128;

    if ((ip.family != AF_INET && ip.family != AF_INET6) || ip.length < 0 || ip.length > max ||
        inet_pton(ip.family, ip.address.c_str(), addr) != 1)
        return -NLE_INVAL;
    // As wg does, every entry of a list is nested under type 0: the kernel reads
    // the list in order and ignores the types. NLA_F_NESTED, which the kernel's
    // strict validation wants, is set here even where libnl (3.5 on) sets it itself.
    nlattr* nest = nla_nest_start(msg, NLA_F_NESTED);
    if (!nest)
        return -NLE_NOMEM;
    int err = nla_put_u16(msg, WGALLOWEDIP_A_FAMILY, static_cast<uint16_t>(ip.family));
    if (!err)
        err = nla_put(msg, WGALLOWEDIP_A_IPADDR, ip.family == AF_INET ? 4 : 16, addr);
    if (!err)
        err = nla_put_u8(msg, WGALLOWEDIP_A_CIDR_MASK, static_cast<uint8_t>(ip.length));
    if (err)
        return err;
    return nla_nest_end(msg, nest);
}

int put_endpoint(nl_msg* msg, const Peer& peer)
{
    sockaddr_in sin{};

    sin.sin_family = AF_INET;
    sin.sin_port = htons(peer.endpoint_port);
    if (inet_pton(AF_INET, peer.endpoint_address.c_str(), &sin.sin_addr) != 1)
        return -NLE_INVAL;
    return nla_put(msg, WGPEER_A_ENDPOINT, sizeof sin, &sin);
}

int put_peer(nl_msg* msg, const Peer& peer)
{
    if (peer.keepalive > 0xffff)
        return -NLE_RANGE;
    nlattr* nest = nla_nest_start(msg, NLA_F_NESTED);
    if (!nest)
        return -NLE_NOMEM;

    int err = nla_put(msg, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, peer.public_key.data());
    if (!err && peer.preshared_key)
        err = nla_put(msg, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, peer.preshared_key->data());
    if (!err && !peer.endpoint_address.empty())
        err = put_endpoint(msg, peer);
    if (!err)
        err = nla_put_u16(msg, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
                          static_cast<uint16_t>(peer.keepalive));
    if (!err)
        err = nla_put_u32(msg, WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS);
    if (err)
        return err;

    // nla_nest_end() drops a nest left empty, as wg leaves it out: the flag above
    // already removes every allowed IP the peer had.
    nlattr* ips = nla_nest_start(msg, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
    if (!ips)
        return -NLE_NOMEM;
    for (const auto& ip : peer.allowed_ips)
        if ((err = put_allowed_ip(msg, ip)) < 0)
            return err;
    if ((err = nla_nest_end(msg, ips)) < 0)
        return err;
    return nla_nest_end(msg, nest);
}

int send_and_wait(nl_sock* sk, nl_msg* msg)
{
    int err = nl_send_auto(sk, msg);
    if (err < 0)
        return err;
    return nl_wait_for_ack(sk);
}

SockPtr connect(int protocol, int& err)
{
    SockPtr sk(nl_socket_alloc());
    if (!sk) {
        err = -NLE_NOMEM;
        return nullptr;
    }
    err = protocol == NETLINK_GENERIC ? genl_connect(sk.get()) : nl_connect(sk.get(), protocol);
    if (err < 0)
        return nullptr;
    // An error ack would otherwise carry a copy of the request, private key included.
    int one = 1;
    (void)setsockopt(nl_socket_get_fd(sk.get()), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    return sk;
}

size_t count_allowed_ips(const Config& config)
{
    size_t n = 0;
    for (const auto& peer : config.peers)
        n += peer.allowed_ips.size();
    return n;
}

} // namespace

int build_set_device(nl_msg* msg, int family, const std::string& ifname, const Config& config)
{
    if (!msg || !valid_ifname(ifname))
        return -NLE_INVAL;
    if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_REQUEST | NLM_F_ACK,
                     WG_CMD_SET_DEVICE, WG_GENL_VERSION))
        return -NLE_NOMEM;

    int err = nla_put_string(msg, WGDEVICE_A_IFNAME, ifname.c_str());
    if (!err)
        err = nla_put(msg, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, config.private_key.data());
    if (!err && config.listen_port)
        err = nla_put_u16(msg, WGDEVICE_A_LISTEN_PORT, config.listen_port);
    if (!err)
        err = nla_put_u32(msg, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
    if (err)
        return err;

    nlattr* peers = nla_nest_start(msg, WGDEVICE_A_PEERS | NLA_F_NESTED);
    if (!peers)
        return -NLE_NOMEM;
    for (const auto& peer : config.peers)
        if ((err = put_peer(msg, peer)) < 0)
            return err;
    return nla_nest_end(msg, peers);
}

int build_new_link(nl_msg* msg, const std::string& ifname)
{
    ifinfomsg ifi{};

    if (!msg || !valid_ifname(ifname))
        return -NLE_INVAL;
    if (!nlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, RTM_NEWLINK, 0,
                   NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL))
        return -NLE_NOMEM;
    ifi.ifi_family = AF_UNSPEC;
    int err = nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO);
    if (!err)
        err = nla_put_string(msg, IFLA_IFNAME, ifname.c_str());
    if (err)
        return err;

    // Built by hand rather than with rtnl_link_set_type(), which would handle an
    // unknown kind too, but would make every user of this file link libnl-route.
    nlattr* info = nla_nest_start(msg, IFLA_LINKINFO | NLA_F_NESTED);
    if (!info)
        return -NLE_NOMEM;
    if ((err = nla_put_string(msg, IFLA_INFO_KIND, "wireguard")) < 0)
        return err;
    return nla_nest_end(msg, info);
}

int create_link(const std::string& ifname)
{
    int err = 0;

    MsgPtr msg(nlmsg_alloc());
    if (!msg)
        return -NLE_NOMEM;
    if ((err = build_new_link(msg.get(), ifname)) < 0)
        return err;

    SockPtr sk = connect(NETLINK_ROUTE, err);
    if (!sk)
        return err;
    return send_and_wait(sk.get(), msg.get());
}

Result<bool> configure(const std::string& ifname, const Config& config)
{
    int err = 0;

    SockPtr sk = connect(NETLINK_GENERIC, err);
    if (!sk)
        return fail(std::string("cannot open a generic netlink socket: ") + nl_geterror(err));

    int family = genl_ctrl_resolve(sk.get(), WG_GENL_NAME);
    if (family == -NLE_OBJ_NOTFOUND)
        return fail("the kernel has no WireGuard (no generic netlink family 'wireguard'): load "
                    "the wireguard module, or use wireguard-go");
    if (family < 0)
        return fail(std::string("cannot look up WireGuard in the kernel: ") + nl_geterror(family));

    MsgPtr msg(nlmsg_alloc_size(max_message));
    if (!msg)
        return fail("out of memory");
    err = build_set_device(msg.get(), family, ifname, config);
    // TODO: wg splits a configuration that does not fit one message into several
    // (peers and allowed IPs continued, without the REPLACE flags); until we do too,
    // a configuration with more than about 800 IPv6 or 1100 IPv4 allowed IPs in all
    // cannot be used with the kernel's WireGuard.
    if (err == -NLE_NOMEM)
        return fail("the configuration's " + std::to_string(config.peers.size()) + " peers and " +
                    std::to_string(count_allowed_ips(config)) +
                    " allowed IPs do not fit one netlink message, and nsjail-vpn cannot split "
                    "them yet: shorten the AllowedIPs lists (for example to 0.0.0.0/0, ::/0)");
    if (err < 0)
        return fail("cannot build the WireGuard configuration for '" + ifname +
                    "': " + nl_geterror(err));

    if ((err = send_and_wait(sk.get(), msg.get())) < 0)
        return fail("cannot configure WireGuard device '" + ifname + "': " + nl_geterror(err));
    return true;
}

} // namespace nsjv::wireguard::genl
