// The pure parts: the admin's policy file, the address pool on this host, and the content
// of the project's nftables table. No system access, so all of it is unit-tested.
#include "core.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>

using namespace nsjv;

static constexpr auto mask = [](unsigned len) { return len ? ~uint32_t(0) << (32 - len) : 0; };

// 1..max, and no sign, no leading zero (is 010 octal?), no overflow.
static std::optional<uint32_t> parse_uint(std::string_view s, uint32_t max)
{
    uint64_t v = 0;
    if (s.empty() || s.size() > 10 || s[0] == '0' || s.find_first_not_of("0123456789") != s.npos)
        return std::nullopt;
    for (char c : s)
        v = v * 10 + uint64_t(c - '0');
    return v <= max ? std::optional(uint32_t(v)) : std::nullopt;
}

std::optional<uint32_t> nsjv::parse_ipv4(std::string_view text)
{
    in_addr a; // inet_pton takes a dotted quad only: no octal, hex or short forms
    if (text.size() > 15 || inet_pton(AF_INET, std::string(text).c_str(), &a) != 1)
        return std::nullopt;
    return ntohl(a.s_addr);
}

std::optional<Net> nsjv::parse_net(std::string_view text)
{
    size_t slash = text.find('/');
    auto addr = parse_ipv4(text.substr(0, slash));
    auto len = slash == text.npos ? std::nullopt : parse_uint(text.substr(slash + 1), 32);
    if (!addr || !len || (*addr & ~mask(*len)) != 0)
        return std::nullopt;
    return Net{*addr, *len};
}

bool nsjv::valid_name(std::string_view name)
{
    return !name.empty() && name.size() <= 24 && name[0] != '-' &&
           name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == name.npos;
}

std::string nsjv::published_path(uint32_t uid, std::string_view name)
{
    return "/run/netns/nsjv-" + std::to_string(uid) + "-" + std::string(name);
}

std::string nsjv::published_target(uint32_t uid, std::string_view name)
{
    return std::string(published_dir) + "/nsjv-" + std::to_string(uid) + "-" + std::string(name);
}

Command nsjv::parse_command(int argc, const char* const* argv)
{
    if (argc == 3 && argv[1] && argv[2] && valid_name(argv[2])) {
        std::string_view verb = argv[1];
        return verb == "publish"     ? Command::publish
               : verb == "unpublish" ? Command::unpublish
                                     : Command::refused;
    }
    std::string_view verb = argc == 2 && argv[1] ? argv[1] : "";
    return verb == "attach"      ? Command::attach
           : verb == "refresh"   ? Command::refresh
           : verb == "--version" ? Command::version
                                 : Command::refused;
}

std::string nsjv::format_ipv4(uint32_t addr)
{
    char buf[INET_ADDRSTRLEN];
    in_addr a{htonl(addr)};
    return inet_ntop(AF_INET, &a, buf, sizeof(buf));
}

bool nsjv::overlaps(Net a, Net b)
{
    return ((a.addr ^ b.addr) & mask(std::min(a.len, b.len))) == 0;
}

std::vector<uint32_t> nsjv::parse_resolv_conf(std::string_view text)
{
    std::vector<uint32_t> servers;
    for (size_t pos = 0, end; pos < text.size(); pos = end + 1) {
        end = std::min(text.find('\n', pos), text.size());
        std::string_view line = text.substr(pos, end - pos);
        if (!line.starts_with("nameserver ") && !line.starts_with("nameserver\t"))
            continue;
        line.remove_prefix(std::min(line.find_first_not_of(" \t", 10), line.size()));
        if (auto addr = parse_ipv4(line.substr(0, line.find_first_of(" \t#;"))))
            servers.push_back(*addr);
    }
    return servers;
}

