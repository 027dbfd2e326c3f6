#pragma once

// One live connection to a server and its auto-pipelining.
//
// Every command appends its encoded bytes to m_output and a reply slot to
// m_waiting, then waits on the slot. The writer task wakes when m_output is
// no longer empty and sends all of it in one write: the commands of every
// task that ran in the meantime travel together. The reader task parses
// replies in order and hands each to the slot at the front of m_waiting
// (RESP replies come back in the order the commands went out).
//
// A command that is cancelled (or times out) leaves its slot in the queue:
// its bytes are (or will be) on the wire, so its reply still arrives and is
// dropped there, and the next reply goes to the next slot. That is why the
// stream never falls out of step.
//
// When the connection fails (read or write error, end of stream, protocol
// error, close()) the link is broken for good: the stream is closed and every
// slot still waiting fails with connection_error. The client replaces a
// broken link by a new one on the next command.

#include <corio/detail/config.hpp>
#include <corio/redis/detail/resp_parser.hpp>
#include <corio/redis/detail/transport.hpp>
#include <corio/redis/errors.hpp>
#include <corio/redis/value.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/event.hpp>
#include <corio/task.hpp>

#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::redis::detail {

/// Where the replies of one command (or one pipeline) go.
struct reply_slot {
    explicit reply_slot(std::size_t expected) : m_expected(expected) { m_replies.reserve(expected); }

    std::size_t m_expected;
    std::vector<value> m_replies;
    std::exception_ptr m_failure;
    event m_done;
};

class link : public std::enable_shared_from_this<link> {
public:
    link(redis_stream stream, std::string peer) : m_stream(std::move(stream)), m_peer(std::move(peer)) {}
    link(const link&) = delete;
    link& operator=(const link&) = delete;

    /// Starts the reader and writer tasks on the running loop.
    void start() {
        // The loop keeps both tasks alive; each holds the link until it ends.
        (void)create_task(read_loop(shared_from_this()));
        (void)create_task(write_loop(shared_from_this()));
    }

    [[nodiscard]] bool broken() const noexcept { return m_broken; }
    [[nodiscard]] const std::string& peer() const noexcept { return m_peer; }
    /// Whether the handshake switched the connection to RESP3.
    bool m_resp3 = false;

    /// Queues `encoded` (the RESP of `expected` commands) and returns the
    /// slot their replies will arrive in.
    [[nodiscard]] std::shared_ptr<reply_slot> enqueue(std::string_view encoded, std::size_t expected) {
        auto slot = std::make_shared<reply_slot>(expected);
        if (m_broken) {
            slot->m_failure = std::make_exception_ptr(connection_error(m_failure_text));
            slot->m_done.set();
            return slot;
        }
        m_output.append(encoded);
        m_waiting.push_back(slot);
        m_output_ready.set();
        return slot;
    }

    /// Sends bytes that expect no reply slot (SUBSCRIBE on a subscriber link).
    void send_only(std::string_view encoded) {
        if (!m_broken) {
            m_output.append(encoded);
            m_output_ready.set();
        }
    }

    /// Out-of-band data (RESP3 push, or every reply when no slot waits and
    /// on_unsolicited is set, which is how a RESP2 subscriber reads its
    /// messages). Without a handler they are dropped.
    std::function<void(value)> m_on_unsolicited;
    /// Told once when the link breaks.
    std::function<void()> m_on_broken;

    /// Breaks the link (see the file comment). Idempotent.
    void fail(std::string reason) noexcept {
        if (m_broken) {
            return;
        }
        m_broken = true;
        m_failure_text = std::move(reason);
        m_stream.close();
        std::deque<std::shared_ptr<reply_slot>> waiting = std::move(m_waiting);
        m_waiting.clear();
        for (const auto& slot : waiting) {
            try {
                slot->m_failure = std::make_exception_ptr(connection_error(m_failure_text));
            } catch (...) {
                slot->m_failure = std::current_exception();
            }
            slot->m_done.set();
        }
        m_output_ready.set();  // the writer sees m_broken and ends
        if (m_on_broken) {
            std::function<void()> notify = std::move(m_on_broken);
            notify();
        }
    }

private:
    static std::string describe(const std::exception& e) { return e.what(); }

    CORIO_HEADER_COROUTINE static task<void> read_loop(std::shared_ptr<link> self) {
        std::string buffer;
        std::size_t begin = 0;
        std::size_t end = 0;
        resp_parser parser;
        std::string failure;
        // A cancellation (the loop shutting down) breaks the link too.
        struct breaker {
            link* l;
            ~breaker() { l->fail("redis connection to " + l->m_peer + " closed"); }
        } on_exit{self.get()};
        try {
            while (!self->m_broken) {
                while (begin < end) {
                    begin += parser.feed(std::string_view(buffer.data() + begin, end - begin));
                    if (!parser.ready()) {
                        break;
                    }
                    self->deliver(parser.take());
                }
                if (begin == end) {
                    begin = end = 0;
                } else if (begin > buffer.size() / 2) {
                    buffer.erase(0, begin);
                    end -= begin;
                    begin = 0;
                }
                if (buffer.size() - end < 4096) {
                    buffer.resize(std::max<std::size_t>(end + 16384, buffer.size() * 2));
                }
                const std::size_t got = co_await self->m_stream.read_some(
                    std::as_writable_bytes(std::span<char>(buffer.data() + end, buffer.size() - end)));
                if (got == 0) {
                    failure = "redis server " + self->m_peer + " closed the connection";
                    break;
                }
                end += got;
            }
        } catch (const std::exception& e) {
            failure = "redis connection to " + self->m_peer + " lost: " + describe(e);
        }
        if (!failure.empty()) {
            self->fail(std::move(failure));
        }
    }

    CORIO_HEADER_COROUTINE static task<void> write_loop(std::shared_ptr<link> self) {
        std::string sending;
        std::string failure;
        try {
            while (!self->m_broken) {
                if (self->m_output.empty()) {
                    self->m_output_ready.clear();
                    co_await self->m_output_ready.wait();
                    continue;
                }
                sending.clear();
                std::swap(sending, self->m_output);
                co_await self->m_stream.write(std::as_bytes(std::span<const char>(sending.data(), sending.size())));
            }
        } catch (const std::exception& e) {
            failure = "redis connection to " + self->m_peer + " lost while writing: " + describe(e);
        }
        if (!failure.empty()) {
            self->fail(std::move(failure));
        }
    }

    void deliver(value reply) {
        if (reply.type() == kind::push || m_waiting.empty()) {
            if (m_on_unsolicited) {
                m_on_unsolicited(std::move(reply));
                return;
            }
            if (reply.type() == kind::push) {
                return;
            }
            fail("redis server " + m_peer + " sent a reply nobody asked for");
            return;
        }
        reply_slot& slot = *m_waiting.front();
        slot.m_replies.push_back(std::move(reply));
        if (slot.m_replies.size() == slot.m_expected) {
            std::shared_ptr<reply_slot> done = std::move(m_waiting.front());
            m_waiting.pop_front();
            done->m_done.set();
        }
    }

    redis_stream m_stream;
    std::string m_peer;
    std::string m_output;                            // encoded commands not yet handed to the writer
    event m_output_ready;                            // m_output is not empty (or the link broke)
    std::deque<std::shared_ptr<reply_slot>> m_waiting;  // one per command batch, in wire order
    bool m_broken = false;
    std::string m_failure_text;
};

}  // namespace corio::redis::detail
