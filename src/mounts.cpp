#include "mounts.hpp"

#include "fd.hpp"
#include "sys.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

namespace nsjv::mounts {

namespace {

int write_at(int dir, const char* name, const std::string& content)
{
    UniqueFd fd(openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd)
        return -errno;
    if (write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
        return -EIO;
    return 0;
}

UniqueFd detached_tmpfs(const char* mode, unsigned extra_attrs = 0)
{
    UniqueFd fs(fsopen("tmpfs", FSOPEN_CLOEXEC));
    if (!fs)
        return fs;
    if (fsconfig(fs.get(), FSCONFIG_SET_STRING, "mode", mode, 0) < 0 ||
        fsconfig(fs.get(), FSCONFIG_SET_STRING, "size", "1m", 0) < 0 ||
        fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
        return UniqueFd();
    return UniqueFd(
        fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | extra_attrs));
}

} // namespace

Result<bool> make_private_with_proc()
{
    // Slave, not private: the sandbox still sees what the host mounts later (a USB
    // disk), but nothing we mount here reaches the host.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0)
        return fail("cannot make the mount namespace private: " + sys::why(errno));
    // hidepid=invisible: a process sees in /proc only those it could ptrace. The app,
    // with no capabilities, so sees its own processes but neither the supervisor nor
    // the VPN client (more capabilities than its own): not their command lines (which
    // may hold a --vpn-cmd client's secrets), nor OUTER's routes and sockets through
    // /proc/PID/net.
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible") < 0)
        return fail("cannot mount /proc for the sandbox: " + sys::why(errno));
    return true;
}

Result<UniqueFd> overlay_etc(const EtcFiles& files)
{
    UniqueFd top = detached_tmpfs("0755");
    if (!top)
        return fail("cannot create a tmpfs for /etc: " + sys::why(errno));
    if (mkdirat(top.get(), "upper", 0755) < 0 || mkdirat(top.get(), "work", 0700) < 0)
        return fail("cannot prepare the /etc overlay: " + sys::why(errno));

    UniqueFd upper(openat(top.get(), "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    // hosts is a snapshot so it, too, survives a rename on the host.
    auto hosts = sys::read_file("/etc/hosts").value_or("127.0.0.1\tlocalhost\n");
    int err = 0;
    if ((err = write_at(upper.get(), "resolv.conf", files.resolv_conf)) < 0 ||
        (err = write_at(upper.get(), "nsswitch.conf", files.nsswitch_conf)) < 0 ||
        (err = write_at(upper.get(), "hosts", hosts)) < 0)
        return fail("cannot write the sandbox's /etc files: " + sys::why(err));

    std::string self = "/proc/self/fd/" + std::to_string(top.get());
    std::string options = "lowerdir=/etc,upperdir=" + self + "/upper,workdir=" + self +
                          "/work,userxattr";
    if (mount("overlay", "/etc", "overlay", MS_NOSUID | MS_NODEV, options.c_str()) < 0)
        return fail("cannot mount an overlay on /etc: " + sys::why(errno));
    return top;
}

Result<bool> hide(const std::string& dir)
{
    struct stat st {};
    if (lstat(dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
        return true;
    UniqueFd empty = detached_tmpfs("0555", MOUNT_ATTR_RDONLY);
    if (!empty || move_mount(empty.get(), "", AT_FDCWD, dir.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return fail("cannot hide '" + dir + "': " + sys::why(errno));
    return true;
}

Result<bool> hide_host_resolvers()
{
    for (const char* dir : {"/run/systemd/resolve", "/run/nscd", "/var/run/nscd",
                            "/run/avahi-daemon", "/var/run/avahi-daemon"})
        if (auto ok = hide(dir); !ok)
            return ok;
    return true;
}

} // namespace nsjv::mounts
