#pragma once

// The engine behind corio::http::websocket: one connection after the opening
// handshake, either side. It reads frames from one reusable buffer (a
// payload that fits there is unmasked in place and copied once, into the
// message; a larger one is read straight into the message), joins fragments,
// answers pings, validates UTF-8 as fragments arrive, enforces the size
// limit (also after decompression), runs the closing handshake, and writes
// each message whole under a send mutex.
//
// Per message the work is a few plain functions around as few coroutines
// as possible: receive() is one small coroutine (its frame recycled by the
// frame cache) whose frame decoding is parse_step()/finish_frame(), plain
// functions; it reads from the stream itself (no helper coroutines) unless a
// heartbeat is set; send_message() writes an unfragmented frame itself.

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/detail/config.hpp>
#include <corio/detail/separate_compilation.hpp>
#include <corio/errors.hpp>
#include <corio/http/detail/transport.hpp>
#include <corio/http/detail/websocket_deflate.hpp>
#include <corio/http/detail/websocket_frame.hpp>
#include <corio/http/websocket_options.hpp>
#include <corio/sync/event.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace corio::detail::ws {

enum class role { client, server };

class engine {
public:
    engine(http_connection_stream stream, role side, const http::websocket_options& options,
           std::optional<deflate_params> deflate, std::string subprotocol, std::string_view leftover,
           std::shared_ptr<void> keep_alive = {})
        : m_stream(std::move(stream)),
          m_role(side),
          m_options(options),
          m_subprotocol(std::move(subprotocol)),
          m_keep_alive(std::move(keep_alive)) {
        m_capacity = std::max<std::size_t>({options.read_buffer_size, leftover.size(), 512});
        m_buffer.reset(new unsigned char[m_capacity]);
        if (!leftover.empty()) {
            std::memcpy(m_buffer.get(), leftover.data(), leftover.size());
            m_end = leftover.size();
        }
#if defined(CORIO_WITH_ZLIB)
        if (deflate) {
            const bool client = side == role::client;
            m_deflater = std::make_unique<deflater>(
                client ? deflate->client_max_window_bits : deflate->server_max_window_bits,
                client ? deflate->client_no_context_takeover : deflate->server_no_context_takeover);
            m_inflater = std::make_unique<inflater>(
                client ? deflate->server_max_window_bits : deflate->client_max_window_bits,
                client ? deflate->server_no_context_takeover : deflate->client_no_context_takeover);
        }
#else
        (void)deflate;
#endif
    }
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;
    ~engine() { m_stream.close(); }

    [[nodiscard]] const std::string& subprotocol() const noexcept { return m_subprotocol; }
    [[nodiscard]] bool compressed() const noexcept {
#if defined(CORIO_WITH_ZLIB)
        return m_deflater != nullptr;
#else
        return false;
#endif
    }
    [[nodiscard]] bool is_open() const noexcept { return !m_failure && !m_close_sent; }
    [[nodiscard]] const http::websocket_options& options() const noexcept { return m_options; }
    [[nodiscard]] std::uint16_t close_code() const noexcept { return m_close_code; }
    [[nodiscard]] const std::string& close_reason() const noexcept { return m_close_reason; }

    /// Closes the TCP connection at once, without a closing handshake.
    void abort() noexcept {
        if (!m_failure) {
            m_failure = std::make_exception_ptr(http::connection_lost("corio::http websocket: connection aborted"));
            m_close_code = http::close_code::abnormal;
        }
        m_stream.close();
        m_closed.set();
    }

    // ------------------------------------------------------------------ receive

    CORIO_HEADER_COROUTINE task<http::ws_message> receive();

    // --------------------------------------------------------------------- send

    /// Sends one whole message (text or binary) as one frame.
    CORIO_HEADER_COROUTINE task<void> send_message(opcode op, std::string_view payload);

    /// Sends a ping (payload at most 125 bytes).
    CORIO_HEADER_COROUTINE task<void> send_control(opcode op, std::string_view payload);

    // -------------------------------------------------------------------- close

