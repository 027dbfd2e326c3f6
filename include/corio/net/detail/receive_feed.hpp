#pragma once

// A connected socket's input received by one multishot recv into the ring's
// provided buffers (only in a build with io_uring compiled in).

#include <corio/detail/completion_operation.hpp>

#if defined(CORIO_REACTOR_IO_URING)

#include <corio/detail/multishot_feed.hpp>
#include <corio/detail/reactor/io_uring_buffers.hpp>
#include <corio/event_loop.hpp>
#include <corio/net/detail/socket.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

namespace corio::detail {

/// One multishot recv on a stream socket: the kernel receives each piece
/// into a buffer it picks from the ring's provided_buffers and posts a
/// completion, without a submission per read. The feed queues the pieces;
/// take() copies them out in order and gives each buffer back once read.
///
/// The buffers are shared by every socket of the loop, so one connection
/// whose reader lags must not hold them all: with `max_queued` pieces
/// waiting the multishot is cancelled (the rest stays in the socket, under
/// TCP's own flow control) and re-armed when the reader has taken them. The
/// kernel drains what the socket holds in one go before the feed sees the
/// first piece, so a lagging reader may hold up to a receive buffer's worth
/// (about 1 MiB on loopback), not more. When the ring runs dry anyway the
/// multishot ends with ENOBUFS, and the next read goes by one plain recv
/// into the reader's own buffer (take() says so).
///
/// The end of the stream and a socket error end the multishot; they stay, and
/// every later take() returns them.
class receive_feed final : public multishot_feed<receive_feed> {
public:
    static constexpr std::size_t max_queued = 4;

    static pointer make(event_loop& loop, io_uring_reactor& ring, provided_buffers& buffers, int fd) {
        return pointer(new receive_feed(loop, ring, buffers, fd));
    }

    /// Copies up to `size` queued bytes to `out`: the count (> 0), 0 at the
    /// end of the stream, a socket's -errno, -EAGAIN when nothing is queued
    /// (an idle multishot is re-armed: await arrival()), or -ENOBUFS when the
    /// ring had no free buffer (read with one recv instead, once).
    [[nodiscard]] long take(std::byte* out, std::size_t size) {
        if (!m_pieces.empty()) {
            std::size_t done = 0;
            while (done < size && !m_pieces.empty()) {
                piece& front = m_pieces.front();
                const std::size_t n = std::min(size - done, std::size_t{front.length - front.offset});
                std::memcpy(out + done, m_buffers.buffer(front.id) + front.offset, n);
                front.offset += static_cast<unsigned>(n);
                done += n;
                if (front.offset == front.length) {
                    m_buffers.give_back(front.id);
                    m_pieces.pop_front();
                }
            }
            return static_cast<long>(done);
        }
        if (m_end != no_end) {
            return m_end;
        }
        if (m_starved) {
            m_starved = false;
            return -ENOBUFS;
        }
        if (m_state == state::idle) {
            arm_receive();
        }
        return -EAGAIN;
    }

    /// What a read would find without waiting: bytes, the end (the peer's
    /// FIN or an error), or nothing yet. `nothing` also while the multishot
    /// is stopped for want of buffers (the bytes then wait in the socket).
    [[nodiscard]] pending_input queued() const noexcept {
        if (!m_pieces.empty()) {
            return pending_input::bytes;
        }
        return m_end != no_end ? pending_input::end : pending_input::nothing;
    }

    /// Whether the last multishot ended for want of buffers: the socket
    /// itself holds what arrived since (peek it, poll it).
    [[nodiscard]] bool starved() const noexcept { return m_starved; }

    /// Arms an idle multishot, so that arrival() has something to wait for.
    void start() {
        if (m_state == state::idle && m_end == no_end && !m_starved) {
            arm_receive();
        }
    }

    /// Before the socket closes: ends the multishot now (the kernel holds the
    /// socket while it runs), gives back what is queued, and wakes a waiting
    /// reader, which then finds the socket closed.
    void stop() noexcept {
        m_stopped = true;
        end();
        give_back_queued();
        wake_waiter();
        m_ring.flush();
    }

private:
    friend multishot_feed<receive_feed>;
    static constexpr long no_end = 1;

    struct piece {
        unsigned short id;
        unsigned length;
        unsigned offset;
    };

    receive_feed(event_loop& loop, io_uring_reactor& ring, provided_buffers& buffers, int fd)
        : multishot_feed(loop, ring), m_buffers(buffers), m_fd(fd) {}
    ~receive_feed() { give_back_queued(); }

    [[nodiscard]] bool has_news() const noexcept { return queued() != pending_input::nothing || m_starved; }

    void give_back_queued() noexcept {
        for (const piece& queued_piece : m_pieces) {
            m_buffers.give_back(queued_piece.id);
        }
        m_pieces.clear();
    }

    void arm_receive() {
        const int fd = m_fd;
        arm([fd](io_uring_sqe* sqe) noexcept {
            ::io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
            sqe->flags |= IOSQE_BUFFER_SELECT;
            sqe->buf_group = provided_buffers::group;
        });
    }

    static void complete(detail::io_completion* self, int result, unsigned flags) noexcept {
        receive_feed& feed = feed_of(self);
        if ((flags & IORING_CQE_F_BUFFER) != 0) {
            const auto id = static_cast<unsigned short>(flags >> IORING_CQE_BUFFER_SHIFT);
            feed.m_buffers.taken();
            if (result > 0 && !feed.m_stopped) {
                feed.m_pieces.push_back({id, static_cast<unsigned>(result), 0});
            } else {
                feed.m_buffers.give_back(id);
            }
        }
        if (!feed.m_stopped) {
            if (result == 0) {
                feed.m_end = 0;
            } else if (result == -ENOBUFS) {
                feed.m_starved = true;
            } else if (result < 0 && result != -ECANCELED && result != -EINTR && result != -EAGAIN) {
                feed.m_end = result;
            }
        }
        if ((flags & IORING_CQE_F_MORE) != 0 && feed.m_pieces.size() >= max_queued) {
            feed.end();  // the reader lags: stop taking buffers others need (see the class comment)
        }
        (void)feed.finish_completion(flags);
    }

    provided_buffers& m_buffers;
    int m_fd;
    std::deque<piece> m_pieces;
    long m_end = no_end;  // 0: the peer's FIN; < 0: a socket error (-errno)
    bool m_starved = false;  // the last multishot ended with ENOBUFS
    bool m_stopped = false;  // the socket is closing: what arrives is dropped
};

}  // namespace corio::detail

#endif
