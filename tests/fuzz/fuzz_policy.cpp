// libFuzzer target: the helper's policy file and what is derived from it (helper/core.cpp):
// parse_policy, and for a valid policy allowance, table_rules and plan; parse_resolv_conf.
//
// Input: the policy text; after a NUL byte, optionally, the host as the helper would have
// dumped it, one item a line:
//   link NAME [GROUP]          (interface index = its line among the links, from 1)
//   route NET [OIF [GATEWAY]]  (NET is a.b.c.d/len)
//   nameserver ADDRESS         (read with parse_resolv_conf, as /etc/resolv.conf is)
#include "core.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

using namespace nsjv;

namespace {

// The test bed's users and group: everything else is unknown.
std::optional<uint32_t> user(const std::string& name)
{
    return name == "nsjvtest1" ? std::optional(64001u) : name == "root" ? std::optional(0u)
                                                                         : std::nullopt;
}
std::optional<uint32_t> group(const std::string& name)
{
    return name == "nsjvsupp" ? std::optional(64100u) : std::nullopt;
}

HostNet host_from(std::string_view text)
{
    HostNet host;
    host.nameservers = parse_resolv_conf(text);
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line) && host.links.size() + host.routes.size() < 64;) {
        std::istringstream words(line);
        std::string kind, a, b, c;
        words >> kind >> a >> b >> c;
        if (kind == "link" && !a.empty()) {
            host.links.push_back({uint32_t(host.links.size() + 1),
                                  uint32_t(std::strtoul(b.c_str(), nullptr, 10)), a});
        } else if (kind == "route") {
            if (auto net = parse_net(a))
                host.routes.push_back({uint32_t(std::strtoul(b.c_str(), nullptr, 10)), *net,
                                       parse_ipv4(c).value_or(0)});
        }
    }
    return host;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view text = in.substr(0, in.find('\0'));
    std::string_view host_text = text.size() < in.size() ? in.substr(text.size() + 1) : "";

    parse_resolv_conf(in);
    ParsedPolicy parsed = parse_policy(text);
    if (!parsed.policy)
        return 0;
    const Policy& policy = *parsed.policy;
    if (table_rules(policy).empty()) {
        fprintf(stderr, "fuzz property: a valid policy gives an empty table\n");
        abort();
    }
    allowance(policy, 0, {}, user, group);
    unsigned allowed = allowance(policy, 64001, {64001, 64100}, user, group);

    Plan p = plan(policy, host_from(host_text), 64001, allowed);
    if (p.refusal)
        return 0;
    // A granted address is the even host end of a /31 inside one of the pools.
    bool in_pool = false;
    for (const Net& pool : policy.pools)
        in_pool = in_pool || overlaps(pool, {p.addr & ~1u, 31});
    if (!in_pool || (p.addr & 1) || allowed == 0) {
        fprintf(stderr, "fuzz property: plan granted %s (allowance %u), not the even end of a /31 "
                        "in a pool\n", format_ipv4(p.addr).c_str(), allowed);
        abort();
    }
    return 0;
}
