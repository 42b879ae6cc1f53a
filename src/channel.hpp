// Messages between the launcher and the supervisor, and between the supervisor
// and OpenVPN's route-up hook: one datagram each over SOCK_SEQPACKET, so message
// boundaries are kept and a dead peer reads as end of file.
#pragma once

#include "fd.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nsjv::channel {

std::optional<std::pair<UniqueFd, UniqueFd>> pair();
bool send(int fd, std::string_view message);
// nullopt: the peer is gone (or the socket failed).
std::optional<std::string> receive(int fd);

// The same, with file descriptors attached (SCM_RIGHTS): up to 8.
bool send_fds(int fd, std::string_view message, const std::vector<int>& fds);
std::optional<std::string> receive_fds(int fd, std::vector<UniqueFd>& fds);

// main() of a hook a VPN client runs (OpenVPN's route-up, a vpnc-script) with the
// channel inherited as fd: sends the environment variables wanted() accepts, as
// NUL-separated "KEY=VALUE" strings, and waits for the supervisor's "ok". Only those
// cross: nothing else of the client's environment, which may hold the user's.
int relay_environment(int fd, bool (*wanted)(const std::string& key), const char* argument);

} // namespace nsjv::channel
