#pragma once

// tls_channel<Next>: a tls_engine driven over any corio::byte_stream — the
// state behind one corio::tls::stream<Next>. The engine transforms bytes and
// says what it wants; the channel moves ciphertext between it and the next
// layer, and keeps the plaintext read ahead by read_until.
//
// Concurrency (one loop, so no locks against threads): one reader and any
// number of writers. Engine calls never suspend, so the SSL object is always
// consistent between them; OpenSSL lets SSL_read and SSL_write interleave on
// a non-blocking transport. The next layer sees at most one reader (the
// channel's reader) and one writer (the m_send_mutex holder) at a time, which
// every byte_stream allows. Whoever holds m_send_mutex sends everything the
// engine holds, including bytes another operation produced meanwhile (an
// alert or key update answered by the reader), so bytes leave in the order
// OpenSSL made them.

#include <corio/detail/config.hpp>
#include <corio/net/byte_stream.hpp>
#include <corio/net/read_buffer.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/task.hpp>
#include <corio/tls/detail/engine.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace corio::detail {

/// The peer's name for TLS error messages: the next layer's remote endpoint
/// when it has one ("127.0.0.1:4433", a Unix socket's path), else "peer".
template <class Next>
std::string tls_peer_text(const Next& next) {
    if constexpr (requires { next.remote_endpoint().to_string(); }) {
        return next.remote_endpoint().to_string();
    } else {
        return "peer";
    }
}

template <byte_stream Next>
class tls_channel {
public:
    /// Ciphertext read from the next layer at a time (a full TLS record is 16 KiB + overhead).
    static constexpr std::size_t read_chunk = 32 * 1024;

    tls_channel(Next next, SSL_CTX* ctx, bool server)
        : m_next(std::move(next)), m_engine(ctx, server, tls_peer_text(m_next)) {}

    tls_channel(const tls_channel&) = delete;
    tls_channel& operator=(const tls_channel&) = delete;

    /// Runs the handshake to completion. Throws what the engine throws (after
    /// trying to send its alert), tls_error when the peer closes first, the
    /// next layer's errors, cancelled_error when cancelled.
    CORIO_HEADER_COROUTINE task<void> handshake() {
        for (;;) {
            tls_want want = tls_want::nothing;
            std::exception_ptr failure;
            try {
                want = m_engine.handshake();
            } catch (const std::exception&) {
                failure = std::current_exception();
            }
            if (failure) {
                // Best effort: the alert tells the peer why; the failure is what matters.
                try {
                    co_await flush();
                } catch (const std::exception&) {
                }
                std::rethrow_exception(failure);
            }
            co_await flush();
            if (want == tls_want::nothing) {
                co_return;
            }
            if (want == tls_want::input && !co_await fill()) {
                m_engine.input_ended();  // throws: closed during the handshake
            }
        }
    }

    /// Decrypted bytes into `into`, waiting for at least one; 0 at the end of
    /// the stream. With `buffered_first`, bytes read ahead into buffer() come
    /// first (what tls::stream::read_some wants); without, the engine only
    /// (what the buffered algorithms filling buffer() want).
    CORIO_HEADER_COROUTINE task<std::size_t> read(std::span<std::byte> into, bool buffered_first) {
        if (into.empty()) {
            co_return 0;
        }
        if (buffered_first && !m_buffer.empty()) {
            co_return m_buffer.take_into(into);
        }
        if (m_reading) {
            throw std::logic_error("corio::tls::stream: a read is already pending (one reader at a time)");
        }
        m_reading = true;
        const flag_guard reading{m_reading};
        for (;;) {
            const tls_engine::read_result got = m_engine.read(into);
            if (got.want == tls_want::nothing) {
                co_return got.size;  // 0: the end of the stream
            }
            // Whatever reading produced (a key update answer) goes out before
            // waiting, unless a writer holds the next layer: it sends it too.
            if (m_engine.output_pending() > 0) {
                if (std::optional<mutex_lock> lock = m_send_mutex.try_lock()) {
                    co_await drain();
                }
            }
            if (!co_await fill()) {
                m_engine.input_ended();  // the next read() reports the end, or this throws
            }
        }
    }