Plan nsjv::plan(const Policy& policy, const HostNet& host, uint32_t uid, unsigned allowance)
{
    auto ours = [&](const Link& l) { return l.name.starts_with(if_prefix); };
    auto on_ours = [&](uint32_t index) {
        return std::any_of(host.links.begin(), host.links.end(),
                           [&](const Link& l) { return l.index == index && ours(l); });
    };
    // The default route overlaps everything and says nothing about local use; our own
    // interfaces' routes and addresses are earlier allocations from the pool, not conflicts.
    auto used = [&](Net net, bool by_others) {
        return std::any_of(host.routes.begin(), host.routes.end(), [&](const Route& r) {
            return r.dst.len > 0 && overlaps(net, r.dst) && !(by_others && on_ours(r.oif));
        });
    };
    auto owned = std::count_if(host.links.begin(), host.links.end(),
                               [&](const Link& l) { return ours(l) && l.group == uid; });
    auto all = std::count_if(host.links.begin(), host.links.end(), ours);

    for (const Net& pool : policy.pools) {
        auto in = [&](uint32_t addr) { return addr && overlaps(pool, {addr}); };
        if (std::any_of(host.nameservers.begin(), host.nameservers.end(), in))
            return {Exit::bad_pool,
                    "refused: a pool of the helper policy contains a nameserver of the host"};
        if (std::any_of(host.routes.begin(), host.routes.end(),
                        [&](const Route& r) { return !on_ours(r.oif) && in(r.gateway); }))
            return {Exit::bad_pool,
                    "refused: a pool of the helper policy contains a gateway of the host"};
        if (used(pool, true))
            return {
                Exit::bad_pool,
                "refused: a pool of the helper policy overlaps a route or an address of the host"};
    }
    // A laptop's uplinks come and go (Wi-Fi, a USB dock): one that is there is enough.
    if (std::none_of(policy.uplinks.begin(), policy.uplinks.end(), [&](const std::string& up) {
            return std::any_of(host.links.begin(), host.links.end(),
                               [&](const Link& l) { return l.name == up; });
        }))
        return {Exit::failed, "none of the helper policy's uplinks exists on this host"};
    if (size_t(owned) >= allowance)
        return {Exit::denied, "refused: limit reached: " + std::to_string(allowance) +
                                  " sandboxes at once for this user"};
    if (size_t(all) >= policy.max_sandboxes)
        return {Exit::denied, "refused: limit reached: " + std::to_string(policy.max_sandboxes) +
                                  " sandboxes at once on this host"};
    for (const Net& pool : policy.pools)
        for (uint64_t a = pool.addr; a <= (pool.addr | ~mask(pool.len)); a += 2)
            if (!used({uint32_t(a), 31}, false))
                return {0, {}, uint32_t(a)};
    return {Exit::bad_pool, "refused: the helper policy's address pool is exhausted"};
}

// The policy file. Any doubt makes the whole file invalid: a half-understood policy must
// not grant anything.
static constexpr auto numeric = [](std::string_view s) {
    return s.find_first_not_of("0123456789") == s.npos;
};
static constexpr const char* name_chars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";

static const char* apply(Policy& p, std::vector<std::string_view>& seen,
                         const std::vector<std::string_view>& words)
{
    std::string_view key = words[0], value = words[1];
    bool principal_key = key == "allow-user" || key == "allow-group";
    auto n = parse_uint(value, 1024);
    auto max = words.size() == 3 ? parse_uint(words[2], 1024) : std::optional<uint32_t>(0);

    if (words.size() != 2 && !(principal_key && words.size() == 3))
        return principal_key ? "expected KEY NAME [MAX]" : "expected KEY VALUE";
    // A user or group: an id ((uid_t)-1 means "unchanged" to the kernel) or a portable name.
    bool principal = numeric(value) ? value == "0" || parse_uint(value, 0xfffffffe)
                                    : value.size() <= 32 && value[0] != '-' &&
                                          value.find_first_not_of(name_chars) == value.npos;
    // The kernel's rule for names (dev_valid_name), and not our prefix; it goes into paths.
    // "all" and "default" name every interface's sysctls, never an interface.
    bool ifname = value.size() <= 15 && value != "." && value != ".." && value != "all" &&
                  value != "default" &&
                  !value.starts_with(if_prefix) && value.find_first_of("/:") == value.npos;
    auto add = [](auto& list, bool valid, auto item) -> const char* {
        bool dup = valid && std::count(list.begin(), list.end(), item);
        return !valid ? "bad value" : dup ? "duplicate entry" : (list.push_back(item), nullptr);
    };
    auto net = parse_net(value);
    auto same_name = [&](const std::vector<Principal>& list) {
        return std::any_of(list.begin(), list.end(), [&](auto& x) { return x.name == value; });
    };

    if (principal_key) {
        auto& list = key == "allow-user" ? p.users : p.groups;
        if (!principal || !max)
            return "bad value";
        if (same_name(list))
            return "duplicate entry";
        list.push_back({std::string(value), *max});
        return nullptr;
    }
    if (key == "uplink")
        return add(p.uplinks, ifname && value != "lo", std::string(value));
    // Not "this network", loopback, link-local, multicast, reserved or broadcast addresses.
    static constexpr Net special[] = {
        {0x00000000, 8}, {0x7f000000, 8}, {0xa9fe0000, 16}, {0xe0000000, 3}};
    auto clash = [&](Net pool) {
        return std::any_of(std::begin(special), std::end(special),
                           [&](Net x) { return overlaps(pool, x); }) ||
               std::any_of(p.pools.begin(), p.pools.end(),
                           [&](Net x) { return x != pool && overlaps(pool, x); });
    };
    if (key == "pool")
        return add(p.pools, net && net->len >= 16 && net->len <= 30 && !clash(*net),
                   net.value_or(Net{}));
    bool number = key == "max-per-user" || key == "max-sandboxes";
    if (!number && key != "forwarding" && key != "host-access" && key != "publish")
        return "unknown key";
    if (std::count(seen.begin(), seen.end(), key))
        return "duplicate key";
    seen.push_back(key);
    if (number ? !n : value != "yes" && value != "no")
        return "bad value";
    if (number)
        (key == "max-per-user" ? p.max_per_user : p.max_sandboxes) = *n;
    else
        (key == "forwarding" ? p.forwarding : key == "publish" ? p.publish : p.host_access) =
            value == "yes";
    return nullptr;
}

