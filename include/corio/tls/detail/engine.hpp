#pragma once

// The machinery under corio::tls::stream: an OpenSSL SSL object over a pair
// of memory BIOs, with every socket byte moved by corio::tcp_stream.
//
// Why memory BIOs: OpenSSL never touches the fd, so the socket keeps corio's
// semantics unchanged — try-first I/O, readiness waits on the reactor,
// cancellation that drops the wait, close() waking a pending operation with
// stream_closed. OpenSSL only turns ciphertext in m_rbio into plaintext and
// plaintext into ciphertext in m_wbio; the engine shuttles bytes between the
// BIOs and the socket.
//
// Concurrency (one loop, so no locks against threads): one reader and any
// number of writers. SSL calls never suspend, so the SSL object is always in
// a consistent state between them; OpenSSL allows SSL_read and SSL_write to
// interleave on a non-blocking transport. Socket writes go through
// m_send_mutex: whoever holds it sends everything the BIO holds, including
// bytes another operation produced meanwhile (an alert or key update
// answered by the reader), so bytes leave in the order OpenSSL made them.

#include <corio/detail/config.hpp>
#include <corio/tls/detail/openssl.hpp>
#include <corio/net/errors.hpp>
#include <corio/net/stream.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/task.hpp>
#include <corio/tls/errors.hpp>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <exception>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::detail {

class tls_engine {
public:
    /// Plaintext handed to one SSL_write: big enough for few trips through
    /// the loop, small enough that the ciphertext buffer stays small.
    static constexpr std::size_t write_chunk = 64 * 1024;
    /// Ciphertext read from the socket at a time (a full TLS record is 16 KiB + overhead).
    static constexpr std::size_t read_chunk = 32 * 1024;

    tls_engine(stream_socket socket, SSL_CTX* ctx, bool server)
        : m_socket(std::move(socket)),
          m_server(server),
          m_peer_text(m_socket.remote_endpoint().to_string()) {
        ERR_clear_error();
        m_ssl.reset(SSL_new(ctx));
        if (!m_ssl) {
            throw tls::tls_error("corio::tls: SSL_new failed: " + take_openssl_errors());
        }
        BIO* rbio = BIO_new(BIO_s_mem());
        BIO* wbio = BIO_new(BIO_s_mem());
        if (rbio == nullptr || wbio == nullptr) {
            BIO_free(rbio);
            BIO_free(wbio);
            throw tls::tls_error("corio::tls: BIO_new failed: " + take_openssl_errors());
        }
        // An empty read BIO means "no data yet" (retry), not end of stream:
        // the socket reports the end, and read_some decides what it means.
        BIO_set_mem_eof_return(rbio, -1);
        SSL_set_bio(m_ssl.get(), rbio, wbio);  // the SSL owns both from here
        m_rbio = rbio;
        m_wbio = wbio;
        if (m_server) {
            SSL_set_accept_state(m_ssl.get());
        } else {
            SSL_set_connect_state(m_ssl.get());
        }
    }

    tls_engine(const tls_engine&) = delete;
    tls_engine& operator=(const tls_engine&) = delete;

    /// Client side: SNI and the name (or IP) the certificate must carry.
    void configure_client(std::string server_name, bool verify_peer) {
        if (server_name.size() >= 2 && server_name.front() == '[' && server_name.back() == ']') {
            server_name = server_name.substr(1, server_name.size() - 2);
        }
        if (!server_name.empty() && server_name.back() == '.') {
            server_name.pop_back();  // "example.com." is the same host; SNI carries no trailing dot
        }
        if (server_name.empty() && verify_peer) {
            throw std::invalid_argument(
                "corio::tls::connect: a server name is needed to verify the certificate (or set "
                "verify_peer = false)");
        }
        m_server_name = server_name;
        if (server_name.empty()) {
            return;
        }
        ERR_clear_error();
        const bool ip = is_ip_literal(server_name);
        // RFC 6066: SNI carries DNS names only, never an IP literal.
        if (!ip && SSL_set_tlsext_host_name(m_ssl.get(), server_name.c_str()) != 1) {
            throw tls::tls_error("corio::tls: cannot set SNI '" + server_name +
                                 "': " + take_openssl_errors());
        }
        if (verify_peer) {
            int ok = 0;
            if (ip) {
                ok =
                    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(m_ssl.get()), server_name.c_str());
            } else {
                SSL_set_hostflags(m_ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                ok = SSL_set1_host(m_ssl.get(), server_name.c_str());
            }
            if (ok != 1) {
                throw tls::tls_error("corio::tls: cannot verify against host '" + server_name +
                                     "': " + take_openssl_errors());
            }
        }
    }

