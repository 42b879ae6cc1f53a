// Capability sets for the processes the supervisor starts.
#pragma once

namespace nsjv::caps {

// For the VPN client: CAP_NET_ADMIN and nothing else, as an ambient capability so it
// survives exec as a non-root uid; no_new_privs. Returns 0 or -errno.
int keep_only_net_admin();

// For the app: no capability in any set, an empty bounding set, no_new_privs.
int drop_all();

} // namespace nsjv::caps
