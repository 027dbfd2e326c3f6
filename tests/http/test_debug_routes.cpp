// Tests of corio/http/debug_routes.hpp: /debug/tasks (text and JSON) and
// /metrics served from the app's own HTTP server, fetched by corio's client
// and by curl.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/debug.hpp>
#include <corio/http/client.hpp>
#include <corio/http/debug_routes.hpp>
#include <corio/http/server.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/task_group.hpp>
#include <corio/thread_pool.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using corio_test::run_with_watchdog;
namespace http = corio::http;

corio::task<void> idle_worker() {
    co_await corio::sleep(10s);
}

corio::task<void> supervise_poller() {
    co_await corio::with_task_group([](corio::task_group& group) -> corio::task<void> {
        group.spawn(idle_worker(), "poller");
        co_return;
    });
}

http::router routes_with_debug() {
    http::router routes;
    routes.get("/hello", [](http::request&) -> corio::task<http::response> {
        co_return http::text_response("hello\n");
    });
    return http::debug_routes(routes);
}

}  // namespace

TEST_CASE("/debug/tasks serves the task tree as text and as JSON", "[debug_routes]") {
    auto body = []() -> corio::task<void> {
        auto worker = corio::create_task(idle_worker(), "idle \"worker\"");
        auto supervisor = corio::create_task(supervise_poller(), "supervisor");
        auto server = co_await http::start_server(routes_with_debug(), "127.0.0.1", 0);
        const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
        http::client_session session;

        http::client_response text = co_await session.get(base + "/debug/tasks");
        CHECK(text.status() == 200);
        CHECK_THAT(std::string(text.headers().get_or("Content-Type", "")), Contains("text/plain"));
        const std::string tree = co_await text.text();
        CHECK_THAT(tree, Contains("    idle \"worker\" (pending, awaiting idle_worker at "));
        CHECK_THAT(tree, Contains("    accept loop on 127.0.0.1:"));
        CHECK_THAT(tree,
                   Contains("        connection from 127.0.0.1:"));  // the request's own connection
        CHECK_THAT(tree, Contains("    supervisor (pending"));
        CHECK_THAT(tree, Contains("        task_group child #0 'poller': "));

        http::client_response json = co_await session.get(base + "/debug/tasks?format=json");
        CHECK(json.status() == 200);
        CHECK(std::string(json.headers().get_or("Content-Type", "")) == "application/json");
        const std::string array = co_await json.text();
        CHECK(array.front() == '[');
        CHECK_THAT(array, Contains(R"("name":"idle \"worker\"")"));
        CHECK_THAT(array, Contains(R"("id":1,"parent_id":null,)"));
        CHECK_THAT(array, Contains(R"("state":"pending")"));
        CHECK_THAT(array, Contains(R"("id":2,"parent_id":1,"name":"idle \"worker\"")"));
        CHECK_THAT(array, Contains(R"("strands":[]})"));
        CHECK_THAT(array,
                   Contains(R"("strands":[{"kind":"task_group","index":0,"name":"poller",)"));
        CHECK_THAT(array, Contains(R"("depth":0}]})"));

        worker.cancel();
        supervisor.cancel();
        co_await session.close();
        co_await server.shutdown(1s);
    };
    corio::event_loop loop;
    loop.set_debug(true);  // from the start, so every task's parent is known
    loop.run_until_complete(corio_test::detail::with_timeout(body(), std::chrono::seconds(10)));
}

TEST_CASE("/metrics serves the loop's counters in Prometheus format", "[debug_routes]") {
    auto body = []() -> corio::task<void> {
        auto server = co_await http::start_server(routes_with_debug(), "127.0.0.1", 0);
        const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
        http::client_session session;
        for (int i = 0; i < 3; ++i) {
            http::client_response hello = co_await session.get(base + "/hello");
            const std::string greeting = co_await hello.text();
            CHECK(greeting == "hello\n");
        }
        const std::uint64_t created_before = corio::get_running_loop().metrics().tasks_created;
        http::client_response metrics = co_await session.get(base + "/metrics");
        CHECK(metrics.status() == 200);
        CHECK_THAT(std::string(metrics.headers().get_or("Content-Type", "")),
                   Contains("version=0.0.4"));
        const std::string exposition = co_await metrics.text();
        CHECK_THAT(exposition, Contains("# TYPE corio_tasks_created_total counter\n"));
        // The session keeps one connection: no task was created for this request.
        CHECK_THAT(exposition, Contains("\ncorio_tasks_created_total " +
                                        std::to_string(created_before) + "\n"));
        CHECK_THAT(exposition, Contains("\ncorio_steps_total "));
        co_await session.close();
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}

TEST_CASE("curl fetches /debug/tasks and /metrics", "[debug_routes]") {
    if (std::system("command -v curl >/dev/null 2>&1") != 0) {
        corio_test::skip_test("curl is not installed (apt-get install curl)");
        return;
    }
    auto body = []() -> corio::task<void> {
        auto worker = corio::create_task(idle_worker(), "curl-visible");
        auto server = co_await http::start_server(routes_with_debug(), "127.0.0.1", 0);
        const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
        const corio_test::command_result tree =
            co_await corio_test::run_command("curl -sS --max-time 10 " + base + "/debug/tasks");
        CHECK(tree.status == 0);
        CHECK_THAT(tree.output, Contains("curl-visible (pending"));
        const corio_test::command_result metrics =
            co_await corio_test::run_command("curl -sS --max-time 10 " + base + "/metrics");
        CHECK(metrics.status == 0);
        CHECK_THAT(metrics.output, Contains("\ncorio_tasks_pending "));
        worker.cancel();
        co_await server.shutdown(1s);
    };
    run_with_watchdog(body());
}
