#pragma once

#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/event_loop.hpp>
#include <corio/fd_watcher.hpp>
#include <corio/net/detail/process.hpp>
#include <corio/net/detail/socket_source.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/net/stream.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/event.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

/// asyncio's create_subprocess_exec / create_subprocess_shell.
namespace corio::subprocess {

/// Where a child's standard stream goes (asyncio.subprocess.PIPE, DEVNULL,
/// STDOUT; `inherit` is asyncio's None).
enum class redirect : unsigned char {
    inherit,    ///< the parent's own stream
    pipe,       ///< a corio stream the parent reads or writes
    devnull,    ///< /dev/null
    to_stdout,  ///< stderr only: into wherever stdout goes
};

/// How exec / shell start a child (asyncio's keyword arguments).
struct options {
    redirect std_in = redirect::inherit;   ///< the child's stdin
    redirect std_out = redirect::inherit;  ///< the child's stdout
    redirect std_err = redirect::inherit;  ///< the child's stderr (to_stdout: merged)
    /// Working directory of the child ("" = the parent's).
    std::string cwd{};
    /// The child's whole environment; nullopt = the parent's.
    std::optional<std::map<std::string, std::string>> env{};
};

/// What communicate() collected: everything the child wrote to its piped
/// stdout and stderr ("" for a stream not piped), and its returncode.
struct output {
    std::string std_out;  ///< all the child wrote to its piped stdout
    std::string std_err;  ///< all the child wrote to its piped stderr
    int returncode = 0;   ///< exit code, or minus the signal that ended it
};

namespace detail {

// Shared by a process and its reaper task, which outlives the process object
// when the process is dropped unwaited: the child is reaped all the same.
struct child_state {
    pid_t pid = -1;
    std::optional<int> returncode;
    corio::event exited;
};

// Waits for the child's exit and reaps it (no zombie left behind): on the
// pidfd's readiness where the kernel has pidfd_open, else by polling
// waitpid with a growing interval (1 ms up to 50 ms).
CORIO_HEADER_COROUTINE inline task<void> reap(std::shared_ptr<child_state> state, corio::detail::unique_fd pidfd) {
    bool cancelled = false;
    try {
        if (pidfd.valid()) {
            fd_watcher watcher(pidfd.get());
            while (!(state->returncode = corio::detail::try_reap(state->pid))) {
                co_await watcher.readable();
            }
        } else {
            auto interval = std::chrono::milliseconds(1);
            while (!(state->returncode = corio::detail::try_reap(state->pid))) {
                co_await corio::sleep(interval);
                interval = std::min(interval * 2, std::chrono::milliseconds(50));
            }
        }
    } catch (const corio::cancelled_error&) {
        cancelled = true;  // the loop is closing: one last try, then give up
    }
    if (cancelled) {
        state->returncode = corio::detail::try_reap(state->pid);
        if (state->returncode) {
            state->exited.set();
        }
        throw corio::cancelled_error{};
    }
    state->exited.set();
}

}  // namespace detail

/// A running (or finished) child process; move-only. Its piped streams are
/// corio byte streams (`read`, `read_until`, `read_exactly`, `write`,
/// `shutdown_write` to give the child end-of-file on stdin).
///
/// The child is reaped by a task of the loop that started it as soon as it
/// exits, whether or not anyone waits: dropping a process leaves no zombie,
/// and does not kill the child (call kill() first for that). Cancelling
/// wait() does not kill the child either.
class process {
public:
    /// Moves the child and its streams; the source is left empty.
    process(process&&) noexcept = default;
    /// Moves the child and its streams (the old child goes on as if dropped).
    process& operator=(process&&) noexcept = default;
    process(const process&) = delete;
    process& operator=(const process&) = delete;
    ~process() = default;

    /// The child's process id.
    [[nodiscard]] int pid() const noexcept { return m_state->pid; }

    /// The child's exit code, minus the signal that killed it, or nullopt
    /// while it runs (asyncio's returncode).
    [[nodiscard]] std::optional<int> returncode() const noexcept { return m_state->returncode; }

    /// The child's stdin, when piped (options::std_in = redirect::pipe);
    /// std::logic_error otherwise.
    [[nodiscard]] unix_stream& std_in() { return piped(m_std_in, "std_in"); }
    /// The child's stdout, when piped (see std_in).
    [[nodiscard]] unix_stream& std_out() { return piped(m_std_out, "std_out"); }
    /// The child's stderr, when piped (see std_in).
    [[nodiscard]] unix_stream& std_err() { return piped(m_std_err, "std_err"); }

    /// Waits for the child to exit; its returncode. Any number of tasks may
    /// wait at once.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<int> wait() {
        const std::shared_ptr<detail::child_state> state = m_state;
        co_await state->exited.wait();
        co_return *state->returncode;
    }

