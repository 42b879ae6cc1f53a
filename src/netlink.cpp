#include "netlink.hpp"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

namespace nsjv::netlink {

namespace {

template <class T, void (*F)(T*)> struct Deleter {
    void operator()(T* p) const { F(p); }
};
using LinkPtr = std::unique_ptr<rtnl_link, Deleter<rtnl_link, rtnl_link_put>>;
using AddrPtr = std::unique_ptr<rtnl_addr, Deleter<rtnl_addr, rtnl_addr_put>>;
using RoutePtr = std::unique_ptr<rtnl_route, Deleter<rtnl_route, rtnl_route_put>>;
using NlAddrPtr = std::unique_ptr<nl_addr, Deleter<nl_addr, nl_addr_put>>;
using CachePtr = std::unique_ptr<nl_cache, Deleter<nl_cache, nl_cache_free>>;

std::string text(nl_addr* a)
{
    char buf[INET6_ADDRSTRLEN + 8];
    return a ? nl_addr2str(a, buf, sizeof buf) : "";
}

NlAddrPtr parse(const std::string& s, int family)
{
    nl_addr* a = nullptr;
    if (nl_addr_parse(s.c_str(), family, &a) < 0)
        return nullptr;
    return NlAddrPtr(a);
}

} // namespace

std::string why(int err) { return nl_geterror(err); }

bool Tunnel::has_ipv6() const
{
    for (const auto& a : addresses)
        if (a.family == AF_INET6)
            return true;
    return false;
}

void Socket::Free::operator()(nl_sock* sk) const { nl_socket_free(sk); }

Result<Socket> Socket::open()
{
    Socket s;
    s.sk_.reset(nl_socket_alloc());
    if (!s.sk_)
        return fail("out of memory");
    int err = nl_connect(s.sk_.get(), NETLINK_ROUTE);
    if (err < 0)
        return fail(why(err));
    return s;
}

// Applies one change to a link: fill() sets what changes on an empty rtnl_link.
template <class F> int change_link(nl_sock* sk, const std::string& ifname, F fill)
{
    rtnl_link* raw = nullptr;
    int err = rtnl_link_get_kernel(sk, 0, ifname.c_str(), &raw);
    if (err < 0)
        return err;
    LinkPtr link(raw), change(rtnl_link_alloc());
    if (!change)
        return -NLE_NOMEM;
    fill(change.get());
    return rtnl_link_change(sk, link.get(), change.get(), 0);
}

int Socket::set_up(const std::string& ifname)
{
    return change_link(sk_.get(), ifname, [](rtnl_link* c) { rtnl_link_set_flags(c, IFF_UP); });
}

// Names are looked up over this socket, in its namespace: if_nametoindex() would ask
// the namespace of the calling thread instead.
int Socket::index(const std::string& ifname)
{
    rtnl_link* raw = nullptr;
    if (rtnl_link_get_kernel(sk_.get(), 0, ifname.c_str(), &raw) < 0)
        return 0;
    LinkPtr link(raw);
    return rtnl_link_get_ifindex(link.get());
}

int Socket::add_address(const std::string& ifname, const std::string& local,
                        const std::string& peer)
{
    int index = this->index(ifname);
    AddrPtr addr(rtnl_addr_alloc());
    NlAddrPtr l = parse(local, AF_UNSPEC);

    if (index == 0)
        return -NLE_OBJ_NOTFOUND;
    if (!l)
        return -NLE_INVAL;
    rtnl_addr_set_ifindex(addr.get(), index);
    rtnl_addr_set_local(addr.get(), l.get());
    if (!peer.empty()) {
        NlAddrPtr p = parse(peer, nl_addr_get_family(l.get()));
        if (!p)
            return -NLE_INVAL;
        rtnl_addr_set_peer(addr.get(), p.get());
    }
    return rtnl_addr_add(sk_.get(), addr.get(), 0);
}

int Socket::add_route(const Route& r, const std::string& ifname)
{
    int index = this->index(ifname);
    RoutePtr route(rtnl_route_alloc());
    NlAddrPtr dst = parse(r.dst, r.family);
    rtnl_nexthop* nh = rtnl_route_nh_alloc();

    if (index == 0 || !dst || !nh) {
        rtnl_route_nh_free(nh);
        return index == 0 ? -NLE_OBJ_NOTFOUND : -NLE_INVAL;
    }
    rtnl_route_set_family(route.get(), static_cast<uint8_t>(r.family));
    rtnl_route_set_dst(route.get(), dst.get());
    rtnl_route_set_table(route.get(), r.table ? r.table : RT_TABLE_MAIN);
    rtnl_route_set_scope(route.get(), static_cast<uint8_t>(r.scope));
    rtnl_route_set_protocol(route.get(), static_cast<uint8_t>(r.protocol ? r.protocol : RTPROT_BOOT));
    rtnl_route_set_type(route.get(), static_cast<uint8_t>(r.type ? r.type : RTN_UNICAST));
    if (r.priority)
        rtnl_route_set_priority(route.get(), r.priority);
    if (r.type == RTN_UNREACHABLE) {  // goes nowhere: no device, no next hop
        rtnl_route_nh_free(nh);
        return rtnl_route_add(sk_.get(), route.get(), NLM_F_CREATE | NLM_F_EXCL);
    }
    rtnl_route_nh_set_ifindex(nh, index);
    if (!r.gateway.empty()) {
        NlAddrPtr gw = parse(r.gateway, r.family);
        if (!gw) {
            rtnl_route_nh_free(nh);
            return -NLE_INVAL;
        }
        rtnl_route_nh_set_gateway(nh, gw.get());
    }
    rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh from here
    return rtnl_route_add(sk_.get(), route.get(), NLM_F_CREATE | NLM_F_EXCL);
}

Result<Tunnel> Socket::capture(const std::string& ifname)
{
    rtnl_link* raw = nullptr;
    nl_cache* addrs_raw = nullptr;
    nl_cache* routes_raw = nullptr;
    Tunnel t;

    int err = rtnl_link_get_kernel(sk_.get(), 0, ifname.c_str(), &raw);
    if (err < 0)
        return fail("cannot find '" + ifname + "': " + why(err));
    LinkPtr link(raw);
    int index = rtnl_link_get_ifindex(link.get());
    t.name = ifname;
    t.mtu = rtnl_link_get_mtu(link.get());

    if ((err = rtnl_addr_alloc_cache(sk_.get(), &addrs_raw)) < 0)
        return fail("cannot list addresses: " + why(err));
    CachePtr addrs(addrs_raw);
    for (auto* o = nl_cache_get_first(addrs.get()); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        if (rtnl_addr_get_ifindex(a) != index)
            continue;
        int family = rtnl_addr_get_family(a);
        if (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(static_cast<in6_addr*>(
                                      nl_addr_get_binary_addr(rtnl_addr_get_local(a)))))
            continue;  // the kernel makes a new one where it is needed
        Address out{family, text(rtnl_addr_get_local(a)), ""};
        if (rtnl_addr_get_peer(a)) {
            out.peer = text(rtnl_addr_get_peer(a));
        } else if (out.local.find('/') == std::string::npos) {
            out.local += "/" + std::to_string(rtnl_addr_get_prefixlen(a));
        }
        t.addresses.push_back(out);
    }

    if ((err = rtnl_route_alloc_cache(sk_.get(), AF_UNSPEC, 0, &routes_raw)) < 0)
        return fail("cannot list routes: " + why(err));
    CachePtr routes(routes_raw);
    for (auto* o = nl_cache_get_first(routes.get()); o; o = nl_cache_get_next(o)) {
        auto* r = reinterpret_cast<rtnl_route*>(o);
        // Subnet routes come back with the addresses; local and multicast tables
        // are the kernel's; a route through two devices is not the tunnel's alone.
        if (rtnl_route_get_protocol(r) == RTPROT_KERNEL || rtnl_route_get_table(r) != RT_TABLE_MAIN ||
            rtnl_route_get_nnexthops(r) != 1)
            continue;
        rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
        if (rtnl_route_nh_get_ifindex(nh) != index)
            continue;
        Route out;
        out.family = rtnl_route_get_family(r);
        out.dst = text(rtnl_route_get_dst(r));
        out.gateway = text(rtnl_route_nh_get_gateway(nh));
        out.priority = rtnl_route_get_priority(r);
        out.table = rtnl_route_get_table(r);
        out.scope = rtnl_route_get_scope(r);
        out.protocol = rtnl_route_get_protocol(r);
        out.type = rtnl_route_get_type(r);
        if (out.family == AF_INET6 && out.dst.rfind("ff00::/8", 0) == 0)
            continue;
        t.routes.push_back(out);
    }
    return t;
}

int Socket::move(const std::string& ifname, int netns_fd)
{
    return change_link(sk_.get(), ifname,
                       [netns_fd](rtnl_link* c) { rtnl_link_set_ns_fd(c, netns_fd); });
}

Result<bool> Socket::replay(const Tunnel& t)
{
    int err = 0;

    err = change_link(sk_.get(), t.name, [&t](rtnl_link* c) {
        if (t.mtu)
            rtnl_link_set_mtu(c, t.mtu);
        rtnl_link_set_flags(c, IFF_UP);
    });
    if (err < 0)
        return fail("cannot bring '" + t.name + "' up: " + why(err));
    for (const auto& a : t.addresses)
        if ((err = add_address(t.name, a.local, a.peer)) < 0)
            return fail("cannot add address " + a.local + ": " + why(err));
    for (const auto& r : t.routes)
        if ((err = add_route(r, t.name)) < 0 && err != -NLE_EXIST)
            return fail("cannot add route " + r.dst + (r.gateway.empty() ? "" : " via " + r.gateway) +
                        ": " + why(err));
    return true;
}

} // namespace nsjv::netlink
