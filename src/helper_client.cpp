#include "helper_client.hpp"

#include "fd.hpp"
#include "log.hpp"
#include "sys.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#ifndef NSJV_HELPER_PATH
#error "NSJV_HELPER_PATH must be set by the build"
#endif
#ifndef NSJV_POLICY_PATH
#error "NSJV_POLICY_PATH must be set by the build"
#endif

namespace nsjv::helper {

namespace {

bool ipv4(const std::string& s)
{
    in_addr a{};
    return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

// A table or chain name as the helper passes it on: shown, so plain characters only.
bool ifname_like(const std::string& s)
{
    return !s.empty() && s.size() <= 64 &&
           std::all_of(s.begin(), s.end(), [](char c) {
               return isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
           });
}

bool ifname(const std::string& s)
{
    if (s.empty() || s.size() >= 16)
        return false;
    for (char c : s)
        if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
            return false;
    return true;
}

// Checks made before running it, so the user hears what is wrong with the
// installation rather than a bare EPERM from inside.
bool installed(Failure& f)
{
    struct stat st {};
    struct statvfs vfs {};
    const std::string path = NSJV_HELPER_PATH;

    if (stat(path.c_str(), &st) < 0) {
        f.message = "cannot use the helper '" + path + "': " + sys::why(errno);
        f.hint = "install nsjail-vpn as root ('meson install') so the helper is setuid root, or run "
                 "with --net none";
        return false;
    }
    if (st.st_uid != 0 || !(st.st_mode & S_ISUID)) {
        f.message = "cannot use the helper '" + path + "': it is not setuid root";
        f.hint = "as root: chown root:root '" + path + "' && chmod 4755 '" + path + "'";
        return false;
    }
    if (statvfs(path.c_str(), &vfs) == 0 && (vfs.f_flag & ST_NOSUID)) {
        f.message = "cannot use the helper '" + path + "': its file system is mounted nosuid";
        f.hint = "install it on a file system without nosuid (meson setup --prefix=/usr/local)";
        return false;
    }
    return true;
}

void explain(int status, std::string said, Failure& f, const char* action)
{
    const std::string policy = NSJV_POLICY_PATH;
    const bool refused = said.rfind("refused: ", 0) == 0;

    if (refused)
        said.erase(0, 9);
    f.message =
        std::string(refused ? "the helper refused to " : "the helper could not ") + action +
        ": " + (said.empty() ? "exit status " + std::to_string(status) : said);
    switch (status) {
    case 3:
        if (said.find("on this host") != std::string::npos)
            f.hint = "end one of your sandboxes, or ask your administrator for a higher "
                     "max-sandboxes in '" + policy + "'";
        else if (said.find("limit reached") != std::string::npos)
            f.hint = "end one of your sandboxes, or ask your administrator for a higher "
                     "limit (max-per-user, or one on your allow-user line) in '" + policy + "'";
        else if (said.find("publishing is not permitted") != std::string::npos)
            f.hint = "run without --publish, or ask your administrator to add 'publish yes' to '" +
                     policy + "'";
        else if (said.find("taken in /run/netns") != std::string::npos)
            f.hint = "choose another --name";
        else if (said.find("published at once") != std::string::npos)
            f.hint = "stop one of your published sandboxes first";
        else if (said.find("not permitted by the helper policy") != std::string::npos)
            f.hint = "ask your administrator to allow you in '" + policy + "' (allow-user " +
                     "or allow-group; see nsjail-vpn-helper(8)), or run with --net none";
        else
            f.hint = "the helper's policy '" + policy + "' must be fixed by an administrator: "
                     "'nsjail-vpn-helper attach' run as root names the problem";
        break;
    case 5:
        f.hint = "the address pool in '" + policy + "' is full or overlaps the host's networks; "
                 "see nsjail-vpn-helper(8)";
        break;
    case 2:
    case 4:
        f.hint = "the launcher and the helper do not match: reinstall nsjail-vpn";
        break;
    default:
        if (said.find("cannot lock") != std::string::npos)
            f.hint = "other sandboxes were being connected for 5 seconds: try again; if it "
                     "persists, an administrator can see who holds it with 'fuser -v " +
                     std::string("/run/nsjail-vpn-helper.lock'");
        else if (said.find("uplinks exists") != std::string::npos)
            f.hint = "none of the network interfaces named by 'uplink' in '" + policy +
                     "' is there now (Wi-Fi off, dock unplugged?): connect one, or ask your "
                     "administrator to add the one you use";
        break;
    }
}

} // namespace

Result<Lease> parse_lease(std::string_view line)
{
    std::istringstream in{std::string(line)};
    std::string version, extra;
    Lease l;

    if (!(in >> version >> l.host_if >> l.host_addr >> l.sandbox_addr >> l.prefixlen >>
          l.sandbox_if) ||
        (in >> extra))
        return fail("unexpected answer from the helper: '" + std::string(line) + "'");
    if (version != "v1")
        return fail("helper speaks protocol '" + version + "', this launcher v1");
    if (!ifname(l.host_if) || !ifname(l.sandbox_if) || !ipv4(l.host_addr) ||
        !ipv4(l.sandbox_addr) || l.prefixlen < 16 || l.prefixlen > 31)
        return fail("malformed answer from the helper: '" + std::string(line) + "'");
    return l;
}

std::optional<Result<Lease>> parse_answer(std::string_view out)
{
    std::vector<Conflict> conflicts;
    for (size_t end; (end = out.find('\n')) != out.npos; out.remove_prefix(end + 1)) {
        std::string_view line = out.substr(0, end);
        if (!line.starts_with("w1 ")) {
            auto lease = parse_lease(line);
            if (lease)
                lease->conflicts = std::move(conflicts);
            return lease;
        }
        std::istringstream in{std::string(line.substr(3))};
        std::string kind, extra;
        Conflict c;
        if (in >> kind >> c.family >> c.table >> c.chain && !(in >> extra) &&
            kind == "forward-drop" && (c.family == "ip" || c.family == "inet" || c.family == "xt") &&
            ifname_like(c.table) && ifname_like(c.chain))
            conflicts.push_back(std::move(c));
    }
    return std::nullopt;
}

Advice advise(const Conflict& c)
{
    const std::string where = c.family + " " + c.table + " " + c.chain;
    if (c.table == "firewalld")
        return {"firewalld is running and rejects forwarded traffic from interfaces in no "
                "zone: the sandbox's traffic through nsjv* interfaces may be dropped",
                "as root, put them in a zone that forwards, e.g. 'firewall-cmd --permanent "
                "--zone=trusted --add-interface=nsjv+ && firewall-cmd --reload'"};
    if ((c.family == "ip" || c.family == "xt") && c.table == "filter" && c.chain == "FORWARD")
        return {std::string("the host's ") + (c.family == "xt" ? "legacy " : "") +
                    "iptables FORWARD chain drops by default (Docker sets this): the "
                    "sandbox's traffic through nsjv* interfaces may be dropped",
                "as root: 'iptables -I DOCKER-USER -i nsjv+ -j ACCEPT && iptables -I "
                "DOCKER-USER -o nsjv+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT' "
                "(without Docker, FORWARD in place of DOCKER-USER)"};
    return {"the host's nftables chain '" + where + "' drops forwarded traffic by default: the "
            "sandbox's traffic through nsjv* interfaces may be dropped",
            "as root, accept it in that chain, e.g. 'nft insert rule " + where +
                " iifname \"nsjv*\" accept' and 'nft insert rule " + where +
                " oifname \"nsjv*\" ct state established,related accept'"};
}

namespace {

// Runs `nsjail-vpn-helper VERB` with netns_fd as its fd 3; its stdout and stderr are
// the returned pipes' read ends. Returns the pid, or -1 with f.message set.
pid_t spawn(const char* verb, int netns_fd, UniqueFd& out_r, UniqueFd& err_r, Failure& f,
            const char* name = nullptr)
{
    int out[2], err[2];

    if (!installed(f))
        return -1;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        f.message = "cannot run the helper: " + sys::why(errno);
        return -1;
    }
    out_r.reset(out[0]);
    err_r.reset(err[0]);
    UniqueFd out_w(out[1]), err_w(err[1]);

