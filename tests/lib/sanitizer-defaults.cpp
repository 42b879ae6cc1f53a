// Linked into every executable of the sanitizer build (tests/run --sanitize passes it
// as cpp_link_args), never into a shipped build. The runtimes read these defaults
// before main, then ASAN_OPTIONS and UBSAN_OPTIONS, which win where they set a flag.
//
// They matter where the suite's environment does not arrive: the launcher starts the
// helper with an empty environment, and OpenVPN runs the route-up hook with its own.
// Without them, such a process would print its report on its stderr, which for the
// helper is a pipe the launcher reads and for the hook OpenVPN's log: nobody would see it.
//
// The strings come from tests/lib/testbed.sh (TB_ASAN_OPTIONS, TB_UBSAN_OPTIONS, the
// ones the suite exports), so the two cannot drift apart.
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if !defined(NSJV_ASAN_OPTIONS) || !defined(NSJV_UBSAN_OPTIONS) || !defined(NSJV_UBSAN_LOG)
#error "tests/lib/testbed.sh sets NSJV_ASAN_OPTIONS, NSJV_UBSAN_OPTIONS and NSJV_UBSAN_LOG"
#endif

// LeakSanitizer checks at exit by ptrace-attaching to the process, and a process has one
// tracer at most: under strace (tests 13 and 18 trace the helper) it can only fail ("does
// not work under ptrace"), so there, and only there, it is off. Asked while the runtime
// starts, before its interceptors work: raw system calls and a hand-made search only.
static bool traced()
{
    static char status[4096];
    long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);
    long n = fd < 0 ? -1 : syscall(SYS_read, fd, status, sizeof status - 1);
    if (fd >= 0)
        syscall(SYS_close, fd);
    const char key[] = "\nTracerPid:";
    for (long i = 0; i + long(sizeof key) < n; ++i) {
        long k = 0;
        while (key[k] && status[i + k] == key[k])
            ++k;
        if (key[k])
            continue;
        for (i += k; i < n && (status[i] == ' ' || status[i] == '\t'); ++i) {
        }
        return i < n && status[i] != '0';
    }
    return false;
}

extern "C" {
__attribute__((visibility("default"), used)) const char* __asan_default_options()
{
    return traced() ? NSJV_ASAN_OPTIONS ":detect_leaks=0" : NSJV_ASAN_OPTIONS;
}
__attribute__((visibility("default"), used)) const char* __ubsan_default_options()
{
    return NSJV_UBSAN_OPTIONS;
}
}

// With GCC, ASan and UBSan are two runtimes (libasan, libubsan), and next to ASan
// libubsan never applies its log_path: its reports would go to stderr whatever
// UBSAN_OPTIONS says. Its own copy of __sanitizer_set_report_path does it (the plain
// symbol would reach libasan's), with UBSAN_OPTIONS' log_path if it has one.
// Library constructors run before this one.
__attribute__((constructor)) static void ubsan_report_path()
{
    static char path[4096] = NSJV_UBSAN_LOG;
    const char* env = getenv("UBSAN_OPTIONS");
    const char* given = env ? strstr(env, "log_path=") : nullptr;
    void* ubsan = dlopen("libubsan.so.1", RTLD_NOLOAD | RTLD_LAZY);
    auto set = ubsan ? reinterpret_cast<void (*)(const char*)>(
                           dlsym(ubsan, "__sanitizer_set_report_path"))
                     : nullptr;

    if (given && (given == env || given[-1] == ':')) {
        given += strlen("log_path=");
        size_t n = strcspn(given, ": ");
        if (n < sizeof path) {
            memcpy(path, given, n);
            path[n] = 0;
        }
    }
    if (set)
        set(path);
}
