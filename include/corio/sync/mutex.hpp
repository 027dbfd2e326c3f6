#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/unique_hold.hpp>
#include <corio/detail/wait_node.hpp>
#include <corio/event_loop.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>

namespace corio {

class mutex;
class condition;

/// Ownership of a locked corio::mutex; unlocks it when destroyed (the
/// `async with lock:` of asyncio, as RAII). Movable, not copyable.
class [[nodiscard]] mutex_lock : public detail::unique_hold<mutex_lock, corio::mutex> {
public:
    mutex_lock() noexcept = default;

    /// True while this object holds its mutex.
    [[nodiscard]] bool owns_lock() const noexcept { return owner() != nullptr; }

    /// The mutex held, or null when this object holds nothing.
    [[nodiscard]] corio::mutex* mutex() const noexcept { return owner(); }

    /// Unlocks early (the first waiter, if any, becomes the owner); afterwards
    /// this object holds nothing. Does nothing if it holds nothing.
    void unlock() noexcept { give_back(); }

private:
    friend class corio::mutex;
    friend unique_hold;
    explicit mutex_lock(corio::mutex* owner) noexcept : unique_hold(owner) {}
    static inline void give_back_to(corio::mutex& owner) noexcept;
};

/// A mutual-exclusion lock for coroutines on one loop (asyncio.Lock).
///
/// `auto lock = co_await m.lock();` waits until the mutex is free and holds it
/// until `lock` is destroyed or `lock.unlock()` is called. Waiters are served
/// in FIFO order: an unlock while coroutines wait hands ownership straight to
/// the first of them (the mutex stays locked), so a newcomer can never
/// overtake a waiter. A waiter that is cancelled leaves the queue and never
/// ends up owning the mutex: if ownership had already been handed to it when
/// the cancellation arrived, it passes ownership on. Loop thread only; not
/// recursive (locking twice from one task deadlocks, as in asyncio).
class mutex {
public:
    mutex() noexcept = default;
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;

    /// Awaiter of lock().
    class lock_operation : public detail::queued_awaiter<lock_operation> {
    public:
        explicit lock_operation(corio::mutex& owner) noexcept
            : detail::queued_awaiter<lock_operation>(owner.m_waiters), m_owner(owner) {}
        // Movable only before it is awaited (so it can be handed to wait_for).
        lock_operation(lock_operation&& other) noexcept : lock_operation(other.m_owner) {}

        bool await_ready() noexcept { return m_owner.try_take(); }

    private:
        friend detail::queued_awaiter<lock_operation>;

        mutex_lock result() noexcept { return mutex_lock(&m_owner); }
        void undo() noexcept {
            if (granted()) {
                m_owner.release();  // cancelled after the hand-over: pass ownership on
            }
        }

        corio::mutex& m_owner;
    };

    /// Waits until the mutex is free; returns a mutex_lock owning it and
    /// resumes on the loop (at once, without suspending, if the mutex is free
    /// and nobody waits). Cancellation while waiting throws cancelled_error
    /// and leaves the mutex to the next waiter.
    [[nodiscard]] lock_operation lock() noexcept { return lock_operation(*this); }

    /// Locks the mutex if it is free and nobody waits; never suspends.
    [[nodiscard]] std::optional<mutex_lock> try_lock() noexcept {
        if (try_take()) {
            return mutex_lock(this);
        }
        return std::nullopt;
    }

    /// True while some coroutine owns the mutex (or it was handed to a waiter
    /// that has not resumed yet).
    [[nodiscard]] bool locked() const noexcept { return m_locked; }
    /// Coroutines waiting for the mutex.
    [[nodiscard]] std::size_t waiters() const noexcept { return m_waiters.size(); }

private:
    friend class mutex_lock;
    friend class condition;

    // Re-acquires for condition::wait: joins the queue like lock(), but does
    // not take cancellation (the lock must be held again when wait() throws,
    // as asyncio.Condition.wait does). A cancellation arriving meanwhile stays
    // pending for the strand; await_resume reports and consumes it.
    class relock_operation : private detail::wait_node {
    public:
        relock_operation(corio::mutex& owner, mutex_lock& target) noexcept
            : wait_node(owner.m_waiters), m_owner(owner), m_target(target) {}

        bool await_ready() noexcept { return m_owner.try_take(); }

        template <class Promise>
        void await_suspend(std::coroutine_handle<Promise> waiting) {
            enqueue_uncancellable(waiting);
        }

        /// Returns true if a cancellation arrived while waiting.
        bool await_resume() noexcept {
            m_target = mutex_lock(&m_owner);
            return take_pending_cancel();
        }

    private:
        corio::mutex& m_owner;
        mutex_lock& m_target;
    };

    [[nodiscard]] relock_operation relock(mutex_lock& target) noexcept {
        return relock_operation(*this, target);
    }

    // Takes the mutex if it is free; a free mutex never has waiters, since an
    // unlock with waiters hands ownership over instead of freeing it.
    bool try_take() noexcept {
        if (m_locked || !m_waiters.empty()) {
            return false;
        }
        m_locked = true;
        return true;
    }

    // Hands ownership to the first waiter, or frees the mutex.
    void release() noexcept {
        if (!m_waiters.empty()) {
            m_waiters.pop_front().grant();
        } else {
            m_locked = false;
        }
    }

    detail::intrusive_list<detail::wait_node> m_waiters;
    bool m_locked = false;
};

inline void mutex_lock::give_back_to(corio::mutex& owner) noexcept { owner.release(); }

}  // namespace corio
