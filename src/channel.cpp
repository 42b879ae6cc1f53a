#include "channel.hpp"

#include "log.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>

extern char** environ;

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
    // The datagram's size first: a report of many routes may be larger than any fixed
    // buffer, and a truncated one could be read as a different report.
    ssize_t n;
    do
        n = ::recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    if (n <= 0 || n > (16 << 20))
        return std::nullopt;
    std::string buf(static_cast<size_t>(n), '\0');
    ssize_t got;
    do
        got = ::recv(fd, buf.data(), buf.size(), MSG_TRUNC);
    while (got < 0 && errno == EINTR);
    if (got != n)
        return std::nullopt;
    return buf;
}

bool send_fds(int fd, std::string_view message, const std::vector<int>& fds)
{
    if (fds.size() > 8)
        return false;
    iovec iov{const_cast<char*>(message.data()), message.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(8 * sizeof(int))]{};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (!fds.empty()) {
        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
        cmsghdr* c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
        memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
    }
    ssize_t n;
    do
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(message.size());
}

std::optional<std::string> receive_fds(int fd, std::vector<UniqueFd>& fds)
{
    std::string buf(65536, '\0');
    alignas(cmsghdr) char control[CMSG_SPACE(8 * sizeof(int))]{};
    iovec iov{buf.data(), buf.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    ssize_t n;
    do
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    fds.clear();
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int got;
            memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
            fds.emplace_back(got);
        }
    }
    // A message cut short (MSG_TRUNC, MSG_CTRUNC) is not the message that was sent.
    if (n <= 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        fds.clear();
        return std::nullopt;
    }
    buf.resize(static_cast<size_t>(n));
    return buf;
}

int relay_environment(int fd, bool (*wanted)(const std::string& key), const char* argument)
{
    struct stat st {};
    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        log::error("'%s' is run by a VPN client inside a sandbox, not by hand", argument);
        return 1;
    }
    std::string report;
    for (char** e = environ; *e; e++) {
        std::string kv = *e;
        if (wanted(kv.substr(0, kv.find('='))))
            report += kv + '\0';
    }
    if (!send(fd, report))
        return 1;
    // The client waits for us; the supervisor answers once the tunnel is in place.
    auto answer = receive(fd);
    return answer && *answer == "ok" ? 0 : 1;
}

} // namespace nsjv::channel
