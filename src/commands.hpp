// The commands about named sandboxes: `nsjail-vpn exec NAME -- COMMAND`, `ls`,
// `stop NAME`. Each talks to the sandbox's launcher over its control socket.
#pragma once

namespace nsjv::commands {

// Whether argv[1] names one of these commands.
bool is_command(const char* word);

// main() of `nsjail-vpn exec|ls|stop ...`.
int main(int argc, char** argv);

} // namespace nsjv::commands