    /// The closing handshake from our side (RFC 6455 §7.1.2): sends Close,
    /// waits for the peer's Close (through the pending receive(), if one is
    /// waiting) within close_timeout, and ends the TCP connection.
    CORIO_HEADER_COROUTINE task<void> close(std::uint16_t code, std::string reason);

    /// The end of a server handler: closes with `code` if still open, and
    /// always releases the TCP connection.
    CORIO_HEADER_COROUTINE task<void> finish(std::uint16_t code);

private:
    static std::string describe(header_error e) {
        switch (e) {
            case header_error::unknown_opcode:
                return "unknown opcode";
            case header_error::control_too_long:
                return "control frame payload over 125 bytes";
            case header_error::control_fragmented:
                return "fragmented control frame";
            case header_error::length_not_minimal_64:
                return "64-bit payload length with its top bit set";
            case header_error::none:
                break;
        }
        return "bad frame";
    }

    void throw_if_closed() const {
        if (m_failure) {
            std::rethrow_exception(m_failure);
        }
        if (m_close_sent) {
            throw http::connection_closed(m_close_code, m_close_reason, false,
                                          "corio::http websocket: closing (Close frame sent)");
        }
    }

    void set_lost(const std::string& why) noexcept {
        if (!m_failure) {
            m_failure = std::make_exception_ptr(http::connection_lost("corio::http websocket: " + why));
            m_close_code = http::close_code::abnormal;
        }
        m_stream.close();
        m_closed.set();
    }

    // Reads from the stream, with the heartbeat's pings while it waits.
    // Returns 0 when the connection failed (m_failure says how).
    CORIO_HEADER_COROUTINE task<std::size_t> read_raw(std::span<std::byte> into) {
        std::size_t n = 0;
        std::string lost;
        bool idle = false;
        try {
            if (m_options.heartbeat) {
                task<std::size_t> op = m_stream.read_some(into);
                n = co_await wait_for(std::move(op), *m_options.heartbeat);
            } else {
                n = co_await m_stream.read_some(into);
            }
        } catch (const timeout_error&) {
            idle = true;
        } catch (const std::exception& e) {
            lost = std::string("connection lost: ") + e.what();
        }
        if (idle) {
            try {
                co_await send_control(opcode::ping, "");
                task<std::size_t> op = m_stream.read_some(into);
                n = co_await wait_for(std::move(op), m_options.pong_timeout);
            } catch (const timeout_error&) {
                lost = "no answer to a heartbeat ping within " + std::to_string(m_options.pong_timeout.count()) + " ms";
            } catch (const std::exception& e) {
                lost = std::string("connection lost: ") + e.what();
            }
        }
        if (lost.empty() && n == 0) {
            lost = m_close_sent ? "connection closed before the peer's Close frame"
                                : "connection closed without a Close frame";
        }
        if (!lost.empty()) {
            set_lost(lost);
            co_return 0;
        }
        co_return n;
    }

    // Moves the unread bytes to the front; returns the free space behind them.
    std::span<std::byte> make_room() noexcept {
        if (m_begin > 0) {
            std::memmove(m_buffer.get(), m_buffer.get() + m_begin, m_end - m_begin);
            m_end -= m_begin;
            m_begin = 0;
        }
        return std::as_writable_bytes(std::span<unsigned char>(m_buffer.get() + m_end, m_capacity - m_end));
    }

