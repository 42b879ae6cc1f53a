#include "caps.hpp"

#include <cerrno>
#include <memory>
#include <sys/capability.h>
#include <sys/prctl.h>

namespace nsjv::caps {

namespace {

struct CapFree {
    void operator()(cap_t c) const { cap_free(c); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

// Dropping from the bounding set needs CAP_SETPCAP, so it comes before the
// permitted set is reduced.
int drop_bounding_except(int keep)
{
    for (int c = 0; c <= CAP_LAST_CAP; c++)
        if (c != keep && cap_drop_bound(c) < 0 && errno != EINVAL)
            return -errno;
    return 0;
}

} // namespace

int keep_only_net_admin()
{
    const cap_value_t net_admin[] = {CAP_NET_ADMIN};
    CapPtr c(cap_init());

    if (int err = drop_bounding_except(CAP_NET_ADMIN))
        return err;
    if (!c || cap_set_flag(c.get(), CAP_PERMITTED, 1, net_admin, CAP_SET) < 0 ||
        cap_set_flag(c.get(), CAP_EFFECTIVE, 1, net_admin, CAP_SET) < 0 ||
        cap_set_flag(c.get(), CAP_INHERITABLE, 1, net_admin, CAP_SET) < 0)
        return -EINVAL;
    if (cap_set_proc(c.get()) < 0)
        return -errno;
    // Ambient needs the capability permitted and inheritable first. One CLEAR_ALL, not
    // libcap's cap_reset_ambient(), which asks about every capability in turn.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN, 0, 0) < 0)
        return -errno;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    return 0;
}

int drop_all()
{
    CapPtr none(cap_init());

    if (int err = drop_bounding_except(-1))
        return err;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        return -errno;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    if (!none || cap_set_proc(none.get()) < 0)
        return -errno;
    return 0;
}

} // namespace nsjv::caps
