// Messages between the launcher and the supervisor, and between the supervisor
// and OpenVPN's route-up hook: one datagram each over SOCK_SEQPACKET, so message
// boundaries are kept and a dead peer reads as end of file.
#pragma once

#include "fd.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace nsjv::channel {

std::optional<std::pair<UniqueFd, UniqueFd>> pair();
bool send(int fd, std::string_view message);
// nullopt: the peer is gone (or the socket failed).
std::optional<std::string> receive(int fd);

} // namespace nsjv::channel