    // A read without heartbeat ended the connection: by `error`, or (null)
    // by the end of the stream. The same words as read_raw's.
    void read_failed(const std::exception_ptr& error) noexcept {
        std::string lost;
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                lost = std::string("connection lost: ") + e.what();
            } catch (...) {
                lost = "connection lost";
            }
        } else {
            lost = m_close_sent ? "connection closed before the peer's Close frame"
                                : "connection closed without a Close frame";
        }
        set_lost(lost);
    }

    // A write failed (`error`): the connection is lost; throws what every
    // later call will.
    [[noreturn]] void write_failed(const std::exception_ptr& error) {
        std::string what = "connection lost while sending";
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            what += std::string(": ") + e.what();
        } catch (...) {
        }
        set_lost(what);
        std::rethrow_exception(m_failure);
    }

    // What receive() does next, decided by the plain functions below.
    enum class step {
        message,  // a whole message is ready
        fill,     // more input is needed in the buffer
        payload,  // a large frame's payload is being read into m_message
        fail,     // the peer broke the protocol: fail(m_fail_code, m_fail_why)
        ping,     // answer with a pong carrying m_control
        close,    // the peer's Close frame, payload in m_control
        again,    // look at the buffer again (a pong, a non-final fragment)
    };

    step failing(std::uint16_t code, std::string why) {
        m_fail_code = code;
        m_fail_why = std::move(why);
        return step::fail;
    }

    // Decodes what the buffer holds: no I/O, nothing changes until a
    // frame's payload is here (a frame waiting for input is parsed again
    // from its header next time).
    CORIO_DECL step parse_step(http::ws_message& out);
    // The payload of the current data frame is all in m_message: unmask,
    // validate, and end the message if this was its last frame.
    CORIO_DECL step finish_frame(http::ws_message& out);

    // A write cut short (cancelled, failed) leaves half a frame: the
    // connection is unusable then.
    struct abort_unless_done {
        engine* self;
        ~abort_unless_done() {
            if (self != nullptr) {
                self->set_lost("a send was interrupted mid-frame");
            }
        }
    };

    // Whether a frame goes out as one write of m_out (header and payload
    // copied, masked on a client), rather than header and payload apart.
    [[nodiscard]] bool one_write(std::size_t payload_size) const noexcept {
        return m_role == role::client || payload_size <= 64 * 1024;
    }

    // Header and payload of one frame into m_out (see one_write).
    void frame_into_out(opcode op, std::string_view payload, bool compressed) {
        frame_header h;
        h.op = op;
        h.rsv1 = compressed;
        h.length = payload.size();
        h.masked = m_role == role::client;
        if (h.masked) {
            h.mask = m_masks.next();
        }
        unsigned char head[max_header_size];
        const std::size_t head_size = write_header(h, head);
        m_out.resize(head_size + payload.size());
        std::memcpy(m_out.data(), head, head_size);
        if (h.masked) {
            copy_masked(reinterpret_cast<unsigned char*>(m_out.data() + head_size),
                        reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), h.mask);
        } else if (!payload.empty()) {
            std::memcpy(m_out.data() + head_size, payload.data(), payload.size());
        }
    }

    void trim_out() noexcept {
        if (m_out.capacity() > 1024 * 1024) {
            m_out = std::string();  // do not keep one big message's buffer forever
        }
    }

    CORIO_HEADER_COROUTINE task<void> write_frame(opcode op, std::string_view payload, bool compressed) {
        abort_unless_done guard{this};
        std::exception_ptr error;
        try {
            if (one_write(payload.size())) {
                frame_into_out(op, payload, compressed);
                if (const std::size_t sent = m_stream.write_now(m_out); sent < m_out.size()) {
                    const std::string_view rest = std::string_view(m_out).substr(sent);
                    co_await m_stream.write(rest);
                }
                trim_out();
            } else {
                // Large and unmasked: two writes, no copy of the payload.
                frame_header h;
                h.op = op;
                h.rsv1 = compressed;
                h.length = payload.size();
                unsigned char head[max_header_size];
                const std::size_t head_size = write_header(h, head);
                co_await m_stream.write(std::as_bytes(std::span<const unsigned char>(head, head_size)));
                co_await m_stream.write(std::as_bytes(std::span<const char>(payload.data(), payload.size())));
            }
        } catch (const std::exception&) {
            error = std::current_exception();
        }
        guard.self = nullptr;
        if (error) {
            write_failed(error);
        }
    }

    CORIO_HEADER_COROUTINE task<void> send_close_frame(std::uint16_t code, std::string_view reason) {
        mutex_lock lock = co_await m_send_mutex.lock();
        if (m_close_sent || m_failure) {
            co_return;
        }
        m_close_sent = true;
        m_close_code = code;
        m_close_reason = std::string(reason);
        std::string payload;
        if (code != http::close_code::no_status) {
            payload += static_cast<char>(code >> 8);
            payload += static_cast<char>(code & 0xFF);
            payload += reason;
        }
        try {
            co_await write_frame(opcode::close, payload, false);
        } catch (const http::connection_closed&) {
        }
    }

    CORIO_HEADER_COROUTINE task<void> await_close_reply() {
        for (;;) {
            (void)co_await receive();  // data after our Close is dropped (§5.5.1)
        }
    }

    // Ends the TCP connection after both Close frames: the server closes
    // first (§7.1.1); a client waits for that, then closes too.
    CORIO_HEADER_COROUTINE task<void> end_connection() {
        if (m_role == role::server) {
            try {
                co_await m_stream.shutdown_write();
            } catch (const std::exception&) {
            }
        }
        bool drained = false;
        try {
            task<void> eof = drain_to_end();
            co_await wait_for(std::move(eof), m_options.close_timeout);
            drained = true;
        } catch (const std::exception&) {
        }
        (void)drained;
        m_stream.close();
    }

    CORIO_HEADER_COROUTINE task<void> drain_to_end() {
        unsigned char sink[4096];
        for (;;) {
            const std::size_t n = co_await m_stream.read_some(std::as_writable_bytes(std::span<unsigned char>(sink)));
            if (n == 0) {
                co_return;
            }
        }
    }

    CORIO_HEADER_COROUTINE task<void> on_close_frame(std::string body) {
        std::uint16_t code = http::close_code::no_status;
        std::string reason;
        if (body.size() == 1) {
            co_await fail(http::close_code::protocol_error, "Close frame with a 1-byte payload");
            co_return;
        }
        if (body.size() >= 2) {
            code = static_cast<std::uint16_t>(static_cast<unsigned char>(body[0]) << 8 | static_cast<unsigned char>(body[1]));
            reason = body.substr(2);
            if (!valid_close_code(code)) {
                co_await fail(http::close_code::protocol_error, "Close frame with code " + std::to_string(code));
                co_return;
            }
            if (!valid_utf8(reason)) {
                co_await fail(http::close_code::invalid_payload, "Close reason is not valid UTF-8");
                co_return;
            }
        }
        const bool by_peer = !m_close_sent;
        if (by_peer) {
            co_await send_close_frame(code, "");  // echo the status (§5.5.1)
        }
        m_close_code = code;
        m_close_reason = reason;
        m_failure = std::make_exception_ptr(http::connection_closed(
            code, reason, by_peer,
            "corio::http websocket: connection closed with " + std::to_string(code) +
                (reason.empty() ? std::string() : " (" + reason + ")") + (by_peer ? " by the peer" : "")));
        co_await end_connection();
        m_closed.set();
    }

    // A protocol violation by the peer: Close with `code`, drop the connection.
    CORIO_HEADER_COROUTINE task<void> fail(std::uint16_t code, std::string why) {
        if (m_failure) {
            co_return;
        }
        co_await send_close_frame(code, why.size() <= 123 ? std::string_view(why) : std::string_view());
        if (!m_failure) {
            m_failure = std::make_exception_ptr(http::connection_closed(
                code, why, false, "corio::http websocket: closed with " + std::to_string(code) + ": " + why));
            m_close_code = code;
            m_close_reason = why;
        }
        co_await end_connection();
        m_closed.set();
    }

    http_connection_stream m_stream;
    role m_role;
    http::websocket_options m_options;
    std::string m_subprotocol;
    std::shared_ptr<void> m_keep_alive;  // what the stream needs alive (a client session's TLS context)

    std::unique_ptr<unsigned char[]> m_buffer;  // unread bytes are [m_begin, m_end)
    std::size_t m_capacity = 0;
    std::size_t m_begin = 0;
    std::size_t m_end = 0;
    bool m_reading = false;

    bool m_in_message = false;  // fragments of a message arrived, its last not yet
    http::message_type m_message_type = http::message_type::text;
    bool m_message_compressed = false;
    std::string m_message;
    utf8_validator m_utf8;
    // A data frame too large for the buffer, read straight into m_message
    // at [m_frame_base, m_frame_base + m_frame_length); kept here so that a
    // cancelled receive() continues it.
    bool m_frame_pending = false;
    frame_header m_frame;
    std::size_t m_frame_base = 0;
    std::size_t m_frame_length = 0;
    std::size_t m_frame_got = 0;
    std::uint16_t m_fail_code = 0;  // step::fail's close code and reason
    std::string m_fail_why;
    std::string m_control;  // step::ping's and step::close's payload

    corio::mutex m_send_mutex;  // one message's frames at a time
    std::string m_out;
    mask_generator m_masks;
