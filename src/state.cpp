#include "state.hpp"

#include "sys.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

namespace nsjv::state {

namespace {

// A directory of ours that no one else can write into.
bool private_dir(const std::string& path)
{
    struct stat st {};
    return lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid() &&
           (st.st_mode & 022) == 0;
}

} // namespace

bool valid_name(const std::string& name)
{
    if (name.empty() || name.size() > 24 || name[0] == '-')
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

Result<std::string> directory()
{
    std::string base;
    const char* xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && xdg[0] == '/' && private_dir(xdg))
        base = xdg;
    else if (std::string run = "/run/user/" + std::to_string(getuid()); private_dir(run))
        base = run;
    else
        return fail("no private runtime directory for named sandboxes: set XDG_RUNTIME_DIR to a "
                    "directory that is yours and that no one else can write (pam_systemd sets "
                    "it at login to /run/user/" + std::to_string(getuid()) + ")");
    std::string dir = base + "/nsjail-vpn";
    if (mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST)
        return fail("cannot create '" + dir + "': " + sys::why(errno));
    struct stat st {};
    if (lstat(dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid())
        return fail("'" + dir + "' is not a directory of yours: remove it");
    if ((st.st_mode & 077) != 0 && chmod(dir.c_str(), 0700) < 0 && errno == EROFS)
        return fail("'" + dir + "' is hidden here: this is inside a sandbox, and sandboxes "
                    "are listed and driven from outside");
    if ((st.st_mode & 077) != 0 && chmod(dir.c_str(), 0700) < 0)
        return fail("cannot make '" + dir + "' private: " + sys::why(errno));
    return dir;
}

std::vector<std::string> candidates()
{
    std::vector<std::string> out;
    const char* xdg = getenv("XDG_RUNTIME_DIR");
    for (std::string base : {std::string(xdg && xdg[0] == '/' ? xdg : ""),
                             "/run/user/" + std::to_string(getuid())}) {
        struct stat st {};
        std::string dir = base + "/nsjail-vpn";
        if (!base.empty() && lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
            std::find(out.begin(), out.end(), dir) == out.end())
            out.push_back(dir);
    }
    return out;
}

std::string socket_path(const std::string& dir, const std::string& name)
{
    return dir + "/" + name + ".sock";
}

std::string json_path(const std::string& dir, const std::string& name)
{
    return dir + "/" + name + ".json";
}

std::string lock_path(const std::string& dir, const std::string& name)
{
    return dir + "/" + name + ".lock";
}

int write_atomic(const std::string& path, const std::string& text)
{
    std::string tmp = path + ".new";
    UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd)
        return -errno;
    if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        fsync(fd.get()) < 0) {
        int err = errno ? errno : EIO;
        unlink(tmp.c_str());
        return -err;
    }
    if (rename(tmp.c_str(), path.c_str()) < 0) {
        int err = errno;
        unlink(tmp.c_str());
        return -err;
    }
    return 0;
}

std::vector<std::string> names(const std::string& dir)
{
    std::vector<std::string> out;
    DIR* d = opendir(dir.c_str());
    if (!d)
        return out;
    while (dirent* e = readdir(d)) {
        std::string f = e->d_name;
        // A lock or description without a socket is a launcher starting, or one killed
        // before it listened: listed too, so that ls tells which and clears the second.
        for (const char* ext : {".sock", ".json", ".lock"}) {
            size_t n = strlen(ext);
            if (f.size() > n && f.ends_with(ext) && valid_name(f.substr(0, f.size() - n)))
                out.push_back(f.substr(0, f.size() - n));
        }
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

int connect(const std::string& dir, const std::string& name, UniqueFd& out)
{
    std::string path = socket_path(dir, name);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (path.size() >= sizeof sun.sun_path)
        return -ENAMETOOLONG;
    path.copy(sun.sun_path, path.size());
    UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!fd)
        return -errno;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0)
        return -errno;
    ucred peer{};
    socklen_t len = sizeof peer;
    if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 || peer.uid != getuid() ||
        !same_userns(peer.pid))
        return -EPERM;
    out = std::move(fd);
    return 0;
}

bool same_userns(pid_t pid)
{
    struct stat ours {}, theirs {};
    std::string ns = "/proc/" + std::to_string(pid) + "/ns/user";
    return stat("/proc/self/ns/user", &ours) == 0 && stat(ns.c_str(), &theirs) == 0 &&
           ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev;
}

int lock(const std::string& dir, const std::string& name, UniqueFd& out)
{
    std::string path = lock_path(dir, name);
    for (int tries = 0; tries < 100; tries++) {
        UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd)
            return -errno;
        if (flock(fd.get(), LOCK_EX | LOCK_NB) < 0)
            return -errno;
        // Its last holder may have removed the file on the way out: a lock on a file that
        // is no longer at the path guards nothing, so take the one there now.
        struct stat held {}, now {};
        if (fstat(fd.get(), &held) == 0 && stat(path.c_str(), &now) == 0 &&
            held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
            out = std::move(fd);
            return 0;
        }
    }
    return -EAGAIN;
}

void remove(const std::string& dir, const std::string& name)
{
    unlink(socket_path(dir, name).c_str());
    unlink(json_path(dir, name).c_str());
    unlink(lock_path(dir, name).c_str());  // last: the name is free from here
}

} // namespace nsjv::state
