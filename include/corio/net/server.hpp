#pragma once

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/detail/wait_node.hpp>
#include <corio/detail/config.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/net/detail/accept_feed.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/net/detail/socket_source.hpp>
#include <corio/event_loop.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/net/errors.hpp>
#include <corio/net/stream.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/event.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace corio {

/// Options of start_server / start_unix_server.
struct server_options {
    /// listen() backlog (the kernel caps it at net.core.somaxconn).
    int backlog = 1024;
    /// SO_REUSEADDR (TCP only): rebinding a port with connections in TIME_WAIT works.
    bool reuse_address = true;
    /// SO_REUSEPORT: several sockets (one loop per core) share one port and the
    /// kernel spreads incoming connections among them.
    bool reuse_port = false;
    /// How long accept backs off after running out of fds or memory (EMFILE,
    /// ENFILE, ENOBUFS, ENOMEM) before it tries again; it tries sooner when one
    /// of the server's connections ends (a descriptor is free again). Clients
    /// wait in the listen backlog meanwhile; connections already open are
    /// served as usual.
    std::chrono::milliseconds accept_backoff{100};
    /// Accept failures go to the loop's exception handler at most once per
    /// this interval; the next report says how many were not reported, and
    /// so does a note once accepting works again.
    std::chrono::milliseconds accept_error_report_interval{10'000};
    /// At most this many connections at once (0: no limit). At the limit the
    /// server accepts nothing until a connection ends; new clients wait in the
    /// listen backlog. A client waiting there while the server is full calls
    /// the function given to stream_server::set_make_room (if any), which may
    /// close a connection it can spare.
    std::size_t max_connections = 0;
};

namespace detail {

struct connection_handler_base {
    virtual ~connection_handler_base() = default;
    virtual task<void> call(stream_socket stream) = 0;
};

template <class Handler>
struct connection_handler final : connection_handler_base {
    explicit connection_handler(Handler h) : handler(std::move(h)) {}
    task<void> call(stream_socket stream) override { return std::invoke(handler, std::move(stream)); }
    Handler handler;
};

/// Shared state of a server: listeners, the accept tasks, the connection
/// tasks in flight, and coroutines waiting for it to close. Kept alive by the
/// stream_server object and by every accept and connection task.
class server_state : public std::enable_shared_from_this<server_state> {
public:
    struct listener {
        socket_source socket;
        endpoint local;
        std::string label;
#if defined(CORIO_REACTOR_IO_URING)
        // On an io_uring loop: the multishot accept that feeds the accept loop.
        accept_feed::pointer feed;
#endif
    };

    struct connection {
        task_handle<void> handle;
        bool started = false;  // the body ran (so its guard will erase this entry)
    };

    /// A coroutine in serve_forever() (waits until closed) or wait_closed()
    /// (waits until closed and every connection task finished).
    struct waiter : wait_node {
        waiter(list_links& list, bool drained) noexcept : wait_node(list), need_drained(drained) {}
        bool need_drained;
    };

    server_state(event_loop& loop, std::unique_ptr<connection_handler_base> handler, server_options options)
        : m_loop(loop), m_handler(std::move(handler)), m_options(options) {}

    event_loop& m_loop;
    std::unique_ptr<connection_handler_base> m_handler;
    server_options m_options;
    std::vector<listener> m_listeners;
    std::vector<task_handle<void>> m_acceptors;
    std::vector<bool> m_acceptor_sleeping;  // per listener: backing off after an accept error
    std::size_t m_acceptors_running = 0;    // accept tasks whose body has not returned
    std::unordered_map<std::uint64_t, connection> m_connections;
    std::uint64_t m_next_id = 0;
    std::string m_unix_path;  // removed on close
    bool m_closed = false;
    intrusive_list<waiter> m_waiters;
    corio::event m_connection_ended;  // set when a connection ends: wakes an accept task that waits for one
    bool m_accept_failing = false;    // the last accept attempt failed (not transiently)
    bool m_accept_reported = false;   // an accept failure was reported (at m_accept_report_time)
    event_loop::time_point m_accept_report_time{};
    std::uint64_t m_accept_failures_unreported = 0;
    std::function<void()> m_make_room;  // stream_server::set_make_room

    /// True when max_connections are open.
    [[nodiscard]] bool full() const noexcept {
        return m_options.max_connections != 0 && m_connections.size() >= m_options.max_connections;
    }

