// The sanitizer mode's own control (tests/run --sanitize): a program built like the
// product's sanitizer build, with one bug per argument. The suite checks that each
// report reaches its report directory, from an empty environment as well, so that a
// clean run means "no report", not "reports went nowhere".
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

void* volatile kept;

int main(int argc, char** argv)
{
    const char* what = argc > 1 ? argv[1] : "";
    volatile int big = INT_MAX;
    if (!strcmp(what, "asan")) {
        char* p = static_cast<char*>(malloc(8));
        free(p);
        return p[argc]; // heap-use-after-free (UBSan sees nothing here)
    } else if (!strcmp(what, "ubsan")) {
        printf("%d\n", big + argc); // signed integer overflow
    } else if (!strcmp(what, "leak")) {
        kept = malloc(42);
        kept = nullptr; // lost: LeakSanitizer reports it at exit
    } else {
        return 2;
    }
    return 0;
}
