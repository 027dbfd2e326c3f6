#pragma once

#include <corio/errors.hpp>

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

namespace corio {

/// How one operation ended: with a value or with an exception. gather_settled
/// returns one per child, the counterpart of asyncio's
/// `gather(..., return_exceptions=True)`.
///
/// `outcome<void>` holds no value; `outcome<T&>` refers to the referenced object.
template <class T>
class outcome {
    using stored = std::conditional_t<std::is_void_v<T>, std::monostate,
                                      std::conditional_t<std::is_reference_v<T>,
                                                         std::remove_reference_t<T>*, T>>;

public:
    /// An outcome holding an exception_ptr that is null is not allowed: it would
    /// be neither a value nor an error.
    static outcome from_exception(std::exception_ptr error) {
        if (!error) {
            throw std::invalid_argument("corio::outcome: null exception");
        }
        return outcome(std::in_place_index<1>, std::move(error));
    }

    template <class... Args>
    /// An outcome holding the value built from `args` (for outcome<T&>, the address of the one
    /// argument; for outcome<void>, no argument).
    static outcome from_value(Args&&... args) {
        if constexpr (std::is_reference_v<T>) {
            return outcome(std::in_place_index<0>, std::addressof(args)...);
        } else {
            return outcome(std::in_place_index<0>, std::forward<Args>(args)...);
        }
    }

    /// True when the awaitable produced a value (for `void`: completed normally).
    [[nodiscard]] bool has_value() const noexcept { return m_data.index() == 0; }
    /// True when it ended with an exception; exactly one of the two is true.
    [[nodiscard]] bool has_exception() const noexcept { return m_data.index() == 1; }
    /// Same as has_value().
    explicit operator bool() const noexcept { return has_value(); }

    /// The exception, or null when there is a value.
    [[nodiscard]] std::exception_ptr exception() const noexcept {
        return has_exception() ? std::get<1>(m_data) : nullptr;
    }

    /// The value, or the exception rethrown: a reference into the outcome
    /// for an lvalue, the value moved out (a T) for an rvalue.
    decltype(auto) value() & { return value_of(*this); }
    /// The same on a const outcome: a const reference into it.
    decltype(auto) value() const& { return value_of(*this); }
    /// The same, the value moved out (returned as a T).
    decltype(auto) value() && { return value_of(std::move(*this)); }

private:
    // Built in place: T need not be default-constructible.
    template <std::size_t I, class... Args>
    explicit outcome(std::in_place_index_t<I> which, Args&&... args)
        : m_data(which, std::forward<Args>(args)...) {}

    void rethrow_if_exception() const {
        if (has_exception()) {
            std::rethrow_exception(std::get<1>(m_data));
        }
    }

    // The three value() overloads; Self carries the outcome's constness and
    // value category.
    template <class Self>
    static decltype(auto) value_of(Self&& self) {
        self.rethrow_if_exception();
        if constexpr (std::is_void_v<T>) {
            return;
        } else if constexpr (std::is_reference_v<T>) {
            return static_cast<T>(*std::get<0>(self.m_data));
        } else if constexpr (std::is_lvalue_reference_v<Self>) {
            return std::get<0>(self.m_data);  // T& or const T&
        } else {
            return T(std::move(std::get<0>(self.m_data)));
        }
    }

    std::variant<stored, std::exception_ptr> m_data;
};

}  // namespace corio
