// 13_safe_fetch: a fetch that reports failures instead of raising them.
//
// The asyncio tutorial's error-handling pattern:
//
//     async def safe_fetch(session, url):
//         try:
//             timeout = aiohttp.ClientTimeout(total=10)
//             async with session.get(url, timeout=timeout) as response:
//                 return await response.text()
//         except asyncio.TimeoutError:
//             print(f"Timeout fetching {url}")
//         except aiohttp.ClientError as e:
//             print(f"Error fetching {url}: {e}")
//         return None
//
// corio raises the same families: corio::timeout_error when a limit of
// client_timeouts passes (here `total`, which covers connecting, the response
// and reading the body), corio::http::client_connection_error when the
// connection fails (refused, reset, DNS, TLS, closed early), and
// corio::http::protocol_error for a malformed response. safe_fetch returns an
// empty std::optional for each, after saying what happened.
//
// The demonstration runs against a local server with a slow endpoint (it
// answers after the timeout), a port where nothing listens, and a good URL.
// `--quick` uses a 300 ms timeout instead of 10 s.

#include <corio/corio.hpp>
#include <corio/http/client.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>

#include <fmt/core.h>

#include <chrono>
#include <optional>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http = corio::http;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

milliseconds timeout = 10s;  // 300 ms with --quick

corio::task<std::optional<std::string>> safe_fetch(http::client_session& session, std::string url) {
    http::request_options options;
    options.timeouts = http::client_timeouts{timeout};
    try {
        http::client_response response = co_await session.send("GET", url, options);
        co_return co_await response.text();
    } catch (const corio::timeout_error&) {
        fmt::print("Timeout fetching {}\n", url);
    } catch (const http::client_connection_error& e) {
        fmt::print("Error fetching {}: {}\n", url, e.what());
    } catch (const http::protocol_error& e) {
        fmt::print("Bad response from {}: {}\n", url, e.what());
    }
    co_return std::nullopt;
}

corio::task<http::response> slow(http::request&) {
    co_await corio::sleep(timeout + timeout / 5);  // longer than the client waits
    co_return http::text_response(200, "finally\n");
}

corio::task<http::response> good(http::request&) {
    co_return http::json_response(R"({"status": "ok"})");
}

corio::task<int> run_program() {
    http::router routes;
    routes.get("/slow", slow);
    routes.get("/good", good);
    http::server server = co_await http::start_server(std::move(routes), "127.0.0.1", 0);
    const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

    // A port where nothing listens: bind one, then close it.
    auto nothing = [](corio::tcp_stream) -> corio::task<void> { co_return; };
    corio::tcp_server closed = co_await corio::start_server(nothing, "127.0.0.1", 0);
    const std::string refused = "http://127.0.0.1:" + std::to_string(closed.port()) + "/";
    closed.close();

    http::client_session session;
    int failures = 0;
    const std::vector<std::string> urls{base + "/slow", refused, base + "/good"};
    for (const std::string& url : urls) {
        // Said before the wait, so a 10 s timeout does not look like a hang.
        fmt::print("fetching {} (giving up after {} ms)...\n", url, timeout.count());
        const auto start = std::chrono::steady_clock::now();
        const std::optional<std::string> body = co_await safe_fetch(session, url);
        const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
        if (body) {
            fmt::print("  {} -> {} ({:.0f} ms)\n", url, *body, took.count());
        } else {
            fmt::print("  {} -> nothing ({:.0f} ms)\n", url, took.count());
            ++failures;
        }
    }
    co_await server.shutdown(100ms);
    // The slow and the refused fetches fail, the good one succeeds.
    co_return failures == 2 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each line shows at once even when piped
    if (argc > 1 && std::string_view(argv[1]) == "--quick") {
        timeout = 300ms;
    }
    return corio::run(run_program());
}
