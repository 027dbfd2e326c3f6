#pragma once

// The platform calls corio::pg makes itself: whether libpq's connection
// still holds input nobody will announce. The reactor reports edges, and
// libpq may leave bytes in the socket after a read, so before sleeping on
// readability the driver asks the socket. Over TLS, bytes may also wait
// decrypted inside OpenSSL: a record larger than the room libpq's buffer had
// is read from the socket whole but handed over in part, and no readiness
// of the socket will ever say so (libpq's own blocking waits ask
// SSL_pending for the same reason).

#include <libpq-fe.h>
#include <poll.h>

#if defined(CORIO_PG_WITH_OPENSSL)
#include <openssl/ssl.h>
#endif

namespace corio::pg::detail {

[[nodiscard]] inline bool socket_has_input(int fd) noexcept {
    pollfd entry{};
    entry.fd = fd;
    entry.events = POLLIN;
    return ::poll(&entry, 1, 0) > 0 && (entry.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

/// Whether the TLS layer under `conn` holds decrypted input libpq has not
/// taken yet (false without TLS, or when it cannot be seen: tls_input_hidden).
[[nodiscard]] inline bool tls_holds_input(PGconn* conn) noexcept {
#if defined(CORIO_PG_WITH_OPENSSL)
    if (PQsslInUse(conn) != 0) {
        auto* ssl = static_cast<SSL*>(PQsslStruct(conn, "OpenSSL"));
        return ssl != nullptr && SSL_pending(ssl) > 0;
    }
#else
    (void)conn;
#endif
    return false;
}

/// True for a TLS connection whose buffered input cannot be seen: corio::pg
/// built without OpenSSL's headers (CORIO_PG_WITH_OPENSSL unset), or a libpq
/// on another TLS library. Its driver must not sleep on the socket alone: it
/// reads again after a short wait.
[[nodiscard]] inline bool tls_input_hidden(PGconn* conn) noexcept {
    if (PQsslInUse(conn) == 0) {
        return false;
    }
#if defined(CORIO_PG_WITH_OPENSSL)
    return PQsslStruct(conn, "OpenSSL") == nullptr;
#else
    return true;
#endif
}

/// Input waits for libpq to read: inside the TLS layer or in the socket.
[[nodiscard]] inline bool input_waiting(PGconn* conn) noexcept {
    return tls_holds_input(conn) || socket_has_input(PQsocket(conn));
}

}  // namespace corio::pg::detail
