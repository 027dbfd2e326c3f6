#pragma once

// Live inspection of a running process from outside (`corio-ps PID`, as
// Python 3.14's `python -m asyncio ps PID`): a Unix socket, opened only when
// the program asks for it, that answers with the loop's task tree.

#include <corio/combinators.hpp>
#include <corio/debug.hpp>
#include <corio/detail/config.hpp>
#include <corio/detail/inspection_path.hpp>
#include <corio/event_loop.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/net/unix.hpp>
#include <corio/task.hpp>
#include <corio/timeout.hpp>

#include <chrono>

#include <string>
#include <string_view>

namespace corio {
namespace detail {

// One inspection request: a command line ("tasks", "json" or "metrics"; an
// empty one means "tasks"), answered on the same connection, which is then closed.
CORIO_HEADER_COROUTINE inline task<void> answer_inspection(unix_stream stream) {
    std::string command;
    try {
        command = co_await wait_for(stream.read_until("\n", 256), std::chrono::seconds(5));
    } catch (const std::exception&) {
        command.clear();  // no line (in time): the default report
    }
    while (!command.empty() && (command.back() == '\n' || command.back() == '\r')) {
        command.pop_back();
    }
    event_loop& loop = get_running_loop();
    std::string answer;
    if (command.empty() || command == "tasks") {
        answer = "pid " + std::to_string(detail::current_process_id()) + ", " +
                 std::to_string(loop.metrics().tasks_pending) + " tasks\n" + format_task_tree(loop);
    } else if (command == "metrics") {
        answer = loop.metrics().to_prometheus();
    } else {
        answer = "unknown command '" + command + "' (try: tasks, metrics)\n";
    }
    co_await stream.write(answer);
}

}  // namespace detail

/// Opens this process's inspection socket (see detail::inspection_socket_path:
/// `$XDG_RUNTIME_DIR/corio-<pid>.sock`, else `/tmp/corio-<uid>/corio-<pid>.sock`,
/// in a directory of mode 0700, the socket 0600) on the running loop and
/// returns its server: `corio-ps PID` then prints the loop's task tree (turn
/// debug mode on too for parents, steps and pending co_awaits). Close the
/// server to stop; its socket file goes with it. It shows task names and
/// source lines: only the user running the process can connect. Throws
/// std::runtime_error when the directory is open to others or not this
/// user's.
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<unix_server> start_inspection() {
    detail::ensure_private_directory(detail::inspection_directory());
    const std::string path = detail::inspection_socket_path(detail::current_process_id());
    unix_server server = co_await start_unix_server(&detail::answer_inspection, path);
    detail::restrict_to_owner(path);
    co_return server;
}

}  // namespace corio
