// 21_fastapi_style: FastAPI's tutorial shape in C++ with corio::web — a CRUD
// API for users and items kept in memory, typed JSON bodies (validation
// errors come back as 422 naming the field), path and query parameters,
// logging and CORS middleware, interactive docs at /docs, and a Server-Sent
// Events stream (GET /countdown?start=3).
//
//   21_fastapi_style [--port N] [--workers N]  serve on 127.0.0.1:N (default 8000) until Ctrl-C
//   21_fastapi_style --quick                   serve on a free port, call it a few times, exit
//
// Try: curl -X POST localhost:8000/users -d '{"name":"Ada","email":"ada@example.com"}'
//      curl localhost:8000/users/1        curl 'localhost:8000/items?limit=5&tag=tools'
//      curl -N 'localhost:8000/countdown?start=5'      open http://localhost:8000/docs

#include <corio/web.hpp>
#include <corio/web/json_implementation.hpp>  // Boost.JSON's compiled part: in one .cpp of the program

#include <corio/http/client.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>

#include <boost/describe.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace http = corio::http;
namespace web = corio::web;

namespace {

enum class category { books, tools, food };
BOOST_DESCRIBE_ENUM(category, books, tools, food)

struct user_in {
    std::string name;
    std::optional<std::string> email;
};
BOOST_DESCRIBE_STRUCT(user_in, (), (name, email))

struct user {
    int id = 0;
    std::string name;
    std::optional<std::string> email;
};
BOOST_DESCRIBE_STRUCT(user, (), (id, name, email))

struct item_in {
    std::string title;
    double price = 0;
    category kind = category::books;
    std::vector<std::string> tags;
    std::optional<std::string> description;
};
BOOST_DESCRIBE_STRUCT(item_in, (), (title, price, kind, tags, description))

struct item {
    int id = 0;
    int owner_id = 0;
    std::string title;
    double price = 0;
    category kind = category::books;
    std::vector<std::string> tags;
    std::optional<std::string> description;
};
BOOST_DESCRIBE_STRUCT(item, (), (id, owner_id, title, price, kind, tags, description))

// The "database", shared by every handler (and every worker loop: hence the mutex).
struct database {
    std::mutex lock;
    std::map<int, user> users;
    std::map<int, item> items;
    int next_user = 1;
    int next_item = 1;
};

// One event per 100 ms from `start` down to 1 (a client that leaves cancels it).
corio::async_generator<web::sse_event> countdown(int start) {
    for (int n = start; n > 0; --n) {
        web::sse_event e{.data = std::to_string(n), .event = "count"};  // named: see corio/web/event_stream.hpp
        co_yield std::move(e);
        co_await corio::sleep(std::chrono::milliseconds(100));
    }
}

web::app make_app(database& db, bool log_requests) {
    web::app app;
    app.provide(db);
    if (log_requests) {
        app.use(web::request_logger());
    }
    app.use(web::cors({.allow_origins = {"http://localhost:3000"}}));

    app.post(
        "/users",
        [](user_in body, database& db) {
            const std::lock_guard<std::mutex> guard(db.lock);
            user created{db.next_user++, body.name, body.email};
            db.users[created.id] = created;
            return created;
        },
        {.status_code = 201, .summary = "Create a user", .tags = {"users"}});
    app.get(
        "/users",
        [](web::query<int, "skip", 0> skip, web::query<int, "limit", 100> limit, database& db) {
            const std::lock_guard<std::mutex> guard(db.lock);
            std::vector<user> page;
            int index = 0;
            for (const auto& [id, u] : db.users) {
                if (index++ >= *skip && static_cast<int>(page.size()) < *limit) {
                    page.push_back(u);
                }
            }
            return page;
        },
        {.summary = "List users", .tags = {"users"}});
    app.get(
        "/users/{user_id}",
        [](int user_id, database& db) {
            const std::lock_guard<std::mutex> guard(db.lock);
            const auto found = db.users.find(user_id);
            if (found == db.users.end()) {
                throw web::http_exception(404, "User not found");
            }
            return found->second;
        },
        {.summary = "Read a user", .tags = {"users"}});
    app.del(
        "/users/{user_id}",
        [](int user_id, database& db) {
            const std::lock_guard<std::mutex> guard(db.lock);
            if (db.users.erase(user_id) == 0) {
                throw web::http_exception(404, "User not found");
            }
        },
        {.summary = "Delete a user", .tags = {"users"}});

    app.post(
        "/users/{user_id}/items",
        [](int user_id, item_in body, database& db) {
            const std::lock_guard<std::mutex> guard(db.lock);
            if (!db.users.contains(user_id)) {
                throw web::http_exception(404, "User not found");
            }
            item created{db.next_item++, user_id, body.title, body.price, body.kind, body.tags, body.description};
            db.items[created.id] = created;
            return created;
        },
        {.status_code = 201, .summary = "Create an item for a user", .tags = {"items"}});
    app.get(
        "/items",
        [](web::query<std::optional<std::string>, "tag"> tag, web::query<std::optional<category>, "kind"> kind,
           web::query<int, "limit", 10> limit, database& db) {
            const std::lock_guard<std::mutex> guard(db.lock);
            std::vector<item> found;
            for (const auto& [id, it] : db.items) {
                const bool tag_ok = !*tag || std::find(it.tags.begin(), it.tags.end(), **tag) != it.tags.end();
                const bool kind_ok = !*kind || it.kind == **kind;
                if (tag_ok && kind_ok && static_cast<int>(found.size()) < *limit) {
                    found.push_back(it);
                }
            }
            return found;
        },
        {.summary = "Search items", .tags = {"items"}});
    app.put(
        "/items/{item_id}",
        [](int item_id, item_in body, database& db) {
            const std::lock_guard<std::mutex> guard(db.lock);
            const auto found = db.items.find(item_id);
            if (found == db.items.end()) {
                throw web::http_exception(404, "Item not found");
            }
            found->second = item{item_id, found->second.owner_id, body.title, body.price, body.kind, body.tags,
                                 body.description};
            return found->second;
        },
        {.summary = "Replace an item", .tags = {"items"}});
    app.get(
        "/countdown", [](web::query<int, "start", 3> start) { return web::sse_response(countdown(*start)); },
        {.summary = "Count down as Server-Sent Events", .tags = {"events"}});
    app.enable_docs("corio::web FastAPI-style example", "1.0.0");
    return app;
}

// --quick: the API answers a few requests over loopback, as a client would see them.
corio::task<int> quick_tour(web::app& app) {
    http::server server = co_await app.serve("127.0.0.1", 0);
    const std::string base = fmt::format("http://127.0.0.1:{}", server.port());
    http::client_session session;
    int failures = 0;
    auto show = [&](std::string_view what, int status, const std::string& body, int expected) {
        fmt::print("{:<40} {} {}\n", what, status, body.size() > 160 ? body.substr(0, 160) + "..." : body);
        failures += status == expected ? 0 : 1;
    };
    {
        http::client_response r = co_await session.post(base + "/users", R"({"name":"Ada","email":"ada@example.com"})",
                                                        "application/json");
        show("POST /users", r.status(), co_await r.text(), 201);
    }
    {
        http::client_response r = co_await session.post(base + "/users", R"({"email":42})", "application/json");
        show("POST /users (invalid)", r.status(), co_await r.text(), 422);
    }
    {
        http::client_response r = co_await session.post(
            base + "/users/1/items", R"({"title":"Hammer","price":9.5,"kind":"tools","tags":["tools"]})",
            "application/json");
        show("POST /users/1/items", r.status(), co_await r.text(), 201);
    }
    {
        http::client_response r = co_await session.get(base + "/items?tag=tools&limit=5");
        show("GET /items?tag=tools&limit=5", r.status(), co_await r.text(), 200);
    }
    {
        http::client_response r = co_await session.get(base + "/users/abc");
        show("GET /users/abc", r.status(), co_await r.text(), 422);
    }
    {
        http::client_response r = co_await session.get(base + "/users/7");
        show("GET /users/7", r.status(), co_await r.text(), 404);
    }
    {
        http::client_response r = co_await session.get(base + "/countdown?start=3");
        const std::string events = co_await r.text();
        const bool whole = events == "event: count\ndata: 3\n\nevent: count\ndata: 2\n\nevent: count\ndata: 1\n\n";
        show("GET /countdown?start=3 (SSE)", whole ? r.status() : 0,
             whole ? std::string("3 events: count 3, 2, 1") : events, 200);
    }
    {
        http::client_response r = co_await session.get(base + "/openapi.json");
        const std::string spec = co_await r.text();
        show("GET /openapi.json", r.status(), fmt::format("({} bytes)", spec.size()), 200);
    }
    co_await server.shutdown(std::chrono::seconds(1));
    co_return failures;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    bool quick = false;
    unsigned port = 8000;
    unsigned workers = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--quick") {
            quick = true;
        } else if (arg == "--port" && i + 1 < argc) {
            port = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        } else if (arg == "--workers" && i + 1 < argc) {
            workers = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        } else {
            std::fprintf(stderr, "usage: %s [--port N] [--workers N] | --quick\n", argv[0]);
            return arg == "--help" ? 0 : 2;
        }
    }
    database db;
    web::app app = make_app(db, !quick);
    if (quick) {
        const int failures = corio::run(quick_tour(app));
        return failures == 0 ? 0 : 1;
    }
    app.run("127.0.0.1", static_cast<std::uint16_t>(port),
            {.workers = workers, .on_ready = [](std::uint16_t p) {
                 fmt::print("serving on http://127.0.0.1:{} (docs at /docs); Ctrl-C stops\n", p);
             }});
    return 0;
}
