#pragma once

#include <corio/detail/config.hpp>
#include <corio/net/detail/socket.hpp>
#include <corio/net/detail/socket_source.hpp>
#include <corio/event_loop.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/net/errors.hpp>
#include <corio/net/tcp.hpp>
#include <corio/task.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace corio {

/// What udp_socket::receive_from returns: the datagram's size and sender.
struct datagram_info {
    /// Bytes of the datagram stored in the buffer (at most its size: the rest is lost).
    std::size_t size = 0;
    /// Numeric address and port the datagram came from.
    endpoint sender;
};

/// A UDP socket (asyncio's create_datagram_endpoint, without protocols).
///
/// Made with `co_await udp_socket::bind(host, port)` (a local address; port 0
/// picks one) or `co_await udp_socket::connect(host, port)` (a default peer
/// for send() / receive()); a bound socket can also connect(). Each
/// operation tries the syscall first and waits for readiness only when it
/// would block. A datagram longer than the buffer given to receive is
/// truncated (the rest is lost), as with recvfrom. Errors are
/// std::system_error ("sendto 127.0.0.1:9: ..."); close() wakes a pending
/// operation with corio::stream_closed. Cancelling a pending operation
/// removes its wait and throws cancelled_error; the socket stays usable.
/// Move-only; loop thread only; do not destroy it while an operation is pending.
class udp_socket {
public:
    udp_socket() noexcept = default;
    /// Takes the socket; the source is left closed.
    udp_socket(udp_socket&&) noexcept = default;
    /// Closes the socket held before and takes the other one; the source is left closed.
    udp_socket& operator=(udp_socket&&) noexcept = default;

    /// A socket bound to host:port (numeric host or a name; "" is 0.0.0.0).
    [[nodiscard]] CORIO_HEADER_COROUTINE static task<udp_socket> bind(std::string host, std::uint16_t port) {
        // Named, not a conditional temporary inside the co_await (GCC 12 frees it twice).
        if (host.empty()) {
            host = "0.0.0.0";
        }
        const auto addresses = co_await detail::resolve_host(std::move(host), port, detail::socket_type_datagram());
        const detail::socket_address& address = addresses.front();
        udp_socket socket(address.family());
        detail::bind_socket(socket.m_socket.fd(), address, detail::to_endpoint(address).to_string());
        co_return socket;
    }

    /// A socket connected to host:port: send() and receive() talk to that peer
    /// only (datagrams from others are dropped by the kernel).
    [[nodiscard]] CORIO_HEADER_COROUTINE static task<udp_socket> connect(std::string host, std::uint16_t port) {
        const auto addresses = co_await detail::resolve_host(host, port, detail::socket_type_datagram());
        udp_socket socket(addresses.front().family());
        socket.connect_to(addresses.front());
        co_return socket;
    }

    /// Sets (or changes) the default peer of a socket; `peer` must be numeric.
    void connect(const endpoint& peer) { connect_to(to_address(peer)); }

    /// False once closed, moved from, or default-constructed.
    [[nodiscard]] bool is_open() const noexcept { return m_socket.is_open(); }
    /// The file descriptor, -1 when closed; still owned by this object.
    [[nodiscard]] int native_handle() const noexcept { return m_socket.fd(); }

    /// Sends one datagram to `to` (a numeric endpoint, e.g. from receive_from).
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> send_to(std::span<const std::byte> bytes, endpoint to) {
        const detail::socket_address address = to_address(to);
        co_await send_impl(bytes, &address, to.to_string());
    }
    /// The same for text bytes.
    [[nodiscard]] task<void> send_to(std::string_view bytes, endpoint to) {
        return send_to(as_span(bytes), std::move(to));
    }

    /// Sends one datagram to the connected peer.
    [[nodiscard]] task<void> send(std::span<const std::byte> bytes) {
        return send_impl(bytes, nullptr, m_peer_text);
    }
    /// The same for text bytes.
    [[nodiscard]] task<void> send(std::string_view bytes) { return send(as_span(bytes)); }

    /// Receives one datagram into `buffer`; returns its size (truncated to the
    /// buffer) and sender.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<datagram_info> receive_from(std::span<std::byte> buffer) {
        for (;;) {
            ensure_open("recvfrom");
            detail::socket_address from;
            const long n = detail::receive_from(m_socket.fd(), buffer.data(), buffer.size(), from);
            if (n >= 0) {
                co_return datagram_info{static_cast<std::size_t>(n), detail::to_endpoint(from)};
            }
            if (-n != EAGAIN) {
                detail::throw_socket_error(static_cast<int>(-n), "recvfrom", m_peer_text);
            }
            co_await m_socket.readable("recvfrom", m_peer_text);
        }
    }

    /// Receives one datagram from the connected peer; returns its size.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::size_t> receive(std::span<std::byte> buffer) {
        const datagram_info info = co_await receive_from(buffer);
        co_return info.size;
    }

    /// The address and port the socket is bound to (the port the OS picked for port 0).
    [[nodiscard]] endpoint local_endpoint() const { return detail::local_endpoint_of(m_socket, m_peer_text); }
    /// The connected peer, or an unspecified endpoint.
    [[nodiscard]] const endpoint& remote_endpoint() const noexcept { return m_peer; }

    /// SO_BROADCAST.
    void set_broadcast(bool on) { detail::set_broadcast(detail::open_fd(m_socket, "setsockopt", m_peer_text), on); }

    /// Closes the socket; a pending operation throws corio::stream_closed.
    void close() noexcept { m_socket.close(); }

    /// True while a receive is waiting for a datagram.
    [[nodiscard]] bool receive_pending() const noexcept { return m_socket.has_reader(); }

private:
    explicit udp_socket(int family)
        : m_socket(get_running_loop(), detail::open_socket(family, detail::socket_type_datagram(), {})) {}

    static std::span<const std::byte> as_span(std::string_view bytes) noexcept {
        return std::as_bytes(std::span<const char>(bytes.data(), bytes.size()));
    }

    static detail::socket_address to_address(const endpoint& peer) {
        std::optional<detail::socket_address> address = detail::parse_numeric(peer.address, peer.port);
        if (!address) {
            throw std::invalid_argument("corio::udp_socket: \"" + peer.address + "\" is not a numeric address");
        }
        return *address;
    }

    void connect_to(const detail::socket_address& address) {
        ensure_open("connect");
        std::string text = detail::to_endpoint(address).to_string();
        if (const int error = detail::start_connect(m_socket.fd(), address); error != 0) {
            detail::throw_socket_error(error, "connect", text);
        }
        m_peer = detail::to_endpoint(address);
        m_peer_text = std::move(text);
    }

    void ensure_open(const char* op) const { (void)detail::open_fd(m_socket, op, m_peer_text); }

    // A datagram goes whole or not at all: a partial send cannot happen.
    CORIO_HEADER_COROUTINE task<void> send_impl(std::span<const std::byte> bytes, const detail::socket_address* to,
                                                std::string peer_text) {
        const char* op = to != nullptr ? "sendto" : "send";
        for (;;) {
            ensure_open(op);
            const long n = detail::send_to(m_socket.fd(), bytes.data(), bytes.size(), to);
            if (n >= 0) {
                co_return;
            }
            if (-n != EAGAIN) {
                detail::throw_socket_error(static_cast<int>(-n), op, peer_text);
            }
            co_await m_socket.writable(op, peer_text);
        }
    }

    detail::socket_source m_socket;
    endpoint m_peer;
    std::string m_peer_text;
};

}  // namespace corio
