// The launcher's side of one sandbox: create it, connect it to the host through
// the helper, pass signals on, and return the app's fate as our own.
#pragma once

#include "context.hpp"

namespace nsjv::sandbox {

// Returns the exit status for the launcher; a signal death of the app is re-raised
// here and does not return.
int run(Context& ctx);

} // namespace nsjv::sandbox
