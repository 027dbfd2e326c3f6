#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/wait_node.hpp>
#include <corio/detail/config.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/event_loop.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <cstddef>
#include <stdexcept>

namespace corio {

/// A condition variable for coroutines on one loop (asyncio.Condition), bound
/// to a corio::mutex.
///
///     auto lock = co_await cond.lock();
///     co_await cond.wait(lock, [&] { return !items.empty(); });
///     // the lock is held and the predicate is true
///
/// wait() unlocks the mutex, waits for a notification, and locks the mutex
/// again before it returns, also when it is cancelled: a cancelled wait()
/// throws cancelled_error with the lock held again, as asyncio does, so the
/// caller's scope can rely on holding it. Waiters are notified in FIFO order.
/// A waiter that was notified and then cancelled (before it resumed, or while
/// it re-locks) passes the notification on to the next waiter, so a
/// notify_one() is never lost.
/// notify_one() / notify_all() require the mutex to be locked (asyncio's rule).
/// Loop thread only.
class condition {
public:
    /// A condition with a mutex of its own (reach it through lock()).
    condition() noexcept : m_mutex(&m_own_mutex) {}
    /// A condition bound to `m`, which must outlive it.
    explicit condition(corio::mutex& m) noexcept : m_mutex(&m) {}
    condition(const condition&) = delete;
    condition& operator=(const condition&) = delete;

    /// The mutex this condition is bound to.
    [[nodiscard]] corio::mutex& get_mutex() const noexcept { return *m_mutex; }

    /// Locks the bound mutex: `co_await cond.lock()` is `co_await cond.get_mutex().lock()`.
    [[nodiscard]] mutex::lock_operation lock() noexcept { return m_mutex->lock(); }

    /// Awaiter of the notification part of wait(); exposed for wait()'s frame only.
    class notify_operation : public detail::queued_awaiter<notify_operation> {
    public:
        explicit notify_operation(condition& owner) noexcept
            : detail::queued_awaiter<notify_operation>(owner.m_waiters), m_owner(owner) {}

    private:
        friend detail::queued_awaiter<notify_operation>;

        void undo() noexcept {
            if (granted()) {
                m_owner.wake(1);  // the notification goes to the next waiter instead
            }
        }

        condition& m_owner;
    };

    /// Unlocks `lock`, waits for notify_one() / notify_all(), locks again and
    /// returns (asyncio's Condition.wait()). Resumes on the loop holding the
    /// lock, in FIFO order with other lockers. Throws std::logic_error if
    /// `lock` does not hold this condition's mutex. Cancelled: throws
    /// cancelled_error once the lock is held again. The condition and `lock`
    /// must outlive the wait.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> wait(mutex_lock& lock) {
        check_holds(lock);
        lock.unlock();
        bool cancelled = false;
        try {
            co_await notify_operation(*this);
        } catch (const cancelled_error&) {
            cancelled = true;  // re-lock first (no co_await in a handler: GCC 12 coroutine bugs)
        }
        const bool cancelled_while_relocking = co_await m_mutex->relock(lock);
        if (cancelled_while_relocking && !cancelled) {
            // Notified, then cancelled while re-locking: this waiter took a
            // notification it will not act on, so it goes to the next waiter
            // (CPython gh-112202). A waiter cancelled before it resumed from
            // the notification already passed it on in notify_operation::undo.
            wake(1);
        }
        if (cancelled || cancelled_while_relocking) {
            co_await detail::rethrow_cancellation();
        }
    }

    /// Waits until `predicate()` is true (asyncio's Condition.wait_for):
    /// checks it with the lock held, and calls wait(lock) while it is false.
    /// Returns with the lock held and the predicate true. Cancellation as for
    /// wait(lock): the lock is held again when cancelled_error propagates.
    template <class Predicate>
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> wait(mutex_lock& lock, Predicate predicate) {
        check_holds(lock);
        while (!predicate()) {
            co_await wait(lock);
        }
    }

    /// Wakes the longest-waiting coroutine, if any. Throws std::logic_error if
    /// the mutex is not locked.
    void notify_one() { notify(1); }
    /// Wakes up to `n` waiters, FIFO.
    void notify(std::size_t n) {
        check_locked();
        wake(n);
    }
    /// Wakes every waiter, FIFO. Throws std::logic_error if the mutex is not locked.
    void notify_all() {
        check_locked();
        wake(m_waiters.size());
    }

    /// Coroutines waiting for a notification (not those re-locking).
    [[nodiscard]] std::size_t waiters() const noexcept { return m_waiters.size(); }

private:
    void check_holds(const mutex_lock& lock) const {
        if (lock.mutex() != m_mutex) {
            throw std::logic_error(
                lock.owns_lock() ? "corio::condition::wait: the lock holds another mutex"
                                 : "corio::condition::wait: the lock does not hold the mutex");
        }
    }

    void check_locked() const {
        if (!m_mutex->locked()) {
            throw std::logic_error("corio::condition::notify: the mutex is not locked");
        }
    }

    void wake(std::size_t n) noexcept {
        while (n-- > 0 && !m_waiters.empty()) {
            m_waiters.pop_front().grant();
        }
    }

    corio::mutex m_own_mutex;
    corio::mutex* m_mutex;
    detail::intrusive_list<detail::wait_node> m_waiters;
};

}  // namespace corio