    void close() noexcept {
        if (!m_closed) {
            m_closed = true;
            for (listener& l : m_listeners) {
#if defined(CORIO_REACTOR_IO_URING)
                if (l.feed) {
                    l.feed->stop();
                }
#endif
                l.socket.close();
            }
            // An accept task waiting for readiness was just woken by its
            // listener closing; one backing off is cancelled out of its sleep.
            // One that has not started yet sees m_closed and returns, so its
            // guard always runs (a task cancelled before it starts would not run it).
            for (std::size_t i = 0; i < m_acceptors.size(); ++i) {
                if (m_acceptor_sleeping[i]) {
                    m_acceptors[i].cancel();
                }
            }
            m_acceptors.clear();  // the loop keeps running tasks alive; this breaks the reference cycle
            if (!m_unix_path.empty() && is_socket_file(m_unix_path)) {
                remove_file(m_unix_path);
            }
        }
        notify();
    }

    /// Cancels every connection task still running.
    void cancel_connections() noexcept {
        for (auto& [id, entry] : m_connections) {
            entry.handle.cancel();
        }
        notify();
    }

    void connection_left(std::uint64_t id) noexcept {
        m_connections.erase(id);
        m_connection_ended.set();
        notify();
    }

    /// Reports a failed accept to the loop's exception handler, at most once
    /// per accept_error_report_interval; the others are counted, and the next
    /// report (or accept_recovered()) gives the count.
    void report_accept_error(int error, const std::string& label) noexcept {
        m_accept_failing = true;
        const event_loop::time_point now = event_loop::clock::now();
        if (m_accept_reported && now - m_accept_report_time < m_options.accept_error_report_interval) {
            ++m_accept_failures_unreported;
            return;
        }
        try {
            std::string message = "corio server: accept failed; retrying within " +
                                  std::to_string(m_options.accept_backoff.count()) + " ms";
            if (m_accept_failures_unreported > 0) {
                message += " (" + std::to_string(m_accept_failures_unreported) +
                           " more failures since the last report)";
            }
            m_loop.call_exception_handler(
                {std::move(message),
                 std::make_exception_ptr(std::system_error(error, std::generic_category(), "accept " + label))});
        } catch (...) {
            // No memory even for the message: nothing more to do.
        }
        m_accept_reported = true;
        m_accept_report_time = now;
        m_accept_failures_unreported = 0;
    }

    /// An accept succeeded: notes the recovery when failures went unreported.
    void accept_recovered(const std::string& label) noexcept {
        if (!m_accept_failing) {
            return;
        }
        m_accept_failing = false;
        if (m_accept_failures_unreported == 0) {
            return;
        }
        try {
            m_loop.call_exception_handler({"corio server: accepting again on " + label + " after " +
                                               std::to_string(m_accept_failures_unreported) +
                                               " more failures since the last report",
                                           nullptr});
        } catch (...) {
            // No memory even for the message: nothing more to do.
        }
        m_accept_failures_unreported = 0;
    }

    /// Wakes the waiters whose condition now holds.
    void notify() noexcept {
        // A task cancelled before its body ran finishes without running its
        // guard: drop its entry here.
        std::erase_if(m_connections, [](const auto& item) {
            return !item.second.started && item.second.handle.done();
        });
        m_waiters.for_each([this](waiter& w) {
            if (ready(w)) {
                m_waiters.erase(w);
                w.wake();
            }
        });
    }

    [[nodiscard]] bool ready(const waiter& w) const noexcept {
        return m_closed && (!w.need_drained || (m_connections.empty() && m_acceptors_running == 0));
    }

    void start_connection(unique_fd fd, const listener& from);
};

/// Awaiter of serve_forever / wait_closed.
class server_wait_operation : public queued_awaiter<server_wait_operation, server_state::waiter> {
public:
    server_wait_operation(std::shared_ptr<server_state> state, bool need_drained) noexcept
        : queued_awaiter<server_wait_operation, server_state::waiter>(state->m_waiters, need_drained),
          m_state(std::move(state)) {}
    // Movable only before it is awaited (so it can be handed to wait_for).
    server_wait_operation(server_wait_operation&& other) noexcept
        : server_wait_operation(std::move(other.m_state), other.need_drained) {}
    server_wait_operation& operator=(const server_wait_operation&) = delete;

