#include "commands.hpp"

#include "caps.hpp"
#include "channel.hpp"
#include "context.hpp"
#include "helper_client.hpp"
#include "log.hpp"
#include "sandbox.hpp"
#include "state.hpp"
#include "supervisor.hpp"
#include "sys.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace nsjv::commands {

namespace {

// An answer of the launcher within 3 s: one stopped with Ctrl-Z (or hung) must not
// hang `ls`, `stop` or `exec` too.
std::optional<std::string> answer_of(int fd, std::vector<UniqueFd>* fds = nullptr)
{
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 3000) <= 0)
        return std::nullopt;
    std::vector<UniqueFd> ignored;
    return channel::receive_fds(fd, fds ? *fds : ignored);
}

int usage()
{
    log::error("usage: nsjail-vpn exec [--new-session] NAME [--] COMMAND [ARGS...] | nsjail-vpn ls [--json] | "
               "nsjail-vpn stop NAME [--json]");
    log::hint("see nsjail-vpn(1), NAMED SANDBOXES");
    return exit_failure;
}

// NAME's socket refused or is missing: if its launcher is gone (the name's lock is
// free), the published entry it left and then its state are removed, the lock file
// last, so that no new sandbox of that name starts meanwhile; say: tell the user first.
// False while its lock is held (a sandbox starting, which has not listened yet), or when
// the lock cannot be taken at all (said).
bool clear_stale(const std::string& dir, const std::string& name, bool say)
{
    UniqueFd lock;
    if (int err = state::lock(dir, name, lock); err < 0) {
        if (err != -EWOULDBLOCK)
            log::warning("%s: cannot lock its entry: %s", name.c_str(), sys::why(err).c_str());
        return false;
    }
    if (say)
        log::warning("%s: its sandbox is gone; removed the stale entry", name.c_str());
    helper::forget_published(name);
    state::remove(dir, name);
    return true;
}

// Connects to NAME's launcher; an error message naming the fix, or "".
std::string reach(const std::string& name, UniqueFd& out, std::string& dir)
{
    if (!state::valid_name(name))
        return "not a sandbox name: '" + log::shown(name) + "' (" + state::name_rule + ")";
    auto d = state::directory();
    if (!d)
        return d.error();
    dir = *d;
    int err = state::connect(dir, name, out);
    if (err == -ECONNREFUSED && !clear_stale(dir, name, false))
        return "the sandbox '" + name + "' is still starting: try again in a moment";
    if (err == -ECONNREFUSED)
        return "no sandbox named '" + name + "': it is gone (a stale entry was removed)";
    if (err == -ENOENT)
        return "no sandbox named '" + name + "' (see 'nsjail-vpn ls')";
    if (err == -EPERM)
        return "cannot reach the sandbox '" + name + "': what answers on its socket is not a "
               "launcher of yours (a process inside a sandbox?); nothing was run";
    if (err < 0)
        return "cannot reach the sandbox '" + name + "': " + sys::why(err);
    return "";
}

int ls(bool json)
{
    auto dir = state::directory();
    if (!dir) {
        log::error("%s", dir.error().c_str());
        return exit_failure;
    }
    std::vector<nlohmann::json> rows;
    for (const auto& name : state::names(*dir)) {
        UniqueFd fd;
        int err = state::connect(*dir, name, fd);
        if ((err == -ECONNREFUSED || err == -ENOENT) && !clear_stale(*dir, name, true)) {
            UniqueFd lock;
            if (state::lock(*dir, name, lock) == -EWOULDBLOCK)
                rows.push_back({{"name", name}, {"state", "starting"}});
            continue;
        }
        if (err == -ECONNREFUSED || err == -ENOENT) {
            if (json)
                printf("%s\n", nlohmann::json{{"name", name}, {"state", "gone"}}.dump().c_str());
            continue;
        }
        if (err == -EPERM) {
            log::warning("%s: what answers on its socket is not a launcher of yours (from inside "
                         "a sandbox?); ignored", name.c_str());
            continue;
        }
        std::optional<std::string> answer;
        if (err == 0 && channel::send(fd.get(), "status"))
            answer = answer_of(fd.get());
        auto row = answer ? nlohmann::json::parse(*answer, nullptr, false) : nlohmann::json();
        if (!row.is_object()) {
            log::warning("%s: no answer from its launcher (is it stopped, with Ctrl-Z?)",
                         name.c_str());
            continue;
        }
        rows.push_back(row);
    }
    if (json) {
        for (const auto& r : rows)
            printf("%s\n", r.dump().c_str());
        return 0;
    }
    printf("%-24s %8s %-4s %-10s %-15s %4s\n", "NAME", "UPTIME", "NET", "STATE", "ADDRESS", "APPS");
    // A launcher of another version may answer with other fields: none is relied on.
    auto text = [](const nlohmann::json& r, const char* key, const char* none) {
        auto it = r.find(key);
        return it != r.end() && it->is_string() ? it->get<std::string>() : std::string(none);
    };
    auto number = [](const nlohmann::json& r, const char* key) {
        auto it = r.find(key);
        return it != r.end() && it->is_number_integer() ? it->get<long>() : 0L;
    };
    for (const auto& r : rows) {
        long up = number(r, "uptime");
        char uptime[32];
        snprintf(uptime, sizeof uptime, "%ld:%02ld:%02ld", up / 3600, up / 60 % 60, up % 60);
        printf("%-24s %8s %-4s %-10s %-15s %4ld\n", log::shown(text(r, "name", "?")).c_str(),
               uptime, log::shown(text(r, "net", "?")).c_str(),
               log::shown(text(r, "state", "?")).c_str(),
               log::shown(text(r, "address", "-")).c_str(), number(r, "apps"));
    }
    return 0;
}

