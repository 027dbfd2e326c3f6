// Tests of corio/detail/frame_allocator.hpp: the per-thread cache of
// coroutine frames (size classes, the cap per class, the 1 KiB limit) and
// frames that are allocated on one thread and freed on another.
//
// This executable replaces the global operator new and delete with versions
// that can count calls made by the current thread, so the tests can see
// which requests the cache served and which went to the global allocator.
// ThreadSanitizer's runtime defines those operators itself (a replacement
// does not link), so under TSan the counting tests are skipped.
//
// Coroutines under test live in an anonymous namespace: clang 14 with
// -fsanitize=function cannot assemble coroutines with external inline linkage.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/combinators.hpp>
#include <corio/detail/frame_allocator.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/task.hpp>

#include <array>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <numeric>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using corio::task;
using corio::detail::frame_cache;

// ---- counting global allocator ------------------------------------------------------

namespace {

struct allocation_counters {
    bool recording = false;
    std::size_t news = 0;
    std::size_t deletes = 0;
    std::size_t last_new_size = 0;
};

// Constant-initialized, so usable from operator new at any time on any thread.
thread_local allocation_counters t_counters;

/// What the current thread asked of the global allocator while f ran.
/// (Only f is measured: Catch's own assertions may allocate.)
template <class F>
allocation_counters measure(F&& f) {
    t_counters = allocation_counters{true, 0, 0, 0};
    f();
    allocation_counters result = t_counters;
    result.recording = false;
    t_counters.recording = false;
    return result;
}

}  // namespace

#if defined(CORIO_TSAN)
constexpr bool allocations_counted = false;
#else
constexpr bool allocations_counted = true;

namespace {

void* counted_allocate(std::size_t size) {
    if (t_counters.recording) {
        ++t_counters.news;
        t_counters.last_new_size = size;
    }
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}

void counted_free(void* p) noexcept {
    if (p == nullptr) {
        return;
    }
    if (t_counters.recording) {
        ++t_counters.deletes;
    }
    std::free(p);
}

}  // namespace

void* operator new(std::size_t size) { return counted_allocate(size); }
void* operator new[](std::size_t size) { return counted_allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return counted_allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return counted_allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }
#endif

#if defined(SKIP)
#define CORIO_TEST_SKIP(message) SKIP(message)
#else
#define CORIO_TEST_SKIP(message) WARN("skipped: " message)
#endif

// Ends a test that needs the counting allocator when this build lacks it.
#define REQUIRE_COUNTING_ALLOCATOR()                                                          \
    if (!allocations_counted) {                                                               \
        CORIO_TEST_SKIP("ThreadSanitizer's runtime owns operator new; allocations not counted"); \
        return;                                                                               \
    }

// ---- coroutines -------------------------------------------------------------------

namespace {

task<int> small_frame(int x) { co_return x * 2; }

task<int> yielding_frame(int x) {
    co_await corio::sleep(0ms);
    co_return x + 1;
}

task<long> sum_of(std::vector<task<int>> tasks) {
    const std::vector<int> values = co_await corio::gather(std::move(tasks));
    co_return std::accumulate(values.begin(), values.end(), 0L);
}

#if defined(CORIO_NO_FRAME_RECYCLING)
constexpr bool frames_recycled = false;
#else
constexpr bool frames_recycled = true;
#endif

}  // namespace

// ---- frame_cache --------------------------------------------------------------------

