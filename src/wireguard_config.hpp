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

// Overwrites every key in config with zeros (explicit_bzero), so that a copy in
// memory does not outlive its use.
void wipe(Config& config);
void wipe(std::string& secret);

// Base64 (standard alphabet, padded) of exactly 32 bytes, as wg(8) writes keys.
std::optional<Key> decode_key(std::string_view base64);
std::string encode_key(const Key& key);

} // namespace nsjv::wireguard