int stop(const std::string& name, bool json)
{
    UniqueFd fd;
    std::string dir;
    if (auto why = reach(name, fd, dir); !why.empty()) {
        log::error("%s", why.c_str());
        return exit_failure;
    }
    if (!channel::send(fd.get(), "stop")) {
        log::error("cannot ask the sandbox '%s' to stop: %s", name.c_str(), sys::why(errno).c_str());
        return exit_failure;
    }
    auto before = answer_of(fd.get());
    // The launcher closes the connection when it exits, the sandbox gone.
    int wait_ms = (supervisor::stop_grace_seconds + 10) * 1000;
    for (;;) {
        pollfd p{fd.get(), POLLIN, 0};
        if (poll(&p, 1, wait_ms) <= 0) {
            log::error("the sandbox '%s' did not end within %d s", name.c_str(), wait_ms / 1000);
            return exit_failure;
        }
        if (!channel::receive(fd.get()))
            break;
    }
    if (json && before)
        printf("%s\n", before->c_str());
    return 0;
}

// The app of `exec`, in the sandbox's namespaces: as the first app, no capabilities.
[[noreturn]] void exec_app(const std::vector<std::string>& command, int error_pipe,
                           bool new_session)
{
    std::vector<std::string> args = command;
    std::vector<char*> argv = sys::pointers(args);
    sys::reset_signals();
    int err = new_session && setsid() < 0 ? errno : 0;
    if (!err && caps::drop_all() < 0)
        err = errno;
    std::string program;
    if (!err && !(program = sys::find_command(command.front(), err)).empty()) {
        execv(program.c_str(), argv.data());
        err = errno;
    }
    (void)!write(error_pipe, &err, sizeof err);
    _exit(exit_not_found);
}

// The namespaces a launcher sent for `exec`: a user namespace that is a child of ours and
// that we own, and mount, PID and network namespaces owned by it. Anything else (a process
// posing as a launcher) is refused before we enter it.
bool sandbox_namespaces(const std::vector<UniqueFd>& ns)
{
    const int types[] = {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET};
    struct stat own {}, user {}, parent {};
    uid_t owner = 0;
    if (ns.size() != 4 || stat("/proc/self/ns/user", &own) < 0 || fstat(ns[0].get(), &user) < 0)
        return false;
    for (size_t i = 0; i < 4; i++)
        if (ioctl(ns[i].get(), NS_GET_NSTYPE) != types[i])
            return false;
    UniqueFd up(ioctl(ns[0].get(), NS_GET_PARENT));
    if (!up || fstat(up.get(), &parent) < 0 || parent.st_ino != own.st_ino ||
        parent.st_dev != own.st_dev || ioctl(ns[0].get(), NS_GET_OWNER_UID, &owner) < 0 ||
        owner != getuid())
        return false;
    for (size_t i = 1; i < 4; i++) {
        struct stat of {};
        UniqueFd u(ioctl(ns[i].get(), NS_GET_USERNS));
        if (!u || fstat(u.get(), &of) < 0 || of.st_ino != user.st_ino || of.st_dev != user.st_dev)
            return false;
    }
    return true;
}