TEST_CASE("frame_cache hands a freed block back for a request of the same size class", "[frame_allocator]") {
    REQUIRE_COUNTING_ALLOCATOR();
    frame_cache cache;
    void* p = nullptr;
    void* q = nullptr;
    void* r = nullptr;
    void* other_class = nullptr;

    // The class of a 100-byte frame spans (class_size - granule, class_size],
    // where class_size + malloc's 8-byte header is a multiple of 16.
    constexpr std::size_t g = frame_cache::granule;
    constexpr std::size_t class_size = frame_cache::block_size_of(100);
    constexpr std::size_t class_low = class_size - g + 1;
    static_assert(class_size == 104 && (class_size + frame_cache::header) % g == 0);
    static_assert(frame_cache::block_size_of(class_low) == class_size);
    static_assert(frame_cache::block_size_of(class_low - 1) == class_size - g);

    const allocation_counters first = measure([&] { p = cache.allocate(100); });
    CHECK(first.news == 1);
    CHECK(first.last_new_size == class_size);  // rounded up to the class size

    const allocation_counters freed = measure([&] { cache.deallocate(p, 100); });
    CHECK(freed.deletes == 0);  // kept in the cache

    const allocation_counters same_class = measure([&] { q = cache.allocate(class_size); });
    CHECK(q == p);
    CHECK(same_class.news == 0);  // served from the cache

    const allocation_counters emptied = measure([&] { r = cache.allocate(100); });
    CHECK(r != p);
    CHECK(emptied.news == 1);  // the class had nothing left

    const allocation_counters smaller = measure([&] { other_class = cache.allocate(class_low - 1); });
    CHECK(other_class != p);
    CHECK(smaller.news == 1);
    CHECK(smaller.last_new_size == class_size - g);  // the class below

    // Last freed, first reused, for any size in the class.
    void* reuse_first = nullptr;
    void* reuse_second = nullptr;
    const allocation_counters lifo = measure([&] {
        cache.deallocate(q, 100);
        cache.deallocate(r, 100);
        reuse_first = cache.allocate(class_size);
        reuse_second = cache.allocate(class_low);
    });
    CHECK(reuse_first == r);
    CHECK(reuse_second == q);
    CHECK(lifo.news == 0);
    CHECK(lifo.deletes == 0);

    const allocation_counters kept = measure([&] {
        cache.deallocate(q, 100);
        cache.deallocate(r, 100);
        cache.deallocate(other_class, 60);
    });
    CHECK(kept.deletes == 0);
}

TEST_CASE("frame_cache keeps freed blocks up to its byte limit, whatever their size class", "[frame_allocator]") {
    REQUIRE_COUNTING_ALLOCATOR();
    constexpr std::size_t block = frame_cache::block_size_of(200);
    constexpr std::size_t small_block = frame_cache::block_size_of(40);
    constexpr std::size_t cap = 8;  // blocks of 200 bytes' class the limit holds
    constexpr std::size_t extra = 10;
    auto cache = std::make_unique<frame_cache>(cap * block + small_block);
    CHECK(cache->kept_bytes() == 0);
    std::vector<void*> blocks(cap + extra);

    const allocation_counters filled = measure([&] {
        for (void*& b : blocks) {
            b = cache->allocate(200);
        }
    });
    CHECK(filled.news == cap + extra);

    const allocation_counters freed = measure([&] {
        for (void* b : blocks) {
            cache->deallocate(b, 200);
        }
    });
    CHECK(freed.deletes == extra);  // full after `cap` blocks: a block more would pass the limit
    CHECK(cache->kept_bytes() == cap * block);

    // The room left is one small block's: another class fills it, and then
    // nothing more of any class is kept.
    void* small = nullptr;
    void* second_small = nullptr;
    static_cast<void>(measure([&] {
        small = cache->allocate(40);
        second_small = cache->allocate(40);
    }));
    const allocation_counters small_freed = measure([&] {
        cache->deallocate(small, 40);
        cache->deallocate(second_small, 40);
    });
    CHECK(small_freed.deletes == 1);
    CHECK(cache->kept_bytes() == cache->limit());

    const allocation_counters reused = measure([&] {
        for (std::size_t i = 0; i < cap; ++i) {
            blocks[i] = cache->allocate(200);
        }
    });
    CHECK(reused.news == 0);  // all from the cache
    CHECK(cache->kept_bytes() == small_block);

    const allocation_counters one_more = measure([&] { blocks[cap] = cache->allocate(200); });
    CHECK(one_more.news == 1);  // no block of that class is left

    const allocation_counters freed_again = measure([&] {
        for (std::size_t i = 0; i <= cap; ++i) {
            cache->deallocate(blocks[i], 200);
        }
    });
    CHECK(freed_again.deletes == 1);

    // The destructor frees every block it kept (and the cache object itself).
    const allocation_counters destroyed = measure([&] { cache.reset(); });
    CHECK(destroyed.deletes == cap + 1 + 1);
}

