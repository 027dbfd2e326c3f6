#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace corio::detail {

/// One unit of work on the loop's ready queue: a function and its argument.
/// Resuming a coroutine is `{resume_job, handle.address()}`, so the hot path
/// allocates nothing.
struct ready_job {
    void (*run)(void* arg);
    void* arg;
};

/// FIFO ring buffer of ready jobs whose capacity is a power of two and only
/// grows, so steady-state scheduling never allocates.
class ready_queue {
public:
    ready_queue() = default;
    ready_queue(const ready_queue&) = delete;
    ready_queue& operator=(const ready_queue&) = delete;

    [[nodiscard]] bool empty() const noexcept { return m_head == m_tail; }
    [[nodiscard]] std::size_t size() const noexcept { return m_tail - m_head; }

    void push(ready_job job) {
        if (size() == m_capacity) {
            grow();
        }
        m_jobs[m_tail & (m_capacity - 1)] = job;
        ++m_tail;
    }

    /// The job pushed last (the queue must not be empty).
    [[nodiscard]] const ready_job& back() const noexcept { return m_jobs[(m_tail - 1) & (m_capacity - 1)]; }

    ready_job pop() noexcept {
        ready_job job = m_jobs[m_head & (m_capacity - 1)];
        ++m_head;
        return job;
    }

    void clear() noexcept { m_head = m_tail = 0; }

private:
    void grow() {
        const std::size_t new_capacity = m_capacity == 0 ? 256 : m_capacity * 2;
        // Not zeroed: untouched slots cost no page faults (a burst of wake-ups
        // can grow the queue by megabytes).
        auto jobs = std::make_unique_for_overwrite<ready_job[]>(new_capacity);
        const std::size_t count = size();
        for (std::size_t i = 0; i < count; ++i) {
            jobs[i] = m_jobs[(m_head + i) & (m_capacity - 1)];
        }
        m_jobs = std::move(jobs);
        m_capacity = new_capacity;
        m_head = 0;
        m_tail = count;
    }

    std::unique_ptr<ready_job[]> m_jobs;
    std::size_t m_capacity = 0;
    // Monotonic counters; the slot is the counter masked by the capacity.
    std::size_t m_head = 0;
    std::size_t m_tail = 0;
};

}  // namespace corio::detail