    /// Runs the handshake to completion: flushes what OpenSSL produced, reads
    /// what it waits for. Throws certificate_error / tls_error (after trying
    /// to send OpenSSL's alert), tls_error when the peer closes first,
    /// std::system_error from the socket, cancelled_error when cancelled.
    CORIO_HEADER_COROUTINE task<void> handshake() {
        for (;;) {
            ERR_clear_error();
            const int r = SSL_do_handshake(m_ssl.get());
            const int error = r == 1 ? SSL_ERROR_NONE : SSL_get_error(m_ssl.get(), r);
            if (error != SSL_ERROR_NONE && error != SSL_ERROR_WANT_READ &&
                error != SSL_ERROR_WANT_WRITE) {
                std::exception_ptr failure = handshake_failure(error);
                // Best effort: the alert tells the peer why; the failure is what matters.
                try {
                    co_await flush();
                } catch (const std::exception&) {
                }
                std::rethrow_exception(failure);
            }
            co_await flush();
            if (error == SSL_ERROR_NONE) {
                break;
            }
            if (error == SSL_ERROR_WANT_READ) {
                const bool more = co_await fill();
                if (!more) {
                    throw tls::tls_error(handshake_label() +
                                         ": connection closed by the peer during the handshake");
                }
            }
        }
        if (m_server) {
            if (const char* name = SSL_get_servername(m_ssl.get(), TLSEXT_NAMETYPE_host_name)) {
                m_server_name = name;
            }
        }
    }

    /// Decrypted bytes into `buffer`, waiting for at least one; 0 at the end
    /// of the stream (close_notify, or the socket's end between records).
    CORIO_HEADER_COROUTINE task<std::size_t> read_some(std::span<std::byte> buffer) {
        if (buffer.empty()) {
            co_return 0;
        }
        if (m_reading) {
            throw std::logic_error(
                "corio::tls::stream: a read is already pending (one reader at a time)");
        }
        m_reading = true;
        const flag_guard reading{m_reading};
        for (;;) {
            // A fatal error stays fatal: it is not an end of stream.
            if (!m_read_error.empty()) {
                throw tls::tls_error(m_read_error);
            }
            if (m_read_eof) {
                co_return 0;
            }
            ERR_clear_error();
            std::size_t got = 0;
            const int r = SSL_read_ex(m_ssl.get(), buffer.data(), buffer.size(), &got);
            if (r == 1) {
                co_return got;
            }
            const int error = SSL_get_error(m_ssl.get(), r);
            if (error == SSL_ERROR_ZERO_RETURN) {
                m_close_notify = true;
                m_read_eof = true;
                co_return 0;
            }
            if (error != SSL_ERROR_WANT_READ) {
                m_read_error = "TLS read from " + m_peer_text + ": " + error_text(error);
                throw tls::tls_error(m_read_error);
            }
            // Whatever reading produced (a key update answer) goes out before
            // waiting, unless a writer holds the socket: it sends it too.
            if (BIO_ctrl_pending(m_wbio) > 0) {
                if (std::optional<mutex_lock> lock = m_send_mutex.try_lock()) {
                    co_await drain();
                }
            }
            const bool more = co_await fill();
            if (!more) {
                // The socket ended without close_notify. Between records this
                // is taken as the end of the stream (as HTTP clients do; the
                // HTTP framing detects a truncated body); inside a record it
                // is a truncation.
                if (SSL_has_pending(m_ssl.get()) == 1 || BIO_ctrl_pending(m_rbio) > 0) {
                    m_read_error = "TLS read from " + m_peer_text +
                                   ": connection closed in the middle of a TLS record";
                    throw tls::tls_error(m_read_error);
                }
                m_read_eof = true;
                co_return 0;
            }
        }
    }

    /// Encrypts and sends all of `bytes`; writers queue FIFO.
    CORIO_HEADER_COROUTINE task<void> write(std::span<const std::byte> bytes) {
        mutex_lock lock = co_await m_send_mutex.lock();
        ensure_writable();
        std::size_t done = 0;
        while (done < bytes.size()) {
            const std::size_t chunk = std::min(bytes.size() - done, write_chunk);
            ERR_clear_error();
            std::size_t written = 0;
            const int r = SSL_write_ex(m_ssl.get(), bytes.data() + done, chunk, &written);
            if (r != 1) {
                const int error = SSL_get_error(m_ssl.get(), r);
                m_write_broken = true;
                throw tls::tls_error("TLS write to " + m_peer_text + ": " + error_text(error));
            }
            done += written;
            co_await drain();
        }
    }

    /// Sends close_notify (after any pending write) without waiting for the
    /// peer's; reading stays possible. Idempotent.
    CORIO_HEADER_COROUTINE task<void> shutdown() {
        mutex_lock lock = co_await m_send_mutex.lock();
        if (m_shutdown_sent) {
            co_return;
        }
        ensure_writable();
        ERR_clear_error();
        const int r = SSL_shutdown(m_ssl.get());
        if (r < 0) {
            const int error = SSL_get_error(m_ssl.get(), r);
            throw tls::tls_error("TLS shutdown with " + m_peer_text + ": " + error_text(error));
        }
        m_shutdown_sent = true;
        co_await drain();
    }