TEST_CASE("a thread's frame cache holds a burst of 100,000 small frames for the next burst", "[frame_allocator]") {
    // What the limit is for: the frames of one burst of tasks serve the next
    // without going back to malloc (see frame_free_lists).
    REQUIRE_COUNTING_ALLOCATOR();
    constexpr std::size_t burst = 100'000;
    STATIC_REQUIRE(burst * frame_cache::block_size_of(144) <= frame_cache::default_limit);
    frame_cache cache;
    std::vector<void*> frames(burst);
    for (int round = 0; round < 2; ++round) {
        const allocation_counters allocated = measure([&] {
            for (void*& f : frames) {
                f = cache.allocate(144);
            }
        });
        CHECK(allocated.news == (round == 0 ? burst : 0));
        const allocation_counters freed = measure([&] {
            for (void* f : frames) {
                cache.deallocate(f, 144);
            }
        });
        CHECK(freed.deletes == 0);
    }
}

TEST_CASE("frame_cache sends requests above 1 KiB straight to operator new", "[frame_allocator]") {
    REQUIRE_COUNTING_ALLOCATOR();
    frame_cache cache;
    void* largest_cached = nullptr;
    void* reused = nullptr;
    constexpr std::size_t largest_class_low = frame_cache::block_size_of(1024) - frame_cache::granule + 1;
    static_assert(frame_cache::block_size_of(largest_class_low) == frame_cache::block_size_of(1024));
    const allocation_counters at_limit = measure([&] {
        largest_cached = cache.allocate(1024);
        cache.deallocate(largest_cached, 1024);
        reused = cache.allocate(largest_class_low);  // the same, largest class
    });
    CHECK(at_limit.news == 1);
    CHECK(at_limit.last_new_size == frame_cache::block_size_of(1024));
    CHECK(at_limit.deletes == 0);
    CHECK(reused == largest_cached);

    void* big = nullptr;
    const allocation_counters above = measure([&] { big = cache.allocate(1025); });
    CHECK(above.news == 1);
    CHECK(above.last_new_size == 1025);  // exactly the request, no rounding
    const allocation_counters big_freed = measure([&] { cache.deallocate(big, 1025); });
    CHECK(big_freed.deletes == 1);  // not cached

    const allocation_counters huge = measure([&] { cache.deallocate(cache.allocate(64 * 1024), 64 * 1024); });
    CHECK(huge.news == 1);
    CHECK(huge.last_new_size == 64 * 1024);
    CHECK(huge.deletes == 1);

    const allocation_counters back = measure([&] { cache.deallocate(reused, 1024); });
    CHECK(back.deletes == 0);
}

TEST_CASE("a destroyed task's frame is reused by the next task of the same size", "[frame_allocator]") {
    if (!frames_recycled) {
        CORIO_TEST_SKIP("frame recycling is off in this build (CORIO_NO_FRAME_RECYCLING, e.g. under ASan)");
        return;
    }
    REQUIRE_COUNTING_ALLOCATOR();
    void* first_frame = nullptr;
    {
        task<int> t = small_frame(1);
        first_frame = corio::detail::task_access::handle(t).address();
    }
    task<int> second;
    const allocation_counters created = measure([&] { second = small_frame(2); });
    CHECK(corio::detail::task_access::handle(second).address() == first_frame);
    CHECK(created.news == 0);
    CHECK(corio::run(std::move(second)) == 4);
}

TEST_CASE("a frame allocated on one thread can be freed on another", "[frame_allocator][threads]") {
    void* block = corio::detail::allocate_frame(300);
    bool reused_on_other_thread = false;
    std::thread other([&] {
        corio::detail::deallocate_frame(block, 300);  // joins this thread's cache
        void* again = corio::detail::allocate_frame(300);
        reused_on_other_thread = again == block;
        corio::detail::deallocate_frame(again, 300);
    });  // the thread's cache frees the block when the thread exits
    other.join();
    CHECK(reused_on_other_thread == frames_recycled);
}

