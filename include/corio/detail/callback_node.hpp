#pragma once

// The loop's jobs that carry a callable (call_soon / call_later / call_at
// callbacks, signal handlers), and the entry point that resumes a coroutine.

#include <corio/detail/timer_heap.hpp>

#include <coroutine>
#include <type_traits>
#include <utility>

namespace corio::detail {

/// A callable scheduled by call_soon / call_later / call_at, shared between
/// the loop's queues and the caller's callback_handle; also a signal
/// handler, shared between the loop's signal registry and its deliveries.
class callback_node : public timer_entry {
public:
    callback_node(const callback_node&) = delete;
    callback_node& operator=(const callback_node&) = delete;

    void add_ref() noexcept { ++m_refs; }
    void release() noexcept {
        if (--m_refs == 0) {
            delete this;
        }
    }

    // Set by callback_handle::cancel, or when a signal handler is removed or
    // replaced: a run already scheduled then does nothing.
    bool m_cancelled = false;

    /// Calls the callable unless cancelled.
    void run() {
        if (!m_cancelled) {
            invoke();
        }
    }

    // Ready-queue entry point: runs the node, then drops the queue's reference
    // (also when the callable throws).
    static void run_job(void* self) {
        auto* node = static_cast<callback_node*>(self);
        struct releaser {
            callback_node* node;
            ~releaser() { node->release(); }
        } release_on_exit{node};
        node->run();
    }

protected:
    callback_node() noexcept = default;
    virtual ~callback_node() = default;
    virtual void invoke() = 0;

private:
    unsigned m_refs = 1;
};

template <class F>
class callback_impl final : public callback_node {
public:
    template <class G>
    explicit callback_impl(G&& f) : m_f(std::forward<G>(f)) {}

private:
    void invoke() override { m_f(); }
    F m_f;
};

/// A new node holding f, with one reference for the caller to hand on.
template <class F>
callback_node* make_callback(F&& f) {
    return new callback_impl<std::decay_t<F>>(std::forward<F>(f));
}

/// Ready-queue entry point that resumes the coroutine whose address is `address`.
inline void resume_job(void* address) { std::coroutine_handle<>::from_address(address).resume(); }

}  // namespace corio::detail
