#pragma once

#include <corio/detail/cancellation.hpp>

#include <stdexcept>
#include <string>

namespace corio {

/// Thrown from a suspension point of a cancelled task (asyncio's CancelledError).
///
/// Deliberately not derived from std::exception, so that
/// `catch (const std::exception&)` never swallows a cancellation; catch it by
/// name, clean up, and rethrow.
class cancelled_error {
public:
    [[nodiscard]] const char* what() const noexcept { return "corio: operation cancelled"; }
};

/// Thrown by wait_for when the deadline passes (asyncio's TimeoutError).
class timeout_error : public std::runtime_error {
public:
    timeout_error() : std::runtime_error("corio: operation timed out") {}
    explicit timeout_error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace corio
