// nsjail-vpn-helper's parts. core.cpp is pure (policy, address pool, firewall rules as data;
// unit-tested without privileges). netlink.cpp talks to the kernel; its functions return 0 or
// an errno value, and main, which knows what the user was trying to do, says what failed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

struct mnl_socket;
struct nlmsghdr;

namespace nsjv {

inline constexpr std::string_view if_prefix = "nsjv";
enum Exit { failed = 1, usage = 2, denied = 3, bad_netns = 4, bad_pool = 5 }; // the contract

struct Net { // an IPv4 network, in host byte order
    uint32_t addr = 0;
    unsigned len = 32;
    bool operator==(const Net&) const = default;
};
std::optional<uint32_t> parse_ipv4(std::string_view text);
std::optional<Net> parse_net(std::string_view text); // "a.b.c.d/len", host bits zero

// The command line after argv[0]: exactly "attach", "refresh", "publish NAME", "unpublish
// NAME" or "--version"; anything else is refused. NAME: 1 to 24 of [a-z0-9-], not
// starting with '-' (the launcher's rule for sandbox names).
enum class Command { refused, attach, refresh, publish, unpublish, version };
Command parse_command(int argc, const char* const* argv);
bool valid_name(std::string_view name);
// Where "publish NAME" puts the caller's sandbox for root's tools (ip netns): one entry
// per user and name, the uid in it, so that no user's entry can be another's. The entry
// is a symbolic link to the namespace's mount point of the same name in published_dir,
// which only root can search: root's tools follow it, while no other user can open the
// namespace and so keep it (its veth, its address) after the sandbox ends.
inline constexpr const char* published_dir = "/run/nsjail-vpn-netns";
std::string published_path(uint32_t uid, std::string_view name);
std::string published_target(uint32_t uid, std::string_view name);
std::string format_ipv4(uint32_t addr);
bool overlaps(Net a, Net b);

struct Principal { // "allow-user NAME [MAX]": a name or a numeric id; max 0: max-per-user
    std::string name;
    unsigned max = 0;
    bool operator==(const Principal&) const = default;
};
struct Policy {
    std::vector<Principal> users, groups;
    std::vector<std::string> uplinks;
    std::vector<Net> pools;
    bool forwarding = false, host_access = false, publish = false;
    unsigned max_per_user = 8, max_sandboxes = 64; // per user by default, and on the host
};
struct ParsedPolicy { // a policy, or the first error (line 0: the file as a whole)
    std::optional<Policy> policy;
    unsigned line = 0;
    std::string why;
};
ParsedPolicy parse_policy(std::string_view text);
using Resolve = std::optional<uint32_t> (*)(const std::string& name);
// How many sandboxes the caller may have at once: 0 if none at all. A user's own entry wins;
// else the largest of the entries of the caller's groups.
unsigned allowance(const Policy& policy, uint32_t uid, const std::vector<uint32_t>& gids,
                   Resolve user, Resolve group);

// The host's network state, as far as the pool and the quota depend on it.
struct Link {
    uint32_t index = 0, group = 0;
    std::string name;
};
struct Route {
    uint32_t oif = 0;
    Net dst;
    uint32_t gateway = 0; // or none
};
struct HostNet {
    std::vector<Link> links;
    std::vector<Route> routes; // of all tables, and each address as a /32 on its interface
    std::vector<uint32_t> nameservers;
};
std::vector<uint32_t> parse_resolv_conf(std::string_view text);
struct Plan { // a refusal (an exit code and why), or the host address of a free /31
    int refusal = 0;
    std::string why;
    uint32_t addr = 0;
};
Plan plan(const Policy& policy, const HostNet& host, uint32_t uid, unsigned allowance);

// The project's one nftables table, inet nsjail-vpn: the policy's alone, never per sandbox.
// A condition as nft encodes it: load a field, AND it with a mask if there is one, compare.
enum class Load { iifname, oifname, nfproto, fib_route_back, fib_addr_type, ct_state, ip_saddr };
struct Cond {
    Load load;
    std::string value; // the bytes compared: an interface name is a prefix, or NUL-padded
    bool equal = true;
    uint32_t mask = 0;
};
enum class Verdict { accept, drop, masquerade };
struct RuleSpec {
    const char* chain; // prerouting, input, forward (filter) or postrouting (nat)
    std::vector<Cond> conds;
    Verdict verdict;
};
std::vector<RuleSpec> table_rules(const Policy& policy);

struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    Fd& operator=(Fd o) noexcept { return std::swap(fd, o.fd), *this; }
    ~Fd() { fd < 0 || close(fd); }
    explicit operator bool() const { return fd >= 0; }
};
struct Netlink {
    std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> sock{nullptr, nullptr};
    uint32_t seq = 0;
    int open(int bus);
    using Parse = int (*)(const nlmsghdr* nlh, void* out); // each message of a dump
    int talk(const void* msgs, size_t len, Parse parse = nullptr, void* out = nullptr);
};
int dump_host(Netlink& rt, HostNet& host); // links, IPv4 addresses and routes of all tables
int create_veth(Netlink& rt, const std::string& name, uint32_t group, int netns_fd,
                const char* peer);
int add_address(Netlink& rt, uint32_t index, uint32_t addr, unsigned len);
int set_link(Netlink& rt, uint16_t type, uint32_t index, unsigned up); // RTM_{NEW,DEL}LINK
int ensure_table(Netlink& nf, const Policy& policy);
// Other tables' forward chains that would drop what ours accepts, as "forward-drop FAMILY
// TABLE CHAIN" notes for the launcher to explain. Only read: the helper never changes them.
void find_conflicts(Netlink& nf, std::vector<std::string>& notes);

} // namespace nsjv
