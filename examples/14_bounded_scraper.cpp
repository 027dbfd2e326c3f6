// 14_bounded_scraper: fetch 200 URLs with at most 10 requests in flight.
//
// The asyncio pattern for polite scraping:
//
//     sem = asyncio.Semaphore(10)
//     async def fetch(session, url):
//         async with sem:
//             async with session.get(url) as response:
//                 return await response.text()
//     connector = aiohttp.TCPConnector(limit=10)
//     async with aiohttp.ClientSession(connector=connector) as session:
//         pages = await asyncio.gather(*(fetch(session, u) for u in urls))
//
// Two bounds work together: the semaphore limits the requests in flight (the
// work the program starts), the session's `limit` the connections it opens
// (what the server sees). All 200 fetches are started at once by gather; ten
// hold a permit, the others wait in FIFO order. A progress line is redrawn as
// pages arrive.
//
// The pages come from a local server (/page/{n}, a few ms each). `--quick`
// makes each page 10 times faster.

#include <corio/corio.hpp>
#include <corio/http/client.hpp>
#include <corio/http/router.hpp>
#include <corio/http/server.hpp>

#include <fmt/core.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http = corio::http;
using namespace std::chrono_literals;
using std::chrono::microseconds;

namespace {

constexpr int url_count = 200;
constexpr int max_in_flight = 10;

microseconds page_delay = 10ms;  // 1 ms with --quick

// Progress: on a terminal one line redrawn with '\r' at most every 50 ms; to
// a pipe or file a plain line at each tenth of the pages (no '\r' noise).
struct progress {
    int done = 0;
    int failed = 0;
    int in_flight = 0;
    int max_in_flight = 0;
    std::size_t bytes = 0;
    bool terminal = ::isatty(STDOUT_FILENO) != 0;
    std::chrono::steady_clock::time_point last_draw{};
    int last_tenth = 0;
    int peak_since_line = 0;  // the most in flight since the last plain line

    // Called whenever a request starts or ends, so `in_flight` is the count
    // at that moment, not a sample taken after each finished page.
    void update(bool force = false) {
        peak_since_line = std::max(peak_since_line, in_flight);
        if (terminal) {
            const auto now = std::chrono::steady_clock::now();
            if (!force && now - last_draw < std::chrono::milliseconds(50)) {
                return;
            }
            last_draw = now;
            constexpr int width = 40;
            const int filled = done * width / url_count;
            fmt::print("\r[{}{}] {:3}/{} pages, {:2} in flight", std::string(static_cast<std::size_t>(filled), '#'),
                       std::string(static_cast<std::size_t>(width - filled), ' '), done, url_count, in_flight);
            std::fflush(stdout);
        } else if (const int tenth = done * 10 / url_count; tenth > last_tenth) {
            last_tenth = tenth;
            fmt::print("{:3}/{} pages, up to {} in flight since the last line\n", done, url_count,
                       peak_since_line);
            peak_since_line = in_flight;
        }
    }
};

corio::task<std::size_t> fetch(http::client_session& session, corio::semaphore& sem, progress& p, std::string url) {
    auto permit = co_await sem.acquire();  // async with sem:
    ++p.in_flight;
    p.max_in_flight = std::max(p.max_in_flight, p.in_flight);
    p.update();
    std::size_t size = 0;
    try {
        http::client_response response = co_await session.get(std::move(url));
        const std::string page = co_await response.text();
        size = page.size();
    } catch (const std::exception&) {
        ++p.failed;
    }
    --p.in_flight;
    ++p.done;
    p.bytes += size;
    p.update();
    co_return size;
}

corio::task<http::response> page(http::request& request) {
    const std::string n(request.path_params.at("n"));
    co_await corio::sleep(page_delay);
    co_return http::text_response(200, "<html><body>page " + n + "</body></html>\n", "text/html");
}

corio::task<int> run_program() {
    http::router routes;
    routes.get("/page/{n}", page);
    http::server server = co_await http::start_server(std::move(routes), "127.0.0.1", 0);
    const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

    http::session_options options;
    options.limit = max_in_flight;  // TCPConnector(limit=10)
    http::client_session session(options);
    corio::semaphore sem(max_in_flight);
    progress p;

    const auto start = std::chrono::steady_clock::now();
    std::vector<corio::task<std::size_t>> tasks;
    for (int i = 0; i < url_count; ++i) {
        tasks.push_back(fetch(session, sem, p, base + "/page/" + std::to_string(i)));
    }
    co_await corio::gather(std::move(tasks));
    p.update(true);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    fmt::print("{}fetched {} pages ({} bytes, {} failed) in {:.2f} s; at most {} in flight over {} connections\n",
               p.terminal ? "\n" : "", p.done - p.failed, p.bytes, p.failed, took.count(), p.max_in_flight,
               session.connections_opened());
    co_await server.shutdown(100ms);
    co_return (p.failed == 0 && p.max_in_flight <= max_in_flight &&
               session.connections_opened() <= static_cast<std::uint64_t>(max_in_flight))
                  ? 0
                  : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "--quick") {
        page_delay = 1ms;
    }
    return corio::run(run_program());
}
