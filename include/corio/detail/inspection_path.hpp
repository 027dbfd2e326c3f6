#pragma once

// Where a process's inspection socket lives (corio::start_inspection), so
// that corio-ps finds it from the PID alone.

#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace corio::detail {

/// "$XDG_RUNTIME_DIR/corio-<pid>.sock" (a directory only the user can enter),
/// or "/tmp/corio-<pid>.sock" where that is not set.
inline std::string inspection_socket_path(long pid) {
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    std::string dir = runtime_dir != nullptr && *runtime_dir == '/' ? runtime_dir : "/tmp";
    return dir + "/corio-" + std::to_string(pid) + ".sock";
}

inline long current_process_id() noexcept {
    return static_cast<long>(::getpid());
}

/// Makes the socket file at `path` reachable by its owner only (mode 0600).
inline void restrict_to_owner(const std::string& path) noexcept {
    ::chmod(path.c_str(), S_IRUSR | S_IWUSR);
}

}  // namespace corio::detail
