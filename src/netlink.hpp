// Link, address and route work inside the sandbox's namespaces, through libnl.
// A Netlink object talks to the network namespace it was created in, for its
// whole life, whatever namespace the calling thread is in later.
#pragma once

#include "result.hpp"

#include <memory>
#include <string>
#include <vector>

struct nl_sock;

namespace nsjv::netlink {

struct Address {
    int family = 0;
    std::string local;  // "198.18.8.2/24"
    std::string peer;   // for point-to-point addresses, else empty
};

struct Route {
    int family = 0;
    std::string dst;      // "0.0.0.0/1", "default"
    std::string gateway;  // empty for a device route
    unsigned priority = 0;
    unsigned table = 0;
    int scope = 0;
    int protocol = 0;
    int type = 0;
};

// Everything about a tunnel interface that moving it to another namespace loses.
struct Tunnel {
    std::string name;
    unsigned mtu = 0;
    std::vector<Address> addresses;
    std::vector<Route> routes;
    bool has_ipv6() const;
};

class Socket {
public:
    static Result<Socket> open();

    int set_up(const std::string& ifname);
    int add_address(const std::string& ifname, const std::string& local, const std::string& peer);
    int add_route(const Route& route, const std::string& ifname);

    Result<Tunnel> capture(const std::string& ifname);
    int move(const std::string& ifname, int netns_fd);
    // Addresses first (their subnet routes follow), then the routes, in the order captured.
    Result<bool> replay(const Tunnel& tunnel);

private:
    int index(const std::string& ifname);

    struct Free {
        void operator()(nl_sock* sk) const;
    };
    std::unique_ptr<nl_sock, Free> sk_;
};

// libnl's text for a negative NLE_* code.
std::string why(int err);

} // namespace nsjv::netlink
