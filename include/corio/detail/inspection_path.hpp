#pragma once

// Where a process's inspection socket lives (corio::start_inspection), so
// that corio-ps finds it from the PID alone.

#include <cstdlib>
#include <string>

namespace corio::detail {

/// "$XDG_RUNTIME_DIR/corio-<pid>.sock" (a directory only the user can enter),
/// or "/tmp/corio-<pid>.sock" where that is not set.
inline std::string inspection_socket_path(long pid) {
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    std::string dir = runtime_dir != nullptr && *runtime_dir == '/' ? runtime_dir : "/tmp";
    return dir + "/corio-" + std::to_string(pid) + ".sock";
}

}  // namespace corio::detail