namespace {

// Runs on a thread's exit after its frame cache has closed (it is made before
// the thread's first frame, so it is destroyed after the cache's cleanup).
struct exit_report {
    std::size_t deletes_at_exit = 0;  // what the cache's cleanup gave back
    std::size_t late_deletes = 0;     // what one more free after it did
    void* late_block = nullptr;
    std::size_t* deletes_at_exit_out = nullptr;
    std::size_t* late_deletes_out = nullptr;

    ~exit_report() {
        const std::size_t before = t_counters.deletes;
        corio::detail::deallocate_frame(late_block, 300);
        *deletes_at_exit_out = before;
        *late_deletes_out = t_counters.deletes - before;
    }
};

// Made after the thread's first frame, so destroyed before its cache's
// cleanup: counts the thread's deletes from there on.
struct count_exit_deletes {
    ~count_exit_deletes() { t_counters = allocation_counters{true, 0, 0, 0}; }
};

}  // namespace

TEST_CASE("a thread's cached frames are freed when it exits, and later frees bypass the cache",
          "[frame_allocator][threads]") {
    if (!frames_recycled) {
        CORIO_TEST_SKIP("frame recycling is off in this build (CORIO_NO_FRAME_RECYCLING, e.g. under ASan)");
        return;
    }
    REQUIRE_COUNTING_ALLOCATOR();
    constexpr std::size_t kept = 10;
    std::size_t deletes_while_running = 99;
    std::size_t deletes_at_exit = 0;
    std::size_t late_deletes = 0;
    std::thread other([&] {
        thread_local exit_report report;
        report.deletes_at_exit_out = &deletes_at_exit;
        report.late_deletes_out = &late_deletes;
        std::array<void*, kept> blocks{};
        for (void*& block : blocks) {
            block = corio::detail::allocate_frame(300);
        }
        thread_local count_exit_deletes counter;
        report.late_block = corio::detail::allocate_frame(300);
        t_counters = allocation_counters{true, 0, 0, 0};
        for (void* block : blocks) {
            corio::detail::deallocate_frame(block, 300);
        }
        deletes_while_running = t_counters.deletes;
        t_counters.recording = false;
    });
    other.join();
    CHECK(deletes_while_running == 0);
    CHECK(deletes_at_exit == kept);
    CHECK(late_deletes == 1);
}

TEST_CASE("tasks created on one thread run and are destroyed on another", "[frame_allocator][threads]") {
    constexpr int count = 1000;
    // Made here, run there.
    std::vector<task<int>> made_here;
    for (int i = 0; i < count; ++i) {
        made_here.push_back(i % 2 == 0 ? small_frame(i) : yielding_frame(i));
    }
    long sum_there = 0;
    std::vector<task<int>> made_there;
    std::thread other([&] {
        sum_there = corio::run(sum_of(std::move(made_here)));
        for (int i = 0; i < count; ++i) {
            made_there.push_back(small_frame(i));
        }
    });
    other.join();
    // Made there, run here.
    const long sum_here = corio::run(sum_of(std::move(made_there)));

    long expected_there = 0;
    long expected_here = 0;
    for (int i = 0; i < count; ++i) {
        expected_there += i % 2 == 0 ? 2L * i : i + 1L;
        expected_here += 2L * i;
    }
    CHECK(sum_there == expected_there);
    CHECK(sum_here == expected_here);
}

TEST_CASE("two threads create and destroy frames concurrently", "[frame_allocator][threads]") {
    constexpr int rounds = 200;
    constexpr int per_round = 50;
    auto work = [] {
        long total = 0;
        for (int round = 0; round < rounds; ++round) {
            std::vector<task<int>> tasks;
            for (int i = 0; i < per_round; ++i) {
                tasks.push_back(yielding_frame(i));
            }
            total += corio::run(sum_of(std::move(tasks)));
        }
        return total;
    };
    long first = 0;
    long second = 0;
    std::thread a([&] { first = work(); });
    std::thread b([&] { second = work(); });
    a.join();
    b.join();
    const long expected = rounds * (static_cast<long>(per_round) * (per_round + 1) / 2);
    CHECK(first == expected);
    CHECK(second == expected);
}