    pid_t pid = fork();
    if (pid == 0) {
        // Only 0-3 cross into the setuid program; the helper closes the rest anyway.
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0 ||
            !sys::place_fds({{devnull, 0}, {out_w.get(), 1}, {err_w.get(), 2}, {netns_fd, 3}}))
            _exit(1);
        sys::reset_signals();
        char* const argv[] = {const_cast<char*>("nsjail-vpn-helper"), const_cast<char*>(verb),
                              const_cast<char*>(name), nullptr};
        char* const envp[] = {nullptr};
        execve(NSJV_HELPER_PATH, argv, envp);
        _exit(1);
    }
    if (pid < 0)
        f.message = "cannot run the helper: " + sys::why(errno);
    return pid;
}

} // namespace

namespace {

// A helper command whose answer is one "v1 ..." line, expected to start with `want`.
bool simple(const char* verb, int netns_fd, const char* name, const std::string& want,
            Failure& f)
{
    UniqueFd out_r, err_r;
    pid_t pid = spawn(verb, netns_fd, out_r, err_r, f, name);
    if (pid < 0)
        return false;
    std::string said_out, said_err;
    char buf[512];
    ssize_t n;
    while ((n = read(out_r.get(), buf, sizeof buf)) > 0 && said_out.size() < 4096)
        said_out.append(buf, static_cast<size_t>(n));
    while ((n = read(err_r.get(), buf, sizeof buf)) > 0 && said_err.size() < 4096)
        said_err.append(buf, static_cast<size_t>(n));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && said_out.rfind(want, 0) == 0)
        return true;
    while (!said_err.empty() && said_err.back() == '\n')
        said_err.pop_back();
    if (said_err.rfind("nsjail-vpn-helper: ", 0) == 0)
        said_err = said_err.substr(19);
    std::string v = verb;
    const char* action = v == "publish"     ? "publish the sandbox"
                         : v == "unpublish" ? "remove the sandbox's entry in /run/netns"
                                            : "update forwarding";
    explain(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), said_err, f, action);
    return false;
}

} // namespace

