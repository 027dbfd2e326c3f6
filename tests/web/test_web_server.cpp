// Tests of corio::web behind a real http::server (corio's client over
// loopback) and of its middleware (corio/web/middleware.hpp).
#include <corio/web.hpp>
#include <corio/web/json_implementation.hpp>

#include <corio/http/client.hpp>

#include "catch.hpp"
#include "test_support.hpp"

#include <boost/describe.hpp>
#include <boost/json.hpp>

#include <string>

namespace http = corio::http;
namespace web = corio::web;
namespace json = boost::json;
using corio_test::run_with_watchdog;

namespace {

struct greeting {
    std::string message;
};
BOOST_DESCRIBE_STRUCT(greeting, (), (message))

web::app greeting_app() {
    web::app app;
    app.get("/json", [] { return greeting{"Hello, World!"}; });
    app.post("/echo/{times}", [](int times, greeting body) {
        std::string repeated;
        for (int i = 0; i < times; ++i) {
            repeated += body.message;
        }
        return greeting{repeated};
    });
    return app;
}

}  // namespace

TEST_CASE("an app served over a socket answers corio's client") {
    web::app app = greeting_app();
    run_with_watchdog([&]() -> corio::task<void> {
        http::server server = co_await app.serve("127.0.0.1", 0);
        const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
        http::client_session session;
        http::client_response hello = co_await session.get(base + "/json");
        const std::string hello_body = co_await hello.text();
        CHECK(hello.status() == 200);
        CHECK(std::string(hello.headers().get_or("Content-Type", "")) == "application/json");
        CHECK(hello_body == R"({"message":"Hello, World!"})");

        http::client_response echoed = co_await session.post(base + "/echo/3", R"({"message":"ab"})",
                                                             "application/json");
        const std::string echoed_body = co_await echoed.text();
        CHECK(echoed.status() == 200);
        CHECK(json::parse(echoed_body) == json::parse(R"({"message":"ababab"})"));

        http::client_response invalid = co_await session.post(base + "/echo/x", R"({"msg":1})", "application/json");
        const std::string invalid_body = co_await invalid.text();
        CHECK(invalid.status() == 422);
        CHECK(json::parse(invalid_body).at("detail").as_array().size() == 2);
        co_await server.shutdown(std::chrono::seconds(1));
    }());
}
