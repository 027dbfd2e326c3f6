#pragma once

// Every socket syscall corio makes lives here, so the public net/ headers
// never see a platform header. All sockets are non-blocking and close-on-exec.

#include <corio/net/endpoint.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/stat.h>
#if defined(__linux__)
#include <sys/sendfile.h>
#endif
#include <sys/types.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace corio::detail {

/// Throws std::system_error(error) with "op peer: strerror" as what().
[[noreturn]] inline void throw_socket_error(int error, std::string_view op, std::string_view peer) {
    std::string what(op);
    if (!peer.empty()) {
        what += ' ';
        what += peer;
    }
    throw std::system_error(error, std::generic_category(), what);
}

/// Owns a file descriptor; closes it on destruction.
class unique_fd {
public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : m_fd(fd) {}
    unique_fd(unique_fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    unique_fd& operator=(unique_fd other) noexcept {
        std::swap(m_fd, other.m_fd);
        return *this;
    }
    ~unique_fd() { reset(); }

    [[nodiscard]] int get() const noexcept { return m_fd; }
    [[nodiscard]] bool valid() const noexcept { return m_fd >= 0; }
    int release() noexcept { return std::exchange(m_fd, -1); }
    void reset() noexcept {
        if (m_fd >= 0) {
            ::close(m_fd);  // the fd is gone whatever close reports (POSIX.1-2024)
            m_fd = -1;
        }
    }

private:
    int m_fd = -1;
};

/// A socket address of any family, as the kernel wants it.
struct socket_address {
    sockaddr_storage storage{};
    socklen_t length = 0;

    [[nodiscard]] const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
    [[nodiscard]] sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
    [[nodiscard]] int family() const noexcept { return storage.ss_family; }
};

/// Fills `result` from the sockaddr_in or sockaddr_in6 (`Sockaddr`) that
/// `address` holds: one body for both IP families, which differ only in
/// their field names.
template <class Sockaddr, class Address>
void read_ip_address(const socket_address& address, Address Sockaddr::*ip, in_port_t Sockaddr::*port,
                     address_family family, endpoint& result) {
    Sockaddr in{};
    std::memcpy(&in, &address.storage, sizeof in);
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(address.family(), &(in.*ip), text, sizeof text);
    result.address = text;
    result.port = ntohs(in.*port);
    result.family = family;
}

inline endpoint to_endpoint(const socket_address& address) {
    endpoint result;
    switch (address.family()) {
    case AF_INET:
        read_ip_address(address, &sockaddr_in::sin_addr, &sockaddr_in::sin_port, address_family::ipv4, result);
        break;
    case AF_INET6:
        read_ip_address(address, &sockaddr_in6::sin6_addr, &sockaddr_in6::sin6_port, address_family::ipv6, result);
        break;
    case AF_UNIX: {
        sockaddr_un un{};
        std::memcpy(&un, &address.storage, std::min<std::size_t>(sizeof un, sizeof address.storage));
        const std::size_t offset = offsetof(sockaddr_un, sun_path);
        std::size_t length = address.length > offset ? address.length - offset : 0;
        // An unnamed socket has no path; a named one may carry its terminating NUL.
        length = ::strnlen(un.sun_path, std::min(length, sizeof un.sun_path));
        result.address.assign(un.sun_path, length);
        result.family = address_family::unix_path;
        break;
    }
    default:
        result.family = address_family::unspecified;
        break;
    }
    return result;
}

/// The mirror of read_ip_address: `text` parsed as an address of `family`
/// with `port`, or nullopt when it is not one.
template <class Sockaddr, class Address>
std::optional<socket_address> write_ip_address(const std::string& text, int family, sa_family_t Sockaddr::*family_field,
                                               Address Sockaddr::*ip, in_port_t Sockaddr::*port_field,
                                               std::uint16_t port) {
    Sockaddr in{};
    if (::inet_pton(family, text.c_str(), &(in.*ip)) != 1) {
        return std::nullopt;
    }
    in.*family_field = static_cast<sa_family_t>(family);
    in.*port_field = htons(port);
    socket_address result;
    std::memcpy(&result.storage, &in, sizeof in);
    result.length = sizeof in;
    return result;
}

/// A numeric IPv4/IPv6 address and port, or nullopt when `host` is not numeric.
inline std::optional<socket_address> parse_numeric(const std::string& host, std::uint16_t port) {
    if (auto v4 = write_ip_address(host, AF_INET, &sockaddr_in::sin_family, &sockaddr_in::sin_addr,
                                   &sockaddr_in::sin_port, port)) {
        return v4;
    }
    std::string bare = host;
    if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
        bare = bare.substr(1, bare.size() - 2);
    }
    return write_ip_address(bare, AF_INET6, &sockaddr_in6::sin6_family, &sockaddr_in6::sin6_addr,
                            &sockaddr_in6::sin6_port, port);
}

