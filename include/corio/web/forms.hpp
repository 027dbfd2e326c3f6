#pragma once

// HTML forms and file uploads: application/x-www-form-urlencoded and
// multipart/form-data bodies as a web::form_data (FastAPI's Form(...) and
// UploadFile). A handler takes `web::form_data form` (every field and file)
// or `web::form_model<T>` (a described struct filled from the fields, as
// query_model does from the query):
//
//     app.post("/profile", [](web::form_data form) {
//         const web::upload_file* photo = form.file("photo");
//         if (photo != nullptr) {
//             photo->save_as("/srv/photos/" + std::string(*form.get("user")) + ".jpg");
//         }
//         return http::text_response("saved\n");
//     });
//
// Both parsers are incremental and an uploaded file is kept in memory only up
// to form_limits::spool_threshold, then written to a temporary file (removed
// with the last copy of the form_data unless saved). A route whose handler
// takes a form has http::server stream the body to it (route_options::
// max_streamed_body, 1 GiB by default, instead of the server's max_body_size):
// the parser is fed as the bytes arrive, so a large upload reaches its
// temporary file without the body ever being whole in memory.

#include <corio/detail/config.hpp>
#include <corio/http/body_reader.hpp>
#include <corio/http/message.hpp>
#include <corio/task.hpp>
#include <corio/web/detail/multipart.hpp>
#include <corio/web/errors.hpp>

#include <corio/detail/file_ops.hpp>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace corio::web {

namespace detail {
struct form_builder;
}

/// Limits of parse_form and read_form (each one broken: 413, except
/// max_head_size: 400). The whole body's limit is the route's
/// (route_options::max_streamed_body) when the server streams it.
struct form_limits {
    /// Fields (not files) in one form.
    std::size_t max_fields = 1000;
    /// Bytes of one field's value.
    std::size_t max_field_size = 1024 * 1024;
    /// Files in one form.
    std::size_t max_files = 100;
    /// Bytes of one uploaded file.
    std::uint64_t max_file_size = 1024ull * 1024 * 1024;
    /// Bytes of one part's header section.
    std::size_t max_head_size = 16 * 1024;
    /// A file larger than this goes to a temporary file (FastAPI's spooled
    /// UploadFile); a smaller one stays in memory.
    std::size_t spool_threshold = 1024 * 1024;
    /// Where temporary files go; empty: std::filesystem::temp_directory_path().
    std::filesystem::path directory{};
};

/// One uploaded file of a multipart form (FastAPI's UploadFile): in memory,
/// or in a temporary file once larger than form_limits::spool_threshold.
/// Copies share the content; the temporary file is removed with the last one
/// unless save_as() moved it.
class upload_file {
public:
    /// The form field the file came in.
    [[nodiscard]] const std::string& field() const noexcept { return m_field; }
    /// The file name the client gave: not a safe path (strip it to a base
    /// name, or make your own, before using it on disk).
    [[nodiscard]] const std::string& filename() const noexcept { return m_filename; }
    /// The part's Content-Type as the client sent it (text/plain when it
    /// sent none, RFC 7578 §4.4).
    [[nodiscard]] const std::string& content_type() const noexcept { return m_content_type; }
    /// Bytes in the file.
    [[nodiscard]] std::uint64_t size() const noexcept { return m_size; }
    /// True while the content is held in memory (no temporary file).
    [[nodiscard]] bool in_memory() const noexcept { return !m_spool; }
    /// The temporary file holding the content, or an empty path when in memory.
    [[nodiscard]] std::filesystem::path path() const { return m_spool ? m_spool->path : std::filesystem::path{}; }

    /// The whole content. Throws std::system_error when the temporary file
    /// cannot be read.
    [[nodiscard]] std::string read() const {
        if (!m_spool) {
            return m_memory;
        }
        corio::detail::file_descriptor file;
        file.path = m_spool->path.string();
        corio::detail::open_file_descriptor(file, corio::detail::parse_open_mode("r"));
        std::string content = corio::detail::read_at(file, static_cast<std::size_t>(m_size), 0);
        if (content.size() != m_size) {
            file.fail("read (the upload was cut short)", EIO);
        }
        return content;
    }

