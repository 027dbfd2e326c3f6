#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/event_loop.hpp>
#include <corio/net/errors.hpp>

#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace corio::detail {

/// One name lookup, shared by the awaiting coroutine (loop thread) and the
/// resolver thread. The resolver thread touches the loop only while holding
/// `mutex` and seeing !abandoned; the awaiter sets `abandoned` under the mutex
/// when it is cancelled or destroyed, so a loop that is gone is never posted to.
struct resolve_request {
    std::mutex mutex;
    bool abandoned = false;  // guarded by mutex (written on the loop thread only)
    event_loop* loop = nullptr;
    std::coroutine_handle<> waiting;
    bool* completed = nullptr;  // the awaiter's flag; loop thread only, valid while !abandoned

    std::string host;
    std::uint16_t port = 0;
    int socket_type = 0;

    // Written by the resolver thread before it posts the completion.
    std::vector<socket_address> addresses;
    std::string error;  // empty on success
};

/// The process-wide resolver thread: getaddrinfo, one lookup at a time, off
/// every loop. Started by the first lookup; joined when the process exits.
class resolver_thread {
public:
    static resolver_thread& instance() {
        static resolver_thread resolver;
        return resolver;
    }

    void submit(std::shared_ptr<resolve_request> request) {
        std::lock_guard lock(m_mutex);
        if (!m_thread.joinable()) {
            m_thread = std::thread([this] { run(); });
        }
        m_queue.push_back(std::move(request));
        m_wake.notify_one();
    }

    resolver_thread(const resolver_thread&) = delete;
    resolver_thread& operator=(const resolver_thread&) = delete;

    ~resolver_thread() {
        {
            std::lock_guard lock(m_mutex);
            m_stopping = true;
        }
        m_wake.notify_one();
        if (m_thread.joinable()) {
            m_thread.join();
        }
    }

private:
    resolver_thread() = default;

    void run() {
        for (;;) {
            std::shared_ptr<resolve_request> request;
            {
                std::unique_lock lock(m_mutex);
                m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
                if (m_queue.empty()) {
                    return;
                }
                request = std::move(m_queue.front());
                m_queue.pop_front();
            }
            {
                std::lock_guard lock(request->mutex);
                if (request->abandoned) {
                    continue;  // nobody waits any more: skip the lookup
                }
            }
            lookup(*request);
            std::lock_guard lock(request->mutex);
            if (request->abandoned) {
                continue;
            }
            try {
                request->loop->call_soon_threadsafe([request] { complete(*request); });
            } catch (...) {
                // The loop closed: its frames (and the awaiter) are being destroyed.
            }
        }
    }

    static void lookup(resolve_request& request) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = request.socket_type;
        addrinfo* list = nullptr;
        const std::string service = std::to_string(request.port);
        const int status = ::getaddrinfo(request.host.c_str(), service.c_str(), &hints, &list);
        if (status != 0) {
            request.error = status == EAI_SYSTEM ? std::system_category().message(errno) : ::gai_strerror(status);
            return;
        }
        for (const addrinfo* entry = list; entry != nullptr; entry = entry->ai_next) {
            if (entry->ai_family != AF_INET && entry->ai_family != AF_INET6) {
                continue;
            }
            socket_address address;
            std::memcpy(&address.storage, entry->ai_addr, entry->ai_addrlen);
            address.length = entry->ai_addrlen;
            request.addresses.push_back(address);
        }
        ::freeaddrinfo(list);
        if (request.addresses.empty()) {
            request.error = "no IPv4 or IPv6 address";
        }
    }

    // Runs on the loop thread.
    static void complete(resolve_request& request) {
        if (request.abandoned) {  // written on this thread only: no lock needed to read it
            return;
        }
        *request.completed = true;
        request.loop->resume_soon(request.waiting);
    }

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::shared_ptr<resolve_request>> m_queue;  // guarded by m_mutex
    bool m_stopping = false;                                // guarded by m_mutex
    std::thread m_thread;
};

/// Awaiter resolving a host name to its addresses on the resolver thread.
/// Cancelling abandons the lookup (its result is dropped) and throws cancelled_error.
class resolve_operation : public cancellable_awaiter<resolve_operation> {
public:
    resolve_operation(std::string host, std::uint16_t port, int socket_type)
        : m_port(port), m_socket_type(socket_type), m_host(std::move(host)) {}
    // Movable only before it is awaited (so it can be handed to wait_for).
    resolve_operation(resolve_operation&& other) noexcept
        : resolve_operation(std::move(other.m_host), other.m_port, other.m_socket_type) {}
    resolve_operation& operator=(const resolve_operation&) = delete;

    ~resolve_operation() { abandon(); }

private:
    friend cancellable_awaiter;

    template <class Promise>
    bool start(std::coroutine_handle<Promise> waiting) {
        m_request = std::make_shared<resolve_request>();
        m_request->loop = &get_running_loop();
        m_request->waiting = waiting;
        m_request->completed = &m_completed;
        m_request->host = m_host;
        m_request->port = m_port;
        m_request->socket_type = m_socket_type;
        resolver_thread::instance().submit(m_request);
        return true;
    }

    bool cancel() noexcept {
        if (!m_completed) {
            abandon();
            m_request->loop->resume_soon(m_request->waiting);
        }
        // Otherwise the resumption is already queued; await_resume now throws.
        return true;
    }

    std::vector<socket_address> result() {
        if (!m_request->error.empty()) {
            throw resolve_error(m_host, m_request->error);
        }
        return std::move(m_request->addresses);
    }

    void abandon() noexcept {
        if (m_request) {
            std::lock_guard lock(m_request->mutex);
            m_request->abandoned = true;
        }
    }

    bool m_completed = false;
    std::uint16_t m_port;
    int m_socket_type;
    std::string m_host;
    std::shared_ptr<resolve_request> m_request;
};

/// The addresses of `host` (numeric ones parsed inline, names looked up on the
/// resolver thread), for sockets of `socket_type`.
[[nodiscard]] inline resolve_operation resolve(std::string host, std::uint16_t port, int socket_type) {
    return resolve_operation(std::move(host), port, socket_type);
}

}  // namespace corio::detail
