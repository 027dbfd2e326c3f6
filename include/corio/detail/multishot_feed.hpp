#pragma once

// What a multishot io_uring operation's consumer shares, whatever it takes
// (connections, received bytes): only in a build with io_uring compiled in.

#include <corio/detail/completion_operation.hpp>

#if defined(CORIO_REACTOR_IO_URING)

#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/event_loop.hpp>

#include <coroutine>
#include <memory>
#include <utility>

namespace corio::detail {

/// One multishot operation and the one coroutine that waits for what it
/// posts (CRTP). `Derived` queues what each completion brings in its
/// `static void complete(io_completion*, int result, unsigned flags)`,
/// which ends with finish_completion(), and says in `has_news()` whether
/// anything is queued for the taker.
///
/// The kernel may still post to the feed after its owner let go of it, so
/// release() (the pointer's deleter) hands a feed whose multishot has not
/// ended to the ring, and its last completion destroys it.
template <class Derived>
class multishot_feed : private io_completion {
public:
    struct releaser {
        void operator()(Derived* feed) const noexcept { feed->release(); }
    };
    using pointer = std::unique_ptr<Derived, releaser>;

    multishot_feed(const multishot_feed&) = delete;
    multishot_feed& operator=(const multishot_feed&) = delete;

    /// Whether a coroutine waits in arrival().
    [[nodiscard]] bool has_waiter() const noexcept { return m_waiter != nullptr; }

    /// Awaits a completion of the multishot (news, or its end): then take
    /// again. Cancellable; what arrives meanwhile stays queued.
    class arrival_operation : public cancellable_awaiter<arrival_operation> {
    public:
        explicit arrival_operation(multishot_feed& feed) noexcept : m_feed(feed) {}
        arrival_operation(const arrival_operation&) = delete;
        arrival_operation& operator=(const arrival_operation&) = delete;
        // A frame destroyed while it waits (its loop closing) leaves no
        // waiter behind; one woken already does not touch the feed, which
        // may be gone.
        ~arrival_operation() {
            if (m_registered) {
                m_feed.m_waiter = nullptr;
            }
        }
        // An idle feed posts nothing more: take again (that re-arms it).
        [[nodiscard]] bool await_ready() const noexcept {
            return m_feed.derived().has_news() || m_feed.m_state == state::idle;
        }

    private:
        friend cancellable_awaiter<arrival_operation>;
        friend class multishot_feed;
        template <class Promise>
        bool start(std::coroutine_handle<Promise> waiting) {
            m_feed.m_waiter = this;
            m_registered = true;
            m_waiting = waiting;
            return true;
        }
        bool cancel() noexcept {
            m_feed.m_waiter = nullptr;
            m_registered = false;
            m_feed.m_loop.resume_soon(m_waiting);
            return true;
        }
        void wake() noexcept {
            m_registered = false;
            this->disarm();
            m_feed.m_loop.resume_soon(m_waiting);
        }

        multishot_feed& m_feed;
        std::coroutine_handle<> m_waiting;
        bool m_registered = false;
    };

    [[nodiscard]] arrival_operation arrival() noexcept { return arrival_operation(*this); }

protected:
    enum class state : unsigned char { idle, armed, ending };

    multishot_feed(event_loop& loop, io_uring_reactor& ring) noexcept : m_loop(loop), m_ring(ring) {
        on_complete = &Derived::complete;
    }
    ~multishot_feed() = default;

    static Derived& feed_of(io_completion* operation) noexcept {
        return static_cast<Derived&>(static_cast<multishot_feed&>(*operation));
    }

    /// Submits the multishot, prepared by `prepare(sqe)`.
    template <class Prepare>
    void arm(Prepare&& prepare) {
        m_ring.submit(*this, std::forward<Prepare>(prepare));
        m_state = state::armed;
    }

    /// Asks the kernel to end an armed multishot; what it posts meanwhile
    /// still comes, and its last completion makes the feed idle.
    void end() noexcept {
        if (m_state == state::armed) {
            m_ring.cancel(*this);
            m_state = state::ending;
        }
    }

    void wake_waiter() noexcept {
        if (arrival_operation* waiter = std::exchange(m_waiter, nullptr)) {
            waiter->wake();
        }
    }

    /// The end of Derived::complete: the feed is idle after the multishot's
    /// last completion, and destroyed then if its owner let go of it (false:
    /// do not touch it again); a waiter is woken.
    bool finish_completion(unsigned flags) noexcept {
        if ((flags & IORING_CQE_F_MORE) == 0) {
            m_state = state::idle;
            if (!m_owned) {
                m_ring.forget(*this);
                delete &derived();
                return false;
            }
        }
        wake_waiter();
        return true;
    }

    [[nodiscard]] bool owned() const noexcept { return m_owned; }

    event_loop& m_loop;
    io_uring_reactor& m_ring;
    state m_state = state::idle;

private:
    Derived& derived() noexcept { return static_cast<Derived&>(*this); }
    const Derived& derived() const noexcept { return static_cast<const Derived&>(*this); }

    void release() noexcept {
        m_owned = false;
        m_waiter = nullptr;
        if (m_state == state::idle) {
            delete &derived();
            return;
        }
        end();
        m_ring.adopt(*this, &destroy);
    }

    static void destroy(io_completion* self) noexcept { delete &feed_of(self); }

    arrival_operation* m_waiter = nullptr;
    bool m_owned = true;  // false once released: the last completion destroys it
};

}  // namespace corio::detail

#endif
