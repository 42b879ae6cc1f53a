// The kernel, over netlink: rtnetlink through libmnl (read the host's links, addresses and
// routes; create the veth), and the project's nftables table through libnftnl. Legacy
// iptables, which has no netlink interface, is only read, through getsockopt.
#include "core.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

using namespace nsjv;

// A request of a few hundred bytes at most, its fixed header right after the netlink one.
template <class Header> struct Request {
    alignas(nlmsghdr) char buf[512];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    Header* hdr = static_cast<Header*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Header)));
    Request(Netlink& nl, uint16_t type, int flags)
    {
        *nlh = {nlh->nlmsg_len, type, uint16_t(NLM_F_REQUEST | flags), ++nl.seq, 0};
    }
    int send(Netlink& nl, HostNet* host = {});
    void put(uint16_t type, uint32_t v) { mnl_attr_put_u32(nlh, type, v); }
    void put(uint16_t type, const char* s) { mnl_attr_put_strz(nlh, type, s); }
};

// Attributes by type; the getters check the payload length before anything is read.
struct Attrs {
    const nlattr* tb[32] = {};
    Attrs(const void* data, size_t len) { mnl_attr_parse_payload(data, len, put, tb); }
    static int put(const nlattr* a, void* tb)
    {
        if (mnl_attr_get_type(a) < 32)
            static_cast<const nlattr**>(tb)[mnl_attr_get_type(a)] = a;
        return MNL_CB_OK;
    }
    size_t len(unsigned t) const { return tb[t] ? mnl_attr_get_payload_len(tb[t]) : 0; }
    uint32_t u32(unsigned t) const { return len(t) >= 4 ? mnl_attr_get_u32(tb[t]) : 0; }
    uint32_t ipv4(unsigned t) const { return ntohl(u32(t)); } // 0.0.0.0 if absent
    std::string str(unsigned t) const
    {
        auto* s = len(t) ? static_cast<const char*>(mnl_attr_get_payload(tb[t])) : "";
        return std::string(s, strnlen(s, len(t)));
    }
};

// One parser for the three dumps: every address becomes a /32 route on its interface.
static int parse(const nlmsghdr* nlh, void* out)
{
    HostNet& host = *static_cast<HostNet*>(out);
    auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
    auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
    size_t hdr = NLMSG_ALIGN(nlh->nlmsg_type == RTM_NEWLINK   ? sizeof(*ifi)
                             : nlh->nlmsg_type == RTM_NEWADDR ? sizeof(*ifa)
                                                              : sizeof(*rtm));
    Attrs at(reinterpret_cast<const char*>(ifi) + hdr, mnl_nlmsg_get_payload_len(nlh) - hdr);

    if (nlh->nlmsg_type == RTM_NEWLINK && at.len(IFLA_IFNAME))
        host.links.push_back({uint32_t(ifi->ifi_index), at.u32(IFLA_GROUP), at.str(IFLA_IFNAME)});
    if (nlh->nlmsg_type == RTM_NEWADDR && ifa->ifa_family == AF_INET && at.len(IFA_LOCAL))
        host.routes.push_back({ifa->ifa_index, {at.ipv4(IFA_LOCAL), 32}});
    // TODO: multipath next hops (RTA_MULTIPATH) are not checked, only their connected routes.
    if (nlh->nlmsg_type == RTM_NEWROUTE && rtm->rtm_family == AF_INET)
        host.routes.push_back(
            {at.u32(RTA_OIF), {at.ipv4(RTA_DST), rtm->rtm_dst_len}, at.ipv4(RTA_GATEWAY)});
    return MNL_CB_OK;
}

template <class Header> int Request<Header>::send(Netlink& nl, HostNet* host)
{
    return nl.talk(nlh, nlh->nlmsg_len, host ? parse : nullptr, host);
}

int Netlink::open(int bus)
{
    sock = {mnl_socket_open2(bus, SOCK_CLOEXEC), mnl_socket_close};
    return !sock || mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0 ? errno : 0;
}

