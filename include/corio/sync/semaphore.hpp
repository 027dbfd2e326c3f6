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
#include <stdexcept>
#include <string>
#include <utility>

namespace corio {

class semaphore;

/// Ownership of one semaphore permit; gives it back when destroyed
/// (the `async with sem:` of asyncio, as RAII).
class [[nodiscard]] semaphore_permit : public detail::unique_hold<semaphore_permit, semaphore> {
public:
    semaphore_permit() noexcept = default;

    /// True while this object holds a permit.
    [[nodiscard]] bool owns_permit() const noexcept { return owner() != nullptr; }

    /// Gives the permit back early; afterwards this object holds nothing.
    void release() noexcept { give_back(); }

private:
    friend class semaphore;
    friend unique_hold;
    explicit semaphore_permit(semaphore* owner) noexcept : unique_hold(owner) {}
    static inline void give_back_to(semaphore& owner) noexcept;
};

/// A counting semaphore for coroutines on one loop (asyncio.Semaphore).
///
/// `auto permit = co_await sem.acquire();` waits for a permit and holds it
/// until `permit` is destroyed. Waiters are served in FIFO order; a permit
/// released while coroutines wait goes straight to the first of them, so a
/// newcomer cannot overtake. A waiter that is cancelled leaves the queue and
/// never consumes a permit. Loop thread only.
class semaphore {
public:
    /// A semaphore with `initial` free permits (default 1: one holder at a time).
    explicit semaphore(std::size_t initial = 1) noexcept : m_available(initial) {}
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;
    virtual ~semaphore() = default;

    class acquire_operation : public detail::queued_awaiter<acquire_operation> {
    public:
        explicit acquire_operation(semaphore& owner) noexcept
            : detail::queued_awaiter<acquire_operation>(owner.m_waiters), m_owner(owner) {}
        // Movable only before it is awaited (so it can be handed to wait_for).
        acquire_operation(acquire_operation&& other) noexcept : acquire_operation(other.m_owner) {}

        bool await_ready() noexcept {
            // Only an empty queue may take a free permit: waiters go first.
            if (m_owner.m_available > 0 && m_owner.m_waiters.empty()) {
                --m_owner.m_available;
                set_granted();
                return true;
            }
            return false;
        }

    private:
        friend detail::queued_awaiter<acquire_operation>;

        semaphore_permit result() noexcept { return semaphore_permit(&m_owner); }
        void undo() noexcept {
            if (granted()) {
                m_owner.give_back();  // cancelled after the hand-over: pass the permit on
            }
        }

        semaphore& m_owner;
    };

    /// Waits for a permit; see the class comment. Cancellation while waiting
    /// throws cancelled_error and takes no permit.
    [[nodiscard]] acquire_operation acquire() noexcept { return acquire_operation(*this); }

    /// Takes a permit if one is free and nobody waits; never suspends.
    [[nodiscard]] std::optional<semaphore_permit> try_acquire() noexcept {
        if (m_available > 0 && m_waiters.empty()) {
            --m_available;
            return semaphore_permit(this);
        }
        return std::nullopt;
    }

    /// Returns a permit taken without a semaphore_permit (for manual
    /// acquire/release pairing). Wakes the first waiter if any.
    virtual void release() { give_back(); }

    /// Permits free right now.
    [[nodiscard]] std::size_t available() const noexcept { return m_available; }
    /// True when an acquire() would have to wait (asyncio's locked()).
    [[nodiscard]] bool locked() const noexcept { return m_available == 0 || !m_waiters.empty(); }
    /// Coroutines waiting for a permit.
    [[nodiscard]] std::size_t waiters() const noexcept { return m_waiters.size(); }

protected:
    /// A semaphore_permit gives its permit back; it cannot throw (destructors call it).
    virtual void return_permit() noexcept { give_back(); }

    /// Hands the permit to the first waiter, or adds it to the free count.
    void give_back() noexcept {
        if (!m_waiters.empty()) {
            m_waiters.pop_front().grant();
        } else {
            ++m_available;
        }
    }

private:
    friend class semaphore_permit;

    std::size_t m_available;
    detail::intrusive_list<detail::wait_node> m_waiters;
};

/// A semaphore that refuses to hold more permits than it started with
/// (asyncio.BoundedSemaphore): an extra release() throws std::logic_error,
/// which catches acquire/release pairing bugs early.
class bounded_semaphore final : public semaphore {
public:
    /// A semaphore with `initial` free permits (default 1), which is also the most it may hold.
    explicit bounded_semaphore(std::size_t initial = 1) noexcept : semaphore(initial), m_limit(initial) {}

    void release() override {
        if (available() >= m_limit) {
            throw std::logic_error("corio::bounded_semaphore: released more times than acquired (limit " +
                                   std::to_string(m_limit) + ")");
        }
        give_back();
    }

    /// The most permits it may hold: the `initial` it was constructed with.
    [[nodiscard]] std::size_t limit() const noexcept { return m_limit; }

private:
    // A permit coming back after a stray release() already refilled the
    // semaphore: the extra permit is dropped so the limit holds, and the bug
    // is reported rather than thrown from a destructor.
    void return_permit() noexcept override {
        if (available() < m_limit) {
            give_back();
            return;
        }
        const exception_context context{
            "bounded_semaphore: a permit was returned after release() already refilled the semaphore",
            std::make_exception_ptr(std::logic_error("corio::bounded_semaphore: released too many times"))};
        if (event_loop* loop = detail::running_loop_slot()) {
            loop->call_exception_handler(context);
        } else {
            event_loop::default_exception_handler(context);
        }
    }

    std::size_t m_limit;
};

inline void semaphore_permit::give_back_to(semaphore& owner) noexcept { owner.return_permit(); }

}  // namespace corio