    /// Writes `input` to stdin (when piped) and closes it, reads stdout and
    /// stderr (when piped) to their end, all at once, then waits for the exit:
    /// asyncio's communicate(). Reading both together is what keeps a child
    /// that fills one pipe while the parent drains the other from deadlocking.
    ///
    /// (Overloads rather than default arguments here and in exec/shell: g++ 12
    /// destroys a defaulted class-type argument twice inside a co_await.)
    [[nodiscard]] CORIO_HEADER_COROUTINE task<output> communicate(std::string input) {
        output result;
        auto feed = [](unix_stream* in, std::string data) -> task<void> {
            if (in == nullptr) {
                co_return;
            }
            if (!data.empty()) {
                co_await in->write(std::string_view(data));
            }
            in->shutdown_write();
        };
        auto drain = [](unix_stream* from, std::string* into) -> task<void> {
            if (from == nullptr) {
                co_return;
            }
            while (true) {
                std::string chunk = co_await from->read();
                if (chunk.empty()) {
                    co_return;
                }
                into->append(chunk);
            }
        };
        unix_stream* in = m_std_in ? &*m_std_in : nullptr;
        unix_stream* out = m_std_out ? &*m_std_out : nullptr;
        unix_stream* err = m_std_err ? &*m_std_err : nullptr;
        task<void> feeding = feed(in, std::move(input));
        task<void> reading_out = drain(out, &result.std_out);
        task<void> reading_err = drain(err, &result.std_err);
        co_await corio::gather(std::move(feeding), std::move(reading_out), std::move(reading_err));
        result.returncode = co_await wait();
        co_return result;
    }

    /// communicate() with nothing to write (stdin, when piped, is closed).
    [[nodiscard]] task<output> communicate() { return communicate(std::string()); }

    /// Sends `signal` to the child (nothing once it has been reaped).
    void send_signal(int signal) {
        if (!m_state->returncode) {
            corio::detail::signal_child(m_state->pid, signal);
        }
    }
    /// SIGTERM.
    void terminate() { send_signal(SIGTERM); }
    /// SIGKILL.
    void kill() { send_signal(SIGKILL); }

private:
    friend task<process> exec(std::vector<std::string> argv, options opts);

    process() = default;

    static unix_stream& piped(std::optional<unix_stream>& stream, const char* option) {
        if (!stream) {
            throw std::logic_error(std::string("corio::subprocess: the child's ") + option +
                                   " is not a pipe (set options::" + option + " = redirect::pipe)");
        }
        return *stream;
    }

    std::shared_ptr<detail::child_state> m_state;
    std::optional<unix_stream> m_std_in;
    std::optional<unix_stream> m_std_out;
    std::optional<unix_stream> m_std_err;
};

/// Starts `argv` (argv[0] searched in PATH when it has no '/'):
/// asyncio.create_subprocess_exec(*argv, stdin=..., stdout=..., cwd=..., env=...).
/// A program that cannot be started throws std::system_error naming it.
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<process> exec(std::vector<std::string> argv, options opts) {
    auto map_mode = [](redirect mode) {
        switch (mode) {
            case redirect::pipe:
                return corio::detail::child_stdio::pipe;
            case redirect::devnull:
                return corio::detail::child_stdio::devnull;
            case redirect::to_stdout:
                return corio::detail::child_stdio::to_stdout;
            case redirect::inherit:
                break;
        }
        return corio::detail::child_stdio::inherit;
    };
    corio::detail::spawn_request request;
    request.argv = std::move(argv);
    request.std_in = map_mode(opts.std_in);
    request.std_out = map_mode(opts.std_out);
    request.std_err = map_mode(opts.std_err);
    request.cwd = std::move(opts.cwd);
    if (opts.env) {
        std::vector<std::string> entries;
        entries.reserve(opts.env->size());
        for (const auto& [name, value] : *opts.env) {
            entries.push_back(name + "=" + value);
        }
        request.environment = std::move(entries);
    }
    corio::event_loop& loop = corio::get_running_loop();
    corio::detail::spawned_child child = corio::detail::spawn_child(request);

    process p;
    p.m_state = std::make_shared<detail::child_state>();
    p.m_state->pid = child.pid;
    const std::string name = "<" + request.argv.front() + " ";
    auto adopt = [&](corio::detail::unique_fd fd, const char* stream, std::optional<unix_stream>& into) {
        if (fd.valid()) {
            endpoint peer{name + stream + ">", 0, address_family::unix_path};
            into.emplace(corio::detail::socket_source(loop, std::move(fd)), std::move(peer));
        }
    };
    adopt(std::move(child.std_in), "stdin", p.m_std_in);
    adopt(std::move(child.std_out), "stdout", p.m_std_out);
    adopt(std::move(child.std_err), "stderr", p.m_std_err);
    corio::create_task(detail::reap(p.m_state, std::move(child.pidfd)));
    co_return p;
}

/// exec with the default options: every stream inherited.
[[nodiscard]] inline task<process> exec(std::vector<std::string> argv) { return exec(std::move(argv), options()); }

/// Runs `command` with /bin/sh -c: asyncio.create_subprocess_shell.
[[nodiscard]] inline task<process> shell(std::string command, options opts) {
    return exec({"/bin/sh", "-c", std::move(command)}, std::move(opts));
}

/// shell with the default options: every stream inherited.
[[nodiscard]] inline task<process> shell(std::string command) { return shell(std::move(command), options()); }

}  // namespace corio::subprocess
