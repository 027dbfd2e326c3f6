#pragma once

// add_signal_handler's registry: which signals a loop watches, each one's
// handler, and the platform state a watch sets up and takes down again.

#include <corio/detail/callback_node.hpp>
#include <corio/detail/intrusive_ref.hpp>
#include <corio/detail/reactor.hpp>
#include <corio/detail/signal_mask.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <utility>
#include <vector>

namespace corio::detail {

/// One watched signal number: the reactor's tag for it (a stable address for
/// the signal's whole watch) and its current handler.
template <class Loop>
struct signal_watch : io_watch {
    Loop* loop = nullptr;
    int signum = 0;
    bool was_blocked = false;  // blocked in the loop thread before the loop blocked it
    intrusive_ref<callback_node> handler;  // the callable of add_signal_handler
};

/// The signals one loop watches. While watched, a signal is blocked in the
/// loop's thread and registered with the reactor; when the watch ends, the
/// mask goes back to what it was. An arrival is handed to the loop as a
/// callback. Loop thread only.
///
/// A template only because dispatching calls into the loop, which is still
/// incomplete where this header is read.
template <class Loop>
class signal_registry {
public:
    signal_registry(Loop& loop, reactor& reactor) noexcept : m_loop(loop), m_reactor(reactor) {}
    signal_registry(const signal_registry&) = delete;
    signal_registry& operator=(const signal_registry&) = delete;

    /// Number of signals watched.
    [[nodiscard]] std::size_t size() const noexcept { return m_watches.size(); }

    /// Makes `handler` the handler of `signum`, replacing (and cancelling)
    /// the one set before. Returns true if `signum` was not watched and now
    /// is; on an exception nothing changed.
    bool set(int signum, intrusive_ref<callback_node> handler) {
        for (const auto& watch : m_watches) {
            if (watch->signum == signum) {
                watch->handler->m_cancelled = true;
                watch->handler = std::move(handler);
                return false;
            }
        }
        auto watch = std::make_unique<signal_watch<Loop>>();
        watch->on_events = &dispatch;
        watch->loop = &m_loop;
        watch->signum = signum;
        watch->handler = std::move(handler);
        m_watches.reserve(m_watches.size() + 1);  // so the push_back below cannot throw
        watch->was_blocked = block_signal(signum);
        try {
            m_reactor.add_signal(signum, watch.get());
        } catch (...) {
            if (!watch->was_blocked) {
                unblock_signal(signum);
            }
            throw;
        }
        m_watches.push_back(std::move(watch));
        return true;
    }

    /// Stops watching `signum`; false if it was not watched.
    bool remove(int signum) noexcept {
        for (auto it = m_watches.begin(); it != m_watches.end(); ++it) {
            if ((*it)->signum == signum) {
                unwatch(**it);
                m_watches.erase(it);
                return true;
            }
        }
        return false;
    }

    /// Stops watching every signal.
    void clear() noexcept {
        for (const auto& watch : m_watches) {
            unwatch(*watch);
        }
        m_watches.clear();
    }

private:
    // The reactor's callback for a watched signal.
    static void dispatch(io_watch* watch, io_events) noexcept {
        auto* self = static_cast<signal_watch<Loop>*>(watch);
        // Scheduled, not called: the reactor is mid-batch here, and a handler may
        // remove signal handlers (whose tags later events of the batch carry).
        try {
            self->loop->call_soon([handler = self->handler] { handler->run(); });
        } catch (...) {
            self->loop->call_exception_handler({"cannot schedule a signal handler", std::current_exception()});
        }
    }

    void unwatch(signal_watch<Loop>& watch) noexcept {
        watch.handler->m_cancelled = true;
        m_reactor.remove_signal(watch.signum);
        if (!watch.was_blocked) {
            unblock_signal(watch.signum);
        }
    }

    Loop& m_loop;
    reactor& m_reactor;
    std::vector<std::unique_ptr<signal_watch<Loop>>> m_watches;
};

}  // namespace corio::detail
