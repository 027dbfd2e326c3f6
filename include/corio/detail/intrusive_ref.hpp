#pragma once

#include <utility>

namespace corio::detail {

/// Shared ownership of an object that counts its own references: `add_ref()`
/// takes one, `release()` drops one and destroys the object with the last.
/// What shared_ptr does, without a separate control block; no more
/// thread-safe than the count it drives.
template <class T>
class intrusive_ref {
public:
    intrusive_ref() noexcept = default;
    /// Shares `object` (takes a reference); null stays empty.
    explicit intrusive_ref(T* object) noexcept : m_object(object) {
        if (m_object != nullptr) {
            m_object->add_ref();
        }
    }
    intrusive_ref(const intrusive_ref& other) noexcept : intrusive_ref(other.m_object) {}
    intrusive_ref(intrusive_ref&& other) noexcept : m_object(std::exchange(other.m_object, nullptr)) {}
    intrusive_ref& operator=(intrusive_ref other) noexcept {
        std::swap(m_object, other.m_object);
        return *this;
    }
    ~intrusive_ref() {
        if (m_object != nullptr) {
            m_object->release();
        }
    }

    /// Takes over a reference the caller holds already (a new object's first).
    [[nodiscard]] static intrusive_ref adopt(T* object) noexcept {
        intrusive_ref ref;
        ref.m_object = object;
        return ref;
    }

    [[nodiscard]] T* get() const noexcept { return m_object; }
    T& operator*() const noexcept { return *m_object; }
    T* operator->() const noexcept { return m_object; }
    explicit operator bool() const noexcept { return m_object != nullptr; }

private:
    T* m_object = nullptr;
};

}  // namespace corio::detail
