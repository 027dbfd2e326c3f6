#pragma once

#include <coroutine>
#include <utility>

namespace corio::detail {

/// Sole owner of a coroutine frame, as unique_ptr is of an object: destroys
/// the frame with itself (or when another is moved in), moves, never copies.
/// What task and async_generator hold.
template <class Promise>
class unique_coroutine {
public:
    unique_coroutine() noexcept = default;
    explicit unique_coroutine(std::coroutine_handle<Promise> handle) noexcept : m_handle(handle) {}
    unique_coroutine(unique_coroutine&& other) noexcept : m_handle(std::exchange(other.m_handle, {})) {}
    unique_coroutine& operator=(unique_coroutine&& other) noexcept {
        if (this != &other) {
            reset();
            m_handle = std::exchange(other.m_handle, {});
        }
        return *this;
    }
    unique_coroutine(const unique_coroutine&) = delete;
    unique_coroutine& operator=(const unique_coroutine&) = delete;
    ~unique_coroutine() { reset(); }

    [[nodiscard]] std::coroutine_handle<Promise> get() const noexcept { return m_handle; }
    /// True if a frame is owned (this was not moved from).
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(m_handle); }
    /// True once the owned frame has run to its end.
    [[nodiscard]] bool done() const noexcept { return m_handle && m_handle.done(); }

private:
    void reset() noexcept {
        if (m_handle) {
            m_handle.destroy();
            m_handle = {};
        }
    }

    std::coroutine_handle<Promise> m_handle;
};

}  // namespace corio::detail
