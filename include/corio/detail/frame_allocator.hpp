#pragma once

#include <corio/detail/config.hpp>

#include <cstddef>
#include <new>
#include <type_traits>

// How many bytes of freed coroutine frames each thread keeps for reuse (its
// frame cache) before it hands further frees back to operator delete.
#if !defined(CORIO_FRAME_CACHE_BYTES)
#define CORIO_FRAME_CACHE_BYTES (32u << 20)
#endif

namespace corio::detail {

/// Free lists of freed coroutine frames, bucketed by size: the storage of
/// each thread's frame cache (thread_frame_cache) and of a cache of one's own
/// (frame_cache).
///
/// Coroutine frames of the same coroutine are all the same size and are
/// created and destroyed at a high rate, so a free list per size class turns
/// most frame allocations into a pointer pop. The lists together keep up to
/// a byte limit (CORIO_FRAME_CACHE_BYTES for a thread's cache, 32 MiB unless
/// defined): a burst of tasks (100,000 small frames are 16 MB) is served
/// again from the blocks the previous burst freed, where returning them to
/// malloc lets it give the pages back to the kernel and the next burst fault
/// them in again, which costs more than the allocations themselves. The
/// price is that memory: a thread keeps up to the limit after its peak, until
/// it exits. Frames may be freed on a
/// different thread than the one that allocated them: the block simply joins
/// the freeing thread's cache, which is valid because every block comes from
/// the global operator new.
///
/// The classes follow the global allocator's own steps: glibc's malloc keeps
/// an 8-byte header before every block and rounds block plus header up to 16
/// bytes, so a request of 16k + 8 bytes costs exactly as much as one of
/// 16k - 7. Class k therefore spans (16k - 8, 16k + 8] and allocates 16k + 8
/// bytes: a frame costs no more memory cached than it would uncached (classes
/// of (16(k-1), 16k] would send a 152-byte frame to a 176-byte chunk).
class frame_free_lists {
public:
    static constexpr std::size_t granule = 16;  // the global allocator's step
    static constexpr std::size_t header = 8;    // what it keeps before each block
    static constexpr std::size_t max_cached_size = 1024;  // larger frames are not cached
    static constexpr std::size_t class_count = max_cached_size / granule + 1;
    static constexpr std::size_t default_limit = CORIO_FRAME_CACHE_BYTES;

    /// The size of the block a request of `size` bytes gets (up to max_cached_size).
    static constexpr std::size_t block_size_of(std::size_t size) noexcept { return block_size(class_of(size)); }
    /// Bytes of freed blocks kept now (the limit itself while closed).
    [[nodiscard]] std::size_t kept_bytes() const noexcept { return m_limit - m_room; }
    /// The most it keeps.
    [[nodiscard]] std::size_t limit() const noexcept { return m_limit; }

    frame_free_lists(const frame_free_lists&) = delete;
    frame_free_lists& operator=(const frame_free_lists&) = delete;

protected:
    /// A kept block for a request of `size` bytes, or null.
    void* try_take(std::size_t size) noexcept {
        if (size <= max_cached_size) {
            free_list& list = m_free[class_of(size)];
            if (list.head != nullptr) {
                free_block* block = list.head;
                list.head = block->next;
                m_room += block_size(class_of(size));
                return block;
            }
        }
        return nullptr;
    }

    /// A new block of the size a request of `size` bytes gets.
    static void* allocate_new(std::size_t size) {
        return ::operator new(size <= max_cached_size ? block_size(class_of(size)) : size);
    }

    // A closed cache (it keeps nothing until open()) has no room.
    constexpr explicit frame_free_lists(std::size_t limit, bool opened) noexcept
        : m_limit(limit), m_room(opened ? limit : 0) {}
    ~frame_free_lists() = default;

    /// Keeps `p` for reuse; false when the cache is full or `p` too large.
    bool try_keep(void* p, std::size_t size) noexcept {
        if (size <= max_cached_size) {
            const std::size_t block_bytes = block_size(class_of(size));
            if (m_room >= block_bytes) {
                free_list& list = m_free[class_of(size)];
                auto* block = static_cast<free_block*>(p);
                block->next = list.head;
                list.head = block;
                m_room -= block_bytes;
                return true;
            }
        }
        return false;
    }

