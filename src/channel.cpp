#include "channel.hpp"

#include <cerrno>
#include <sys/socket.h>

namespace nsjv::channel {

std::optional<std::pair<UniqueFd, UniqueFd>> pair()
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return std::nullopt;
    return std::make_pair(UniqueFd(sv[0]), UniqueFd(sv[1]));
}

bool send(int fd, std::string_view message)
{
    ssize_t n;
    do
        n = ::send(fd, message.data(), message.size(), MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(message.size());
}

std::optional<std::string> receive(int fd)
{
    std::string buf(65536, '\0');
    ssize_t n;
    do
        n = ::recv(fd, buf.data(), buf.size(), 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
}

} // namespace nsjv::channel
