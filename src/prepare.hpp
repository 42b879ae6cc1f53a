// The host-side steps before the sandbox exists: read and plan the VPN config,
// resolve its servers with the host's resolver, ask for secrets on the terminal.
#pragma once

#include "context.hpp"
#include "result.hpp"

namespace nsjv {

Result<bool> prepare(Context& ctx);

} // namespace nsjv
