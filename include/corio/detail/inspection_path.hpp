#pragma once

// Where a process's inspection socket lives (corio::start_inspection), so
// that corio-ps finds it from the PID alone.

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

#include <sys/stat.h>
#include <unistd.h>

namespace corio::detail {

/// "$XDG_RUNTIME_DIR" (a directory only the user can enter) when set, else
/// "/tmp/corio-<uid>", which start_inspection creates with mode 0700.
inline std::string inspection_directory() {
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    if (runtime_dir != nullptr && *runtime_dir == '/') {
        return runtime_dir;
    }
    return "/tmp/corio-" + std::to_string(static_cast<unsigned long>(::geteuid()));
}

/// "<inspection_directory()>/corio-<pid>.sock".
inline std::string inspection_socket_path(long pid) {
    return inspection_directory() + "/corio-" + std::to_string(pid) + ".sock";
}

inline long current_process_id() noexcept {
    return static_cast<long>(::getpid());
}

/// Makes `dir` a directory of this user that nobody else can enter (creating
/// it with mode 0700 when missing), so a socket bound in it is private from
/// the start, not only after a chmod. Throws std::system_error when it cannot
/// be created or read, std::runtime_error when it belongs to someone else or
/// others may enter it (another user could have made it first).
inline void ensure_private_directory(const std::string& dir) {
    if (::mkdir(dir.c_str(), S_IRWXU) != 0 && errno != EEXIST) {
        throw std::system_error(errno, std::generic_category(),
                                "corio::start_inspection: cannot create " + dir);
    }
    struct stat status {};
    if (::lstat(dir.c_str(), &status) != 0) {
        throw std::system_error(errno, std::generic_category(),
                                "corio::start_inspection: cannot read " + dir);
    }
    if (!S_ISDIR(status.st_mode) || status.st_uid != ::geteuid() ||
        (status.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        throw std::runtime_error("corio::start_inspection: " + dir +
                                 " is not a directory of this user closed to others (mode 0700):"
                                 " the inspection socket is not put there");
    }
}

/// Makes the socket file at `path` reachable by its owner only (mode 0600).
inline void restrict_to_owner(const std::string& path) noexcept {
    ::chmod(path.c_str(), S_IRUSR | S_IWUSR);
}

}  // namespace corio::detail
