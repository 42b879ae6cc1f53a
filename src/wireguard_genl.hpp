// WireGuard in the kernel, over generic netlink (libnl-genl): create the device
// and give it a configuration. Used where the kernel has WireGuard; elsewhere the
// launcher runs wireguard-go. The message builder is separate from the socket so
// unit tests can check every attribute without a kernel that has WireGuard.
#pragma once

#include "result.hpp"
#include "wireguard_config.hpp"

#include <string>

struct nl_msg;

namespace nsjv::wireguard::genl {

// Fills msg (allocated by the caller, empty) with one WG_CMD_SET_DEVICE request
// for ifname: private key, listen port, WGDEVICE_F_REPLACE_PEERS, and per peer
// its public key, preshared key, endpoint (sockaddr_in), keepalive,
// WGPEER_F_REPLACE_ALLOWEDIPS and allowed IPs. family is the resolved id of the
// "wireguard" generic netlink family. Returns 0 or a negative NLE_* code.
int build_set_device(nl_msg* msg, int family, const std::string& ifname, const Config& config);

// Fills msg (allocated by the caller, empty) with the RTM_NEWLINK request that
// create_link sends: IFLA_IFNAME and IFLA_LINKINFO with IFLA_INFO_KIND "wireguard",
// NLM_F_CREATE | NLM_F_EXCL. Returns 0 or a negative NLE_* code.
int build_new_link(nl_msg* msg, const std::string& ifname);

// Creates a link of kind "wireguard" named ifname in the calling thread's network
// namespace. Returns 0, or a negative NLE_* code: -NLE_OPNOTSUPP (or
// -NLE_NOATTR/-NLE_INVAL, depending on the kernel) where the kernel has no WireGuard.
int create_link(const std::string& ifname);

// Resolves the family, sends build_set_device's message and waits for the ack.
Result<bool> configure(const std::string& ifname, const Config& config);

} // namespace nsjv::wireguard::genl