    bool await_ready() noexcept {
        m_state->notify();
        return m_state->ready(*this);
    }

private:
    std::shared_ptr<server_state> m_state;
};

// One connection: runs the handler; an exception it throws is reported to
// the loop's exception handler and goes no further.
CORIO_HEADER_COROUTINE inline task<void> serve_connection(std::shared_ptr<server_state> state, std::uint64_t id,
                                                          stream_socket stream) {
    struct guard {
        server_state& state;
        std::uint64_t id;
        guard(server_state& s, std::uint64_t i) : state(s), id(i) {
            if (auto it = state.m_connections.find(id); it != state.m_connections.end()) {
                it->second.started = true;
            }
        }
        ~guard() { state.connection_left(id); }
        guard(const guard&) = delete;
        guard& operator=(const guard&) = delete;
    } leave(*state, id);
    const std::string peer = stream.remote_endpoint().to_string();
    std::exception_ptr error;
    try {
        co_await state->m_handler->call(std::move(stream));
    } catch (const cancelled_error&) {
        throw;
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        state->m_loop.call_exception_handler({"corio server: connection handler for " + peer + " failed", error});
    }
}

inline void server_state::start_connection(unique_fd fd, const listener& from) {
    endpoint peer;
    if (from.local.family == address_family::unix_path) {
        peer = from.local;
    } else {
        peer = to_endpoint(peer_address(fd.get()));
        set_nodelay(fd.get(), true);
    }
    // Named only in debug mode, where a slow step or the task tree should say which connection.
    std::string name = m_loop.get_debug() ? "connection from " + peer.to_string() : std::string();
    stream_socket stream(socket_source(m_loop, std::move(fd)), std::move(peer));
    const std::uint64_t id = m_next_id++;
    task<void> body = serve_connection(shared_from_this(), id, std::move(stream));
    task_handle<void> handle = name.empty() ? m_loop.create_task(std::move(body))
                                            : m_loop.create_task(std::move(body), name);
    m_connections.emplace(id, connection{std::move(handle)});
}

// Accepts connections on one listener until the server closes. Errors that
// only concern the connection being accepted are skipped; running out of
// fds or memory is reported and backed off from, never spun on.
CORIO_HEADER_COROUTINE inline task<void> accept_loop(std::shared_ptr<server_state> state, std::size_t index) {
    struct guard {
        server_state& state;
        ~guard() {
            --state.m_acceptors_running;
            state.notify();
        }
    } leave{*state};
    server_state::listener& l = state->m_listeners[index];
#if defined(CORIO_REACTOR_IO_URING)
    if (io_uring_reactor* ring = l.socket.ring(); ring != nullptr && !l.feed) {
        l.feed = accept_feed::make(state->m_loop, *ring, l.socket.fd());
    }
    accept_feed* const feed = l.feed.get();
#endif
    unsigned burst = 0;
    while (!state->m_closed) {
        if (state->full()) {
            // Accept nothing until a connection ends. With nobody waiting in
            // the backlog, wait for a client first (a readiness edge); with a
            // client waiting, ask for room, then wait for a connection to end.
            burst = 0;
            bool waiting = false;
#if defined(CORIO_REACTOR_IO_URING)
            if (feed != nullptr) {
                feed->pause();  // clients wait in the backlog, not in the feed
                waiting = feed->has_queued();
            }
#endif
            if (!waiting && !connection_pending(l.socket.fd())) {
                bool closed = false;
                try {
                    co_await l.socket.readable("accept", l.label);
                } catch (const stream_closed&) {
                    closed = true;
                }
                if (closed) {
                    break;
                }
                continue;
            }
            state->m_connection_ended.clear();
            if (state->m_make_room) {
                std::exception_ptr error;
                try {
                    state->m_make_room();
                } catch (...) {
                    error = std::current_exception();
                }
                if (error) {
                    state->m_loop.call_exception_handler({"corio server: make_room failed", error});
                }
            }
            state->m_acceptor_sleeping[index] = true;
            struct awake {
                server_state& state;
                std::size_t index;
                ~awake() { state.m_acceptor_sleeping[index] = false; }
            } clear_flag{*state, index};
            co_await state->m_connection_ended.wait();
            continue;
        }
#if defined(CORIO_REACTOR_IO_URING)
        if (feed != nullptr) {
            feed->resume();
        }
        const int fd = feed != nullptr ? feed->take() : accept_connection(l.socket.fd());
#else
        const int fd = accept_connection(l.socket.fd());
#endif
        if (fd >= 0) {
            state->accept_recovered(l.label);
            std::exception_ptr error;
            try {
                state->start_connection(unique_fd(fd), l);
            } catch (...) {
                error = std::current_exception();
            }
            if (error) {
                state->m_loop.call_exception_handler({"corio server: could not start a connection", error});
            }
            // Let connections run between bursts; the syscall is retried
            // after the yield, so no readiness edge is lost.
            if (++burst == 64) {
                burst = 0;
                co_await sleep(std::chrono::milliseconds(0));
            }
            continue;
        }
        const int error = -fd;
#if defined(CORIO_REACTOR_IO_URING)
        if (error == EAGAIN && feed != nullptr) {
            burst = 0;
            co_await feed->arrival();  // a connection, an error, or the end (closing)
            continue;
        }
#endif
        if (error == EAGAIN) {
            burst = 0;
            bool closed = false;
            try {
                co_await l.socket.readable("accept", l.label);
            } catch (const stream_closed&) {
                closed = true;
            }
            if (closed) {
                break;
            }
            continue;
        }
        if (accept_error_is_transient(error)) {
            continue;
        }
        state->report_accept_error(error, l.label);
        state->m_acceptor_sleeping[index] = true;
        struct awake {
            server_state& state;
            std::size_t index;
            ~awake() { state.m_acceptor_sleeping[index] = false; }
        } clear_flag{*state, index};
        // Back off, or retry sooner when a connection ends and frees its
        // descriptor. Either way one attempt per wake-up: never a spin.
        state->m_connection_ended.clear();
        try {
            co_await wait_for(state->m_connection_ended.wait(), state->m_options.accept_backoff);
        } catch (const timeout_error&) {
            // The backoff passed: try again.
        }
    }
}

/// Makes a listening socket for `address`.
inline server_state::listener make_listener(event_loop& loop, const socket_address& address,
                                            const server_options& options) {
    std::string label = to_endpoint(address).to_string();
    unique_fd fd = open_socket(address.family(), socket_type_stream(), label);
    if (address.family() != family_unix()) {
        if (options.reuse_address) {
            set_reuse_address(fd.get());
        }
        if (address.family() == family_ipv6()) {
            set_v6_only(fd.get(), true);
        }
    }
    if (options.reuse_port) {
        set_reuse_port(fd.get());
    }
    bind_socket(fd.get(), address, label);
    listen_socket(fd.get(), options.backlog, label);
    endpoint local = to_endpoint(local_address(fd.get()));
    if (local.family == address_family::unix_path && local.address.empty()) {
        local = to_endpoint(address);
    }
    label = local.to_string();
    server_state::listener made;
    made.socket = socket_source(loop, std::move(fd));
    made.local = std::move(local);
    made.label = std::move(label);
    return made;
}

/// Starts one accept task per listener.
inline void start_accepting(const std::shared_ptr<server_state>& state) {
    state->m_acceptor_sleeping.assign(state->m_listeners.size(), false);
    for (std::size_t i = 0; i < state->m_listeners.size(); ++i) {
        std::string name = "accept loop on " + state->m_listeners[i].local.to_string();
        state->m_acceptors.push_back(state->m_loop.create_task(accept_loop(state, i), name));
        ++state->m_acceptors_running;
    }
}

template <class Handler>
std::unique_ptr<connection_handler_base> make_handler(Handler handler) {
    return std::make_unique<connection_handler<Handler>>(std::move(handler));
}

}  // namespace detail

/// A connection handler: any callable taking a stream_socket by value and
/// returning task<void>.
template <class Handler>
concept connection_handler = std::move_constructible<Handler> && std::invocable<Handler&, stream_socket> &&
                             std::same_as<std::invoke_result_t<Handler&, stream_socket>, task<void>>;

/// A listening server (asyncio's Server), made by start_server or
/// start_unix_server; `corio::tcp_server` and `corio::unix_server` name this
/// type. It accepts from the moment it is made: each connection runs the
/// handler in its own task, kept alive by the loop. An exception escaping a
/// handler is reported to the loop's exception handler and never stops the
/// server. Move-only; destroying it stops accepting (close()) but lets
/// handlers already running finish. Loop thread only.
class stream_server {
public:
    stream_server() noexcept = default;
    /// Wraps a started server's state (start_server and start_unix_server make it, not user code).
    explicit stream_server(std::shared_ptr<detail::server_state> state) noexcept : m_state(std::move(state)) {}
    /// Takes the server; the source is left empty.
    stream_server(stream_server&&) noexcept = default;
    /// Closes the server held before (see close()) and takes the other one.
    stream_server& operator=(stream_server&& other) noexcept {
        if (this != &other) {
            close();
            m_state = std::move(other.m_state);
        }
        return *this;
    }
    stream_server(const stream_server&) = delete;
    stream_server& operator=(const stream_server&) = delete;
    ~stream_server() { close(); }

