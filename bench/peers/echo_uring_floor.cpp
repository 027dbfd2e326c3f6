// echo_uring_floor: the io_uring floor of the TCP echo benchmark, the twin
// of echo_floor written plainly on liburing: no coroutines, no library
// beyond liburing.
//
//   echo_uring_floor PORT      serve on 127.0.0.1:PORT until killed
//
// One multishot accept; per connection one multishot recv that picks its
// buffers from a provided buffer ring (registered by hand: liburing 2.3 has
// no io_uring_setup_buf_ring); each piece received is sent back from the
// buffer it arrived in, which returns to the ring when the send completes.
// Every loop iteration is one io_uring_enter that submits and waits. The
// benchmark's messages (64 bytes, one in flight per connection) always fit
// one send, so a short send ends the connection rather than being resumed.

#include "epoll_floor.hpp"

#include <liburing.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

constexpr unsigned buffer_count = 4096;  // a power of two, as the ring needs
constexpr unsigned buffer_bytes = 4096;
constexpr unsigned short buffer_group = 0;

enum : std::uint64_t { accept_kind = 0, receive_kind = 1, send_kind = 2 };

std::uint64_t tag(std::uint64_t kind, int fd, unsigned buffer = 0, unsigned length = 0) {
    return kind | (static_cast<std::uint64_t>(fd) << 2) | (static_cast<std::uint64_t>(buffer) << 24) |
           (static_cast<std::uint64_t>(length) << 40);
}

struct provided_buffers {
    io_uring_buf_ring* ring = nullptr;
    std::vector<char> memory = std::vector<char>(std::size_t{buffer_count} * buffer_bytes);

    char* at(unsigned id) { return memory.data() + std::size_t{id} * buffer_bytes; }

    void give_back(unsigned id) {
        io_uring_buf_ring_add(ring, at(id), buffer_bytes, static_cast<unsigned short>(id),
                              io_uring_buf_ring_mask(buffer_count), 0);
        io_uring_buf_ring_advance(ring, 1);
    }
};

io_uring_sqe* next_sqe(io_uring& ring) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    while (sqe == nullptr) {
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
}

void arm_accept(io_uring& ring, int listener) {
    io_uring_sqe* sqe = next_sqe(ring);
    io_uring_prep_multishot_accept(sqe, listener, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag(accept_kind, listener));
}

void arm_receive(io_uring& ring, int fd) {
    io_uring_sqe* sqe = next_sqe(ring);
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffer_group;
    io_uring_sqe_set_data64(sqe, tag(receive_kind, fd));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: echo_uring_floor PORT\n");
        return 2;
    }
    floor_server::program_name = "echo_uring_floor";
    const int listener = floor_server::listen_on(static_cast<std::uint16_t>(std::atoi(argv[1])));

    io_uring ring{};
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (io_uring_queue_init_params(1024, &ring, &params) < 0) {
        params = io_uring_params{};
        if (io_uring_queue_init_params(1024, &ring, &params) < 0) {
            floor_server::die("io_uring_queue_init");
        }
    }

    provided_buffers buffers;
    const std::size_t ring_bytes = buffer_count * sizeof(io_uring_buf);
    void* ring_memory = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring_memory == MAP_FAILED) {
        floor_server::die("mmap");
    }
    buffers.ring = static_cast<io_uring_buf_ring*>(ring_memory);
    io_uring_buf_ring_init(buffers.ring);
    io_uring_buf_reg registration{};
    registration.ring_addr = reinterpret_cast<std::uintptr_t>(ring_memory);
    registration.ring_entries = buffer_count;
    registration.bgid = buffer_group;
    if (io_uring_register_buf_ring(&ring, &registration, 0) < 0) {
        floor_server::die("io_uring_register_buf_ring");
    }
    for (unsigned id = 0; id < buffer_count; ++id) {
        buffers.give_back(id);
    }

    arm_accept(ring, listener);
    for (;;) {
        io_uring_cqe* cqe = nullptr;
        if (io_uring_submit_and_wait(&ring, 1) < 0 && errno != EINTR) {
            // a negative result is -errno; EINTR and EAGAIN just try again
        }
        unsigned head = 0;
        unsigned seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            ++seen;
            const std::uint64_t data = io_uring_cqe_get_data64(cqe);
            const int fd = static_cast<int>((data >> 2) & 0x3fffff);
            const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
            switch (data & 3) {
            case accept_kind:
                if (cqe->res >= 0) {
                    const int one = 1;
                    setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as echo_floor
                    arm_receive(ring, cqe->res);
                }
                if (!more) {
                    arm_accept(ring, listener);
                }
                break;
            case receive_kind:
                if (cqe->res > 0) {
                    const unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
                    const auto length = static_cast<unsigned>(cqe->res);
                    io_uring_sqe* sqe = next_sqe(ring);
                    io_uring_prep_send(sqe, fd, buffers.at(id), length, MSG_NOSIGNAL);
                    io_uring_sqe_set_data64(sqe, tag(send_kind, fd, id, length));
                    if (!more) {
                        arm_receive(ring, fd);  // ended early (the buffer ring ran dry): start again
                    }
                } else if (cqe->res == -ENOBUFS) {
                    arm_receive(ring, fd);
                } else if (!more) {
                    close(fd);  // end of stream or an error
                }
                break;
            default: {
                const unsigned id = static_cast<unsigned>((data >> 24) & 0xffff);
                const auto length = static_cast<int>(data >> 40);
                buffers.give_back(id);
                if (cqe->res != length) {
                    shutdown(fd, SHUT_RDWR);  // the multishot recv then ends and closes it
                }
                break;
            }
            }
        }
        io_uring_cq_advance(&ring, seen);
    }
}
