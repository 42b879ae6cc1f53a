// nsjail-vpn-helper, the only privileged code of nsjail-vpn. Its contract with the launcher is
// nsjail-vpn-helper(8); every input it takes and the defence for each are in SECURITY.md.
#include "core.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <pwd.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>

using namespace nsjv;

constexpr int netns_fd = 3, sys = -1; // sys: check() reports errno
constexpr const char *peer_name = "eth0", *lock_path = "/run/nsjail-vpn-helper.lock";
constexpr ino_t init_userns_ino = 0xEFFFFFFD; // PROC_USER_INIT_INO, fixed by the kernel
static_assert(NSJV_POLICY_PATH[0] == '/', "the policy path must be absolute");
static Netlink* undo_rt; // set once the veth exists: every failure then removes it again
static uint32_t undo_index;
static int lock_fd = -1; // held from planning to the last change; never while writing

// Unless ok: says why, once, where it was decided (err: an errno value, sys or 0), and exits.
__attribute__((format(printf, 4, 5))) static void check(bool ok, int code, int err, const char* fmt,
                                                        ...)
{
    char msg[576]; // room for the note below
    va_list ap;
    if (ok)
        return;
    err = err == sys ? errno : err;
    va_start(ap, fmt);
    vsnprintf(msg, 512, fmt, ap);
    va_end(ap);
    if (undo_rt && set_link(*undo_rt, RTM_DELLINK, undo_index, 0) != 0)
        strcat(msg, " (and the veth could not be removed)");
    if (lock_fd >= 0) // a caller that never reads our stderr must not keep others waiting
        close(lock_fd);
    dprintf(STDERR_FILENO, "nsjail-vpn-helper: %s%s%s\n", msg, err ? ": " : "",
            err ? strerror(err) : "");
    _exit(code);
}

static void sanitize()
{
    static char* no_env[] = {nullptr};
    struct sigaction dfl = {};
    sigset_t none = {};

    clearenv();
    environ = no_env;
    for (int fd = 0; fd < netns_fd; ++fd)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
            _exit(failed); // with nowhere to say so
    // An interval timer and pending signals survive execve: disarm the one, and discard the
    // others by ignoring every signal once, before the defaults are back and the mask is open.
    const itimerval off = {};
    for (int timer : {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF})
        setitimer(timer, &off, nullptr);
    for (auto handler : {SIG_IGN, SIG_DFL}) {
        dfl.sa_handler = handler;
        for (int sig = 1; sig < NSIG; ++sig)
            sigaction(sig, &dfl, nullptr); // SIGKILL and SIGSTOP refuse: nothing to reset there
    }
    // A terminal's job-control signals are not checked against our uid: a caller's Ctrl-Z
    // would stop us holding the lock. SIGSTOP needs the caller's uid, gone from step 3 on.
    dfl.sa_handler = SIG_IGN;
    for (int sig : {SIGTSTP, SIGTTIN, SIGTTOU})
        sigaction(sig, &dfl, nullptr);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    umask(022);
    check(close_range(netns_fd + 1, ~0U, 0) == 0 && chdir("/") == 0 &&
              prctl(PR_SET_DUMPABLE, 0) == 0,
          failed, sys, "cannot set up a clean process state");
}

