#pragma once

#include <corio/detail/cancellation.hpp>
#include <corio/detail/intrusive_ref.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

namespace corio {
namespace detail {
struct cancellation_access;
}

/// Thrown from a suspension point of a cancelled task (asyncio's CancelledError).
///
/// Deliberately not derived from std::exception, so that
/// `catch (const std::exception&)` never swallows a cancellation; catch it by
/// name, clean up, and rethrow.
///
/// A task cancelled with `cancel("why")` throws one carrying that message
/// (message() and what()); without one, nothing is allocated and copying is a
/// pointer copy.
class cancelled_error {
public:
    cancelled_error() noexcept = default;
    /// A cancellation carrying `message` (allocates its text once; copies share it).
    explicit cancelled_error(std::string_view message)
        : m_message(ref::adopt(detail::cancel_message::make(message))) {}

    /// "corio: operation cancelled", followed by ": <message>" when there is one.
    [[nodiscard]] const char* what() const noexcept {
        return m_message ? m_message->what() : "corio: operation cancelled";
    }
    /// The message given to cancel(message); empty when none was.
    [[nodiscard]] std::string_view message() const noexcept {
        return m_message ? m_message->message() : std::string_view{};
    }

private:
    using ref = detail::intrusive_ref<const detail::cancel_message>;
    friend struct detail::cancellation_access;

    ref m_message;
};

/// Thrown by wait_for when the deadline passes (asyncio's TimeoutError).
class timeout_error : public std::runtime_error {
public:
    timeout_error() : std::runtime_error("corio: operation timed out") {}
    /// `what` is the message what() returns (e.g. which timeout passed, after how long).
    explicit timeout_error(const std::string& what) : std::runtime_error(what) {}
};

/// Thrown at the suspension point where a corio::timeout scope's deadline
/// passed (see timeout.hpp), so the scope's block unwinds with it.
///
/// It is a timeout_error, to catch around the scope, and also a
/// cancelled_error: the strand *was* cancelled by the deadline, so every
/// `catch (const cancelled_error&) { clean up; throw; }` inside the block (in
/// corio's own primitives too) runs and rethrows it unchanged. As a
/// timeout_error it also derives from std::exception: a handler for
/// std::exception inside the block would swallow the expiry, so catch
/// cancelled_error first there and rethrow.
class timeout_expired : public timeout_error, public cancelled_error {
public:
    timeout_expired() : timeout_error("corio: timeout expired") {}
    /// "corio: timeout expired": both bases have a what(); this one answers with timeout_error's.
    [[nodiscard]] const char* what() const noexcept override { return timeout_error::what(); }
};

namespace detail {

struct cancellation_access {
    /// A cancelled_error sharing `message` (null: none).
    static cancelled_error make(const cancel_message* message) noexcept {
        cancelled_error error;
        error.m_message = cancelled_error::ref(message);
        return error;
    }
};

/// The exception a strand's suspension point throws for the cancellation it
/// just took, decided in one place for every awaitable: timeout_expired when
/// a timeout scope's expiry caused it, otherwise cancelled_error with the
/// request's message, if any. `strand` may be null (not a corio task).
[[noreturn]] inline void throw_cancellation(const task_context* strand) {
    if (strand != nullptr) {
        const cancel_cause& cause = strand->cause();
        if (cause.timeout_scope() != nullptr) {
            throw timeout_expired{};
        }
        throw cancellation_access::make(cause.message());
    }
    throw cancelled_error{};
}

/// The same as an exception_ptr (a task that ends without running its body).
inline std::exception_ptr cancellation_exception(const task_context* strand) noexcept {
    try {
        throw_cancellation(strand);
    } catch (...) {
        return std::current_exception();
    }
}

}  // namespace detail
}  // namespace corio
