// The launcher's side of one sandbox: create it, connect it to the host through
// the helper, pass signals on, and return the app's fate as our own.
#pragma once

#include "context.hpp"

namespace nsjv::sandbox {

// Returns the exit status for the launcher; a signal death of the app is re-raised
// here and does not return.
int run(Context& ctx);

// Dies of sig, as the app did, so that the shell sees what it would have seen
// without us (128+sig where sig does not kill).
[[noreturn]] void raise_signal(int sig);

} // namespace nsjv::sandbox
