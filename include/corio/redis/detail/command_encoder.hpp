#pragma once

// Encoding a command as RESP: an array of bulk strings. Arguments may be
// anything string-like (std::string, std::string_view, const char*), an
// integer, a floating-point number, or a range of those (a std::vector of
// keys), which contributes each of its elements.

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <ranges>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace corio::redis::detail {

template <class T>
concept string_like_argument = std::convertible_to<const T&, std::string_view>;

template <class T>
concept integer_argument = std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char>;

template <class T>
concept scalar_argument = string_like_argument<T> || integer_argument<T> || std::floating_point<T>;

template <class T>
concept range_argument = !string_like_argument<T> && std::ranges::input_range<const T> &&
                         scalar_argument<std::remove_cvref_t<std::ranges::range_reference_t<const T>>>;

/// What a command argument may be.
template <class T>
concept command_argument = scalar_argument<T> || range_argument<T>;

template <class T>
[[nodiscard]] std::size_t argument_count(const T& arg) {
    if constexpr (range_argument<T>) {
        return static_cast<std::size_t>(std::ranges::distance(arg));
    } else {
        return 1;
    }
}

inline void append_bulk(std::string& out, std::string_view text) {
    char header[24];
    header[0] = '$';
    const auto [end, ec] = std::to_chars(header + 1, header + sizeof header, text.size());
    (void)ec;
    out.append(header, end);
    out.append("\r\n", 2);
    out.append(text);
    out.append("\r\n", 2);
}

template <scalar_argument T>
void append_scalar(std::string& out, const T& arg) {
    if constexpr (string_like_argument<T>) {
        append_bulk(out, std::string_view(arg));
    } else if constexpr (integer_argument<T>) {
        char digits[24];
        const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, arg);
        (void)ec;
        append_bulk(out, std::string_view(digits, static_cast<std::size_t>(end - digits)));
    } else {
        char digits[40];
        const int n = std::snprintf(digits, sizeof digits, "%.17g", static_cast<double>(arg));
        append_bulk(out, std::string_view(digits, static_cast<std::size_t>(n)));
    }
}

template <command_argument T>
void append_argument(std::string& out, const T& arg) {
    if constexpr (range_argument<T>) {
        for (const auto& element : arg) {
            append_scalar(out, element);
        }
    } else {
        append_scalar(out, arg);
    }
}

/// Appends the RESP encoding of the command `args...` to `out`.
template <command_argument... Args>
void append_command(std::string& out, const Args&... args) {
    const std::size_t count = (std::size_t{0} + ... + argument_count(args));
    char header[24];
    header[0] = '*';
    const auto [end, ec] = std::to_chars(header + 1, header + sizeof header, count);
    (void)ec;
    out.append(header, end);
    out.append("\r\n", 2);
    (append_argument(out, args), ...);
}

}  // namespace corio::redis::detail
