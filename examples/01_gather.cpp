// 01_gather: run three coroutines concurrently with corio::gather.
// The C++ twin of the asyncio tutorial's first program. `--quick` shrinks the
// simulated 2 s network delay to 50 ms.

#include <corio/corio.hpp>

#include <fmt/ranges.h>

#include <chrono>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

std::chrono::milliseconds network_delay = 2s;

// async def fetch_data(url):
corio::task<std::string> fetch_data(std::string url) {
    co_await corio::sleep(network_delay);  // await asyncio.sleep(2)  # Simulate network delay
    co_return "Data from " + url;          // return f"Data from {url}"
}

// async def main():
corio::task<int> main_task() {
    const auto start = std::chrono::steady_clock::now();

    // Starts all three, then waits for all three; the result is a std::tuple.
    // results = await asyncio.gather(fetch_data(...), fetch_data(...), fetch_data(...))
    auto results = co_await corio::gather(fetch_data("api.example.com/users"),
                                          fetch_data("api.example.com/posts"),
                                          fetch_data("api.example.com/comments"));

    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    const std::chrono::duration<double> delay = network_delay;
    fmt::print("{}\n", results);  // print(results): in argument order
    fmt::print("3 fetches of {:.2f} s each took {:.2f} s in total, not {:.2f} s\n", delay.count(),
               elapsed.count(), 3 * delay.count());

    // One after another the fetches would need 3 delays; concurrently, about one.
    const auto& [users, posts, comments] = results;
    const bool ok = elapsed < 2 * delay && users.ends_with("/users") && posts.ends_with("/posts") &&
                    comments.ends_with("/comments");
    if (!ok) {
        fmt::print(stderr, "FAILED: expected the 3 results in order after about one delay\n");
    }
    co_return ok ? 0 : 1;
}

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "--quick") {
        network_delay = 50ms;
    }
    return corio::run(main_task());  // asyncio.run(main())
}