// Reads until the end of a dump or the first acknowledgement, the only one the kernel sends
// (a batch asks for one on its last message; errors come before it).
int Netlink::talk(const void* msgs, size_t len, Parse parse, void* out)
{
    std::vector<char> buf(32 * 1024); // the kernel sizes dump messages by the reader's buffer
    int ret = mnl_socket_sendto(sock.get(), msgs, len) < 0 ? MNL_CB_ERROR : MNL_CB_OK;

    while (ret == MNL_CB_OK) {
        ssize_t n = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
        ret = n < 0 ? MNL_CB_ERROR : mnl_cb_run(buf.data(), size_t(n), 0, 0, parse, out);
    }
    return ret == MNL_CB_ERROR ? errno : 0;
}

// A dump that links changed under (another sandbox ending) comes back flagged, which
// libmnl reports as EINTR: start again from scratch, on a new socket so that the rest of
// the interrupted dump is not read as the next one.
int nsjv::dump_host(Netlink& rt, HostNet& host)
{
    int err = EINTR;
    for (int tries = 0; err == EINTR && tries < 20; ++tries) {
        HostNet fresh{{}, {}, host.nameservers};
        err = tries ? rt.open(NETLINK_ROUTE) : 0;
        for (uint16_t type : {RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE}) { // routes: all tables
            Request<rtgenmsg> req(rt, type, NLM_F_DUMP);
            req.hdr->rtgen_family = type == RTM_GETLINK ? AF_UNSPEC : AF_INET;
            err = err ? err : req.send(rt, &fresh);
        }
        if (!err)
            host = std::move(fresh);
    }
    return err;
}

int nsjv::create_veth(Netlink& rt, const std::string& name, uint32_t group, int netns_fd,
                      const char* peer)
{
    Request<ifinfomsg> req(rt, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);

    req.put(IFLA_IFNAME, name.c_str());
    req.put(IFLA_GROUP, group);
    nlattr* info = mnl_attr_nest_start(req.nlh, IFLA_LINKINFO);
    req.put(IFLA_INFO_KIND, "veth");
    nlattr* data = mnl_attr_nest_start(req.nlh, IFLA_INFO_DATA);
    nlattr* peer_info = mnl_attr_nest_start(req.nlh, VETH_INFO_PEER);
    mnl_nlmsg_put_extra_header(req.nlh, sizeof(ifinfomsg)); // the peer's, zeroed
    req.put(IFLA_IFNAME, peer);
    req.put(IFLA_NET_NS_FD, uint32_t(netns_fd));
    mnl_attr_nest_end(req.nlh, peer_info);
    mnl_attr_nest_end(req.nlh, data);
    mnl_attr_nest_end(req.nlh, info);
    return req.send(rt);
}

int nsjv::add_address(Netlink& rt, uint32_t index, uint32_t addr, unsigned len)
{
    Request<ifaddrmsg> req(rt, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    *req.hdr = {AF_INET, uint8_t(len), 0, RT_SCOPE_UNIVERSE, index};
    req.put(IFA_LOCAL, htonl(addr));
    req.put(IFA_ADDRESS, htonl(addr));
    return req.send(rt);
}

int nsjv::set_link(Netlink& rt, uint16_t type, uint32_t index, unsigned up)
{
    Request<ifinfomsg> req(rt, type, NLM_F_ACK);
    *req.hdr = {AF_UNSPEC, 0, 0, int(index), up, up};
    int err = req.send(rt);
    return type == RTM_DELLINK && err == ENODEV ? 0 : err; // gone with its namespace: fine
}

template <auto Free> struct Deleter {
    template <class T> void operator()(T* p) const { Free(p); }
};
template <class T, auto Free> using Owned = std::unique_ptr<T, Deleter<Free>>;

using Attr = std::pair<uint16_t, uint32_t>; // an attribute of an expression, 0: none
static_assert(NFPROTO_IPV4 == 2 && NFPROTO_IPV6 == 10 && RTN_LOCAL == 2 && IFNAMSIZ == 16 &&
              (NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED)) == 6);

