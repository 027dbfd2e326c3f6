// 12_fetch_urls: fetch many URLs at once through one HTTP client session.
//
// The asyncio tutorial's central example, with aiohttp:
//
//     async def fetch_url(session, url):
//         async with session.get(url) as response:
//             return await response.text()
//
//     async def fetch_multiple_urls(urls):
//         async with aiohttp.ClientSession() as session:
//             tasks = [fetch_url(session, url) for url in urls]
//             return await asyncio.gather(*tasks)
//
// In corio the session is a corio::http::client_session: one per program (or
// per batch), shared by every request, keeping connections alive between
// them. `co_await session.get(url)` returns once the status line and headers
// arrived; `co_await response.text()` reads the body. gather runs the fetches
// concurrently and returns their results in order.
//
// With no arguments the program starts a small JSON API on 127.0.0.1 (port
// chosen by the system) serving /users/python, /users/django and
// /users/fastapi, and fetches those, so it runs without a network. With URL
// arguments (http:// or https://) it fetches those instead. `--quick` is
// accepted for the test suite (this program is fast either way).

#include <corio/corio.hpp>
#include <corio/http/client.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>

#include <fmt/core.h>

#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http = corio::http;
using namespace std::chrono_literals;

namespace {

// One fetch: the body of `url` (the session is shared, hence the reference:
// it outlives every fetch because fetch_multiple_urls awaits them all).
corio::task<std::string> fetch_url(http::client_session& session, std::string url) {
    http::client_response response = co_await session.get(std::move(url));
    co_return co_await response.text();
}

// Every fetch's outcome, in the order of `urls`: a body or the exception
// that fetch ended with, so one bad URL does not hide the others
// (asyncio.gather(*tasks, return_exceptions=True)).
corio::task<std::vector<corio::outcome<std::string>>> fetch_multiple_urls(std::vector<std::string> urls) {
    http::client_session session;
    std::vector<corio::task<std::string>> tasks;
    for (std::string& url : urls) {
        tasks.push_back(fetch_url(session, std::move(url)));
    }
    co_return co_await corio::gather_settled(std::move(tasks));
}

std::string message_of(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown error";
    }
}

// The embedded API: GET /users/{name} → a small JSON document.
corio::task<http::response> user(http::request& request) {
    const std::string name(request.path_params.at("name"));
    co_await corio::sleep(10ms);  // pretend to look it up
    co_return http::json_response(R"({"login": ")" + name + R"(", "repos": )" + std::to_string(name.size() * 7) +
                                  "}");
}

corio::task<int> run_program(std::vector<std::string> urls) {
    std::optional<http::server> server;
    if (urls.empty()) {
        http::router routes;
        routes.get("/users/{name}", user);
        server.emplace(co_await http::start_server(std::move(routes), "127.0.0.1", 0));
        const std::string base = "http://127.0.0.1:" + std::to_string(server->port());
        fmt::print("embedded API on {}\n", base);
        for (const char* name : {"python", "django", "fastapi"}) {
            urls.push_back(base + "/users/" + name);
        }
    }
    const std::vector<std::string> shown = urls;
    const auto start = std::chrono::steady_clock::now();
    const std::vector<corio::outcome<std::string>> results = co_await fetch_multiple_urls(std::move(urls));
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    std::size_t failed = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (results[i].has_value()) {
            const std::string_view body = results[i].value();
            fmt::print("{} -> {} bytes: {}\n", shown[i], body.size(),
                       body.size() > 80 ? std::string(body.substr(0, 77)) + "..." : std::string(body));
        } else {
            fmt::print("{} -> failed: {}\n", shown[i], message_of(results[i].exception()));
            ++failed;
        }
    }
    fmt::print("fetched {} of {} URLs concurrently in {:.1f} ms\n", results.size() - failed, results.size(),
               took.count());
    const int status = failed == 0 ? 0 : 1;
    if (server) {
        co_await server->shutdown(100ms);
    }
    co_return status;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> urls;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg != "--quick") {
            urls.emplace_back(arg);
        }
    }
    return corio::run(run_program(std::move(urls)));
}