#if defined(CORIO_WITH_ZLIB)
    std::unique_ptr<deflater> m_deflater;
    std::unique_ptr<inflater> m_inflater;
    std::string m_compressed;
    std::string m_inflated;
#endif

    bool m_close_sent = false;
    std::uint16_t m_close_code = 0;
    std::string m_close_reason;
    std::exception_ptr m_failure;  // set once the connection ended: what every later call throws
    corio::event m_closed;         // set when the closing handshake (or the connection) ended
};

#if defined(CORIO_HTTP_DEFINITIONS)
CORIO_DECL auto engine::parse_step(http::ws_message& out) -> step {
    frame_header h;
    const header_result parsed = parse_header(m_buffer.get() + m_begin, m_end - m_begin, h);
    if (parsed.size == 0) {
        return step::fill;
    }
    if (parsed.error != header_error::none) {
        return failing(http::close_code::protocol_error, describe(parsed.error));
    }
    if (h.rsv2 || h.rsv3 || (h.rsv1 && (!compressed() || is_control(h.op) || h.op == opcode::continuation))) {
        return failing(http::close_code::protocol_error, "reserved bit set without an extension defining it");
    }
    if (h.masked != (m_role == role::server)) {
        return failing(http::close_code::protocol_error,
                       m_role == role::server ? "client frame not masked" : "server frame masked");
    }
    if (is_control(h.op)) {
        // Control payloads are at most 125 bytes: keep them whole in the buffer.
        if (m_end - m_begin < parsed.size + h.length) {
            return step::fill;
        }
        m_begin += parsed.size;
        unsigned char* payload = m_buffer.get() + m_begin;
        const std::size_t length = static_cast<std::size_t>(h.length);
        m_begin += length;
        if (h.masked) {
            apply_mask(payload, length, h.mask, 0);
        }
        if (h.op == opcode::pong) {
            return step::again;  // the arrival itself is what a heartbeat waits for
        }
        m_control.assign(reinterpret_cast<const char*>(payload), length);
        return h.op == opcode::ping ? step::ping : step::close;
    }
    const bool continuation = h.op == opcode::continuation;
    if (continuation && !m_in_message) {
        return failing(http::close_code::protocol_error, "continuation frame without a message to continue");
    }
    if (!continuation && m_in_message) {
        return failing(http::close_code::protocol_error, "new data frame before the last message ended");
    }
    // A compressed message is bounded after inflating; on the wire it
    // may exceed the limit by deflate's worst-case expansion of
    // incompressible data (a few bytes per 16 KiB block).
    const bool compressed_message = continuation ? m_message_compressed : h.rsv1;
    const std::size_t so_far = continuation ? m_message.size() : 0;
    const std::size_t wire_limit = compressed_message
                                       ? m_options.max_message_size + m_options.max_message_size / 256 + 1024
                                       : m_options.max_message_size;
    if (h.length > wire_limit - std::min(so_far, wire_limit)) {
        return failing(http::close_code::message_too_big,
                       "message larger than " + std::to_string(m_options.max_message_size) + " bytes");
    }
    const std::size_t length = static_cast<std::size_t>(h.length);
    // A payload that fits the buffer is read into it whole first.
    if (parsed.size + length <= m_capacity && m_end - m_begin < parsed.size + length) {
        return step::fill;
    }
    if (!continuation) {
        m_in_message = true;
        m_message_type = h.op == opcode::text ? http::message_type::text : http::message_type::binary;
        m_message_compressed = h.rsv1;
        m_message.clear();
        m_utf8.reset();
    }
    m_begin += parsed.size;
    if (h.fin && m_message.empty() && !m_message_compressed && m_end - m_begin >= length) {
        // The common case: one unfragmented message, whole in the buffer.
        unsigned char* payload = m_buffer.get() + m_begin;
        m_begin += length;
        if (h.masked) {
            apply_mask(payload, length, h.mask, 0);
        }
        const std::string_view view(reinterpret_cast<const char*>(payload), length);
        if (m_message_type == http::message_type::text && !valid_utf8(view)) {
            return failing(http::close_code::invalid_payload, "text message is not valid UTF-8");
        }
        m_in_message = false;
        out.type = m_message_type;
        out.data = std::string(view);  // a plain construction: assign() to the empty string costs more
        return step::message;
    }
    m_frame = h;
    m_frame_base = m_message.size();
    m_frame_length = length;
    const std::size_t have = std::min(length, m_end - m_begin);
    m_message.append(reinterpret_cast<const char*>(m_buffer.get() + m_begin), have);
    m_begin += have;
    if (have < length) {
        m_message.resize(m_frame_base + length);
        m_frame_got = have;
        m_frame_pending = true;
        return step::payload;
    }
    return finish_frame(out);
}