    /// Stores the content at `destination` (replacing a file there): the
    /// temporary file is renamed when it can be (same file system), else
    /// copied; a file saved once is copied by the next save_as. Throws
    /// std::system_error naming the path.
    void save_as(const std::filesystem::path& destination) const {
        std::error_code error;
        if (m_spool) {
            if (m_spool->owned) {
                std::filesystem::rename(m_spool->path, destination, error);
                if (!error) {
                    m_spool->path = destination;
                    m_spool->owned = false;
                    return;
                }
                error.clear();
            }
            std::filesystem::copy_file(m_spool->path, destination,
                                       std::filesystem::copy_options::overwrite_existing, error);
        } else {
            try {
                corio::detail::file_descriptor file;
                file.path = destination.string();
                corio::detail::open_file_descriptor(file, corio::detail::parse_open_mode("w"));
                corio::detail::write_at(file, m_memory, 0);
            } catch (const std::system_error& failure) {
                error = failure.code();
            }
        }
        if (error) {
            throw std::system_error(error, "corio::web: cannot save upload to " + destination.string());
        }
    }

private:
    friend struct detail::form_builder;

    // A temporary file, removed when the last upload_file copy goes (unless saved).
    struct spool {
        std::filesystem::path path;
        bool owned = true;
        spool() = default;
        spool(const spool&) = delete;
        spool& operator=(const spool&) = delete;
        ~spool() {
            if (owned && !path.empty()) {
                std::error_code ignored;
                std::filesystem::remove(path, ignored);
            }
        }
    };

    std::string m_field;
    std::string m_filename;
    std::string m_content_type;
    std::uint64_t m_size = 0;
    std::string m_memory;
    std::shared_ptr<spool> m_spool;
};

/// A parsed form: fields (name/value pairs, in order, a name possibly
/// repeated) and uploaded files. Made by parse_form or by a handler taking it.
class form_data {
public:
    /// The first value of field `name`, or nullopt.
    [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const noexcept {
        for (const auto& [key, value] : m_fields) {
            if (key == name) {
                return std::string_view(value);
            }
        }
        return std::nullopt;
    }
    /// The first value of field `name`, or `fallback`.
    [[nodiscard]] std::string_view get_or(std::string_view name, std::string_view fallback) const noexcept {
        return get(name).value_or(fallback);
    }
    /// Every value of field `name`, in order.
    [[nodiscard]] std::vector<std::string_view> get_all(std::string_view name) const {
        std::vector<std::string_view> values;
        for (const auto& [key, value] : m_fields) {
            if (key == name) {
                values.emplace_back(value);
            }
        }
        return values;
    }
    /// True when a field or a file is called `name`.
    [[nodiscard]] bool contains(std::string_view name) const noexcept {
        return get(name).has_value() || file(name) != nullptr;
    }
    /// Every field, in the order sent.
    [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& fields() const noexcept { return m_fields; }
    /// The first file sent as field `name`, or null.
    [[nodiscard]] const upload_file* file(std::string_view name) const noexcept {
        for (const upload_file& f : m_files) {
            if (f.field() == name) {
                return &f;
            }
        }
        return nullptr;
    }
    /// Every file, in the order sent.
    [[nodiscard]] const std::vector<upload_file>& files() const noexcept { return m_files; }

private:
    friend struct detail::form_builder;
    std::vector<std::pair<std::string, std::string>> m_fields;
    std::vector<upload_file> m_files;
};

}  // namespace corio::web

namespace corio::web::detail {

/// Fills a form_data from parser events, enforcing form_limits (the sink of
/// parse_form's multipart parser, and where urlencoded pairs go too).
struct form_builder {
    form_data& form;
    const form_limits& limits;
    upload_file* file = nullptr;      // the file part being received, or null
    std::string* value = nullptr;     // the field part being received, or null
    std::unique_ptr<corio::detail::file_descriptor> spool_file;  // the open spool of `file`
    std::uint64_t spool_size = 0;

    form_builder(form_data& f, const form_limits& l) : form(f), limits(l) {}
    form_builder(const form_builder&) = delete;
    form_builder& operator=(const form_builder&) = delete;