    [[nodiscard]] stream_socket& socket() noexcept { return m_socket; }
    [[nodiscard]] SSL* ssl() const noexcept { return m_ssl.get(); }
    [[nodiscard]] const std::string& server_name() const noexcept { return m_server_name; }
    [[nodiscard]] bool received_close_notify() const noexcept { return m_close_notify; }

private:
    // Clears a bool when the operation leaves, however it leaves.
    struct flag_guard {
        bool& flag;
        explicit flag_guard(bool& f) noexcept : flag(f) {}
        flag_guard(const flag_guard&) = delete;
        flag_guard& operator=(const flag_guard&) = delete;
        ~flag_guard() { flag = false; }
    };

    // Sets m_write_broken unless disarmed: a socket write that threw or was
    // cancelled may have sent part of a record, so nothing more can follow.
    struct break_guard {
        bool& broken;
        bool done = false;
        explicit break_guard(bool& b) noexcept : broken(b) {}
        break_guard(const break_guard&) = delete;
        break_guard& operator=(const break_guard&) = delete;
        ~break_guard() {
            if (!done) {
                broken = true;
            }
        }
    };

    void ensure_writable() const {
        if (m_shutdown_sent) {
            throw tls::tls_error("TLS write to " + m_peer_text +
                                 ": the stream was shut down (close_notify sent)");
        }
        if (m_write_broken) {
            throw tls::tls_error(
                "TLS write to " + m_peer_text +
                ": an earlier write failed or was cancelled mid-record; the stream cannot send");
        }
    }

    // Sends what the write BIO holds, then waits for the send mutex first.
    CORIO_HEADER_COROUTINE task<void> flush() {
        mutex_lock lock = co_await m_send_mutex.lock();
        co_await drain();
    }

    // Sends what the write BIO holds, including bytes added while it sends.
    // The caller holds m_send_mutex.
    CORIO_HEADER_COROUTINE task<void> drain() {
        break_guard guard{m_write_broken};
        for (;;) {
            const std::size_t pending = BIO_ctrl_pending(m_wbio);
            if (pending == 0) {
                break;
            }
            m_out.resize(std::min<std::size_t>(pending, INT_MAX));
            const int n = BIO_read(m_wbio, m_out.data(), static_cast<int>(m_out.size()));
            if (n <= 0) {
                break;  // cannot happen for a memory BIO with data pending
            }
            m_out.resize(static_cast<std::size_t>(n));
            co_await m_socket.write(std::string_view(m_out));
        }
        guard.done = true;
    }

    // Reads ciphertext from the socket into the read BIO; false at end of stream.
    CORIO_HEADER_COROUTINE task<bool> fill() {
        m_in.resize(read_chunk);
        const std::size_t n =
            co_await m_socket.read_some(std::span<std::byte>(m_in.data(), m_in.size()));
        if (n == 0) {
            co_return false;
        }
        // A memory BIO grows to take everything.
        if (BIO_write(m_rbio, m_in.data(), static_cast<int>(n)) != static_cast<int>(n)) {
            throw tls::tls_error("corio::tls: BIO_write failed: " + take_openssl_errors());
        }
        co_return true;
    }

    [[nodiscard]] std::string handshake_label() const {
        if (m_server || m_server_name.empty()) {
            return "TLS handshake with " + m_peer_text;
        }
        return "TLS handshake with " + m_server_name + " (" + m_peer_text + ")";
    }

    [[nodiscard]] std::string error_text(int error) {
        std::string text = take_openssl_errors();
        if (!text.empty()) {
            return text;
        }
        if (error == SSL_ERROR_SYSCALL) {
            return "unexpected end of the TLS stream";
        }
        return "SSL error " + std::to_string(error);
    }

    [[nodiscard]] std::exception_ptr handshake_failure(int error) {
        const long verify = SSL_get_verify_result(m_ssl.get());
        if (!m_server && verify != X509_V_OK &&
            (SSL_get_verify_mode(m_ssl.get()) & SSL_VERIFY_PEER) != 0) {
            ERR_clear_error();
            return std::make_exception_ptr(tls::certificate_error(
                handshake_label() + ": certificate verify failed: " +
                    X509_verify_cert_error_string(verify) + " (host " + m_server_name + ")",
                m_server_name, verify));
        }
        return std::make_exception_ptr(
            tls::tls_error(handshake_label() + ": " + error_text(error)));
    }

    stream_socket m_socket;
    bool m_server;
    std::string m_peer_text;    // "127.0.0.1:4433", for messages
    std::string m_server_name;  // client: the name asked for; server: the SNI received
    ssl_ptr m_ssl;
    BIO* m_rbio = nullptr;        // ciphertext from the peer, owned by m_ssl
    BIO* m_wbio = nullptr;        // ciphertext to the peer, owned by m_ssl
    std::vector<std::byte> m_in;  // socket read buffer (the reader's)
    std::string m_out;            // socket write buffer (the m_send_mutex holder's)
    mutex m_send_mutex;
    std::string m_read_error;  // set by a fatal read error: every later read throws it again
    bool m_reading = false;
    bool m_read_eof = false;
    bool m_close_notify = false;
    bool m_shutdown_sent = false;
    bool m_write_broken = false;
};

}  // namespace corio::detail