CORIO_DECL auto engine::finish_frame(http::ws_message& out) -> step {
    const bool text = m_message_type == http::message_type::text;
    if (m_frame.masked) {
        apply_mask(reinterpret_cast<unsigned char*>(m_message.data() + m_frame_base), m_frame_length, m_frame.mask,
                   0);
    }
    if (text && !m_message_compressed &&
        !m_utf8.feed(std::string_view(m_message.data() + m_frame_base, m_frame_length))) {
        return failing(http::close_code::invalid_payload, "text message is not valid UTF-8");
    }
    if (!m_frame.fin) {
        return step::again;
    }
    m_in_message = false;
    if (m_message_compressed) {
#if defined(CORIO_WITH_ZLIB)
        const inflater::result r = m_inflater->decompress(m_message, m_inflated, m_options.max_message_size);
        if (r == inflater::result::too_big) {
            return failing(http::close_code::message_too_big,
                           "message inflates past " + std::to_string(m_options.max_message_size) + " bytes");
        }
        if (r == inflater::result::corrupt) {
            return failing(http::close_code::invalid_payload, "compressed message is corrupt");
        }
        m_message.swap(m_inflated);
        if (text && !valid_utf8(m_message)) {
            return failing(http::close_code::invalid_payload, "text message is not valid UTF-8");
        }
#endif
    } else if (text && !m_utf8.complete()) {
        return failing(http::close_code::invalid_payload, "text message ends inside a UTF-8 character");
    }
    out.type = m_message_type;
    out.data = std::move(m_message);
    m_message = std::string();
    return step::message;
}

