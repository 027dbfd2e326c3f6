#pragma once

// The platform half of corio::subprocess: spawning a child with its standard
// streams on socket pairs, a pidfd to learn of its exit, reaping and signals.

#include <corio/net/detail/socket.hpp>

#include <cerrno>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace corio::detail {

/// What one standard stream of a child is connected to.
enum class child_stdio : unsigned char { inherit, pipe, devnull, to_stdout };

struct spawn_request {
    std::vector<std::string> argv;
    child_stdio std_in = child_stdio::inherit;
    child_stdio std_out = child_stdio::inherit;
    child_stdio std_err = child_stdio::inherit;
    std::string cwd;                                  ///< "" = the parent's
    std::optional<std::vector<std::string>> environment;  ///< "NAME=value" each; nullopt = the parent's
};

struct spawned_child {
    pid_t pid = -1;
    unique_fd pidfd;      ///< invalid where the kernel has no pidfd_open
    unique_fd std_in;     ///< the parent's end of each pipe, non-blocking
    unique_fd std_out;
    unique_fd std_err;
};

/// A pidfd for `pid` (readable once the child has exited), or an invalid fd
/// where the kernel lacks pidfd_open (Linux < 5.3, other systems).
inline unique_fd open_pidfd([[maybe_unused]] pid_t pid) noexcept {
#if defined(__linux__) && defined(SYS_pidfd_open)
    const long fd = ::syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
        return unique_fd(static_cast<int>(fd));
    }
#endif
    return unique_fd();
}

/// Starts argv[0] (searched in PATH when it has no '/'). Throws
/// std::system_error naming the program when it cannot be started (posix_spawn
/// reports a failed exec, e.g. ENOENT, as its own error).
inline spawned_child spawn_child(const spawn_request& request) {
    if (request.argv.empty()) {
        throw std::invalid_argument("corio::subprocess: empty argument list");
    }
    const std::string& program = request.argv.front();
    auto fail = [&](int error, const char* what) -> std::system_error {
        return std::system_error(error, std::generic_category(),
                                 std::string(what) + " for '" + program + "'");
    };

    posix_spawn_file_actions_t actions;
    if (const int error = ::posix_spawn_file_actions_init(&actions); error != 0) {
        throw fail(error, "posix_spawn_file_actions_init");
    }
    struct actions_guard {
        posix_spawn_file_actions_t* actions;
        ~actions_guard() { ::posix_spawn_file_actions_destroy(actions); }
    } guard{&actions};

    spawned_child child;
    std::vector<unique_fd> child_ends;  // closed in the parent once the child has them
    auto connect = [&](child_stdio mode, int target, unique_fd& parent_end) {
        switch (mode) {
            case child_stdio::inherit:
                return;
            case child_stdio::devnull:
                if (const int error = ::posix_spawn_file_actions_addopen(
                        &actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0);
                    error != 0) {
                    throw fail(error, "posix_spawn_file_actions_addopen");
                }
                return;
            case child_stdio::to_stdout:
                if (const int error = ::posix_spawn_file_actions_adddup2(&actions, 1, target); error != 0) {
                    throw fail(error, "posix_spawn_file_actions_adddup2");
                }
                return;
            case child_stdio::pipe: {
                // A socket pair rather than a pipe: one bidirectional stream
                // type serves all three (shutdown_write gives the child EOF).
                int fds[2];
                if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
                    throw fail(errno, "socketpair");
                }
                parent_end = unique_fd(fds[0]);
                child_ends.emplace_back(fds[1]);
                if (::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK) != 0) {
                    throw fail(errno, "fcntl(O_NONBLOCK)");
                }
                // dup2 onto 0/1/2 clears FD_CLOEXEC on the copy only.
                if (const int error = ::posix_spawn_file_actions_adddup2(&actions, fds[1], target); error != 0) {
                    throw fail(error, "posix_spawn_file_actions_adddup2");
                }
                return;
            }
        }
    };
    if (request.std_in == child_stdio::to_stdout || request.std_out == child_stdio::to_stdout) {
        throw std::invalid_argument("corio::subprocess: only stderr can go to stdout");
    }
    connect(request.std_in, 0, child.std_in);
    connect(request.std_out, 1, child.std_out);
    connect(request.std_err, 2, child.std_err);
    if (!request.cwd.empty()) {
#if defined(__GLIBC__) || defined(__APPLE__) || defined(__FreeBSD__)
        if (const int error = ::posix_spawn_file_actions_addchdir_np(&actions, request.cwd.c_str()); error != 0) {
            throw fail(error, "posix_spawn_file_actions_addchdir_np");
        }
#else
        throw std::system_error(ENOTSUP, std::generic_category(), "corio::subprocess: cwd on this platform");
#endif
    }

    std::vector<char*> argv;
    argv.reserve(request.argv.size() + 1);
    for (const std::string& arg : request.argv) {
        argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    if (request.environment) {
        envp.reserve(request.environment->size() + 1);
        for (const std::string& entry : *request.environment) {
            envp.push_back(const_cast<char*>(entry.c_str()));
        }
        envp.push_back(nullptr);
    }

    // The child starts with every signal unblocked (the loop blocks those it
    // watches) and the usual ones at their default action, as Python's
    // restore_signals does (an ignored SIGPIPE would otherwise be inherited).
    posix_spawnattr_t attributes;
    ::posix_spawnattr_init(&attributes);
    sigset_t none;
    sigset_t defaults;
    ::sigemptyset(&none);
    ::sigemptyset(&defaults);
    for (int signal : {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2, SIGXFSZ}) {
        ::sigaddset(&defaults, signal);
    }
    ::posix_spawnattr_setsigmask(&attributes, &none);
    ::posix_spawnattr_setsigdefault(&attributes, &defaults);
    ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int error = ::posix_spawnp(&child.pid, program.c_str(), &actions, &attributes, argv.data(),
                                     request.environment ? envp.data() : environ);
    ::posix_spawnattr_destroy(&attributes);
    if (error != 0) {
        throw fail(error, "spawn");
    }
    child.pidfd = open_pidfd(child.pid);
    return child;
}

/// asyncio's returncode: the exit code, or minus the signal that ended it.
inline int decode_wait_status(int status) noexcept {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return -WTERMSIG(status);
    }
    return status;
}

/// Reaps `pid` if it has exited: its returncode, or nullopt while it runs.
/// A child someone else reaped (ECHILD) is reported as exited with 255.
inline std::optional<int> try_reap(pid_t pid) noexcept {
    int status = 0;
    pid_t got = 0;
    do {
        got = ::waitpid(pid, &status, WNOHANG);
    } while (got < 0 && errno == EINTR);
    if (got == pid) {
        return decode_wait_status(status);
    }
    if (got < 0) {
        return 255;
    }
    return std::nullopt;
}

/// kill(pid, signal); a child already reaped is not an error (asyncio ignores
/// ProcessLookupError there too).
inline void signal_child(pid_t pid, int signal) {
    if (::kill(pid, signal) != 0 && errno != ESRCH) {
        throw std::system_error(errno, std::generic_category(), "kill(" + std::to_string(pid) + ")");
    }
}

}  // namespace corio::detail
