#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/wait_node.hpp>
#include <corio/event_loop.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <cstddef>

namespace corio {

/// A flag coroutines can wait for (asyncio.Event).
///
/// `co_await ev.wait()` returns at once if the event is set, and otherwise
/// suspends until set() is called. set() wakes every waiter, in the order they
/// started waiting; a waiter woken by set() returns normally even if clear()
/// is called before it resumes. A waiter that is cancelled leaves the queue
/// and its wait() throws cancelled_error. Loop thread only.
class event {
public:
    event() noexcept = default;
    /// An event that starts set (`initially_set`) or clear.
    explicit event(bool initially_set) noexcept : m_set(initially_set) {}
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    /// Awaiter of wait().
    class wait_operation : public detail::queued_awaiter<wait_operation> {
    public:
        explicit wait_operation(event& owner) noexcept
            : detail::queued_awaiter<wait_operation>(owner.m_waiters), m_owner(owner) {}
        // Movable only before it is awaited (so it can be handed to wait_for).
        wait_operation(wait_operation&& other) noexcept : wait_operation(other.m_owner) {}

        bool await_ready() const noexcept { return m_owner.m_set; }

    private:
        event& m_owner;
    };

    /// Waits until the event is set; returns at once, without suspending, if
    /// it is set already. Resumes on the loop. Cancellation while waiting
    /// throws cancelled_error.
    [[nodiscard]] wait_operation wait() noexcept { return wait_operation(*this); }

    /// Sets the flag and wakes every waiter, FIFO. Setting a set event does nothing.
    void set() noexcept {
        if (m_set) {
            return;
        }
        m_set = true;
        while (!m_waiters.empty()) {
            m_waiters.pop_front().grant();
        }
    }

    /// Resets the flag; later wait() calls suspend until the next set().
    void clear() noexcept { m_set = false; }

    /// True while the flag is set.
    [[nodiscard]] bool is_set() const noexcept { return m_set; }
    /// Coroutines waiting for the event.
    [[nodiscard]] std::size_t waiters() const noexcept { return m_waiters.size(); }

private:
    detail::intrusive_list<detail::wait_node> m_waiters;
    bool m_set = false;
};

}  // namespace corio