ParsedPolicy nsjv::parse_policy(std::string_view text)
{
    Policy policy;
    std::vector<std::string_view> seen;
    unsigned lineno = 0;
    auto control = [](char c) { return iscntrl(c & 0xff) && c != '\t'; };

    if (text.size() > 64 * 1024)
        return {std::nullopt, 0, "file too large"};
    for (size_t pos = 0, end; pos < text.size(); pos = end + 1) {
        end = std::min(text.find('\n', pos), text.size());
        std::string_view line = text.substr(pos, end - pos);
        std::vector<std::string_view> words;
        const char* why = std::any_of(line.begin(), line.end(), control) ? "control character" : 0;
        line = line.substr(0, line.find('#'));
        for (size_t w = 0; (w = line.find_first_not_of(" \t", w)) != line.npos;
             w += words.back().size())
            words.push_back(line.substr(w, line.find_first_of(" \t", w) - w));
        if (!why && words.size() == 1)
            why = "expected KEY VALUE";
        else if (!why && !words.empty())
            why = apply(policy, seen, words);
        if (++lineno; why)
            return {std::nullopt, lineno, why};
    }
    if (policy.pools.empty() || policy.uplinks.empty())
        return {std::nullopt, 0, policy.pools.empty() ? "no pool" : "no uplink"};
    return {std::move(policy), 0, {}};
}

unsigned nsjv::allowance(const Policy& policy, uint32_t uid, const std::vector<uint32_t>& gids,
                         Resolve user, Resolve group)
{
    auto is = [](const std::string& entry, Resolve resolve, uint32_t id) {
        return (numeric(entry) ? std::optional(uint32_t(std::stoul(entry))) : resolve(entry)) == id;
    };
    auto limit = [&](const Principal& e) { return e.max ? e.max : policy.max_per_user; };
    unsigned best = 0;

    for (const Principal& u : policy.users)
        if (is(u.name, user, uid))
            return limit(u);
    for (const Principal& g : policy.groups)
        if (std::any_of(gids.begin(), gids.end(),
                        [&](uint32_t gid) { return is(g.name, group, gid); }))
            best = std::max(best, limit(g));
    return best;
}

// The table depends on the policy only, so every sandbox start writes the same table and
// the rule count never grows per sandbox.
std::vector<RuleSpec> nsjv::table_rules(const Policy& policy)
{
    auto u32 = [](uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
    auto oif = [](std::string name) { return name.resize(16), Cond{Load::oifname, name}; };
    auto iif = [](std::string name) { return name.resize(16), Cond{Load::iifname, name}; };
    const Cond iif_ours{Load::iifname, "nsjv"}, oif_ours{Load::oifname, "nsjv"};
    // ct state: ESTABLISHED is bit 1, RELATED bit 2. From a sandbox, RELATED is never taken:
    // a forged ICMP error is related to whatever flow it quotes, another sandbox's or the
    // host's own, and conntrack would deliver it there.
    const Cond established{Load::ct_state, u32(0), false, 2 | 4};
    const Cond related{Load::ct_state, u32(0), false, 4};
    std::vector<RuleSpec> rules = {
        // No IPv6 at all from sandboxes (NFPROTO_IPV6): router advertisements, DHCPv6, all.
        {"prerouting", {iif_ours, {Load::nfproto, "\x0a"}}, Verdict::drop},
        // A sandbox sends only from addresses routed back through its own interface, and
        // never from the host's (RTN_LOCAL). rp_filter is no help: all.rp_filter=2 wins.
        {"prerouting", {iif_ours, {Load::fib_route_back, u32(0)}}, Verdict::drop},
        {"prerouting", {iif_ours, {Load::fib_addr_type, u32(2)}}, Verdict::drop},
        {"input", {iif_ours, related}, Verdict::drop},
        {"input", {iif_ours, established}, Verdict::accept},
    };

    if (!policy.host_access)
        rules.push_back({"input", {iif_ours}, Verdict::drop});
    // Forwarding makes the host a router: nothing new goes into a sandbox, nor between them.
    rules.push_back({"forward", {iif_ours, related}, Verdict::drop});
    rules.push_back({"forward", {established}, Verdict::accept});
    rules.push_back({"forward", {oif_ours}, Verdict::drop});
    for (const std::string& up : policy.uplinks)
        rules.push_back({"forward", {iif_ours, oif(up)}, Verdict::accept});
    rules.push_back({"forward", {iif_ours}, Verdict::drop});
    // Forwarding on an uplink (for the replies) would route anything arriving there to the
    // host's other networks too: with the helper in charge of forwarding, only sandboxes'.
    for (const std::string& up : policy.uplinks)
        if (policy.forwarding)
            rules.push_back({"forward", {iif(up)}, Verdict::drop});
    for (const Net& pool : policy.pools)
        for (const std::string& up : policy.uplinks)
            rules.push_back({"postrouting",
                             {{Load::nfproto, "\x02"}, // NFPROTO_IPV4
                              {Load::ip_saddr, u32(htonl(pool.addr)), true, htonl(mask(pool.len))},
                              oif(up)},
                             Verdict::masquerade});
    return rules;
}
