// libFuzzer target for the event loop's timer queue
// (corio/detail/timer_heap.hpp: a sorted run plus a binary heap). The input
// is a program over 64 timers, two bytes an operation: arm timer i with a
// deadline (few distinct deadlines, so ties are common and arming order
// matters), cancel timer i, pop the earliest, or clear. A std::set ordered by
// (deadline, arming order) runs the same program; after each operation both
// must agree on the size, the earliest timer and which timers are queued. A
// difference traps.
#include <corio/detail/timer_heap.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <tuple>

namespace {

using corio::detail::timer_entry;
using corio::detail::timer_heap;

constexpr std::size_t timer_count = 64;

struct model {
    // (deadline in ticks, arming order, timer): the set's first is the next to fire.
    std::set<std::tuple<int, std::uint64_t, std::size_t>> queued;
    std::array<std::tuple<int, std::uint64_t, std::size_t>, timer_count>
        key_of{};  // of a queued timer
    std::array<bool, timer_count> is_queued{};
    std::uint64_t armed = 0;
};

std::chrono::steady_clock::time_point at_tick(int tick) {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(tick));
}

void check(const timer_heap& heap, const model& expected,
           const std::array<timer_entry, timer_count>& timers) {
    if (heap.size() != expected.queued.size() || heap.empty() != expected.queued.empty()) {
        __builtin_trap();
    }
    if (!heap.empty() && &heap.top() != &timers[std::get<2>(*expected.queued.begin())]) {
        __builtin_trap();
    }
    for (std::size_t i = 0; i < timer_count; ++i) {
        if (timers[i].queued() != expected.is_queued[i]) {
            __builtin_trap();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::array<timer_entry, timer_count> timers{};
    timer_heap heap;
    model expected;
    for (std::size_t at = 0; at + 1 < size; at += 2) {
        const unsigned op = data[at] >> 6;
        const std::size_t which = data[at] % timer_count;
        timer_entry& timer = timers[which];
        switch (op) {
            case 0:
            case 1: {  // arm (when not armed): deadline 0-15 ticks, or far apart
                if (timer.queued()) {
                    break;
                }
                const int tick = op == 0 ? data[at + 1] % 16 : data[at + 1] * 1000;
                timer.deadline = at_tick(tick);
                heap.push(timer);
                expected.key_of[which] = {tick, expected.armed++, which};
                expected.queued.insert(expected.key_of[which]);
                expected.is_queued[which] = true;
                break;
            }
            case 2:  // cancel (when armed)
                if (timer.queued()) {
                    heap.remove(timer);
                    expected.queued.erase(expected.key_of[which]);
                    expected.is_queued[which] = false;
                }
                break;
            default:  // pop the earliest; second byte 255: clear instead
                if (data[at + 1] == 255) {
                    heap.clear();
                    expected.queued.clear();
                    expected.is_queued.fill(false);
                } else if (!heap.empty()) {
                    timer_entry& fired = heap.pop();
                    if (&fired != &timers[std::get<2>(*expected.queued.begin())] ||
                        fired.queued()) {
                        __builtin_trap();
                    }
                    expected.is_queued[std::get<2>(*expected.queued.begin())] = false;
                    expected.queued.erase(expected.queued.begin());
                }
                break;
        }
        check(heap, expected, timers);
    }
    heap.clear();
    return 0;
}