// Root in full: the caller can no longer signal, ptrace or limit us with its own uid.
static std::vector<gid_t> become_root()
{
    int n = getgroups(0, nullptr);
    std::vector<gid_t> gids(size_t(std::max(n, 0)) + 1, getgid());

    check(n >= 0 && getgroups(n, gids.data() + 1) == n, failed, sys, "cannot read the groups");
    check(setgroups(0, nullptr) == 0 && setresgid(0, 0, 0) == 0 && setresuid(0, 0, 0) == 0, failed,
          sys, "cannot become root (is the helper installed setuid root?)");
    // Without CAP_SYS_RESOURCE (a container) no hard limit can be raised: then the soft one
    // is lifted to it, and only a hard limit too low to finish with is refused.
    for (int res : {RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_AS, RLIMIT_NOFILE}) {
        rlim_t want = res == RLIMIT_NOFILE ? 1024 : RLIM_INFINITY;
        rlim_t need = res == RLIMIT_NOFILE  ? 16
                      : res == RLIMIT_CPU   ? 10
                      : res == RLIMIT_FSIZE ? 1 << 20 // it writes sysctl files only
                                            : 256 << 20;
        rlimit lim = {want, want};
        if (setrlimit(res, &lim) != 0 && getrlimit(res, &lim) == 0)
            lim.rlim_cur = lim.rlim_max;
        check(setrlimit(res, &lim) == 0 && lim.rlim_cur >= need, failed, 0,
              "the caller's limit on %s is too low to run the helper",
              res == RLIMIT_CPU      ? "CPU time (ulimit -t)"
              : res == RLIMIT_FSIZE  ? "file size (ulimit -f)"
              : res == RLIMIT_NOFILE ? "open files (ulimit -n)"
                                     : "memory (ulimit -d, -v)");
    }
    // Nor may the caller's scheduling (SCHED_IDLE, nice 19, one CPU it keeps busy) or a cgroup
    // it owns and can freeze or throttle (systemd delegates a user's subtree) stall us while
    // others wait for the lock. Leaving the caller's cgroup is best effort: without cgroup2
    // at /sys/fs/cgroup there is none of the caller's to leave.
    const sched_param normal = {};
    cpu_set_t all;
    memset(&all, 0xff, sizeof(all));
    struct statfs fs;
    Fd procs(open("/sys/fs/cgroup/cgroup.procs", O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    check(sched_setscheduler(0, SCHED_OTHER, &normal) == 0 &&
              setpriority(PRIO_PROCESS, 0, 0) == 0 &&
              syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, 0) == 0 &&
              sched_setaffinity(0, sizeof(all), &all) == 0,
          failed, sys, "cannot reset the scheduling the caller set");
    if (procs && fstatfs(procs.fd, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
        (void)!write(procs.fd, "0", 1); // "0": the writer itself, into the root cgroup
    return gids;
}

// One read of up to 64 KiB and a byte more (a longer file shows as such): both files read
// with it are regular files, whose reads are not cut short.
static int read_all(const Fd& f, std::string& out)
{
    out.resize(64 * 1024 + 1);
    ssize_t n = f ? read(f.fd, out.data(), out.size()) : -1;
    out.resize(size_t(std::max(n, ssize_t(0))));
    return n < 0 ? errno : 0;
}

// Opens the policy from "/" one component at a time, refusing symlinks and anything not
// root's alone (a sticky directory such as /tmp will do: in it, only the owner of an entry
// can rename or remove it), so what is checked is what is read.
static Policy load_policy(uid_t uid)
{
    std::string_view rest = NSJV_POLICY_PATH + 1;
    Fd at(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    std::string text;
    auto trusted = [](const Fd& f, bool dir) {
        struct stat st;
        check(f || errno != ENOENT, denied, 0, "refused: no helper policy '%s'", NSJV_POLICY_PATH);
        check(f && fstat(f.fd, &st) == 0 && st.st_uid == 0 &&
                  (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)) &&
                  (!(st.st_mode & 022) || (dir && (st.st_mode & S_ISVTX))),
              denied, 0, "refused: the helper policy or a directory above it is not root's alone");
    };

    for (size_t slash; (slash = rest.find('/')) != rest.npos; rest.remove_prefix(slash + 1)) {
        trusted(at, true);
        at = Fd(openat(at.fd, std::string(rest.substr(0, slash)).c_str(),
                       O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }
    trusted(at, true);
    Fd file(
        openat(at.fd, std::string(rest).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    trusted(file, false);
    int err = read_all(file, text);
    ParsedPolicy parsed = parse_policy(text);
    check(!err, denied, err, "refused: cannot read the helper policy");
    // The reason points into the file: only for a caller who may read it anyway.
    check(parsed.policy || uid != 0, denied, 0,
          "refused: the helper policy is invalid: line %u: %s", parsed.line, parsed.why.c_str());
    check(bool(parsed.policy), denied, 0, "refused: the helper policy is invalid");
    return *parsed.policy;
}

// A network namespace the caller could have made without us: of a user namespace that the
// caller owns and that is not the host's (the helper's own, which must be the initial one).
static void check_netns(uid_t uid)
{
    struct statfs fs;
    struct stat ns, net, user, own_user;
    uid_t owner = 0;
    auto same = [](const struct stat& a, const struct stat& b) {
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    };

    check(stat("/proc/self/ns/net", &net) == 0 && stat("/proc/self/ns/user", &own_user) == 0,
          failed, sys, "cannot inspect the helper's own namespaces");
    check(own_user.st_ino == init_userns_ino, bad_netns, 0,
          "refused: not run from the initial user namespace");
    check(fstatfs(netns_fd, &fs) == 0 && fs.f_type == NSFS_MAGIC && fstat(netns_fd, &ns) == 0 &&
              ioctl(netns_fd, NS_GET_NSTYPE) == CLONE_NEWNET && !same(ns, net),
          bad_netns, 0, "refused: fd 3 is not a sandbox's network namespace");
    Fd userns(ioctl(netns_fd, NS_GET_USERNS));
    check(userns && fstat(userns.fd, &user) == 0 && !same(user, own_user), bad_netns, 0,
          "refused: the network namespace on fd 3 belongs to the host, not a sandbox");
    check(ioctl(userns.fd, NS_GET_OWNER_UID, &owner) == 0 && owner == uid, bad_netns, 0,
          "refused: the network namespace on fd 3 is not the caller's");
}

static unsigned allowance_of(const Policy& policy, uid_t uid, const std::vector<gid_t>& gids)
{
    auto user_id = [](const std::string& name) {
        const passwd* pw = getpwnam(name.c_str());
        return pw ? std::optional(pw->pw_uid) : std::nullopt;
    };
    auto group_id = [](const std::string& name) {
        const group* gr = getgrnam(name.c_str());
        return gr ? std::optional(gr->gr_gid) : std::nullopt;
    };
    return allowance(policy, uid, gids, user_id, group_id);
}

// Steps 8 to 11. One RTM_NEWLINK creates both ends, the peer right in the sandbox, and stamps
// the owner into the host end's group, so quotas are counted from the kernel's own state; the
// kernel names it from "nsjv%d" (the smallest free number, never raced for), and ours is the
// one link not there before. Then the order keeps the host safe at each point: IPv6 is off
// before the link can go up (or the sandbox could send the host router advertisements), the
// table exists before forwarding is on (or the first sandbox would forward without rules),
// and up comes last.
static std::string attach(Netlink& rt, Netlink& nf, const Policy& policy, uid_t uid,
                          unsigned allowance, uint32_t& addr)
{
    HostNet host, now;
    std::string resolv, name;
    auto sysctl = [&](const std::string& key, const char* value, bool optional) {
        std::string path = "/proc/sys/net/" + key;
        Fd f(open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
        check((!f && optional && errno == ENOENT) ||
                  (f && write(f.fd, value, strlen(value)) == ssize_t(strlen(value))),
              failed, sys, "cannot set '%s'", path.c_str());
    };
    int err = read_all(Fd(open("/etc/resolv.conf", O_RDONLY | O_NONBLOCK | O_CLOEXEC)), resolv);

    check(!err || err == ENOENT, failed, err, "cannot read '/etc/resolv.conf'");
    host.nameservers = parse_resolv_conf(resolv);
    err = rt.open(NETLINK_ROUTE);
    err = err ? err : nf.open(NETLINK_NETFILTER);
    err = err ? err : dump_host(rt, host);
    check(!err, failed, err, "cannot read the host's links, addresses and routes");
    Plan p = plan(policy, host, uid, allowance);
    check(!p.refusal, p.refusal, 0, "%s", p.why.c_str());
    addr = p.addr;

    err = create_veth(rt, std::string(if_prefix) + "%d", uid, netns_fd, peer_name);
    check(!err, err == EEXIST ? bad_netns : failed, err, "cannot create the veth pair%s",
          err == EEXIST ? " (is there an eth0 in the sandbox already?)" : "");
    err = dump_host(rt, now);
    for (const Link& l : now.links)
        if (l.name.starts_with(if_prefix) &&
            std::none_of(host.links.begin(), host.links.end(),
                         [&](const Link& old) { return old.index == l.index; })) {
            undo_index = l.index;
            name = l.name;
        }
    undo_rt = undo_index ? &rt : nullptr;
    check(!err && undo_index, failed, err ? err : ENODEV, "cannot find the new veth");

    sysctl("ipv6/conf/" + name + "/disable_ipv6", "1", true); // absent: no IPv6 in the kernel
    sysctl("ipv6/conf/" + name + "/accept_ra", "0", true);
    err = add_address(rt, undo_index, addr, 31);
    check(!err, failed, err, "cannot add the address of '%s'", name.c_str());
    err = ensure_table(nf, policy);
    check(!err, failed, err, "cannot set up the nftables table 'inet nsjail-vpn'");
    for (size_t i = 0; policy.forwarding && i <= policy.uplinks.size(); ++i) // absent: skip
        sysctl("ipv4/conf/" + (i ? policy.uplinks[i - 1] : name) + "/forwarding", "1", i > 0);
    err = set_link(rt, RTM_NEWLINK, undo_index, IFF_UP);
    check(!err, failed, err, "cannot set '%s' up", name.c_str());
    return name;
}

// "refresh": an uplink of the policy that appeared after the sandboxes started (a dock, a
// Wi-Fi that came back) gets forwarding, for the replies, as attach gives the ones present.
// Nothing is created: the table is ensured first, as attach does, and only sysctls the
// policy names are written.
static void refresh(Netlink& nf, const Policy& policy)
{
    if (!policy.forwarding)
        return;
    int err = nf.open(NETLINK_NETFILTER);
    err = err ? err : ensure_table(nf, policy);
    check(!err, failed, err, "cannot set up the nftables table 'inet nsjail-vpn'");
    for (const std::string& up : policy.uplinks) {
        std::string path = "/proc/sys/net/ipv4/conf/" + up + "/forwarding";
        Fd f(open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
        check((!f && errno == ENOENT) || (f && write(f.fd, "1", 1) == 1), failed, sys,
              "cannot set '%s'", path.c_str());
    }
}

// A directory of root's alone (made with mode if missing): where published entries live.
static void root_dir(const char* path, mode_t mode, mode_t forbidden)
{
    check(mkdir(path, mode) == 0 || errno == EEXIST, failed, sys, "cannot create '%s'", path);
    struct stat st;
    check(lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 &&
              (st.st_mode & forbidden) == 0,
          failed, 0, "refused: %s is not a directory of root's alone", path);
}

// Takes away a mount point in published_dir: the namespace on it, then the file.
static void drop_target(const std::string& target)
{
    umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW); // EINVAL: nothing mounted
    check(unlink(target.c_str()) == 0 || errno == ENOENT, failed, sys,
          "cannot remove the entry in %s", published_dir);
}

// "publish NAME": fd 3 (checked as for attach) bind-mounted at published_target(), which
// published_path() in /run/netns links to, for root's tools (`ip netns exec`, `ss -N`).
// The link comes first, so that a publish killed half-way leaves something unpublish
// finds. Never over an existing entry; at most the caller's allowance of entries, since
// each pins a namespace until unpublished.
static void publish(uid_t uid, const char* name, unsigned allowance)
{
    std::string path = published_path(uid, name), target = published_target(uid, name);
    std::string mine = "nsjv-" + std::to_string(uid) + "-";
    unsigned entries = 0;
    if (DIR* d = opendir("/run/netns")) {
        while (dirent* e = readdir(d))
            entries += std::string_view(e->d_name).starts_with(mine);
        closedir(d);
    }
    check(entries < allowance, denied, 0, "refused: limit reached: %u published at once for "
          "this user", allowance);
    root_dir("/run/netns", 0755, 022);
    root_dir(published_dir, 0700, 077);
    if (symlink(target.c_str(), path.c_str()) != 0) {
        check(errno != EEXIST, denied, 0, "refused: the name is taken in /run/netns");
        check(false, failed, sys, "cannot create the entry in /run/netns");
    }
    drop_target(target); // a leftover of `ip netns delete`, which removes only the link
    Fd point(open(target.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0));
    if (!point || mount("/proc/self/fd/3", target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        int err = errno;
        unlink(target.c_str());
        unlink(path.c_str());
        check(false, failed, err, "cannot bind the sandbox's namespace in %s", published_dir);
    }
}

// Whether fd is a network namespace the caller's user namespace owns.
static bool callers_netns(int fd, uid_t uid)
{
    Fd userns(ioctl(fd, NS_GET_USERNS));
    uid_t owner = 0;
    return ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET && userns &&
           ioctl(userns.fd, NS_GET_OWNER_UID, &owner) == 0 && owner == uid;
}

// "unpublish NAME": the caller's entry, only if it is what publish makes: a link to its
// mount point holding a network namespace the caller's user namespace owns, or holding
// nothing (a publish killed half-way); or, from a helper before the links, such a mount
// point in /run/netns itself.
static void unpublish(uid_t uid, const char* name)
{
    std::string path = published_path(uid, name), target = published_target(uid, name);
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
        check(errno != ENOENT, denied, 0, "refused: no such entry in /run/netns");
        check(false, failed, sys, "cannot inspect the entry in /run/netns");
    }
    bool linked = S_ISLNK(st.st_mode);
    if (linked) {
        char to[PATH_MAX];
        ssize_t n = readlink(path.c_str(), to, sizeof to - 1);
        check(n > 0 && target == std::string_view(to, static_cast<size_t>(n)), denied, 0,
              "refused: the entry in /run/netns is not a published sandbox");
    }
    const std::string& point = linked ? target : path;
    Fd entry(open(point.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    check(entry || errno == ENOENT, failed, sys, "cannot open the entry");
    struct statfs fs;
    bool empty = false;
    if (entry) {
        check(fstatfs(entry.fd, &fs) == 0 && fstat(entry.fd, &st) == 0, failed, sys,
              "cannot inspect the entry");
        empty = fs.f_type != NSFS_MAGIC;
        check(!empty || (S_ISREG(st.st_mode) && st.st_size == 0 && st.st_uid == 0), denied, 0,
              "refused: the entry in /run/netns is not a published sandbox");
        check(empty || callers_netns(entry.fd, uid), denied, 0,
              "refused: the entry in /run/netns is not the caller's");
    }
    entry = Fd();
    if (linked) {
        drop_target(target);
    } else if (!empty) {
        check(umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0, failed, sys,
              "cannot unmount the entry in /run/netns");
    }
    check(unlink(path.c_str()) == 0, failed, sys, "cannot remove the entry in /run/netns");
}

int main(int argc, char** argv)
{
    // Order of operations. Nothing on the host changes before step 9; every failure after it
    // removes the veth again.
    //  1. Clear the environment, open fds 0-2, close all but 0-3, reset timers and
    //     signals, umask 022, cwd "/", not dumpable: nothing the caller set up reaches on.
    //  2. Parse argv: attach, refresh, publish NAME, unpublish NAME or --version, nothing
    //     else; argc 0 included (then argv[1] would be the environment), which
    //     parse_command never reads past.
    //  3. The caller's real uid, gid and groups; then root in full; reset resource limits.
    //  4. Read the policy: trusted only if it and every directory above it are root's alone.
    //  5. fd 3: a network namespace, not ours, of a non-initial user ns the caller owns.
    //  6. The caller against the policy.  7. The lock, with a bounded wait.
    //  8. Dump links, addresses, routes: the pool is safe, the uplinks exist, the quota is
    //     not reached; pick a free /31.
    //  9. Create the veth: host end nsjvN with the owner as IFLA_GROUP, eth0 in the sandbox.
    // 10. Host end: IPv6 off, the address. 11. The nftables table; then forwarding, link up.
    // 12. Read other firewalls' forward chains; release the lock; only then print.
    // "refresh" takes steps 1-7 as attach does, then ensures the table and sets forwarding
    // on the policy's uplinks that exist now (refresh()), releases the lock and prints.
    // "publish NAME" takes steps 1-7 too (with "publish yes" in the policy), then links
    // /run/netns/NAME to a mount point of fd 3 in published_dir (publish()); "unpublish
    // NAME" takes them without step 5 (its entry is
    // checked instead, in unpublish()) and without step 6 (its own entries are always
    // the caller's to remove).
    sanitize();
    Command command = parse_command(argc, argv);
    if (command == Command::version)
        return dprintf(STDOUT_FILENO, "nsjail-vpn-helper %s\n", NSJV_VERSION) < 0;
    check(command != Command::refused, usage, 0,
          "refused: usage: nsjail-vpn-helper attach|refresh|publish NAME|unpublish NAME, with a "
          "sandbox's network namespace on fd 3");

    uid_t uid = getuid();
    std::vector<gid_t> gids = become_root();
    Policy policy = load_policy(uid);
    if (command != Command::unpublish) // it names its entry; the namespace may be gone
        check_netns(uid);
    // unpublish only takes away what the caller once published, so a policy that no longer
    // lets them (or publishing at all) does not strand their entries and namespaces.
    unsigned allowance = allowance_of(policy, uid, gids);
    check(allowance > 0 || command == Command::unpublish, denied, 0,
          "refused: not permitted by the helper policy");
    bool publishing = command == Command::publish || command == Command::unpublish;
    check(command != Command::publish || policy.publish, denied, 0,
          "refused: publishing is not permitted by the helper policy");

    // Anyone may ask to unpublish: one with no entry is refused before the lock, so that a
    // user the policy does not know cannot hold the lock from those it does.
    struct stat entry;
    bool gone = command == Command::unpublish &&
                lstat(published_path(uid, argv[2]).c_str(), &entry) != 0;
    check(!gone, denied, 0, "refused: no such entry in /run/netns");

    // One helper at a time plans and creates, so two never pick the same /31.
    lock_fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct timespec pause = {0, 50'000'000};
    for (int i = 0; lock_fd >= 0 && flock(lock_fd, LOCK_EX | LOCK_NB) != 0;
         ++i, nanosleep(&pause, {}))
        check(errno == EWOULDBLOCK && i < 100, failed, sys, "cannot lock '%s'", lock_path);
    check(lock_fd >= 0, failed, sys, "cannot open '%s'", lock_path);

    if (publishing) {
        if (command == Command::publish)
            publish(uid, argv[2], allowance);
        else
            unpublish(uid, argv[2]);
        close(std::exchange(lock_fd, -1));
        check(dprintf(STDOUT_FILENO, "v1 %s %s\n",
                      command == Command::publish ? "published" : "unpublished",
                      published_path(uid, argv[2]).c_str()) > 0,
              failed, sys, "cannot write the result");
        return 0;
    }
    Netlink rt, nf;
    if (command == Command::refresh) {
        refresh(nf, policy);
        close(std::exchange(lock_fd, -1));
        check(dprintf(STDOUT_FILENO, "v1 refreshed\n") > 0, failed, sys, "cannot write the result");
        return 0;
    }
    uint32_t addr = 0;
    std::vector<std::string> notes;
    std::string name = attach(rt, nf, policy, uid, allowance, addr);
    find_conflicts(nf, notes);
    close(std::exchange(lock_fd, -1));
    for (const std::string& note : notes)
        dprintf(STDOUT_FILENO, "w1 %s\n", note.c_str());
    check(dprintf(STDOUT_FILENO, "v1 %s %s %s 31 %s\n", name.c_str(), format_ipv4(addr).c_str(),
                  format_ipv4(addr + 1).c_str(), peer_name) > 0,
          failed, sys, "cannot write the result");
    return 0;
}