CORIO_HEADER_COROUTINE CORIO_DECL auto engine::receive() -> task<http::ws_message> {
    if (m_reading) {
        throw std::logic_error("corio::http websocket: receive() while another receive() is waiting");
    }
    m_reading = true;
    struct reading_guard {
        bool& flag;
        ~reading_guard() { flag = false; }
    } guard{m_reading};
    http::ws_message out;
    for (;;) {
        if (m_failure) {
            std::rethrow_exception(m_failure);
        }
        step next = step::payload;
        if (!m_frame_pending) {
            next = parse_step(out);
        } else if (m_frame_got == m_frame_length) {
            m_frame_pending = false;
            next = finish_frame(out);
        }
        switch (next) {
            case step::message:
                co_return std::move(out);
            case step::fill:
            case step::payload: {
                const bool into_buffer = next == step::fill;
                const std::span<std::byte> room =
                    into_buffer ? make_room()
                                : std::as_writable_bytes(std::span<char>(
                                      m_message.data() + m_frame_base + m_frame_got, m_frame_length - m_frame_got));
                std::size_t n = 0;
                // Bytes already there need no coroutine (nor a heartbeat).
                std::optional<std::size_t> ready;
                std::exception_ptr failed_now;
                try {
                    ready = m_stream.read_now(room);
                } catch (const std::exception&) {
                    failed_now = std::current_exception();
                }
                if (ready || failed_now) {
                    n = ready ? *ready : 0;
                    if (n == 0) {
                        read_failed(failed_now);  // read_raw's words too
                    }
                } else if (m_options.heartbeat) {
                    n = co_await read_raw(room);  // 0: failed, m_failure says how
                } else {
                    std::exception_ptr error;
                    try {
                        if (m_stream.reads_by_readiness()) {
                            // read_some's waits, without its coroutine frame.
                            do {
                                co_await m_stream.input_edge();
                                ready = m_stream.read_now(room);
                            } while (!ready);
                            n = *ready;
                        } else {
                            n = co_await m_stream.read_some(room);
                        }
                    } catch (const std::exception&) {
                        error = std::current_exception();
                    }
                    if (error || n == 0) {
                        read_failed(error);
                        n = 0;
                    }
                }
                if (into_buffer) {
                    m_end += n;
                } else {
                    m_frame_got += n;
                }
                break;
            }
            case step::fail:
                co_await fail(m_fail_code, std::move(m_fail_why));
                break;
            case step::ping:
                if (!m_close_sent) {
                    co_await send_control(opcode::pong, m_control);
                }
                break;
            case step::close:
                co_await on_close_frame(std::move(m_control));
                break;
            case step::again:
                break;
        }
    }
}