int exec(const std::string& name, const std::vector<std::string>& command, bool new_session)
{
    UniqueFd fd;
    std::string dir;
    if (auto why = reach(name, fd, dir); !why.empty()) {
        log::error("%s", why.c_str());
        return exit_failure;
    }
    std::vector<UniqueFd> ns;
    std::optional<std::string> answer;
    if (channel::send(fd.get(), "join"))
        answer = answer_of(fd.get(), &ns);
    if (answer && *answer == "joined" && !sandbox_namespaces(ns)) {
        log::error("cannot join the sandbox '%s': what answered is not its launcher", name.c_str());
        return exit_failure;
    }
    if (!answer || *answer != "joined" || ns.size() != 4) {
        std::string why = answer && answer->rfind("error ", 0) == 0 ? answer->substr(6)
                                                                    : "no answer from its launcher";
        log::error("cannot join the sandbox '%s': %s", name.c_str(), why.c_str());
        return exit_failure;
    }
    char cwd[PATH_MAX];
    bool have_cwd = getcwd(cwd, sizeof cwd) != nullptr;

    // The user namespace first: it owns the others, and entering it gives us the
    // capabilities in it that entering them needs. Our children are born in its PID
    // namespace; we stay outside, as their parent.
    const int types[] = {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET};
    for (size_t i = 0; i < 4; i++) {
        if (setns(ns[i].get(), types[i]) < 0) {
            log::error("cannot enter the sandbox '%s': %s", name.c_str(), sys::why(errno).c_str());
            _exit(exit_failure);
        }
    }
    // From here on we are in the sandbox's PID namespace for children, and nothing may
    // fork but the app: so we end with _exit (a sanitizer's leak check at exit would
    // start a tracer in there and hang).
    if (!have_cwd || chdir(cwd) < 0) {
        log::warning("your working directory is not in the sandbox; the app starts in /");
        (void)!chdir("/");
    }

    UniqueFd signals = supervisor::block_signals();

    int p[2];
    if (!signals || pipe2(p, O_CLOEXEC) < 0) {
        log::error("cannot start the app: %s", sys::why(errno).c_str());
        _exit(exit_failure);
    }
    UniqueFd r(p[0]), w(p[1]);
    int err = 0;
    auto child = sys::clone_into(0, err);
    if (!child) {
        log::error("cannot start the app: %s", sys::why(err).c_str());
        _exit(exit_failure);
    }
    if (child->pid == 0)
        exec_app(command, w.get(), new_session);
    w.reset();
    if (read(r.get(), &err, sizeof err) == sizeof err) {
        log::error("cannot run '%s': %s", command.front().c_str(),
                   err == ENOENT ? "command not found" : sys::why(err).c_str());
        waitpid(child->pid, nullptr, 0);
        _exit(err == ENOENT ? exit_not_found : exit_cannot_execute);
    }

    for (;;) {
        pollfd fds[1] = {{signals.get(), POLLIN, 0}};
        if (poll(fds, 1, -1) < 0 && errno != EINTR)
            break;
        signalfd_siginfo si{};
        while (read(signals.get(), &si, sizeof si) == sizeof si) {
            // A terminal's signals reach the app directly (same process group), unless it
            // is in a session of its own.
            if (si.ssi_signo != SIGCHLD) {
                if (si.ssi_code != SI_KERNEL || new_session)
                    sys::pidfd_send_signal(child->pidfd.get(), static_cast<int>(si.ssi_signo));
                continue;
            }
            int status = 0;
            if (waitpid(child->pid, &status, WNOHANG) == child->pid) {
                if (WIFSIGNALED(status))
                    sandbox::raise_signal(WTERMSIG(status));
                fflush(stdout);
                _exit(WEXITSTATUS(status));
            }
        }
    }
    _exit(exit_failure);
}

} // namespace

bool is_command(const char* word)
{
    return strcmp(word, "exec") == 0 || strcmp(word, "ls") == 0 || strcmp(word, "stop") == 0;
}

int main(int argc, char** argv)
{
    std::string cmd = argv[1];
    std::vector<std::string> rest(argv + 2, argv + argc);
    if (cmd == "ls") {
        if (rest.empty() || (rest.size() == 1 && rest[0] == "--json"))
            return ls(!rest.empty());
        return usage();
    }
    if (cmd == "stop") {
        bool json = std::erase(rest, std::string("--json")) > 0;
        if (rest.size() != 1)
            return usage();
        return stop(rest[0], json);
    }
    // exec [--new-session] NAME [--] COMMAND...
    bool new_session = !rest.empty() && rest[0] == "--new-session";
    if (new_session)
        rest.erase(rest.begin());
    if (rest.empty())
        return usage();
    std::string name = rest[0];
    rest.erase(rest.begin());
    if (!rest.empty() && rest[0] == "--")
        rest.erase(rest.begin());
    if (rest.empty()) {
        log::error("no COMMAND to run in the sandbox '%s'", log::shown(name).c_str());
        log::hint("for example: nsjail-vpn exec %s -- curl https://example.org/", log::shown(name).c_str());
        return exit_failure;
    }
    return exec(name, rest, new_session);
}

} // namespace nsjv::commands