inline socket_address unix_address(const std::string& path) {
    sockaddr_un un{};
    if (path.empty() || path.size() >= sizeof un.sun_path) {
        throw std::system_error(ENAMETOOLONG, std::generic_category(),
                                "unix socket path \"" + path + "\" is empty or longer than " +
                                    std::to_string(sizeof un.sun_path - 1) + " bytes");
    }
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path.data(), path.size());
    socket_address result;
    std::memcpy(&result.storage, &un, sizeof un);
    result.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return result;
}

/// A new non-blocking, close-on-exec socket; throws on failure.
inline unique_fd open_socket(int family, int type, std::string_view peer) {
    const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw_socket_error(errno, "socket", peer);
    }
    return unique_fd(fd);
}

inline int socket_type_stream() noexcept { return SOCK_STREAM; }
inline int socket_type_datagram() noexcept { return SOCK_DGRAM; }

/// errno after a syscall that failed, with EWOULDBLOCK folded into EAGAIN.
inline int last_error() noexcept {
    const int error = errno;
    return error == EWOULDBLOCK ? EAGAIN : error;
}

inline bool would_block(int error) noexcept { return error == EAGAIN || error == EWOULDBLOCK; }

/// connect(); returns 0, EINPROGRESS or the errno.
inline int start_connect(int fd, const socket_address& address) noexcept {
    while (::connect(fd, address.get(), address.length) != 0) {
        if (errno != EINTR) {
            return errno;
        }
    }
    return 0;
}

/// The pending error of a socket (SO_ERROR), clearing it.
inline int pending_error(int fd) noexcept {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        return errno;
    }
    return error;
}

/// Calls `syscall` (returning a count or an fd, or -1 with errno) again
/// while a signal interrupts it: its result, or -errno (EWOULDBLOCK as EAGAIN).
template <class Syscall>
inline long retry_interrupted(Syscall syscall) noexcept {
    for (;;) {
        const auto n = syscall();
        if (n >= 0) {
            return static_cast<long>(n);
        }
        if (errno != EINTR) {
            return -last_error();
        }
    }
}

/// recv(); bytes read, 0 at EOF, or -errno.
inline long receive(int fd, void* buffer, std::size_t size) noexcept {
    return retry_interrupted([&] { return ::recv(fd, buffer, size, 0); });
}

/// What a connected socket holds for the reader right now, found without
/// waiting and without taking it (a non-blocking MSG_PEEK of one byte).
enum class pending_input { nothing, bytes, end };

/// pending_input of `fd`: `end` covers the peer's FIN, a pending error and a
/// closed fd alike, since none of them can carry more input.
inline pending_input peek_input(int fd) noexcept {
    if (fd < 0) {
        return pending_input::end;
    }
    char byte = 0;
    const long n = retry_interrupted([&] { return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT); });
    if (n > 0) {
        return pending_input::bytes;
    }
    return n == 0 || !would_block(static_cast<int>(-n)) ? pending_input::end : pending_input::nothing;
}

/// send() without SIGPIPE; bytes written or -errno.
inline long send_some(int fd, const void* buffer, std::size_t size) noexcept {
    return retry_interrupted([&] { return ::send(fd, buffer, size, MSG_NOSIGNAL); });
}

/// pread(): up to `size` bytes of `file` at `offset`; bytes read, 0 at the
/// end of the file, or -errno.
inline long read_file_at(int file, void* buffer, std::size_t size, std::uint64_t offset) noexcept {
    return retry_interrupted([&] { return ::pread(file, buffer, size, static_cast<off_t>(offset)); });
}

/// Sends up to `count` bytes of file `file` from `offset` on socket `fd`
/// without copying them through user space where the kernel can (Linux
/// sendfile); elsewhere reads a piece with pread and sends it. Returns the
/// bytes sent (0 at the file's end), or -errno (-EAGAIN when the socket is
/// full).
inline long send_file_piece(int fd, int file, std::uint64_t offset, std::size_t count) noexcept {
#if defined(__linux__)
    auto at = static_cast<off_t>(offset);
    return retry_interrupted([&] { return ::sendfile(fd, file, &at, count); });
#else
    char piece[64 * 1024];
    const long got = read_file_at(file, piece, std::min(count, sizeof piece), offset);
    if (got <= 0) {
        return got;
    }
    return send_some(fd, piece, static_cast<std::size_t>(got));
#endif
}

/// recvfrom(); bytes read or -errno, filling `from`.
inline long receive_from(int fd, void* buffer, std::size_t size, socket_address& from) noexcept {
    return retry_interrupted([&] {
        from.length = sizeof from.storage;
        return ::recvfrom(fd, buffer, size, 0, from.get(), &from.length);
    });
}

/// sendto() (or send() when `to` is null); bytes written or -errno.
inline long send_to(int fd, const void* buffer, std::size_t size, const socket_address* to) noexcept {
    return retry_interrupted([&] {
        return to != nullptr ? ::sendto(fd, buffer, size, MSG_NOSIGNAL, to->get(), to->length)
                             : ::send(fd, buffer, size, MSG_NOSIGNAL);
    });
}