    void begin(corio::detail::web_multipart::part_head&& head) {
        if (head.filename) {
            if (form.m_files.size() >= limits.max_files) {
                throw http_exception(413, "more than " + std::to_string(limits.max_files) + " files in the form");
            }
            upload_file& f = form.m_files.emplace_back();
            f.m_field = std::move(head.name);
            f.m_filename = std::move(*head.filename);
            f.m_content_type = std::move(head.content_type);
            file = &f;
        } else {
            add_field(std::move(head.name), {});
            value = &form.m_fields.back().second;
        }
    }

    void data(std::string_view bytes) {
        if (value != nullptr) {
            append_value(*value, bytes);
            return;
        }
        upload_file& f = *file;
        if (f.m_size + bytes.size() > limits.max_file_size) {
            throw http_exception(413, "file '" + f.m_filename + "' is larger than " +
                                          std::to_string(limits.max_file_size) + " bytes");
        }
        f.m_size += bytes.size();
        if (!f.m_spool && f.m_memory.size() + bytes.size() <= limits.spool_threshold) {
            f.m_memory.append(bytes);
            return;
        }
        if (!f.m_spool) {
            open_spool(f);
            write_spool(f, f.m_memory);
            f.m_memory.clear();
            f.m_memory.shrink_to_fit();
        }
        write_spool(f, bytes);
    }

    void end() {
        file = nullptr;
        value = nullptr;
        spool_file.reset();  // closes it
    }

    void add_field(std::string name, std::string field_value) {
        if (form.m_fields.size() >= limits.max_fields) {
            throw http_exception(413, "more than " + std::to_string(limits.max_fields) + " fields in the form");
        }
        if (field_value.size() > limits.max_field_size) {
            throw http_exception(413, "field '" + name + "' is longer than " +
                                          std::to_string(limits.max_field_size) + " bytes");
        }
        form.m_fields.emplace_back(std::move(name), std::move(field_value));
    }

private:
    void append_value(std::string& target, std::string_view bytes) {
        if (target.size() + bytes.size() > limits.max_field_size) {
            throw http_exception(413, "field '" + form.m_fields.back().first + "' is longer than " +
                                          std::to_string(limits.max_field_size) + " bytes");
        }
        target.append(bytes);
    }

    void open_spool(upload_file& f) {
        const std::filesystem::path dir =
            limits.directory.empty() ? std::filesystem::temp_directory_path() : limits.directory;
        spool_file = std::make_unique<corio::detail::file_descriptor>();
        try {
            corio::detail::create_temporary_file(*spool_file, dir.string(), "corio-upload-");
        } catch (const std::system_error& e) {
            throw std::system_error(e.code(), "corio::web: cannot create a temporary file in " + dir.string());
        }
        spool_size = 0;
        f.m_spool = std::make_shared<upload_file::spool>();
        f.m_spool->path = spool_file->path;
    }

    void write_spool(upload_file&, std::string_view bytes) {
        corio::detail::write_at(*spool_file, bytes, spool_size);
        spool_size += bytes.size();
    }
};

/// Feeds a form body, in pieces of any size as they arrive, to a
/// form_builder: urlencoded pairs at each '&', multipart through the
/// incremental parser.
class form_feeder {
public:
    /// A feeder for a body of `content_type`; throws http_exception 415 for
    /// a type that is no form, 400 for multipart without a boundary.
    form_feeder(std::string_view content_type, form_builder& builder) : m_builder(builder) {
        const std::string_view media = content_type.substr(0, content_type.find(';'));
        auto is = [media](std::string_view expected) {
            std::string_view m = media;
            while (!m.empty() && (m.back() == ' ' || m.back() == '\t')) {
                m.remove_suffix(1);
            }
            return corio::detail::http_grammar::iequals(m, expected);
        };
        if (is("application/x-www-form-urlencoded")) {
            return;
        }
        if (!is("multipart/form-data")) {
            throw http_exception(415,
                                 "expected a form (application/x-www-form-urlencoded or multipart/form-data), got '" +
                                     std::string(content_type) + "'");
        }
        const std::optional<std::string> boundary = corio::detail::web_multipart::boundary_of(content_type);
        if (!boundary) {
            throw http_exception(400, "multipart/form-data without a valid boundary parameter");
        }
        m_multipart.emplace(*boundary, builder, builder.limits.max_head_size);
    }

