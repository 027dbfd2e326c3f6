#pragma once

#include <corio/event_loop.hpp>
#include <corio/outcome.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>

#include <exception>
#include <utility>

namespace corio {

/// Runs `main` on a new event loop until it finishes (asyncio.run): returns
/// its value or rethrows its exception. Before returning it cancels every task
/// still running and waits for all of them to finish, then closes the loop.
/// Throws event_loop_error if a loop is already running on this thread.
template <class T>
T run(task<T> main) {
    if (detail::running_loop_slot() != nullptr) {
        throw event_loop_error("corio::run: cannot be called while an event loop runs on this thread");
    }
    event_loop loop;
    auto result = [&]() -> outcome<T> {
        try {
            if constexpr (std::is_void_v<T>) {
                loop.run_until_complete(std::move(main));
                return outcome<T>::from_value();
            } else {
                return outcome<T>::from_value(loop.run_until_complete(std::move(main)));
            }
        } catch (...) {
            return outcome<T>::from_exception(std::current_exception());
        }
    }();
    loop.cancel_all_tasks();
    loop.close();
    return std::move(result).value();
}

}  // namespace corio