// How nft itself loads each field into register 1 (see nft --debug=netlink), in Load's order.
static const struct {
    const char* expr;
    Attr attrs[4];
} loads[] = {
    // clang-format off
    {"meta", {{NFTNL_EXPR_META_KEY, NFT_META_IIFNAME}, {NFTNL_EXPR_META_DREG, NFT_REG_1}}},
    {"meta", {{NFTNL_EXPR_META_KEY, NFT_META_OIFNAME}, {NFTNL_EXPR_META_DREG, NFT_REG_1}}},
    {"meta", {{NFTNL_EXPR_META_KEY, NFT_META_NFPROTO}, {NFTNL_EXPR_META_DREG, NFT_REG_1}}},
    {"fib", {{NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF | NFTA_FIB_F_PRESENT},
             {NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIF}, {NFTNL_EXPR_FIB_DREG, NFT_REG_1}}},
    {"fib", {{NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR},
             {NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE}, {NFTNL_EXPR_FIB_DREG, NFT_REG_1}}},
    {"ct", {{NFTNL_EXPR_CT_KEY, NFT_CT_STATE}, {NFTNL_EXPR_CT_DREG, NFT_REG_1}}},
    {"payload", {{NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER},   // iphdr.saddr
                 {NFTNL_EXPR_PAYLOAD_OFFSET, 12}, {NFTNL_EXPR_PAYLOAD_LEN, 4},
                 {NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1}}},
    // clang-format on
};

// Appends one expression to the rule, which then owns it; data goes with the data attribute.
template <class Attrs>
static bool add(nftnl_rule* r, const char* name, const Attrs& attrs, uint16_t data_attr = 0,
                const void* data = nullptr, size_t len = 0, uint16_t data2_attr = 0)
{
    const uint32_t zero = 0;
    nftnl_expr* e = nftnl_expr_alloc(name);
    if (!e)
        return false;
    for (auto [attr, value] : attrs)
        if (attr)
            nftnl_expr_set_u32(e, attr, value);
    if (data)
        nftnl_expr_set(e, data_attr, data, uint32_t(len));
    if (data2_attr) // a bitwise mask's xor part
        nftnl_expr_set(e, data2_attr, &zero, 4);
    nftnl_rule_add_expr(r, e);
    return true;
}

static bool cond(nftnl_rule* r, const Cond& c)
{
    const uint32_t op = c.equal ? NFT_CMP_EQ : NFT_CMP_NEQ;
    const Attr bitwise[] = {{NFTNL_EXPR_BITWISE_SREG, NFT_REG_1},
                            {NFTNL_EXPR_BITWISE_DREG, NFT_REG_1},
                            {NFTNL_EXPR_BITWISE_LEN, 4}};
    const Attr cmp[] = {{NFTNL_EXPR_CMP_SREG, NFT_REG_1}, {NFTNL_EXPR_CMP_OP, op}};
    return add(r, loads[int(c.load)].expr, loads[int(c.load)].attrs) &&
           (!c.mask || add(r, "bitwise", bitwise, NFTNL_EXPR_BITWISE_MASK, &c.mask, 4,
                           NFTNL_EXPR_BITWISE_XOR)) &&
           add(r, "cmp", cmp, NFTNL_EXPR_CMP_DATA, c.value.data(), c.value.size());
}

static Owned<nftnl_rule, nftnl_rule_free> make_rule(const RuleSpec& spec, const char* table)
{
    Owned<nftnl_rule, nftnl_rule_free> r(nftnl_rule_alloc());
    const Attr verdict[] = {
        {NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT},
        {NFTNL_EXPR_IMM_VERDICT, spec.verdict == Verdict::accept ? NF_ACCEPT : NF_DROP}};
    bool ok = r != nullptr;

    if (ok) {
        nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, spec.chain);
    }
    for (const Cond& c : spec.conds)
        ok = ok && cond(r.get(), c);
    ok = ok && (spec.verdict == Verdict::masquerade ? add(r.get(), "masq", std::array<Attr, 0>{})
                                                    : add(r.get(), "immediate", verdict));
    return ok ? std::move(r) : nullptr;
}

