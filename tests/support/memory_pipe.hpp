// A connected pair of in-memory byte streams for tests: what one end writes,
// the other reads, through a bounded buffer per direction. Built on
// corio::event only (no fd, no reactor), so it satisfies corio::byte_stream
// without the net layer and lets TLS and the stream algorithms be tested
// byte for byte.
//
//   auto [a, b] = corio_test::memory_pipe::make_pair();            // 64 KiB per direction
//   auto [a, b] = corio_test::memory_pipe::make_pair({.capacity = 16, .max_read = 1});
//
// Behaves as a stream socket does: read_some waits for at least one byte and
// returns 0 after the peer's shutdown_write() or close(); write waits while
// the direction is full (backpressure) and throws std::system_error (EPIPE)
// once the peer closed; close() wakes this end's pending read and write with
// corio::stream_closed, and later operations throw it too. Cancelling a
// pending read or write throws cancelled_error and loses no byte (a cancelled
// write may have delivered a prefix). One reader and one writer per end at a
// time; loop thread only. Destroying an end closes it.
#pragma once

#include <corio/detail/config.hpp>
#include <corio/net/byte_stream.hpp>
#include <corio/net/errors.hpp>
#include <corio/sync/event.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace corio_test {

class memory_pipe {
public:
    struct options {
        std::size_t capacity = 64 * 1024;  // bytes a direction holds before write waits
        std::size_t max_read = 0;          // most bytes one read_some returns (0: no limit)
    };

    /// Two connected ends.
    [[nodiscard]] static std::pair<memory_pipe, memory_pipe> make_pair(options opts) {
        auto shared = std::make_shared<state>(opts);
        return {memory_pipe(shared, 0), memory_pipe(shared, 1)};
    }
    [[nodiscard]] static std::pair<memory_pipe, memory_pipe> make_pair() { return make_pair(options{}); }

    memory_pipe() noexcept = default;
    memory_pipe(memory_pipe&& other) noexcept
        : m_state(std::move(other.m_state)), m_side(other.m_side) {}
    memory_pipe& operator=(memory_pipe&& other) noexcept {
        if (this != &other) {
            close();
            m_state = std::move(other.m_state);
            m_side = other.m_side;
        }
        return *this;
    }
    memory_pipe(const memory_pipe&) = delete;
    memory_pipe& operator=(const memory_pipe&) = delete;
    ~memory_pipe() { close(); }

    [[nodiscard]] bool is_open() const noexcept { return m_state && !m_state->closed[m_side]; }

    /// Waits for at least one byte; 0 once the peer shut down or closed and
    /// everything it wrote was read.
    [[nodiscard]] CORIO_HEADER_COROUTINE corio::task<std::size_t> read_some(std::span<std::byte> into) {
        if (into.empty()) {
            co_return 0;
        }
        for (;;) {
            ensure_open("read");
            direction& in = incoming();
            if (!in.bytes.empty()) {
                std::size_t count = std::min(into.size(), in.bytes.size());
                if (m_state->opts.max_read != 0) {
                    count = std::min(count, m_state->opts.max_read);
                }
                std::memcpy(into.data(), in.bytes.data(), count);
                in.bytes.erase(0, count);
                in.space.set();
                co_return count;
            }
            if (in.ended) {
                co_return 0;
            }
            in.data.clear();
            co_await in.data.wait();
        }
    }

    /// Writes every byte, waiting while the direction is full.
    [[nodiscard]] CORIO_HEADER_COROUTINE corio::task<void> write(std::span<const std::byte> bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            ensure_open("write");
            direction& out = outgoing();
            if (out.reader_gone || out.ended) {
                throw std::system_error(EPIPE, std::generic_category(), "memory_pipe write");
            }
            const std::size_t room = m_state->opts.capacity - std::min(m_state->opts.capacity, out.bytes.size());
            if (room != 0) {
                const std::size_t count = std::min(room, bytes.size() - done);
                out.bytes.append(reinterpret_cast<const char*>(bytes.data() + done), count);
                done += count;
                out.data.set();
                continue;
            }
            out.space.clear();
            co_await out.space.wait();
        }
    }
    [[nodiscard]] corio::task<void> write(std::string_view text) {
        return write(std::as_bytes(std::span<const char>(text.data(), text.size())));
    }

    /// End of stream for the peer once it has read what was written; this end
    /// may still read.
    void shutdown_write() {
        ensure_open("shutdown");
        outgoing().ended = true;
        outgoing().data.set();
    }

    /// Closes this end: its pending read and write throw stream_closed, the
    /// peer reads the end of stream and its writes fail. Idempotent.
    void close() noexcept {
        if (!m_state || m_state->closed[m_side]) {
            return;
        }
        m_state->closed[m_side] = true;
        direction& in = incoming();
        in.reader_gone = true;
        in.bytes.clear();
        in.data.set();   // this end's reader: throws stream_closed
        in.space.set();  // the peer's writer: fails with EPIPE
        direction& out = outgoing();
        out.ended = true;
        out.data.set();   // the peer's reader: end of stream
        out.space.set();  // this end's writer: throws stream_closed
    }

    /// Bytes written by the peer and not read yet.
    [[nodiscard]] std::size_t readable_bytes() const noexcept {
        return m_state ? m_state->directions[m_side].bytes.size() : 0;
    }
    /// Whether a read / write of this end is waiting.
    [[nodiscard]] bool read_pending() const noexcept {
        return m_state && m_state->directions[m_side].data.waiters() != 0;
    }
    [[nodiscard]] bool write_pending() const noexcept {
        return m_state && m_state->directions[1 - m_side].space.waiters() != 0;
    }

private:
    // One direction: bytes the writer end sent, and what its reader waits for.
    struct direction {
        std::string bytes;
        bool ended = false;        // the writer shut down or closed: end of stream after `bytes`
        bool reader_gone = false;  // the reader end closed: writes fail
        corio::event data;         // set when bytes or the end arrive (or the reader end closes)
        corio::event space;        // set when bytes leave (or either end closes)
    };

    struct state {
        explicit state(options o) : opts(o) {}
        options opts;
        direction directions[2];  // directions[i]: what end i reads
        bool closed[2] = {false, false};
    };

    memory_pipe(std::shared_ptr<state> shared, int side) : m_state(std::move(shared)), m_side(side) {}

    direction& incoming() noexcept { return m_state->directions[m_side]; }
    direction& outgoing() noexcept { return m_state->directions[1 - m_side]; }

    void ensure_open(const char* op) const {
        if (!is_open()) {
            throw corio::stream_closed(std::string("memory_pipe ") + op);
        }
    }

    std::shared_ptr<state> m_state;
    int m_side = 0;
};

static_assert(corio::byte_stream<memory_pipe>);

}  // namespace corio_test