bool refresh(int netns_fd, Failure& f) { return simple("refresh", netns_fd, nullptr, "v1 refreshed\n", f); }

bool publish(int netns_fd, const std::string& name, Failure& f)
{
    return simple("publish", netns_fd, name.c_str(), "v1 published ", f);
}

bool unpublish(const std::string& name, Failure& f)
{
    return simple("unpublish", -1, name.c_str(), "v1 unpublished ", f);
}

std::string published_path(const std::string& name)
{
    return "/run/netns/nsjv-" + std::to_string(getuid()) + "-" + name;
}

Result<Lease> attach(int netns_fd, Failure& f, pid_t& helper_pid)
{
    UniqueFd out_r, err_r;
    pid_t pid = spawn("attach", netns_fd, out_r, err_r, f);
    if (pid < 0)
        return fail(f.message);

    // The helper prints one short line on one of them; read until a whole lease line
    // arrived, or both are closed.
    std::string said_out, said_err;
    pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    std::optional<Result<Lease>> answer;
    for (int open_fds = 2; open_fds > 0 && !(answer = parse_answer(said_out));) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            char buf[512];
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                fds[i].fd = -1;
                open_fds--;
            } else if ((i ? said_err : said_out).size() < 4096) {
                (i ? said_err : said_out).append(buf, static_cast<size_t>(n));
            }
        }
    }
    if (answer) {
        helper_pid = pid;
        if (!*answer)
            f.message = answer->error();
        return std::move(*answer);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }

    while (!said_err.empty() && said_err.back() == '\n')
        said_err.pop_back();
    if (said_err.rfind("nsjail-vpn-helper: ", 0) == 0)
        said_err = said_err.substr(19);
    explain(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), said_err, f,
            "connect the sandbox");
    return fail(f.message);
}

// A published entry outlives a launcher killed with SIGKILL and pins the sandbox's
// namespace: the helper removes it once the sandbox is known to be gone.
void forget_published(const std::string& name)
{
    struct stat st {};
    if (lstat(published_path(name).c_str(), &st) < 0)
        return;
    Failure failure;
    if (unpublish(name, failure))
        log::warning("%s: removed its entry '%s' too", name.c_str(),
                     published_path(name).c_str());
    else
        log::warning("%s: cannot remove '%s': %s", name.c_str(),
                     published_path(name).c_str(), failure.message.c_str());
}

} // namespace nsjv::helper