    /// Takes the next bytes of the body; throws http_exception (400
    /// malformed, 413 past a limit) or std::system_error (a temporary file).
    void feed(std::string_view bytes) {
        if (m_multipart) {
            try {
                m_multipart->feed(bytes);
            } catch (const corio::detail::web_multipart::malformed& e) {
                throw http_exception(400, std::string("malformed multipart body: ") + e.what());
            }
            return;
        }
        // An escaped byte takes three; a name is held to a part head's size.
        const std::size_t max_pair = 3 * m_builder.limits.max_field_size + m_builder.limits.max_head_size;
        while (!bytes.empty()) {
            const std::size_t amp = bytes.find('&');
            const std::string_view part = bytes.substr(0, amp);
            if (part.size() > max_pair - m_pair.size()) {
                throw http_exception(413, "a form field is longer than " +
                                              std::to_string(m_builder.limits.max_field_size) + " bytes");
            }
            m_pair.append(part);
            if (amp == std::string_view::npos) {
                return;
            }
            add_pairs();
            bytes.remove_prefix(amp + 1);
        }
    }

    /// The body has ended: throws http_exception 400 when a multipart body
    /// was cut before its close delimiter.
    void finish() {
        if (m_multipart) {
            try {
                m_multipart->finish();
            } catch (const corio::detail::web_multipart::malformed& e) {
                throw http_exception(400, std::string("malformed multipart body: ") + e.what());
            }
            return;
        }
        add_pairs();
    }

private:
    void add_pairs() {
        for (const auto& [name, value] : http::query_params(m_pair)) {
            m_builder.add_field(name, value);
        }
        m_pair.clear();
    }

    form_builder& m_builder;
    std::optional<corio::detail::web_multipart::parser<form_builder>> m_multipart;
    std::string m_pair;  // urlencoded: the pair not ended by '&' yet
};

}  // namespace corio::web::detail

namespace corio::web {

/// Parses `request`'s body as a form by its Content-Type:
/// application/x-www-form-urlencoded (`+` and %XX decoded, as a query) or
/// multipart/form-data. Throws web::http_exception: 415 for another type,
/// 400 for a malformed body (naming what is wrong), 413 past `limits`; and
/// std::system_error when a temporary file cannot be written. For a body
/// http::server streams (request::body_streamed()) use read_form.
[[nodiscard]] inline form_data parse_form(const http::request& request, const form_limits& limits) {
    form_data form;
    detail::form_builder builder(form, limits);
    detail::form_feeder feeder(request.headers.get_or("Content-Type", ""), builder);
    feeder.feed(request.body);
    feeder.finish();
    return form;
}

/// parse_form with the default form_limits.
[[nodiscard]] inline form_data parse_form(const http::request& request) { return parse_form(request, form_limits{}); }

/// Reads `request`'s form as parse_form does, but from its body as it
/// arrives when http::server streams it (request::body_streamed()): each
/// piece goes to the parser and a file past limits.spool_threshold to its
/// temporary file at once, so the body is never whole in memory. Otherwise
/// it parses request::body. Throws what parse_form throws, and what
/// http::body_reader::read_some throws (request_body_error, timeout_error).
/// `request` and `limits` must outlive the task.
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<form_data> read_form(const http::request& request,
                                                                      const form_limits& limits) {
    if (!request.body_streamed()) {
        co_return parse_form(request, limits);
    }
    form_data form;
    detail::form_builder builder(form, limits);
    detail::form_feeder feeder(request.headers.get_or("Content-Type", ""), builder);
    http::body_reader& in = request.body_stream();
    for (;;) {
        const std::string_view piece = co_await in.read_some();
        if (piece.empty()) {
            break;
        }
        feeder.feed(piece);
    }
    feeder.finish();
    co_return form;
}

/// read_form with the default form_limits.
[[nodiscard]] inline task<form_data> read_form(const http::request& request) {
    static const form_limits defaults{};
    return read_form(request, defaults);
}

}  // namespace corio::web
