#pragma once

// The HTTP client's connection pool (aiohttp's TCPConnector): keep-alive
// connections per (scheme, host, port), a total limit and a per-host limit
// with FIFO waiters, and idle expiry.

#include <corio/cancel.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/wait_node.hpp>
#include <corio/event_loop.hpp>
#include <corio/http/detail/transport.hpp>
#include <corio/http/detail/wire.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/url.hpp>

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace corio::detail {

/// Bytes read from a connection per read_some: big enough that a large body
/// costs few syscalls, allocated once per connection and reused.
inline constexpr std::size_t http_read_buffer_size = 64 * 1024;

/// Body bytes a client_response hands out between two yields to the loop
/// (256 KiB: about 1 ms of inflating, far less of copying; a yield costs a
/// microsecond or two), so a fast sender or a body that decompresses a lot
/// cannot hold the loop for long.
inline constexpr std::size_t http_yield_every = 256 * 1024;

struct http_host;
class http_acquire_operation;

/// One client connection and what it keeps between requests: the stream,
/// the response parser, the read buffer (bytes [pos, end) not parsed yet) and
/// the write buffer.
struct http_connection {
    http_connection(http_connection_stream s, http_host& h)
        : stream(std::move(s)), parser(client_limits()), buffer(new char[http_read_buffer_size]), host(&h) {
        parser.set_body_mode(http::body_mode::stream);
    }

    // A client streams bodies of any size (read_chunk); headers keep the defaults.
    static http::parser_limits client_limits() noexcept {
        http::parser_limits limits;
        limits.max_body_size = std::numeric_limits<std::uint64_t>::max();
        return limits;
    }

    http_connection_stream stream;
    http::response_parser parser;
    std::unique_ptr<char[]> buffer;
    std::size_t pos = 0;
    std::size_t end = 0;
    std::string out;  // the request being written
    http_host* host;
    event_loop::time_point idle_since{};
    std::uint64_t requests = 0;  // requests sent on it (> 1 means reused)
};

/// Pool state of one (scheme, host, port). Entries are never erased, so a
/// connection's host pointer stays valid as long as the pool.
struct http_host {
    std::string key;                                    // "http://host:port"
    std::deque<std::unique_ptr<http_connection>> idle;  // front = idle the longest
    std::size_t open = 0;                               // idle + in use + connecting
    intrusive_list<http_acquire_operation> waiters;     // FIFO
};

/// The pool was closed (the session closed) while waiting or before asking.
class http_pool_closed : public std::runtime_error {
public:
    http_pool_closed() : std::runtime_error("the client session is closed") {}
};

/// What acquire gives: an idle connection to reuse, or the right to open one
/// (a reserved slot the caller must fill or give back with release_slot).
struct http_grant {
    std::unique_ptr<http_connection> connection;
    bool slot = false;
    explicit operator bool() const noexcept { return connection != nullptr || slot; }
};

class http_pool;

/// Awaiter of http_pool::acquire: takes an idle connection or a slot at once,
/// or waits in the host's FIFO queue. A waiter cancelled after it was granted
/// something gives it back (the connection goes idle again, the slot is freed)
/// and the next waiter gets it.
class http_acquire_operation : public queued_awaiter<http_acquire_operation> {
public:
    http_acquire_operation(http_pool& pool, http_host& host, bool fresh) noexcept
        : queued_awaiter<http_acquire_operation>(host.waiters), m_fresh(fresh), m_pool(pool), m_host(host) {}
    // Movable only before it is awaited (so it can be handed to wait_for).
    http_acquire_operation(http_acquire_operation&& other) noexcept
        : http_acquire_operation(other.m_pool, other.m_host, other.m_fresh) {}
    http_acquire_operation& operator=(const http_acquire_operation&) = delete;

    inline bool await_ready();

private:
    friend class http_pool;
    friend queued_awaiter<http_acquire_operation>;

    template <class Promise>
    bool start(std::coroutine_handle<Promise> waiting) {
        enqueue();
        return wait_node::start(waiting);
    }

    inline void enqueue();
    inline http_grant result();
    inline void undo() noexcept;

    // Called by the pool's dispatch: the grant is now this waiter's.
    void grant(http_grant g) noexcept {
        m_grant = std::move(g);
        wait_node::grant();
    }
    void wake_closed() noexcept {
        m_closed = true;
        wake();
    }

    bool m_fresh;
    bool m_closed = false;
    http_pool& m_pool;
    http_host& m_host;
    std::uint64_t m_seq = 0;  // arrival order across hosts
    http_grant m_grant;
};

/// The pool. Owned by a shared_ptr (the session, every response holding a
/// connection, every request in flight), so a response may outlive its
/// session: its connection is then closed when released.
///
/// `limit` counts every open connection (idle, in use, connecting), so the
/// number of sockets to the servers never exceeds it; an idle connection of
/// another host is closed to make room for a waiter. Waiters are served in
/// arrival order among those that can proceed (a waiter blocked by its host's
/// limit does not hold up waiters of other hosts). Loop thread only.
class http_pool : public std::enable_shared_from_this<http_pool> {
public:
    using duration = event_loop::duration;

    http_pool(std::size_t limit, std::size_t limit_per_host, duration keep_alive) noexcept
        : m_limit(limit), m_limit_per_host(limit_per_host), m_keep_alive(keep_alive) {}
    http_pool(const http_pool&) = delete;
    http_pool& operator=(const http_pool&) = delete;

    ~http_pool() {
        close_idle();
        if (m_sweep_armed && running_loop_slot() == m_loop) {
            m_sweep.cancel();
        }
    }

    /// The host entry of `u` (created on first use).
    http_host& host_for(const http::url& u) {
        m_key.clear();
        m_key += u.scheme();
        m_key += "://";
        http_wire::append_host(m_key, u);
        m_key += ':';
        http_wire::append_decimal(m_key, u.port());
        auto it = m_hosts.find(m_key);
        if (it == m_hosts.end()) {
            it = m_hosts.try_emplace(m_key).first;
            it->second.key = m_key;
        }
        return it->second;
    }

    /// Waits for an idle connection of `host` or a slot to open one.
    /// `fresh` skips idle connections (a retry after a stale one).
    [[nodiscard]] http_acquire_operation acquire(http_host& host, bool fresh = false) noexcept {
        return http_acquire_operation(*this, host, fresh);
    }

    /// Takes what is available now without waiting (empty grant if nothing).
    http_grant try_take(http_host& h, bool fresh) {
        if (!fresh) {
            const auto now = event_loop::clock::now();
            while (!h.idle.empty()) {
                std::unique_ptr<http_connection> c = std::move(h.idle.back());
                h.idle.pop_back();
                --m_idle_total;
                // Bytes that arrived while it was idle (or the server's FIN)
                // would be read as the next request's response: close it.
                if (now - c->idle_since >= m_keep_alive || !c->stream.is_open() ||
                    c->stream.has_unread_input()) {
                    discard(std::move(c));
                    continue;
                }
                return {std::move(c), false};
            }
        }
        if (!can_open(h)) {
            if (fresh && !h.idle.empty()) {
                discard_idle(h);
            } else if (m_idle_total > 0 && under_host_limit(h)) {
                evict_one_idle();
            }
            if (!can_open(h)) {
                return {};
            }
        }
        ++m_open;
        ++h.open;
        return {nullptr, true};
    }

    /// A connection is done with: kept idle when `reusable`, else closed.
    void release(std::unique_ptr<http_connection> c, bool reusable) noexcept {
        if (reusable && !m_closed && m_keep_alive > duration::zero() && c->stream.is_open()) {
            c->idle_since = event_loop::clock::now();
            http_host& h = *c->host;
            h.idle.push_back(std::move(c));
            ++m_idle_total;
            arm_sweep(h.idle.back()->idle_since + m_keep_alive);
        } else {
            discard(std::move(c));
        }
        dispatch();
    }

    /// A reserved slot whose connect failed (or was cancelled).
    void release_slot(http_host& h) noexcept {
        --m_open;
        --h.open;
        dispatch();
    }

    /// Gives back what a cancelled waiter was granted.
    void give_back(http_grant g, http_host& h) noexcept {
        if (g.connection) {
            release(std::move(g.connection), true);
        } else if (g.slot) {
            release_slot(h);
        }
    }

    /// Closes idle connections and refuses new requests; waiters wake with
    /// http_pool_closed. Connections in use close when released.
    void close() noexcept {
        m_closed = true;
        close_idle();
        for (http_host* h : m_waiting_hosts) {
            while (!h->waiters.empty()) {
                h->waiters.pop_front().wake_closed();
            }
        }
        m_waiting_hosts.clear();
    }

    [[nodiscard]] bool closed() const noexcept { return m_closed; }
    /// Connections open now (idle, in use or connecting).
    [[nodiscard]] std::size_t open_connections() const noexcept { return m_open; }
    [[nodiscard]] std::size_t idle_connections() const noexcept { return m_idle_total; }
    /// Connections successfully established so far.
    [[nodiscard]] std::uint64_t connections_opened() const noexcept { return m_connects; }
    void note_connected() noexcept { ++m_connects; }

private:
    friend class http_acquire_operation;

    bool under_host_limit(const http_host& h) const noexcept {
        return m_limit_per_host == 0 || h.open < m_limit_per_host;
    }
    bool can_open(const http_host& h) const noexcept {
        return (m_limit == 0 || m_open < m_limit) && under_host_limit(h);
    }
    // Whether try_take(h, fresh) would give something.
    bool servable(const http_host& h, bool fresh) const noexcept {
        // With idle connections of its own a waiter takes one, or (fresh)
        // closes one and opens anew.
        static_cast<void>(fresh);
        if (!h.idle.empty()) {
            return true;
        }
        return can_open(h) || (m_idle_total > 0 && under_host_limit(h));
    }

    void discard(std::unique_ptr<http_connection> c) noexcept {
        c->stream.close();
        --m_open;
        --c->host->open;
    }
    void discard_idle(http_host& h) noexcept {
        std::unique_ptr<http_connection> c = std::move(h.idle.front());
        h.idle.pop_front();
        --m_idle_total;
        discard(std::move(c));
    }
    // Frees a slot for another host: closes the connection idle the longest.
    void evict_one_idle() noexcept {
        http_host* oldest = nullptr;
        for (auto& [key, h] : m_hosts) {
            if (!h.idle.empty() && (oldest == nullptr || h.idle.front()->idle_since < oldest->idle.front()->idle_since)) {
                oldest = &h;
            }
        }
        if (oldest != nullptr) {
            discard_idle(*oldest);
        }
    }
    void close_idle() noexcept {
        for (auto& [key, h] : m_hosts) {
            while (!h.idle.empty()) {
                discard_idle(h);
            }
        }
    }

    // Hands what became available to the earliest waiter that can use it,
    // repeatedly. Only hosts with waiters are looked at, so with one host this
    // is O(1) however many coroutines wait.
    void dispatch() noexcept {
        for (;;) {
            http_acquire_operation* best = nullptr;
            std::erase_if(m_waiting_hosts, [](http_host* h) { return h->waiters.empty(); });
            for (http_host* h : m_waiting_hosts) {
                http_acquire_operation& first = h->waiters.front();
                if ((best == nullptr || first.m_seq < best->m_seq) && servable(*h, first.m_fresh)) {
                    best = &first;
                }
            }
            if (best == nullptr) {
                return;
            }
            http_grant g = try_take(best->m_host, best->m_fresh);
            if (!g) {
                return;
            }
            best->m_host.waiters.erase(*best);
            best->grant(std::move(g));
        }
    }

    void arm_sweep(event_loop::time_point when) {
        if (m_sweep_armed) {
            return;
        }
        m_loop = &get_running_loop();
        m_sweep_armed = true;
        std::weak_ptr<http_pool> weak = weak_from_this();
        m_sweep = m_loop->call_at(when, [weak] {
            if (std::shared_ptr<http_pool> self = weak.lock()) {
                self->m_sweep_armed = false;
                self->sweep();
            }
        });
    }

    // Closes connections idle for keep_alive; re-arms for the next expiry.
    void sweep() noexcept {
        const auto now = event_loop::clock::now();
        event_loop::time_point next = event_loop::time_point::max();
        for (auto& [key, h] : m_hosts) {
            while (!h.idle.empty() && now - h.idle.front()->idle_since >= m_keep_alive) {
                discard_idle(h);
            }
            if (!h.idle.empty()) {
                next = std::min(next, h.idle.front()->idle_since + m_keep_alive);
            }
        }
        if (next != event_loop::time_point::max()) {
            try {
                arm_sweep(next);
            } catch (...) {
                // No memory for the timer: expired connections are still
                // dropped when next taken from the pool.
            }
        }
        dispatch();
    }

    std::size_t m_limit;
    std::size_t m_limit_per_host;
    duration m_keep_alive;
    std::unordered_map<std::string, http_host> m_hosts;  // node-based: entries never move
    std::string m_key;                                   // scratch for host_for (no allocation once warm)
    std::vector<http_host*> m_waiting_hosts;             // hosts whose waiter list may be non-empty
    std::size_t m_open = 0;
    std::size_t m_idle_total = 0;
    std::uint64_t m_connects = 0;
    std::uint64_t m_next_seq = 0;
    bool m_closed = false;
    event_loop* m_loop = nullptr;
    callback_handle m_sweep;
    bool m_sweep_armed = false;
};

/// A connection checked out of the pool. Destroying the lease (or release(false))
/// closes the connection; release(true) returns it to the pool for reuse.
class http_lease {
public:
    http_lease() noexcept = default;
    http_lease(std::shared_ptr<http_pool> pool, std::unique_ptr<http_connection> connection) noexcept
        : m_pool(std::move(pool)), m_connection(std::move(connection)) {}
    http_lease(http_lease&&) noexcept = default;
    http_lease& operator=(http_lease&& other) noexcept {
        if (this != &other) {
            release(false);
            m_pool = std::move(other.m_pool);
            m_connection = std::move(other.m_connection);
        }
        return *this;
    }
    ~http_lease() { release(false); }

    explicit operator bool() const noexcept { return m_connection != nullptr; }
    http_connection* operator->() const noexcept { return m_connection.get(); }
    http_connection& operator*() const noexcept { return *m_connection; }
    [[nodiscard]] const std::shared_ptr<http_pool>& pool() const noexcept { return m_pool; }

    /// Gives the connection back: idle for reuse when `reusable`, else closed.
    void release(bool reusable) noexcept {
        if (m_connection) {
            m_pool->release(std::move(m_connection), reusable);
        }
    }

private:
    std::shared_ptr<http_pool> m_pool;
    std::unique_ptr<http_connection> m_connection;
};

/// Frees a reserved slot unless a connection filled it (disarm()).
class http_slot_guard {
public:
    http_slot_guard(http_pool& pool, http_host& host) noexcept : m_pool(&pool), m_host(host) {}
    http_slot_guard(const http_slot_guard&) = delete;
    http_slot_guard& operator=(const http_slot_guard&) = delete;
    ~http_slot_guard() {
        if (m_pool != nullptr) {
            m_pool->release_slot(m_host);
        }
    }
    void disarm() noexcept { m_pool = nullptr; }

private:
    http_pool* m_pool;
    http_host& m_host;
};

inline bool http_acquire_operation::await_ready() {
    if (m_pool.m_closed) {
        m_closed = true;
        return true;
    }
    // A newcomer may only take directly when nobody of its host waits (FIFO);
    // waiters of other hosts could not use what is free, or they would have it.
    if (m_host.waiters.empty()) {
        m_grant = m_pool.try_take(m_host, m_fresh);
        return static_cast<bool>(m_grant);
    }
    return false;
}

// Joining the host's list itself is wait_node's part.
inline void http_acquire_operation::enqueue() {
    m_seq = m_pool.m_next_seq++;
    auto& hosts = m_pool.m_waiting_hosts;
    if (std::find(hosts.begin(), hosts.end(), &m_host) == hosts.end()) {
        hosts.push_back(&m_host);
    }
}

inline http_grant http_acquire_operation::result() {
    if (m_closed) {
        throw http_pool_closed{};
    }
    return std::move(m_grant);
}

// Granted, then cancelled: pass it on.
inline void http_acquire_operation::undo() noexcept {
    if (m_grant) {
        m_pool.give_back(std::move(m_grant), m_host);
    }
}

}  // namespace corio::detail
