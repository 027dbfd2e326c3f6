#pragma once

// The receive buffers a ring lends to multishot recv (a provided buffer ring);
// only in a build with io_uring compiled in.

#include <liburing.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace corio::detail {

/// A provided buffer ring registered with one io_uring: the kernel picks a
/// free buffer for each piece a multishot recv takes off a socket, names it
/// in the completion (IORING_CQE_F_BUFFER, its id in the upper flag bits),
/// and it is the reader's until give_back() returns it to the ring.
///
/// liburing 2.3 has no io_uring_setup_buf_ring: the ring's memory is mapped
/// and registered here. Pages are touched only as buffers are first used.
class provided_buffers {
public:
    static constexpr unsigned short group = 0;
    static constexpr unsigned count = 256;             // a power of two, as the kernel requires
    static constexpr std::size_t buffer_bytes = 16384;  // a recv of more takes several buffers

    /// Registers the ring; null when the kernel refuses (before 5.19, or
    /// io_uring restricted), and then reads go one recv at a time.
    static std::unique_ptr<provided_buffers> make(io_uring& ring) noexcept {
        auto made = std::unique_ptr<provided_buffers>(new provided_buffers(ring));
        return made->m_registered ? std::move(made) : nullptr;
    }

    provided_buffers(const provided_buffers&) = delete;
    provided_buffers& operator=(const provided_buffers&) = delete;

    // The ring's owner exits the ring first (the kernel drops the
    // registration with it): only the memory is left to free.
    ~provided_buffers() {
        if (m_ring_memory != MAP_FAILED) {
            ::munmap(m_ring_memory, ring_bytes());
        }
        if (m_buffers != MAP_FAILED) {
            ::munmap(m_buffers, count * buffer_bytes);
        }
    }

    [[nodiscard]] std::byte* buffer(unsigned id) noexcept {
        return static_cast<std::byte*>(m_buffers) + static_cast<std::size_t>(id) * buffer_bytes;
    }

    /// Lends buffer `id` to the kernel again.
    void give_back(unsigned id) noexcept {
        ::io_uring_buf_ring_add(m_ring, buffer(id), buffer_bytes, static_cast<unsigned short>(id),
                                ::io_uring_buf_ring_mask(count), 0);
        ::io_uring_buf_ring_advance(m_ring, 1);
        --m_lent;
    }

    /// A completion handed buffer `id` to a reader.
    void taken() noexcept { ++m_lent; }

    /// Buffers readers hold (for tests: every one comes back).
    [[nodiscard]] unsigned lent() const noexcept { return m_lent; }

private:
    explicit provided_buffers(io_uring& ring) noexcept {
        m_ring_memory = ::mmap(nullptr, ring_bytes(), PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
        m_buffers = ::mmap(nullptr, count * buffer_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
        if (m_ring_memory == MAP_FAILED || m_buffers == MAP_FAILED) {
            return;
        }
        m_ring = static_cast<io_uring_buf_ring*>(m_ring_memory);
        ::io_uring_buf_ring_init(m_ring);
        io_uring_buf_reg registration{};
        registration.ring_addr = reinterpret_cast<std::uintptr_t>(m_ring_memory);
        registration.ring_entries = count;
        registration.bgid = group;
        if (::io_uring_register_buf_ring(&ring, &registration, 0) < 0) {
            return;
        }
        m_lent = count;
        for (unsigned id = 0; id < count; ++id) {
            give_back(id);
        }
        m_registered = true;
    }

    static constexpr std::size_t ring_bytes() noexcept { return count * sizeof(io_uring_buf); }

    void* m_ring_memory = MAP_FAILED;
    void* m_buffers = MAP_FAILED;
    io_uring_buf_ring* m_ring = nullptr;
    unsigned m_lent = 0;
    bool m_registered = false;
};

}  // namespace corio::detail
