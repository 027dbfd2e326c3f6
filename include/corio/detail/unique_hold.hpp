#pragma once

#include <utility>

namespace corio::detail {

/// Move-only ownership of one unit an `Owner` hands out (a mutex's lock, a
/// semaphore's permit), given back exactly once: when released early or
/// when the holder is destroyed or assigned over. `Derived` names the public
/// operations and supplies `static void give_back_to(Owner&) noexcept`, which
/// must not throw (destructors call it).
template <class Derived, class Owner>
class unique_hold {
public:
    unique_hold(unique_hold&& other) noexcept : m_owner(std::exchange(other.m_owner, nullptr)) {}
    unique_hold& operator=(unique_hold&& other) noexcept {
        if (this != &other) {
            give_back();
            m_owner = std::exchange(other.m_owner, nullptr);
        }
        return *this;
    }
    unique_hold(const unique_hold&) = delete;
    unique_hold& operator=(const unique_hold&) = delete;

    explicit operator bool() const noexcept { return m_owner != nullptr; }

protected:
    unique_hold() noexcept = default;
    explicit unique_hold(Owner* owner) noexcept : m_owner(owner) {}
    ~unique_hold() { give_back(); }

    /// The owner whose unit is held, or null.
    [[nodiscard]] Owner* owner() const noexcept { return m_owner; }

    /// Gives the unit back now; afterwards nothing is held. Does nothing if
    /// nothing is held.
    void give_back() noexcept {
        if (Owner* owner = std::exchange(m_owner, nullptr)) {
            Derived::give_back_to(*owner);
        }
    }

private:
    Owner* m_owner = nullptr;
};

}  // namespace corio::detail
