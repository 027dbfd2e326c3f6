#pragma once

// The TLS protocol machine under corio::tls::stream: an OpenSSL SSL object
// over a pair of memory BIOs. It does no I/O and never suspends: it takes the
// peer's ciphertext (put_input), hands out ciphertext to send (take_output),
// turns plaintext into records and records into plaintext, and says when it
// needs more input. tls_channel (tls/detail/channel.hpp) moves the bytes over
// any corio::byte_stream.
//
// Why memory BIOs: OpenSSL never touches a file descriptor, so the transport
// keeps its own semantics — readiness waits, cancellation that drops the
// wait, close() waking a pending operation with stream_closed — and can be
// anything that moves bytes (TCP, a Unix socket, an in-memory pipe).
//
// After every call the driver sends what output_pending() reports: any call
// may produce records (handshake messages, alerts, a key update's answer).

#include <corio/tls/detail/openssl.hpp>
#include <corio/tls/errors.hpp>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

namespace corio::detail {

/// What an engine step needs before it can go on.
enum class tls_want {
    nothing,  // the step is complete
    input,    // more ciphertext from the peer (put_input), then call again
    output,   // send output_pending() bytes, then call again
};

class tls_engine {
public:
    /// Plaintext encrypted by one write(): big enough for few trips through
    /// the transport, small enough that the ciphertext buffer stays small.
    static constexpr std::size_t write_chunk = 64 * 1024;