// One atomic batch: add the table (no error if it exists), delete it, add it again with its
// chains and rules. Idempotent, never half-applied, and what an older policy put is replaced.
int nsjv::ensure_table(Netlink& nf, const Policy& policy)
{
    const struct {
        const char *name, *type;
        uint32_t hook;
        int priority;
    } chains[] = {{"prerouting", "filter", NF_INET_PRE_ROUTING, -150},
                  {"input", "filter", NF_INET_LOCAL_IN, 0},
                  {"forward", "filter", NF_INET_FORWARD, 0},
                  {"postrouting", "nat", NF_INET_POST_ROUTING, 100}};
    const char* name = "nsjail-vpn";
    std::vector<char> buf(64 * 1024);
    size_t len = NLMSG_ALIGN(nftnl_batch_begin(buf.data(), ++nf.seq)->nlmsg_len);
    nlmsghdr* last = nullptr;
    Owned<nftnl_table, nftnl_table_free> table(nftnl_table_alloc());
    bool ok = table != nullptr;
    // Appends one message, once there is room for the largest we build (a rule).
    auto put = [&](uint16_t type, int flags, auto build, const auto& obj) {
        if (!obj || len + 4096 > buf.size())
            return false;
        last =
            nftnl_nlmsg_build_hdr(buf.data() + len, type, NFPROTO_INET, uint16_t(flags), ++nf.seq);
        build(last, obj.get());
        len += NLMSG_ALIGN(last->nlmsg_len);
        return true;
    };

    if (ok) {
        nftnl_table_set_u32(table.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
        nftnl_table_set_str(table.get(), NFTNL_TABLE_NAME, name);
    }
    ok = ok && put(NFT_MSG_NEWTABLE, NLM_F_CREATE, nftnl_table_nlmsg_build_payload, table) &&
         put(NFT_MSG_DELTABLE, 0, nftnl_table_nlmsg_build_payload, table) &&
         put(NFT_MSG_NEWTABLE, NLM_F_CREATE, nftnl_table_nlmsg_build_payload, table);
    for (const auto& spec : chains) {
        Owned<nftnl_chain, nftnl_chain_free> c(nftnl_chain_alloc());
        if (c) {
            nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
            nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, name);
            nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, spec.name);
            nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, spec.type);
            nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, spec.hook);
            nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, spec.priority);
            nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
        }
        ok = ok && put(NFT_MSG_NEWCHAIN, NLM_F_CREATE, nftnl_chain_nlmsg_build_payload, c);
    }
    for (const RuleSpec& spec : table_rules(policy))
        ok = ok && put(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, nftnl_rule_nlmsg_build_payload,
                       make_rule(spec, name));
    if (!ok)
        return ENOMEM;
    last->nlmsg_flags |= NLM_F_ACK;
    len += NLMSG_ALIGN(nftnl_batch_end(buf.data() + len, ++nf.seq)->nlmsg_len);
    return nf.talk(buf.data(), len);
}

// A chain or table name as the launcher may print it: root chose it, but it is shown as data.
static std::string printable(const char* s)
{
    std::string out(s ? s : "", 0, 64);
    for (char& c : out)
        if (!isalnum(c & 0xff) && c != '_' && c != '-' && c != '.')
            c = '?';
    return out.empty() ? "?" : out;
}

struct Conflicts {
    std::vector<std::pair<std::string, std::string>> chains; // "FAMILY TABLE", chain
    std::vector<std::string> handled;                        // "FAMILY TABLE" naming nsjv
};
static std::string table_key(uint32_t family, const char* table)
{
    return (family == NFPROTO_INET ? "inet " : "ip ") + printable(table);
}

// A base chain on the forward hook of IPv4 (ip, inet) that drops by default; firewalld's
// chains accept by default and reject in their last rule, so its table counts as such.
static int parse_chain(const nlmsghdr* nlh, void* out)
{
    Owned<nftnl_chain, nftnl_chain_free> c(nftnl_chain_alloc());
    if (!c || nftnl_chain_nlmsg_parse(nlh, c.get()) < 0 ||
        !nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM))
        return MNL_CB_OK;
    uint32_t family = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY);
    const char* table = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE);
    bool drops = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY) &&
                 nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY) == NF_DROP;
    if (nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM) == NF_INET_FORWARD &&
        (family == NFPROTO_IPV4 || family == NFPROTO_INET) && table &&
        (family != NFPROTO_INET || strcmp(table, "nsjail-vpn") != 0) && // ours: inet only
        (drops || strcmp(table, "firewalld") == 0))
        static_cast<Conflicts*>(out)->chains.emplace_back(
            table_key(family, table), printable(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME)));
    return MNL_CB_OK;
}