    /// Encrypts and sends all of `bytes`; writers queue FIFO.
    CORIO_HEADER_COROUTINE task<void> write(std::span<const std::byte> bytes) {
        mutex_lock lock = co_await m_send_mutex.lock();
        m_engine.ensure_writable();
        std::size_t done = 0;
        while (done < bytes.size()) {
            done += m_engine.write(bytes.subspan(done));
            co_await drain();
        }
    }

    /// Sends close_notify (after any pending write) without waiting for the
    /// peer's; reading stays possible. Idempotent.
    CORIO_HEADER_COROUTINE task<void> shutdown() {
        mutex_lock lock = co_await m_send_mutex.lock();
        if (m_engine.shutdown_sent()) {
            co_return;
        }
        m_engine.shutdown();
        co_await drain();
    }

    /// Whether the next layer is open (its is_open() when it has one; else
    /// until close()).
    [[nodiscard]] bool is_open() const noexcept {
        if constexpr (requires(const Next& next) {
                          { next.is_open() } -> std::convertible_to<bool>;
                      }) {
            return m_next.is_open();
        } else {
            return !m_closed;
        }
    }

    /// Closes the next layer: its pending operations throw (stream_closed for corio's streams).
    void close() noexcept {
        m_closed = true;
        m_next.close();
    }

    [[nodiscard]] Next& next_layer() noexcept { return m_next; }
    [[nodiscard]] tls_engine& engine() noexcept { return m_engine; }
    [[nodiscard]] const tls_engine& engine() const noexcept { return m_engine; }
    /// Plaintext read ahead by read_until, served first by read_some.
    [[nodiscard]] read_buffer& buffer() noexcept { return m_buffer; }

private:
    // Clears a bool when the operation leaves, however it leaves.
    struct flag_guard {
        bool& flag;
        explicit flag_guard(bool& f) noexcept : flag(f) {}
        flag_guard(const flag_guard&) = delete;
        flag_guard& operator=(const flag_guard&) = delete;
        ~flag_guard() { flag = false; }
    };

    // Tells the engine its output is broken unless disarmed: a send that
    // threw or was cancelled may have sent part of a record.
    struct break_guard {
        tls_engine& engine;
        bool done = false;
        explicit break_guard(tls_engine& e) noexcept : engine(e) {}
        break_guard(const break_guard&) = delete;
        break_guard& operator=(const break_guard&) = delete;
        ~break_guard() {
            if (!done) {
                engine.output_broken();
            }
        }
    };

    // Sends what the engine holds, waiting for the send mutex first.
    CORIO_HEADER_COROUTINE task<void> flush() {
        mutex_lock lock = co_await m_send_mutex.lock();
        co_await drain();
    }

    // Sends what the engine holds, including bytes added while it sends.
    // The caller holds m_send_mutex.
    CORIO_HEADER_COROUTINE task<void> drain() {
        break_guard guard{m_engine};
        while (m_engine.output_pending() > 0) {
            m_engine.take_output(m_out);
            co_await m_next.write(std::as_bytes(std::span<const char>(m_out.data(), m_out.size())));
        }
        guard.done = true;
    }

    // Reads ciphertext from the next layer into the engine; false at its end.
    CORIO_HEADER_COROUTINE task<bool> fill() {
        m_in.resize(read_chunk);
        const std::size_t n = co_await m_next.read_some(std::span<std::byte>(m_in.data(), m_in.size()));
        if (n == 0) {
            co_return false;
        }
        m_engine.put_input(std::span<const std::byte>(m_in.data(), n));
        co_return true;
    }

    Next m_next;
    tls_engine m_engine;          // after m_next: its peer text comes from it
    read_buffer m_buffer;         // plaintext read ahead by read_until
    std::vector<std::byte> m_in;  // ciphertext read buffer (the reader's)
    std::string m_out;            // ciphertext write buffer (the m_send_mutex holder's)
    mutex m_send_mutex;
    bool m_reading = false;
    bool m_closed = false;
};

}  // namespace corio::detail