/// accept4() a non-blocking, close-on-exec connection; the fd or -errno.
inline int accept_connection(int fd) noexcept {
    return static_cast<int>(
        retry_interrupted([&] { return ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC); }));
}

/// True when a connection waits in listening socket `fd`'s backlog (a
/// level-triggered look that accepts nothing, so a server at its connection
/// limit can tell whether anyone wants in).
inline bool connection_pending(int fd) noexcept {
    pollfd entry{};
    entry.fd = fd;
    entry.events = POLLIN;
    return retry_interrupted([&] { return ::poll(&entry, 1, 0); }) > 0 && (entry.revents & POLLIN) != 0;
}

/// Errors after which accept() simply tries again: the connection that failed is gone.
inline bool accept_error_is_transient(int error) noexcept {
    return error == ECONNABORTED || error == EPROTO || error == EPERM || error == ENETDOWN ||
           error == ENOPROTOOPT || error == EHOSTDOWN || error == ENONET || error == EHOSTUNREACH ||
           error == EOPNOTSUPP || error == ENETUNREACH;
}

/// Errors meaning the process or system is out of a resource: back off, then retry.
inline bool accept_error_is_exhaustion(int error) noexcept {
    return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

inline void set_int_option(int fd, int level, int name, int value, std::string_view what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
        throw_socket_error(errno, what, {});
    }
}

inline int get_int_option(int fd, int level, int name, std::string_view what) {
    int value = 0;
    socklen_t length = sizeof value;
    if (::getsockopt(fd, level, name, &value, &length) != 0) {
        throw_socket_error(errno, what, {});
    }
    return value;
}

inline void set_nodelay(int fd, bool on) { set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "setsockopt TCP_NODELAY"); }
inline bool get_nodelay(int fd) { return get_int_option(fd, IPPROTO_TCP, TCP_NODELAY, "getsockopt TCP_NODELAY") != 0; }
inline void set_keepalive(int fd, bool on) { set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0, "setsockopt SO_KEEPALIVE"); }
inline bool get_keepalive(int fd) { return get_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, "getsockopt SO_KEEPALIVE") != 0; }
inline void set_reuse_address(int fd) { set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt SO_REUSEADDR"); }
inline void set_reuse_port(int fd) {
#ifdef SO_REUSEPORT
    set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt SO_REUSEPORT");
#else
    throw std::system_error(ENOPROTOOPT, std::generic_category(), "setsockopt SO_REUSEPORT");
#endif
}
inline void set_v6_only(int fd, bool on) { set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, on ? 1 : 0, "setsockopt IPV6_V6ONLY"); }
inline void set_send_buffer(int fd, int bytes) { set_int_option(fd, SOL_SOCKET, SO_SNDBUF, bytes, "setsockopt SO_SNDBUF"); }
inline void set_receive_buffer(int fd, int bytes) { set_int_option(fd, SOL_SOCKET, SO_RCVBUF, bytes, "setsockopt SO_RCVBUF"); }
inline void set_broadcast(int fd, bool on) { set_int_option(fd, SOL_SOCKET, SO_BROADCAST, on ? 1 : 0, "setsockopt SO_BROADCAST"); }

/// SO_LINGER with a zero timeout: close() then sends RST instead of FIN.
inline void set_linger_abort(int fd) {
    linger value{};
    value.l_onoff = 1;
    value.l_linger = 0;
    if (::setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, sizeof value) != 0) {
        throw_socket_error(errno, "setsockopt SO_LINGER", {});
    }
}

inline void bind_socket(int fd, const socket_address& address, std::string_view peer) {
    if (::bind(fd, address.get(), address.length) != 0) {
        throw_socket_error(errno, "bind", peer);
    }
}

inline void listen_socket(int fd, int backlog, std::string_view peer) {
    if (::listen(fd, backlog) != 0) {
        throw_socket_error(errno, "listen", peer);
    }
}

/// What getsockname or getpeername (`query`, named `what` in errors) reports for fd.
template <class Query>
socket_address query_address(int fd, Query query, std::string_view what) {
    socket_address result;
    result.length = sizeof result.storage;
    if (query(fd, result.get(), &result.length) != 0) {
        throw_socket_error(errno, what, {});
    }
    return result;
}

inline socket_address local_address(int fd) { return query_address(fd, ::getsockname, "getsockname"); }
inline socket_address peer_address(int fd) { return query_address(fd, ::getpeername, "getpeername"); }

inline int shutdown_write(int fd) noexcept { return ::shutdown(fd, SHUT_WR) == 0 ? 0 : errno; }

/// Removes a file (a stale unix socket); false if it did not exist.
inline bool remove_file(const std::string& path) noexcept { return ::unlink(path.c_str()) == 0; }

/// Whether `path` names a socket file (so unlinking it is safe).
inline bool is_socket_file(const std::string& path) noexcept {
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode);
}

inline int family_ipv4() noexcept { return AF_INET; }
inline int family_ipv6() noexcept { return AF_INET6; }
inline int family_unix() noexcept { return AF_UNIX; }

}  // namespace corio::detail
