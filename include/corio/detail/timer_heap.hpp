#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
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
///
/// Five words: the sequence number and the heap index share one. The
/// sequence is 32 bits and compared modulo 2^32, which orders two timers of
/// the same deadline correctly unless 2^31 other timers were armed between
/// them; the heap index, 32 bits, allows 4 billion timers.
struct timer_entry {
    static constexpr std::uint32_t not_queued = static_cast<std::uint32_t>(-1);
    static constexpr std::uint32_t in_run = static_cast<std::uint32_t>(-2);
    static constexpr std::size_t max_heap_size = in_run;

    std::chrono::steady_clock::time_point deadline{};
    std::uint32_t sequence = 0;             // ties between equal deadlines fire in arming order
    std::uint32_t heap_index = not_queued;  // heap position (kept current), in_run, or not_queued
    timer_entry* run_prev = nullptr;        // links while in the sorted run
    timer_entry* run_next = nullptr;
    void (*on_fire)(timer_entry* self) noexcept = nullptr;

    [[nodiscard]] bool queued() const noexcept { return heap_index != not_queued; }
};

/// A timer whose firing only resumes one coroutine (a sleep's). The loop
/// resumes the ones that fire together from one ready job, chained through
/// run_next (free once the entry has left the run), instead of queueing a job
/// per timer: 100,000 sleepers waking at once cost no 1.6 MB of ready queue.
struct resuming_timer : timer_entry {
    std::coroutine_handle<> waiter;
};

/// The loop's pending timers, ordered by (deadline, sequence).
///
/// Most timers are "now + a delay", so they arrive in deadline order. Those
/// are appended to a sorted run, an intrusive list with O(1) insert, cancel
/// and pop. A timer that would break the run's order goes to a binary
/// min-heap instead (O(log n) insert and cancel; each entry knows its heap
/// index). The earliest timer is the smaller of the two heads. With 100,000
/// sleepers of one delay the heap stays empty, where before the heap's
/// sift-down chased pointers into 100,000 different frames.
class timer_heap {
public:
    [[nodiscard]] bool empty() const noexcept { return m_heap.empty() && m_run_head == nullptr; }
    [[nodiscard]] std::size_t size() const noexcept { return m_heap.size() + m_run_size; }

    [[nodiscard]] timer_entry& top() const noexcept {
        if (m_heap.empty()) {
            return *m_run_head;
        }
        if (m_run_head == nullptr || before(*m_heap.front(), *m_run_head)) {
            return *m_heap.front();
        }
        return *m_run_head;
    }

    void push(timer_entry& entry) {
        entry.sequence = m_next_sequence++;
        if (m_run_tail == nullptr || !before(entry, *m_run_tail)) {
            append_to_run(entry);
            return;
        }
        if (m_heap.size() >= timer_entry::max_heap_size) {
            throw std::length_error("corio: too many timers armed out of deadline order");
        }
        entry.heap_index = static_cast<std::uint32_t>(m_heap.size());
        m_heap.push_back(&entry);
        sift_up(entry.heap_index);
    }

    void remove(timer_entry& entry) noexcept {
        if (entry.heap_index == timer_entry::in_run) {
            unlink_from_run(entry);
            return;
        }
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
        timer_entry& first = top();
        remove(first);
        return first;
    }

    /// Forgets every entry without firing it (used when a loop closes).
    void clear() noexcept {
        for (timer_entry* entry : m_heap) {
            entry->heap_index = timer_entry::not_queued;
        }
        m_heap.clear();
        while (m_run_head != nullptr) {
            unlink_from_run(*m_run_head);
        }
    }

private:
    static bool before(const timer_entry& a, const timer_entry& b) noexcept {
        return a.deadline < b.deadline ||
               (a.deadline == b.deadline && static_cast<std::int32_t>(a.sequence - b.sequence) < 0);
    }
    static std::size_t parent(std::size_t i) noexcept { return (i - 1) / 2; }

    void append_to_run(timer_entry& entry) noexcept {
        entry.heap_index = timer_entry::in_run;
        entry.run_prev = m_run_tail;
        entry.run_next = nullptr;
        if (m_run_tail != nullptr) {
            m_run_tail->run_next = &entry;
        } else {
            m_run_head = &entry;
        }
        m_run_tail = &entry;
        ++m_run_size;
    }

    void unlink_from_run(timer_entry& entry) noexcept {
        (entry.run_prev != nullptr ? entry.run_prev->run_next : m_run_head) = entry.run_next;
        (entry.run_next != nullptr ? entry.run_next->run_prev : m_run_tail) = entry.run_prev;
        entry.run_prev = entry.run_next = nullptr;
        entry.heap_index = timer_entry::not_queued;
        --m_run_size;
    }

    void place(std::size_t index, timer_entry* entry) noexcept {
        m_heap[index] = entry;
        entry->heap_index = static_cast<std::uint32_t>(index);
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
    timer_entry* m_run_head = nullptr;
    timer_entry* m_run_tail = nullptr;
    std::size_t m_run_size = 0;
    std::uint32_t m_next_sequence = 0;
};

}  // namespace corio::detail