CORIO_HEADER_COROUTINE CORIO_DECL auto engine::send_message(opcode op, std::string_view payload)
    -> task<void> {
    mutex_lock lock = co_await m_send_mutex.lock();
    throw_if_closed();
    bool compress = false;
#if defined(CORIO_WITH_ZLIB)
    if (m_deflater && payload.size() >= m_options.compression.min_size) {
        m_compressed.clear();
        m_deflater->compress(payload, m_compressed);
        payload = m_compressed;
        compress = true;
    }
#endif
    if (!one_write(payload.size())) {
        co_await write_frame(op, payload, compress);
        co_return;
    }
    // write_frame's one-write case, written out here: one coroutine less
    // per message, and none for the write when one send takes the frame.
    frame_into_out(op, payload, compress);
    abort_unless_done guard{this};
    std::exception_ptr error;
    try {
        if (const std::size_t sent = m_stream.write_now(m_out); sent < m_out.size()) {
            const std::string_view rest = std::string_view(m_out).substr(sent);
            co_await m_stream.write(rest);
        }
    } catch (const std::exception&) {
        error = std::current_exception();
    }
    guard.self = nullptr;
    if (error) {
        write_failed(error);
    }
    trim_out();
}

CORIO_HEADER_COROUTINE CORIO_DECL auto engine::send_control(opcode op, std::string_view payload)
    -> task<void> {
    if (payload.size() > 125) {
        throw std::invalid_argument(
            "corio::http websocket: a control frame payload is at most 125 bytes");
    }
    mutex_lock lock = co_await m_send_mutex.lock();
    throw_if_closed();
    co_await write_frame(op, payload, false);
}

CORIO_HEADER_COROUTINE CORIO_DECL auto engine::close(std::uint16_t code, std::string reason)
    -> task<void> {
    if (!valid_close_code(code)) {
        throw std::invalid_argument("corio::http websocket: close code " + std::to_string(code) +
                                    " may not be sent");
    }
    if (reason.size() > 123 || !valid_utf8(reason)) {
        throw std::invalid_argument(
            "corio::http websocket: close reason must be UTF-8 of at most 123 bytes");
    }
    if (m_failure) {
        co_return;
    }
    if (!m_close_sent) {
        co_await send_close_frame(code, reason);
    }
    bool timed_out = false;
    if (m_reading) {
        // The pending receive() reads the answer and sets m_closed.
        try {
            co_await wait_for(m_closed.wait(), m_options.close_timeout);
        } catch (const timeout_error&) {
            timed_out = true;
        }
    } else {
        try {
            task<void> reply = await_close_reply();
            co_await wait_for(std::move(reply), m_options.close_timeout);
        } catch (const timeout_error&) {
            timed_out = true;
        } catch (const http::connection_closed&) {
        }
    }
    if (timed_out) {
        abort();
    }
}

CORIO_HEADER_COROUTINE CORIO_DECL auto engine::finish(std::uint16_t code) -> task<void> {
    if (!m_failure && !m_close_sent) {
        try {
            co_await close(code, "");
        } catch (const std::exception&) {
        }
    }
    m_stream.close();
}
#endif  // CORIO_HTTP_DEFINITIONS

}  // namespace corio::detail::ws
