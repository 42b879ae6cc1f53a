// Reading a wg-quick configuration ([Interface], [Peer]) into what the sandbox
// needs: the keys, the tunnel's addresses, DNS and MTU, and each peer with its
// endpoint resolved on the host. Keys that would run commands or change the host
// are refused with the reason; unknown keys are an error with their line. Pure:
// name resolution is passed in.
#pragma once

#include "openvpn_config.hpp"  // Resolver
#include "result.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nsjv::wireguard {

using Key = std::array<uint8_t, 32>;

struct Prefix {
    int family = 0;       // AF_INET or AF_INET6
    std::string address;  // canonical text, "198.18.10.2", "2001:db8::2"
    int length = 0;       // 0..32 or 0..128
    std::string text() const { return address + "/" + std::to_string(length); }
};

struct Peer {
    int line = 0;  // of its [Peer] header
    Key public_key{};
    std::optional<Key> preshared_key;
    std::string endpoint_host;     // as written, "vpn.example.net"; empty without Endpoint
    std::string endpoint_address;  // the IPv4 literal the launcher resolved it to
    uint16_t endpoint_port = 0;
    std::vector<Prefix> allowed_ips;
    unsigned keepalive = 0;  // PersistentKeepalive, seconds; 0 = off
};

struct Config {
    Key private_key{};
    uint16_t listen_port = 0;        // 0 = any
    std::vector<Prefix> addresses;   // Address, with the length written (default /32, /128)
    std::vector<std::string> dns;    // DNS entries that are addresses
    std::vector<std::string> search; // DNS entries that are names (wg-quick's search domains)
    unsigned mtu = 0;                // 0 = not given (the launcher uses 1420)
    std::vector<Peer> peers;
    std::vector<std::string> notices;
};

enum class Kind { openvpn, wireguard };

// A file whose first section header or key line is [Interface] or [Peer]
// (comments and blank lines skipped, any case) is WireGuard; anything else OpenVPN.
Kind detect(std::string_view text);

// Parses and validates; resolves each Endpoint host with resolve (IPv4 only: an
// IPv6 endpoint is refused, names resolved to their first IPv4 address).
Result<Config> parse(std::string_view text, const openvpn::Resolver& resolve);

// wireguard-go's UAPI "set" request for the whole configuration, ending with the
// blank line that submits it: private_key, listen_port, replace_peers, then per
// peer public_key, preshared_key, endpoint, persistent_keepalive_interval,
// replace_allowed_ips, allowed_ip. Keys in lower-case hex.
std::string uapi_set(const Config& config);

// Whether address falls inside one of the peers' AllowedIPs (either family).
bool routed(const Config& config, const std::string& address);

// Where to send the first packet that makes WireGuard start its handshake: the
// first of servers (the sandbox's DNS) that a peer's AllowedIPs covers, else an
// address inside the first IPv4 AllowedIPs; "" if there is no IPv4 route at all.
std::string nudge_target(const Config& config, const std::vector<std::string>& servers);

// Whether a running WireGuard tunnel carries traffic, judged from its counters, since
// WireGuard has no connection that could be seen to drop. A peer that receives data
// answers within 10 s even with nothing to say (WireGuard's passive keepalive), and a
// sender that hears nothing for 15 s starts a new handshake every 5 s: so sending for
// longer than unanswered_limit with nothing received means the peer is gone.
// Keepalives are not answered, so what a look finds sent does not count while it could
// be keepalives alone: a multiple of their 32 bytes, no more than one passive
// keepalive and the persistent ones the config's intervals allow since the last look.
// Data that small still counts once it makes WireGuard send handshake initiations (148
// bytes each).
class Watch {
public:
    enum class Change { none, lost, back };
    static constexpr long unanswered_limit = 20;  // seconds
    static constexpr uint64_t keepalive_bytes = 32;

    Watch() = default;
    explicit Watch(const Config& config);

    // One look at the counters of a UAPI "get" answer (rx_bytes and tx_bytes of every
    // peer), taken at now (seconds on any steady clock).
    Change look(const std::string& get_answer, long now);
    bool down() const { return down_; }

private:
    bool keepalives_only(uint64_t sent, long elapsed) const;

    std::vector<unsigned> keepalives_;  // each peer's PersistentKeepalive, if set
    bool first_ = true, down_ = false;
    uint64_t rx_ = 0, tx_ = 0;
    long last_ = 0;               // when the last look was
    long unanswered_since_ = -1;  // the first look that saw data sent and nothing received
};

// Overwrites every key in config with zeros (explicit_bzero), so that a copy in
// memory does not outlive its use.
void wipe(Config& config);
void wipe(std::string& secret);

// Base64 (standard alphabet, padded) of exactly 32 bytes, as wg(8) writes keys.
std::optional<Key> decode_key(std::string_view base64);
std::string encode_key(const Key& key);

} // namespace nsjv::wireguard