    /// The port of the first listening socket (the one chosen for port 0); 0 for Unix sockets.
    [[nodiscard]] std::uint16_t port() const {
        return m_state && !m_state->m_listeners.empty() ? m_state->m_listeners.front().local.port : 0;
    }
    /// Every address the server listens on.
    [[nodiscard]] std::vector<endpoint> endpoints() const {
        std::vector<endpoint> result;
        if (m_state) {
            for (const auto& l : m_state->m_listeners) {
                result.push_back(l.local);
            }
        }
        return result;
    }
    /// True until close().
    [[nodiscard]] bool is_serving() const noexcept { return m_state && !m_state->m_closed; }
    /// Connection tasks still running.
    [[nodiscard]] std::size_t active_connections() const noexcept {
        return m_state ? m_state->m_connections.size() : 0;
    }

    /// Stops accepting: closes the listening sockets (and removes a Unix
    /// socket's file). Connections in flight keep running. Idempotent.
    void close() noexcept {
        if (m_state) {
            m_state->close();
        }
    }

    /// Cancels every connection task still running (their pending reads and
    /// writes throw cancelled_error); does not wait for them.
    void cancel_connections() noexcept {
        if (m_state) {
            m_state->cancel_connections();
        }
    }

    /// Sets what the server calls when a client waits to be accepted while
    /// options.max_connections connections are open: `make_room()` may close a
    /// connection it can spare (an idle one), and the client is accepted once
    /// that connection has ended; doing nothing leaves the client waiting until
    /// some connection ends. Called once per such wait, never in a loop; an
    /// exception it throws goes to the loop's exception handler.
    void set_make_room(std::function<void()> make_room) {
        ensure_valid();
        m_state->m_make_room = std::move(make_room);
    }

