#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace corio::detail {

/// Converts any duration to the steady clock's, rounding up (a timer never
/// fires early) and capping at about 30 years so that "forever" delays such as
/// hours::max() cannot overflow the deadline arithmetic.
template <class Rep, class Period>
std::chrono::steady_clock::duration to_timer_duration(std::chrono::duration<Rep, Period> delay) noexcept {
    using target = std::chrono::steady_clock::duration;
    constexpr double longest_seconds = 1.0e9;
    if (std::chrono::duration<double>(delay).count() >= longest_seconds) {
        return std::chrono::duration_cast<target>(std::chrono::duration<double>(longest_seconds));
    }
    return std::chrono::ceil<target>(delay);
}

/// A pending timer, embedded in whatever waits on it (a sleep's awaiter, a
/// call_later callback), so arming a timer allocates nothing but heap slots.
struct timer_entry {
    static constexpr std::size_t not_queued = static_cast<std::size_t>(-1);

    std::chrono::steady_clock::time_point deadline{};
    std::uint64_t sequence = 0;           // ties between equal deadlines fire in arming order
    std::size_t heap_index = not_queued;  // position in the heap, kept current for O(log n) removal
    void (*on_fire)(timer_entry* self) noexcept = nullptr;

    [[nodiscard]] bool queued() const noexcept { return heap_index != not_queued; }
};

/// Binary min-heap of timer entries ordered by (deadline, sequence), with each
/// entry knowing its own index so that cancelling is O(log n).
class timer_heap {
public:
    [[nodiscard]] bool empty() const noexcept { return m_heap.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return m_heap.size(); }
    [[nodiscard]] timer_entry& top() const noexcept { return *m_heap.front(); }

    void push(timer_entry& entry) {
        entry.sequence = m_next_sequence++;
        entry.heap_index = m_heap.size();
        m_heap.push_back(&entry);
        sift_up(entry.heap_index);
    }

    void remove(timer_entry& entry) noexcept {
        const std::size_t index = entry.heap_index;
        entry.heap_index = timer_entry::not_queued;
        timer_entry* last = m_heap.back();
        m_heap.pop_back();
        if (last == &entry) {
            return;
        }
        place(index, last);
        if (index > 0 && before(*last, *m_heap[parent(index)])) {
            sift_up(index);
        } else {
            sift_down(index);
        }
    }

    timer_entry& pop() noexcept {
        timer_entry& first = *m_heap.front();
        remove(first);
        return first;
    }

    /// Forgets every entry without firing it (used when a loop closes).
    void clear() noexcept {
        for (timer_entry* entry : m_heap) {
            entry->heap_index = timer_entry::not_queued;
        }
        m_heap.clear();
    }

private:
    static bool before(const timer_entry& a, const timer_entry& b) noexcept {
        return a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence);
    }
    static std::size_t parent(std::size_t i) noexcept { return (i - 1) / 2; }

    void place(std::size_t index, timer_entry* entry) noexcept {
        m_heap[index] = entry;
        entry->heap_index = index;
    }

    void sift_up(std::size_t index) noexcept {
        timer_entry* moving = m_heap[index];
        while (index > 0 && before(*moving, *m_heap[parent(index)])) {
            place(index, m_heap[parent(index)]);
            index = parent(index);
        }
        place(index, moving);
    }

    void sift_down(std::size_t index) noexcept {
        timer_entry* moving = m_heap[index];
        const std::size_t count = m_heap.size();
        for (;;) {
            std::size_t child = 2 * index + 1;
            if (child >= count) {
                break;
            }
            if (child + 1 < count && before(*m_heap[child + 1], *m_heap[child])) {
                ++child;
            }
            if (!before(*m_heap[child], *moving)) {
                break;
            }
            place(index, m_heap[child]);
            index = child;
        }
        place(index, moving);
    }

    std::vector<timer_entry*> m_heap;
    std::uint64_t m_next_sequence = 0;
};

}  // namespace corio::detail
