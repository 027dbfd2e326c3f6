#pragma once

// corio::web errors that become responses: http_exception (any status with a
// detail) and validation_error (422 with FastAPI's list of issues).

#include <corio/http/message.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace corio::web {

/// Thrown by a handler or middleware to answer with `status` and a JSON body
/// {"detail": detail} (FastAPI's HTTPException), plus `headers` (e.g.
/// WWW-Authenticate with a 401).
class http_exception : public std::runtime_error {
public:
    /// An answer with `status`, {"detail": detail} and the extra `headers`.
    http_exception(int status, std::string detail, http::headers headers = {})
        : std::runtime_error("corio::web::http_exception " + std::to_string(status) + ": " + detail),
          m_status(status),
          m_detail(std::move(detail)),
          m_headers(std::move(headers)) {}

    /// The HTTP status to answer with.
    [[nodiscard]] int status() const noexcept { return m_status; }
    [[nodiscard]] const std::string& detail() const noexcept { return m_detail; }
    /// Fields added to the response (e.g. WWW-Authenticate).
    [[nodiscard]] const http::headers& headers() const noexcept { return m_headers; }

private:
    int m_status;
    std::string m_detail;
    http::headers m_headers;
};

/// One problem with the request's data: where (`loc`, e.g. ["body", "age"],
/// ["path", "id"], ["query", "tags", 1]), what (`msg`, for people) and its
/// kind (`type`, for programs: "missing", "int_parsing", "string_type", ...).
struct validation_issue {
    /// Where: the source ("body", "path", "query", "header", "cookie") then names or indexes.
    boost::json::array loc;
    /// What is wrong, for people ("Field required").
    std::string msg;
    /// The kind of problem, for programs ("missing", "int_parsing", ...).
    std::string type;
};

/// The request's data did not convert to what the handler takes: the app
/// answers 422 with {"detail": [{"loc": [...], "msg": "...", "type": "..."}, ...]},
/// every issue found (not only the first), as FastAPI does.
class validation_error : public std::runtime_error {
public:
    /// Every issue found; what() summarizes them.
    explicit validation_error(std::vector<validation_issue> issues)
        : std::runtime_error(summary(issues)), m_issues(std::move(issues)) {}

    /// Every issue, in the order found.
    [[nodiscard]] const std::vector<validation_issue>& issues() const noexcept { return m_issues; }

    /// The issues as FastAPI's "detail" array.
    [[nodiscard]] boost::json::array to_json() const {
        boost::json::array detail;
        for (const validation_issue& issue : m_issues) {
            boost::json::object item;
            item["loc"] = issue.loc;
            item["msg"] = issue.msg;
            item["type"] = issue.type;
            detail.emplace_back(std::move(item));
        }
        return detail;
    }

private:
    static std::string summary(const std::vector<validation_issue>& issues) {
        std::string text = "corio::web::validation_error: " + std::to_string(issues.size()) + " issue(s)";
        if (!issues.empty()) {
            text += ", first: " + issues.front().msg + " (" + issues.front().type + ")";
        }
        return text;
    }

    std::vector<validation_issue> m_issues;
};

}  // namespace corio::web