    /// Resumes once the server is closed and every connection task (and
    /// accept task) has finished. Cancelling the waiter just stops its wait.
    [[nodiscard]] detail::server_wait_operation wait_closed() const {
        ensure_valid();
        return detail::server_wait_operation(m_state, true);
    }

    /// Resumes when the server is closed (by close() or shutdown() elsewhere).
    /// Cancelling the awaiting task closes the server, then throws
    /// cancelled_error (asyncio's serve_forever).
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> serve_forever() {
        ensure_valid();
        std::shared_ptr<detail::server_state> state = m_state;
        try {
            co_await detail::server_wait_operation(state, false);
        } catch (const cancelled_error&) {
            state->close();
            throw;
        }
    }

    /// Graceful shutdown: stops accepting, lets connections in flight finish
    /// within `grace`, then cancels those still running and waits until they
    /// have unwound. Cancelling the awaiting task stops the wait only.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> shutdown(event_loop::duration grace) {
        ensure_valid();
        std::shared_ptr<detail::server_state> state = m_state;
        state->close();
        bool timed_out = false;
        try {
            co_await wait_for(detail::server_wait_operation(state, true), grace);
        } catch (const timeout_error&) {
            timed_out = true;
        }
        if (timed_out) {
            state->cancel_connections();
            co_await detail::server_wait_operation(state, true);
        }
    }

private:
    void ensure_valid() const {
        if (!m_state) {
            throw invalid_state_error("corio::stream_server: empty server (default-constructed or moved from)");
        }
    }

    std::shared_ptr<detail::server_state> m_state;
};

/// A TCP server (see stream_server).
using tcp_server = stream_server;
/// A Unix domain socket server (see stream_server).
using unix_server = stream_server;

}  // namespace corio
