#pragma once

#include <corio/detail/config.hpp>

#include <cstddef>
#include <new>

namespace corio::detail {

/// Per-thread cache of freed coroutine frames, bucketed by size.
///
/// Coroutine frames of the same coroutine are all the same size and are
/// created and destroyed at a high rate, so a small free list per size class
/// turns most frame allocations into a pointer pop. Frames may be freed on a
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
class frame_cache {
public:
    static constexpr std::size_t granule = 16;  // the global allocator's step
    static constexpr std::size_t header = 8;    // what it keeps before each block
    static constexpr std::size_t max_cached_size = 1024;  // larger frames are not cached
    static constexpr std::size_t class_count = max_cached_size / granule + 1;
    static constexpr std::size_t max_cached_per_class = 256;

    /// The size of the block a request of `size` bytes gets (up to max_cached_size).
    static constexpr std::size_t block_size_of(std::size_t size) noexcept { return block_size(class_of(size)); }

    frame_cache() = default;
    frame_cache(const frame_cache&) = delete;
    frame_cache& operator=(const frame_cache&) = delete;

    ~frame_cache() {
        for (auto& list : m_free) {
            while (list.head != nullptr) {
                free_block* block = list.head;
                list.head = block->next;
                ::operator delete(block);
            }
            // Frames freed by later thread-exit destructors bypass the cache.
            list.count = max_cached_per_class;
        }
    }

    void* allocate(std::size_t size) {
        if (size <= max_cached_size) {
            const std::size_t cls = class_of(size);
            free_list& list = m_free[cls];
            if (list.head != nullptr) {
                free_block* block = list.head;
                list.head = block->next;
                --list.count;
                return block;
            }
            return ::operator new(block_size(cls));
        }
        return ::operator new(size);
    }

    void deallocate(void* p, std::size_t size) noexcept {
        if (size <= max_cached_size && m_free[class_of(size)].count < max_cached_per_class) {
            free_list& list = m_free[class_of(size)];
            auto* block = static_cast<free_block*>(p);
            block->next = list.head;
            list.head = block;
            ++list.count;
            return;
        }
        ::operator delete(p);
    }

private:
    struct free_block {
        free_block* next;
    };
    struct free_list {
        free_block* head = nullptr;
        std::size_t count = 0;
    };

    static constexpr std::size_t class_of(std::size_t size) noexcept {
        return size <= header ? 0 : (size - header + granule - 1) / granule;
    }
    static constexpr std::size_t block_size(std::size_t cls) noexcept { return cls * granule + header; }

    free_list m_free[class_count];
};

inline frame_cache& this_thread_frame_cache() noexcept {
    thread_local frame_cache cache;
    return cache;
}

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