// A rule comparing something with "nsjv": the administrator has made room for our links.
static int parse_rule(const nlmsghdr* nlh, void* out)
{
    Owned<nftnl_rule, nftnl_rule_free> r(nftnl_rule_alloc());
    if (!r || nftnl_rule_nlmsg_parse(nlh, r.get()) < 0)
        return MNL_CB_OK;
    Owned<nftnl_expr_iter, nftnl_expr_iter_destroy> it(nftnl_expr_iter_create(r.get()));
    for (nftnl_expr* e = it ? nftnl_expr_iter_next(it.get()) : nullptr; e;
         e = nftnl_expr_iter_next(it.get())) {
        uint32_t len = 0;
        const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
        const void* data =
            name && !strcmp(name, "cmp") ? nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len) : nullptr;
        if (data && len >= 4 && memcmp(data, if_prefix.data(), 4) == 0) {
            static_cast<Conflicts*>(out)->handled.push_back(
                table_key(nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY),
                          nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE)));
            break;
        }
    }
    return MNL_CB_OK;
}

// Legacy iptables' filter table, if the host has one: asking for a table that is not listed
// in /proc/net/ip_tables_names would load it. Its FORWARD policy is the verdict of the hook's
// underflow entry; an entry matching an nsjv* interface means room was made for ours.
static void find_xt_conflict(std::vector<std::string>& notes)
{
    char names[4096] = {};
    Fd list(open("/proc/net/ip_tables_names", O_RDONLY | O_CLOEXEC));
    Fd sock(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
    ipt_getinfo info = {};
    socklen_t len = sizeof(info);

    if (!list || read(list.fd, names, sizeof(names) - 1) < 0 ||
        !strstr(("\n" + std::string(names)).c_str(), "\nfilter\n") || !sock)
        return;
    strcpy(info.name, "filter");
    if (getsockopt(sock.fd, SOL_IP, IPT_SO_GET_INFO, &info, &len) != 0 ||
        !(info.valid_hooks & (1 << NF_INET_FORWARD)))
        return;
    std::vector<char> buf(sizeof(ipt_get_entries) + info.size);
    auto* get = reinterpret_cast<ipt_get_entries*>(buf.data());
    strcpy(get->name, "filter");
    get->size = info.size;
    len = socklen_t(buf.size());
    if (getsockopt(sock.fd, SOL_IP, IPT_SO_GET_ENTRIES, get, &len) != 0)
        return;
    bool drops = false, handled = false;
    for (size_t off = 0; off + sizeof(ipt_entry) <= get->size;) {
        const char* at = reinterpret_cast<const char*>(get->entrytable) + off;
        const auto* e = reinterpret_cast<const ipt_entry*>(at);
        if (e->next_offset < sizeof(ipt_entry) || off + e->next_offset > get->size)
            return; // not what the kernel writes: say nothing
        handled |= !strncmp(e->ip.iniface, "nsjv", 4) || !strncmp(e->ip.outiface, "nsjv", 4);
        if (off == info.underflow[NF_INET_FORWARD] &&
            e->target_offset + sizeof(xt_standard_target) <= e->next_offset)
            drops = reinterpret_cast<const xt_standard_target*>(at + e->target_offset)->verdict ==
                    -NF_DROP - 1;
        off += e->next_offset;
    }
    if (drops && !handled)
        notes.push_back("forward-drop xt filter FORWARD");
}

void nsjv::find_conflicts(Netlink& nf, std::vector<std::string>& notes)
{
    find_xt_conflict(notes);
    Conflicts found;
    for (uint16_t type : {NFT_MSG_GETCHAIN, NFT_MSG_GETRULE}) {
        alignas(nlmsghdr) char buf[64];
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_UNSPEC, NLM_F_DUMP, ++nf.seq);
        if (nf.talk(nlh, nlh->nlmsg_len, type == NFT_MSG_GETCHAIN ? parse_chain : parse_rule,
                    &found) != 0)
            return; // advice only: a failed or interrupted dump gives none
    }
    for (const auto& [table, chain] : found.chains)
        if (std::find(found.handled.begin(), found.handled.end(), table) == found.handled.end())
            notes.push_back("forward-drop " + table + " " + chain);
}