    void open() noexcept { m_room = m_limit; }

    /// Frees every kept block; frees after this bypass the cache.
    void close() noexcept {
        for (free_list& list : m_free) {
            while (list.head != nullptr) {
                free_block* block = list.head;
                list.head = block->next;
                ::operator delete(block);
            }
        }
        m_room = 0;
    }

private:
    struct free_block {
        free_block* next;
    };
    struct free_list {
        free_block* head = nullptr;
    };

    static constexpr std::size_t class_of(std::size_t size) noexcept {
        return size <= header ? 0 : (size - header + granule - 1) / granule;
    }
    static constexpr std::size_t block_size(std::size_t cls) noexcept { return cls * granule + header; }

    std::size_t m_limit;
    std::size_t m_room;  // bytes it may still keep: m_limit less the kept blocks' sizes
    free_list m_free[class_count];
};

/// A frame cache of one's own (the lists above, freed when it is destroyed).
class frame_cache : public frame_free_lists {
public:
    explicit frame_cache(std::size_t limit = default_limit) noexcept : frame_free_lists(limit, true) {}
    ~frame_cache() { close(); }

    void* allocate(std::size_t size) {
        if (void* block = try_take(size)) {
            return block;
        }
        return allocate_new(size);
    }

    void deallocate(void* p, std::size_t size) noexcept {
        if (!try_keep(p, size)) {
            ::operator delete(p);
        }
    }
};

/// The calling thread's cache. It has no destructor, so the thread_local
/// holding it is constant-initialized and reached without the
/// initialization guard a destructor would put on every frame allocation
/// and free. It starts closed (it keeps nothing). The thread's first
/// allocation, or its first free if it frees before it allocates, opens it
/// and registers, in a thread_local of its own, the cleanup that closes it
/// at thread exit; frames freed after that bypass it. (Opening at the first
/// allocation puts the registration's own small heap block where the old
/// function-local cache put it: early, below the thread's frames.)
class thread_frame_cache : public frame_free_lists {
public:
    constexpr thread_frame_cache() noexcept : frame_free_lists(default_limit, false) {}

    void* allocate(std::size_t size) {
        if (void* block = try_take(size)) {
            return block;
        }
        if (!m_opened) [[unlikely]] {
            open_for_this_thread();
        }
        return allocate_new(size);
    }

    void deallocate(void* p, std::size_t size) noexcept {
        if (try_keep(p, size)) {
            return;
        }
        if (!m_opened) [[unlikely]] {
            open_for_this_thread();
            if (try_keep(p, size)) {
                return;
            }
        }
        ::operator delete(p);
    }

private:
    struct closer {
        closer() noexcept = default;
        closer(const closer&) = delete;
        closer& operator=(const closer&) = delete;
        ~closer();
    };

    [[gnu::cold, gnu::noinline]] void open_for_this_thread() noexcept {
        m_opened = true;
        [[maybe_unused]] thread_local const closer close_at_thread_exit;
        open();
    }

    bool m_opened = false;
};

static_assert(std::is_trivially_destructible_v<thread_frame_cache>);

inline constinit thread_local thread_frame_cache t_frame_cache;

inline thread_frame_cache::closer::~closer() { t_frame_cache.close(); }

inline thread_frame_cache& this_thread_frame_cache() noexcept { return t_frame_cache; }

inline void* allocate_frame(std::size_t size) {
#if defined(CORIO_NO_FRAME_RECYCLING)
    return ::operator new(size);
#else
    return this_thread_frame_cache().allocate(size);
#endif
}

inline void deallocate_frame(void* p, std::size_t size) noexcept {
#if defined(CORIO_NO_FRAME_RECYCLING)
    static_cast<void>(size);
    ::operator delete(p);
#else
    this_thread_frame_cache().deallocate(p, size);
#endif
}

}  // namespace corio::detail
