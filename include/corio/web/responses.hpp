#pragma once

// corio::web responses beyond JSON: HTML, redirects, files (Content-Type by
// extension, ETag / If-None-Match → 304, single byte ranges → 206) and static
// directories.

#include <corio/http/message.hpp>
#include <corio/web/errors.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace corio::web {

/// An HTML page (Content-Type: text/html; charset=utf-8).
[[nodiscard]] inline http::response html_response(std::string html, int status = 200) {
    return http::text_response(std::move(html), status, "text/html; charset=utf-8");
}

/// A redirect to `location`: 307 (method and body kept) unless told
/// otherwise (301, 302, 303, 308).
[[nodiscard]] inline http::response redirect_response(std::string location, int status = 307) {
    http::response r;
    r.status = status;
    r.headers.add("Location", std::move(location));
    return r;
}

/// The Content-Type for a file name's extension (application/octet-stream
/// for unknown ones).
[[nodiscard]] inline std::string_view content_type_for(std::string_view file_name) {
    const std::size_t dot = file_name.rfind('.');
    if (dot == std::string_view::npos) {
        return "application/octet-stream";
    }
    std::string ext(file_name.substr(dot + 1));
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static constexpr std::pair<std::string_view, std::string_view> types[] = {
        {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},   {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"},
        {"xml", "application/xml"},           {"svg", "image/svg+xml"},
        {"png", "image/png"},                 {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},               {"gif", "image/gif"},
        {"webp", "image/webp"},               {"ico", "image/x-icon"},
        {"pdf", "application/pdf"},           {"wasm", "application/wasm"},
        {"woff", "font/woff"},                {"woff2", "font/woff2"},
        {"mp4", "video/mp4"},                 {"webm", "video/webm"},
        {"mp3", "audio/mpeg"},                {"zip", "application/zip"},
        {"gz", "application/gzip"},           {"md", "text/markdown; charset=utf-8"},
    };
    for (const auto& [known, type] : types) {
        if (known == ext) {
            return type;
        }
    }
    return "application/octet-stream";
}

}  // namespace corio::web

namespace corio::web::detail {

/// [first, last] of a "bytes=first-last" / "bytes=first-" / "bytes=-suffix"
/// Range for a file of `size` bytes; nullopt when unsatisfiable; the whole
/// file ({0, size-1}) for a range form this server does not do (several ranges).
inline std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_range(std::string_view range, std::uint64_t size) {
    constexpr std::string_view unit = "bytes=";
    if (range.substr(0, unit.size()) != unit || range.find(',') != std::string_view::npos || size == 0) {
        return size == 0 ? std::nullopt : std::optional(std::pair<std::uint64_t, std::uint64_t>{0, size - 1});
    }
    range.remove_prefix(unit.size());
    const std::size_t dash = range.find('-');
    if (dash == std::string_view::npos) {
        return std::nullopt;
    }
    auto number = [](std::string_view text, std::uint64_t& out) {
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
        return !text.empty() && error == std::errc{} && end == text.data() + text.size();
    };
    std::uint64_t first = 0;
    std::uint64_t last = size - 1;
    const std::string_view from = range.substr(0, dash);
    const std::string_view to = range.substr(dash + 1);
    if (from.empty()) {
        std::uint64_t suffix = 0;
        if (!number(to, suffix) || suffix == 0) {
            return std::nullopt;
        }
        first = suffix >= size ? 0 : size - suffix;
    } else {
        if (!number(from, first) || first >= size) {
            return std::nullopt;
        }
        if (!to.empty()) {
            if (!number(to, last) || last < first) {
                return std::nullopt;
            }
            last = std::min(last, size - 1);
        }
    }
    return std::pair<std::uint64_t, std::uint64_t>{first, last};
}

}  // namespace corio::web::detail

namespace corio::web {

/// The file at `file` as a response for `request`: Content-Type by
/// extension, a weak ETag from size and modification time (If-None-Match
/// matching it → 304 without body), Accept-Ranges, and a single "Range:
/// bytes=..." → 206 with Content-Range (unsatisfiable → 416). A missing file
/// or a directory throws http_exception(404). The body is not read here:
/// the response carries the open file (http::file_body), which http::server
/// sends with sendfile(2) over plain TCP, so large downloads cost no memory.
[[nodiscard]] inline http::response file_response(const std::filesystem::path& file, const http::request& request) {
    std::error_code error;
    const auto status = std::filesystem::status(file, error);
    if (error || !std::filesystem::is_regular_file(status)) {
        throw http_exception(404, "Not Found");
    }
    const std::uint64_t size = std::filesystem::file_size(file, error);
    const auto modified = std::filesystem::last_write_time(file, error);
    const auto ticks = static_cast<long long>(modified.time_since_epoch().count());
    const std::string etag = "W/\"" + std::to_string(size) + "-" + std::to_string(ticks) + "\"";

    http::response r;
    r.headers.add("ETag", etag);
    r.headers.add("Accept-Ranges", "bytes");
    if (const std::optional<std::string_view> match = request.headers.get("If-None-Match")) {
        if (*match == "*" || match->find(etag) != std::string_view::npos ||
            match->find(etag.substr(2)) != std::string_view::npos) {
            r.status = 304;
            return r;
        }
    }
    std::uint64_t first = 0;
    std::uint64_t last = size == 0 ? 0 : size - 1;
    bool partial = false;
    if (const std::optional<std::string_view> range = request.headers.get("Range")) {
        const auto span = detail::parse_range(*range, size);
        if (!span) {
            http::response refused = http::text_response(416, "Range Not Satisfiable\n");
            refused.headers.add("Content-Range", "bytes */" + std::to_string(size));
            return refused;
        }
        partial = span->first != 0 || span->second != size - 1;
        first = span->first;
        last = span->second;
    }
    const std::uint64_t count = size == 0 ? 0 : last - first + 1;
    try {
        r.body_file = http::open_file_body(file.string(), first, count);
    } catch (const std::exception&) {
        throw http_exception(404, "Not Found");  // gone or unreadable since the stat above
    }
    r.headers.add("Content-Type", std::string(content_type_for(file.filename().string())));
    if (partial) {
        r.status = 206;
        r.headers.add("Content-Range",
                      "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size));
    }
    return r;
}

/// The file `relative` (a request path's tail, percent-decoded) under
/// `root` as a response, index.html for a directory; a path that climbs out
/// of `root` ("..") or names nothing → 404.
[[nodiscard]] inline http::response static_file_response(const std::filesystem::path& root, std::string_view relative,
                                                         const http::request& request) {
    std::filesystem::path target = root;
    std::string_view rest = relative;
    while (!rest.empty()) {
        const std::size_t slash = rest.find('/');
        const std::string_view piece = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (piece.empty() || piece == ".") {
            continue;
        }
        if (piece == ".." || piece.find('\\') != std::string_view::npos || piece.find('\0') != std::string_view::npos) {
            throw http_exception(404, "Not Found");
        }
        target /= std::string(piece);
    }
    std::error_code error;
    if (std::filesystem::is_directory(target, error)) {
        target /= "index.html";
    }
    return file_response(target, request);
}

}  // namespace corio::web