    /// A client (server = false) or server engine on `ctx`. `peer` names the
    /// other end in error messages ("127.0.0.1:4433").
    tls_engine(SSL_CTX* ctx, bool server, std::string peer) : m_server(server), m_peer_text(std::move(peer)) {
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
        // the transport reports the end, through input_ended().
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
            throw tls::tls_error("corio::tls: cannot set SNI '" + server_name + "': " + take_openssl_errors());
        }
        if (verify_peer) {
            int ok = 0;
            if (ip) {
                ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(m_ssl.get()), server_name.c_str());
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

    // --- ciphertext in and out

    /// Ciphertext received from the peer (a memory BIO grows to take it all).
    void put_input(std::span<const std::byte> ciphertext) {
        std::size_t done = 0;
        while (done < ciphertext.size()) {
            const int size = static_cast<int>(std::min<std::size_t>(ciphertext.size() - done, INT_MAX));
            if (BIO_write(m_rbio, ciphertext.data() + done, size) != size) {
                throw tls::tls_error("corio::tls: BIO_write failed: " + take_openssl_errors());
            }
            done += static_cast<std::size_t>(size);
        }
    }

    /// Whether the peer sent something not read yet: a record (or part of
    /// one) OpenSSL holds, or ciphertext it has not looked at.
    [[nodiscard]] bool input_pending() const noexcept {
        return SSL_has_pending(m_ssl.get()) == 1 || BIO_ctrl_pending(m_rbio) > 0;
    }

    /// Ciphertext bytes waiting to be sent to the peer.
    [[nodiscard]] std::size_t output_pending() const noexcept { return BIO_ctrl_pending(m_wbio); }

    /// Moves the ciphertext waiting to be sent into `out` (replacing what it held).
    void take_output(std::string& out) {
        out.resize(std::min<std::size_t>(output_pending(), INT_MAX));
        const int n = out.empty() ? 0 : BIO_read(m_wbio, out.data(), static_cast<int>(out.size()));
        out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    }

    // --- protocol steps

    /// Advances the handshake: nothing once it is complete, input while it
    /// waits for the peer, output to send and call again. Throws
    /// certificate_error or tls_error when it fails; the alert telling the
    /// peer why is then in the output.
    tls_want handshake() {
        ERR_clear_error();
        const int r = SSL_do_handshake(m_ssl.get());
        const int error = r == 1 ? SSL_ERROR_NONE : SSL_get_error(m_ssl.get(), r);
        switch (error) {
        case SSL_ERROR_NONE:
            m_handshake_done = true;
            if (m_server) {
                if (const char* name = SSL_get_servername(m_ssl.get(), TLSEXT_NAMETYPE_host_name)) {
                    m_server_name = name;
                }
            }
            return tls_want::nothing;
        case SSL_ERROR_WANT_READ:
            return tls_want::input;
        case SSL_ERROR_WANT_WRITE:
            return tls_want::output;
        default:
            throw_handshake_failure(error);
        }
    }

    /// What read() produced: `size` plaintext bytes, or none with `want`
    /// input (call again after put_input) or nothing (the end of the stream).
    struct read_result {
        std::size_t size = 0;
        tls_want want = tls_want::nothing;
    };

    /// Decrypts into `plaintext` (not empty). A fatal error throws tls_error,
    /// and every later read throws it again: it is not an end of stream.
    read_result read(std::span<std::byte> plaintext) {
        if (!m_read_error.empty()) {
            throw tls::tls_error(m_read_error);
        }
        if (m_read_eof) {
            return {};
        }
        ERR_clear_error();
        std::size_t got = 0;
        const int r = SSL_read_ex(m_ssl.get(), plaintext.data(), plaintext.size(), &got);
        if (r == 1) {
            return {got, tls_want::nothing};
        }
        const int error = SSL_get_error(m_ssl.get(), r);
        if (error == SSL_ERROR_ZERO_RETURN) {
            m_close_notify = true;
            m_read_eof = true;
            return {};
        }
        if (error == SSL_ERROR_WANT_READ) {
            return {0, tls_want::input};
        }
        fail_reading(error_text(error));
    }

    /// The transport ended (no more input will come). During the handshake
    /// that is a tls_error. After it, between two records, it is the end of
    /// the stream without close_notify (read() returns it from now on; many
    /// servers close that way, and a protocol that frames its messages, as
    /// HTTP does, detects a truncated one itself); inside a record it is a
    /// truncation: tls_error, for this and every later read.
    void input_ended() {
        if (!m_handshake_done) {
            throw tls::tls_error(handshake_label() + ": connection closed by the peer during the handshake");
        }
        if (input_pending()) {
            fail_reading("connection closed in the middle of a TLS record");
        }
        m_read_eof = true;
    }

    /// Encrypts up to write_chunk bytes of `plaintext` into the output and
    /// returns how many. Throws tls_error after shutdown(), after
    /// output_broken(), or when OpenSSL fails (the stream then cannot send).
    std::size_t write(std::span<const std::byte> plaintext) {
        ensure_writable();
        const std::size_t chunk = std::min(plaintext.size(), write_chunk);
        ERR_clear_error();
        std::size_t written = 0;
        if (const int r = SSL_write_ex(m_ssl.get(), plaintext.data(), chunk, &written); r != 1) {
            const int error = SSL_get_error(m_ssl.get(), r);
            m_output_broken = true;
            throw tls::tls_error("TLS write to " + m_peer_text + ": " + error_text(error));
        }
        return written;
    }

    /// Puts close_notify in the output (reading stays possible). Idempotent;
    /// throws tls_error after output_broken().
    void shutdown() {
        if (m_shutdown_sent) {
            return;
        }
        ensure_writable();
        ERR_clear_error();
        const int r = SSL_shutdown(m_ssl.get());
        if (r < 0) {
            const int error = SSL_get_error(m_ssl.get(), r);
            throw tls::tls_error("TLS shutdown with " + m_peer_text + ": " + error_text(error));
        }
        m_shutdown_sent = true;
    }

    /// The transport failed or was cancelled while sending: part of a record
    /// may have gone out, so no record can follow.
    void output_broken() noexcept { m_output_broken = true; }

    [[nodiscard]] SSL* ssl() const noexcept { return m_ssl.get(); }
    /// Client: the name asked for; server: the SNI received ("" without one).
    [[nodiscard]] const std::string& server_name() const noexcept { return m_server_name; }
    [[nodiscard]] bool received_close_notify() const noexcept { return m_close_notify; }
    [[nodiscard]] bool shutdown_sent() const noexcept { return m_shutdown_sent; }
    [[nodiscard]] const std::string& peer_text() const noexcept { return m_peer_text; }

    /// Throws tls_error when no record can be sent any more: after
    /// shutdown(), after output_broken() or a failed write().
    void ensure_writable() const {
        if (m_shutdown_sent) {
            throw tls::tls_error("TLS write to " + m_peer_text + ": the stream was shut down (close_notify sent)");
        }
        if (m_output_broken) {
            throw tls::tls_error("TLS write to " + m_peer_text +
                                 ": an earlier write failed or was cancelled mid-record; the stream cannot send");
        }
    }

private:
    [[noreturn]] void fail_reading(const std::string& why) {
        m_read_error = "TLS read from " + m_peer_text + ": " + why;
        throw tls::tls_error(m_read_error);
    }

    [[nodiscard]] std::string handshake_label() const {
        if (m_server || m_server_name.empty()) {
            return "TLS handshake with " + m_peer_text;
        }
        return "TLS handshake with " + m_server_name + " (" + m_peer_text + ")";
    }

    [[nodiscard]] static std::string error_text(int error) {
        std::string text = take_openssl_errors();
        if (!text.empty()) {
            return text;
        }
        if (error == SSL_ERROR_SYSCALL) {
            return "unexpected end of the TLS stream";
        }
        return "SSL error " + std::to_string(error);
    }

    [[noreturn]] void throw_handshake_failure(int error) {
        const long verify = SSL_get_verify_result(m_ssl.get());
        if (!m_server && verify != X509_V_OK && (SSL_get_verify_mode(m_ssl.get()) & SSL_VERIFY_PEER) != 0) {
            ERR_clear_error();
            throw tls::certificate_error(handshake_label() + ": certificate verify failed: " +
                                             X509_verify_cert_error_string(verify) + " (host " + m_server_name + ")",
                                         m_server_name, verify);
        }
        throw tls::tls_error(handshake_label() + ": " + error_text(error));
    }

    bool m_server;
    std::string m_peer_text;    // "127.0.0.1:4433", for messages
    std::string m_server_name;  // client: the name asked for; server: the SNI received
    ssl_ptr m_ssl;
    BIO* m_rbio = nullptr;      // ciphertext from the peer, owned by m_ssl
    BIO* m_wbio = nullptr;      // ciphertext to the peer, owned by m_ssl
    std::string m_read_error;   // set by a fatal read error: every later read throws it again
    bool m_handshake_done = false;
    bool m_read_eof = false;
    bool m_close_notify = false;
    bool m_shutdown_sent = false;
    bool m_output_broken = false;
};

}  // namespace corio::detail
