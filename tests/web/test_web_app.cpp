// Tests of corio/web/app.hpp, json.hpp, params.hpp and test_client.hpp
// through the in-process test client: typed bodies both ways, 422 issues
// naming the field, path/query/header/cookie parameters, state, exceptions
// (mapped alike with and without global middleware), the direct JSON writer.
#include <corio/web.hpp>
#include <corio/web/json_implementation.hpp>

#include <corio/sleep.hpp>

#include "catch.hpp"

#include <boost/describe.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace http = corio::http;
namespace web = corio::web;
namespace json = boost::json;

namespace users_api {

enum class role { admin, member, guest };
BOOST_DESCRIBE_ENUM(role, admin, member, guest)

struct address {
    std::string city;
    std::optional<std::string> zip;
};
BOOST_DESCRIBE_STRUCT(address, (), (city, zip))

struct create_user {
    std::string name;
    int age = 0;
    std::optional<std::string> email;
    role kind = role::member;
    std::vector<std::string> tags;
    std::map<std::string, int> scores;
    std::optional<address> home;
};
BOOST_DESCRIBE_STRUCT(create_user, (), (name, age, email, kind, tags, scores, home))

struct user {
    int id = 0;
    std::string name;
    int age = 0;
    std::optional<std::string> email;
    role kind = role::member;
    std::vector<std::string> tags;
    std::map<std::string, int> scores;
    std::optional<address> home;
};
BOOST_DESCRIBE_STRUCT(user, (), (id, name, age, email, kind, tags, scores, home))

struct search_filter {
    std::string q;
    std::optional<int> limit;
    std::vector<std::string> tag;
    bool exact = false;
};
BOOST_DESCRIBE_STRUCT(search_filter, (), (q, limit, tag, exact))

struct user_store {
    std::map<int, user> users;
    int next_id = 1;
};

struct teapot_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

web::app make_app(user_store& store) {
    web::app app;
    app.provide(store);
    app.post(
        "/users",
        [](create_user body, user_store& db) -> corio::task<user> {
            co_await corio::sleep(std::chrono::milliseconds(0));
            user u{db.next_id++, body.name, body.age, body.email, body.kind, body.tags, body.scores, body.home};
            db.users[u.id] = u;
            co_return u;
        },
        {.status_code = 201});
    app.get("/users/{id}", [](int id, user_store& db) -> corio::task<user> {
        const auto found = db.users.find(id);
        if (found == db.users.end()) {
            throw web::http_exception(404, "User not found");
        }
        co_return found->second;
    });
    app.del("/users/{id}", [](web::path<int, "id"> id, user_store& db) -> corio::task<void> {
        if (db.users.erase(*id) == 0) {
            throw web::http_exception(404, "User not found");
        }
        co_return;
    });
    app.get("/users", [](web::query<int, "limit", 10> limit, web::query<std::optional<role>, "kind"> kind,
                         const user_store& db) {
        std::vector<user> result;
        for (const auto& [id, u] : db.users) {
            if (static_cast<int>(result.size()) < *limit && (!*kind || u.kind == **kind)) {
                result.push_back(u);
            }
        }
        return result;
    });
    app.get("/search", [](web::query_model<search_filter> filter) { return *filter; });
    app.get("/tags", [](web::query<std::vector<int>, "id"> ids) { return *ids; });
    app.get("/whoami", [](web::header<std::string, "X-User"> name, web::cookie<std::string, "session", web::fixed_string{"none"}> session,
                          web::cookie<std::optional<int>, "visits"> visits) {
        json::object o;
        o["user"] = *name;
        o["session"] = *session;
        o["visits"] = visits->has_value() ? json::value(**visits) : json::value(nullptr);
        return json::value(o);
    });
    app.get("/files/{dir}/{name}", [](std::string dir, std::string name, http::request& request) {
        return http::text_response(dir + "|" + name + "|" + std::string(request.query()));
    });
    app.post("/raw", [](web::body<std::vector<double>> numbers) {
        double sum = 0;
        for (double n : *numbers) {
            sum += n;
        }
        return sum;
    });
    app.get("/boom", []() -> corio::task<int> {
        throw std::runtime_error("boom");
        co_return 0;
    });
    app.get("/teapot", []() -> int { throw teapot_error("short and stout"); });
    app.get("/auth", []() -> int {
        throw web::http_exception(401, "Not authenticated", {{"WWW-Authenticate", "Bearer"}});
    });
    app.exception_handler<teapot_error>([](http::request&, const teapot_error& e) {
        return web::detail_response(418, e.what());
    });
    return app;
}

std::string first_loc(const json::value& body) {
    std::string loc;
    for (const json::value& part : body.at("detail").at(0).at("loc").as_array()) {
        loc += "/";
        loc += part.is_string() ? std::string(part.get_string()) : std::to_string(part.to_number<long long>());
    }
    return loc;
}

}  // namespace users_api

using namespace users_api;

TEST_CASE("a described body is parsed and the described result serialized as JSON") {
    user_store store;
    web::test_client client(make_app(store));
    const web::test_response created = client.post(
        "/users",
        R"({"name":"Ada","age":36,"kind":"admin","tags":["math"],"scores":{"chess":3},"home":{"city":"London"}})");
    REQUIRE(created.status == 201);
    CHECK(created.header("Content-Type") == "application/json");
    const json::value body = created.json();
    CHECK(body.at("id").as_int64() == 1);
    CHECK(std::string(body.at("name").as_string()) == "Ada");
    CHECK(std::string(body.at("kind").as_string()) == "admin");
    CHECK(body.at("email").is_null());
    CHECK(std::string(body.at("tags").at(0).as_string()) == "math");
    CHECK(body.at("scores").at("chess").as_int64() == 3);
    CHECK(std::string(body.at("home").at("city").as_string()) == "London");
    CHECK(body.at("home").at("zip").is_null());
    REQUIRE(store.users.size() == 1);
    CHECK(store.users.at(1).kind == role::admin);

    const web::test_response fetched = client.get("/users/1");
    CHECK(fetched.status == 200);
    CHECK(fetched.json() == body);
}

TEST_CASE("a body that does not convert is a 422 naming every bad field") {
    user_store store;
    web::test_client client(make_app(store));
    const web::test_response missing = client.post("/users", R"({"age":"old","kind":"boss","tags":["a",2]})");
    REQUIRE(missing.status == 422);
    const json::value missing_body = missing.json();
    const json::array& detail = missing_body.at("detail").as_array();
    std::vector<std::string> seen;
    for (const json::value& issue : detail) {
        std::string loc;
        for (const json::value& part : issue.at("loc").as_array()) {
            loc += "/";
            loc += part.is_string() ? std::string(part.get_string()) : std::to_string(part.to_number<long long>());
        }
        seen.push_back(loc + ":" + std::string(issue.at("type").as_string()));
    }
    const std::vector<std::string> expected{"/body/name:missing", "/body/age:int_type", "/body/kind:enum",
                                            "/body/tags/1:string_type", "/body/scores:missing"};
    CHECK(seen == expected);
    CHECK(std::string(detail.at(2).at("msg").as_string()) == "Input should be 'admin', 'member' or 'guest'");
    CHECK(store.users.empty());

    const web::test_response malformed = client.post("/users", R"({"name": )");
    REQUIRE(malformed.status == 422);
    CHECK(std::string(malformed.json().at("detail").at(0).at("type").as_string()) == "json_invalid");

    const web::test_response wrong_shape = client.post("/users", "[1,2]");
    REQUIRE(wrong_shape.status == 422);
    CHECK(first_loc(wrong_shape.json()) == "/body");

    const web::test_response nested = client.post(
        "/users", R"({"name":"x","age":1,"kind":"guest","tags":[],"scores":{"a":"b"},"home":{"zip":"1"}})");
    REQUIRE(nested.status == 422);
    CHECK(nested.json().at("detail").as_array().size() == 2);
    CHECK(first_loc(nested.json()) == "/body/scores/a");
    CHECK(std::string(nested.json().at("detail").at(1).at("loc").at(2).as_string()) == "city");

    const web::test_response too_big = client.post("/users", R"({"name":"x","age":99999999999,"tags":[],"scores":{}})");
    REQUIRE(too_big.status == 422);
    CHECK(std::string(too_big.json().at("detail").at(0).at("type").as_string()) == "int_range");
}

TEST_CASE("typed path parameters convert by type and a non-number is a 422") {
    user_store store;
    store.users[7] = user{7, "Grace", 85, std::nullopt, role::guest, {}, {}, std::nullopt};
    web::test_client client(make_app(store));
    CHECK(client.get("/users/7").json().at("name").as_string() == "Grace");
    CHECK(client.get("/users/8").status == 404);
    CHECK(client.get("/users/8").json().at("detail").as_string() == "User not found");
    const web::test_response bad = client.get("/users/seven");
    REQUIRE(bad.status == 422);
    CHECK(first_loc(bad.json()) == "/path/id");
    CHECK(bad.json().at("detail").at(0).at("type").as_string() == "int_parsing");
    CHECK(client.get("/users/7x").status == 422);
    CHECK(client.get("/files/a%20b/c.txt?x=1").body == "a b|c.txt|x=1");

    const web::test_response deleted = client.del("/users/7");
    CHECK(deleted.status == 204);
    CHECK(deleted.body.empty());
    CHECK(store.users.empty());
    CHECK(client.del("/users/7").status == 404);
    CHECK(client.del("/users/x").status == 422);
}

TEST_CASE("query parameters by name take defaults, optionals, lists and enums") {
    user_store store;
    for (int i = 1; i <= 15; ++i) {
        store.users[i] = user{i, "u" + std::to_string(i), i, std::nullopt, i % 3 == 0 ? role::admin : role::member,
                              {}, {}, std::nullopt};
    }
    web::test_client client(make_app(store));
    CHECK(client.get("/users").json().as_array().size() == 10);
    CHECK(client.get("/users?limit=3").json().as_array().size() == 3);
    CHECK(client.get("/users?kind=admin").json().as_array().size() == 5);
    const web::test_response bad_limit = client.get("/users?limit=ten");
    REQUIRE(bad_limit.status == 422);
    CHECK(first_loc(bad_limit.json()) == "/query/limit");
    const web::test_response bad_kind = client.get("/users?kind=root");
    REQUIRE(bad_kind.status == 422);
    CHECK(first_loc(bad_kind.json()) == "/query/kind");

    CHECK(client.get("/tags?id=1&id=2&id=3").json() == json::parse("[1,2,3]"));
    CHECK(client.get("/tags").json() == json::parse("[]"));
    const web::test_response bad_tag = client.get("/tags?id=1&id=x");
    REQUIRE(bad_tag.status == 422);
    CHECK(first_loc(bad_tag.json()) == "/query/id/1");
}

TEST_CASE("a described struct takes the whole query") {
    user_store store;
    web::test_client client(make_app(store));
    const json::value found = client.get("/search?q=hello+world&tag=a&tag=b&exact=yes").json();
    CHECK(found.at("q").as_string() == "hello world");
    CHECK(found.at("limit").is_null());
    CHECK(found.at("tag") == json::parse(R"(["a","b"])"));
    CHECK(found.at("exact").as_bool());
    const web::test_response missing = client.get("/search?limit=x");
    REQUIRE(missing.status == 422);
    CHECK(missing.json().at("detail").as_array().size() == 3);  // q missing, limit bad, exact missing
    CHECK(first_loc(missing.json()) == "/query/q");
}

TEST_CASE("headers and cookies by name") {
    user_store store;
    web::test_client client(make_app(store));
    const web::test_response r =
        client.get("/whoami", {{"x-user", "ada"}, {"Cookie", "theme=dark; session=abc; visits=3"}});
    REQUIRE(r.status == 200);
    CHECK(r.json() == json::parse(R"({"user":"ada","session":"abc","visits":3})"));
    const web::test_response defaults = client.get("/whoami", {{"X-User", "bob"}});
    CHECK(defaults.json() == json::parse(R"({"user":"bob","session":"none","visits":null})"));
    const web::test_response no_header = client.get("/whoami", {{"Cookie", "visits=many"}});
    REQUIRE(no_header.status == 422);
    CHECK(no_header.json().at("detail").as_array().size() == 2);
    CHECK(first_loc(no_header.json()) == "/header/X-User");
}

TEST_CASE("body<T> takes any JSON-convertible type") {
    user_store store;
    web::test_client client(make_app(store));
    CHECK(client.post("/raw", "[1.5, 2, 3.5]").json().as_double() == 7.0);
    CHECK(client.post("/raw", R"({"a":1})").status == 422);
    const web::test_response empty = client.post("/raw", "");
    REQUIRE(empty.status == 422);
    CHECK(empty.json().at("detail").at(0).at("type").as_string() == "missing");
}

TEST_CASE("exceptions map to responses by type") {
    user_store store;
    web::app app = make_app(store);
    int reported = 0;
    web::test_client client(app);
    const web::test_response boom = corio::run([&]() -> corio::task<web::test_response> {
        corio::get_running_loop().set_exception_handler(
            [&reported](corio::event_loop&, const corio::exception_context&) { ++reported; });
        co_return co_await client.send("GET", "/boom");
    }());
    CHECK(boom.status == 500);
    CHECK(boom.json().at("detail").as_string() == "Internal Server Error");
    CHECK(reported == 1);
    const web::test_response teapot = client.get("/teapot");
    CHECK(teapot.status == 418);
    CHECK(teapot.json().at("detail").as_string() == "short and stout");
    const web::test_response auth = client.get("/auth");
    CHECK(auth.status == 401);
    CHECK(auth.header("WWW-Authenticate") == "Bearer");
}

TEST_CASE("unrouted requests get JSON 404 and 405 with Allow") {
    user_store store;
    web::test_client client(make_app(store));
    const web::test_response missing = client.get("/nowhere");
    CHECK(missing.status == 404);
    CHECK(missing.json().at("detail").as_string() == "Not Found");
    const web::test_response refused = client.request("PUT", "/users/1");
    CHECK(refused.status == 405);
    CHECK(refused.json().at("detail").as_string() == "Method Not Allowed");
    CHECK(refused.header("Allow") == "GET, HEAD, DELETE");
    const web::test_response head = client.request("HEAD", "/users");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
}

TEST_CASE("state made by the app is shared by reference") {
    web::app app;
    int& counter = app.make_state<int>(40);
    app.post("/count", [](int& n) { return ++n; });
    app.get("/missing", [](double& unregistered) { return unregistered; });
    web::test_client client(app);
    CHECK(client.post("/count", "").json().as_int64() == 41);
    CHECK(client.post("/count", "").json().as_int64() == 42);
    CHECK(counter == 42);
    int reported = 0;
    const web::test_response missing = corio::run([&]() -> corio::task<web::test_response> {
        corio::get_running_loop().set_exception_handler(
            [&reported](corio::event_loop&, const corio::exception_context&) { ++reported; });
        co_return co_await client.send("GET", "/missing");
    }());
    CHECK(missing.status == 500);
    CHECK(reported == 1);
}

TEST_CASE("json round trip of described types without an app") {
    create_user in{"Lin", 30, "lin@example.com", role::guest, {"x", "y"}, {{"go", 9}}, address{"Oslo", "0150"}};
    const std::string text = web::dump_json(in);
    const create_user out = web::parse_json<create_user>(text);
    CHECK(out.name == "Lin");
    CHECK(out.email == std::optional<std::string>("lin@example.com"));
    CHECK(out.kind == role::guest);
    CHECK(out.tags == std::vector<std::string>{"x", "y"});
    CHECK(out.scores.at("go") == 9);
    REQUIRE(out.home.has_value());
    CHECK(out.home->zip == std::optional<std::string>("0150"));
    CHECK_THROWS_AS(web::parse_json<create_user>("{}"), web::validation_error);
}

TEST_CASE("openapi.json describes routes, parameters, bodies and schemas, and docs serve a page") {
    user_store store;
    web::app app = make_app(store);
    app.enable_docs("Users API", "1.2.3");
    web::test_client client(app);
    const web::test_response spec_response = client.get("/openapi.json");
    REQUIRE(spec_response.status == 200);
    const json::value spec = spec_response.json();
    CHECK(spec.at("openapi").as_string() == "3.1.0");
    CHECK(spec.at("info").at("title").as_string() == "Users API");
    const json::object& paths = spec.at("paths").as_object();
    CHECK_FALSE(paths.contains("/openapi.json"));
    CHECK_FALSE(paths.contains("/docs"));
    const json::value& create = paths.at("/users").at("post");
    CHECK(create.at("requestBody").at("content").at("application/json").at("schema").at("$ref").as_string() ==
          "#/components/schemas/create_user");
    CHECK(create.at("responses").as_object().contains("201"));
    CHECK(create.at("responses").as_object().contains("422"));
    const json::value& read = paths.at("/users/{id}").at("get");
    CHECK(read.at("parameters").at(0) ==
          json::parse(R"({"name":"id","in":"path","required":true,"schema":{"type":"integer"}})"));
    const json::value& list = paths.at("/users").at("get");
    CHECK(list.at("parameters").at(0).at("required").as_bool() == false);  // limit has a default
    CHECK(list.at("parameters").at(1).at("schema").at("$ref").as_string() == "#/components/schemas/role");
    CHECK(list.at("responses").at("200").at("content").at("application/json").at("schema").at("type").as_string() ==
          "array");
    CHECK(paths.at("/users/{id}").at("delete").at("responses").as_object().contains("204"));
    const json::value& whoami = paths.at("/whoami").at("get");
    CHECK(whoami.at("parameters").at(0).at("in").as_string() == "header");
    CHECK(whoami.at("parameters").at(1).at("in").as_string() == "cookie");
    CHECK(paths.at("/search").at("get").at("parameters").as_array().size() == 4);

    const json::object& schemas = spec.at("components").at("schemas").as_object();
    const json::value& created = schemas.at("create_user");
    CHECK(created.at("required") == json::parse(R"(["name","age","kind","tags","scores"])"));
    CHECK(created.at("properties").at("scores").at("additionalProperties").at("type").as_string() == "integer");
    CHECK(created.at("properties").at("home").at("$ref").as_string() == "#/components/schemas/address");
    CHECK(schemas.at("role").at("enum") == json::parse(R"(["admin","member","guest"])"));
    CHECK(schemas.contains("HTTPValidationError"));

    const web::test_response docs = client.get("/docs");
    CHECK(docs.status == 200);
    CHECK(docs.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(docs.body.find("/openapi.json") != std::string::npos);
    CHECK(docs.body.find("Users API") != std::string::npos);
    CHECK(docs.body.find("http://") == std::string::npos);
    CHECK(docs.body.find("https://") == std::string::npos);
}

namespace {

struct login_form {
    std::string user;
    int age = 0;
    std::optional<std::string> note;
};
BOOST_DESCRIBE_STRUCT(login_form, (), (user, age, note))

web::app form_app() {
    web::app app;
    app.post("/login", [](web::form_model<login_form> form) {
        return http::text_response(form->user + " " + std::to_string(form->age) + " " + form->note.value_or("-"));
    });
    app.post("/upload", [](web::form_data form) {
        const web::upload_file* file = form.file("file");
        return http::text_response(std::string(form.get_or("title", "?")) + ": " +
                                   (file != nullptr ? file->filename() + " " + std::to_string(file->size()) + " " +
                                                          file->read()
                                                    : std::string("no file")));
    });
    return app;
}

}  // namespace

TEST_CASE("form parameters: a described struct from the fields, or the whole form with its files") {
    web::test_client client(form_app());
    const http::headers urlencoded{{"Content-Type", "application/x-www-form-urlencoded"}};
    CHECK(client.post("/login", "user=ada+l&age=36", urlencoded).body == "ada l 36 -");
    CHECK(client.post("/login", "user=ada&age=36&note=hi%21", urlencoded).body == "ada 36 hi!");
    const web::test_response bad = client.post("/login", "age=old", urlencoded);
    REQUIRE(bad.status == 422);
    CHECK(bad.json().at("detail").as_array().size() == 2);  // user missing, age not a number
    CHECK(first_loc(bad.json()) == "/body/user");
    CHECK(client.post("/login", R"({"user":"ada"})").status == 415);

    const std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nreport\r\n"
                             "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
                             "Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
    const http::headers multipart{{"Content-Type", "multipart/form-data; boundary=XyZ"}};
    CHECK(client.post("/upload", body, multipart).body == "report: a.txt 5 hello");
    CHECK(client.post("/login", "--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nbo\r\n"
                                "--XyZ\r\nContent-Disposition: form-data; name=\"age\"\r\n\r\n7\r\n--XyZ--",
                      multipart)
              .body == "bo 7 -");
    const web::test_response cut = client.post("/upload", body.substr(0, 60), multipart);
    CHECK(cut.status == 400);

    const json::value doc = form_app().openapi();
    const json::value& content = doc.at("paths").at("/login").at("post").at("requestBody").at("content");
    CHECK(content.as_object().contains("application/x-www-form-urlencoded"));
    CHECK(content.as_object().contains("multipart/form-data"));
}

namespace error_mapping {

struct failure_log {
    int reported = 0;
};

web::app failing_app(bool global_middleware) {
    web::app app;
    if (global_middleware) {
        app.use([](http::request& request, web::next call_next) { return call_next(request); });
    }
    app.get("/refused", []() -> int {
        throw web::http_exception(403, "Not yours", {{"X-Reason", "owner"}});
    });
    app.post("/typed", [](create_user body) { return body.name; });
    app.get("/invalid", []() -> corio::task<int> {
        throw web::validation_error({web::validation_issue{json::array{"query", "q"}, "Field required", "missing"}});
        co_return 0;
    });
    app.get("/boom", []() -> int { throw std::runtime_error("boom"); });
    app.get("/teapot", []() -> int { throw teapot_error("short and stout"); });
    app.get("/wrapped", []() -> int { throw std::runtime_error("inner"); },
            {.middleware = {[](http::request& request, web::next call_next) -> corio::task<http::response> {
                http::response answer = co_await call_next(request);
                answer.headers.add("X-Route-Middleware", std::to_string(answer.status));
                co_return answer;
            }}});
    app.exception_handler<teapot_error>([](http::request&, const teapot_error& e) {
        return web::detail_response(418, e.what());
    });
    return app;
}

// Through the app's server handler (what http::server calls) and
// app::handle (what test_client calls), with the 500s counted.
corio::task<std::vector<http::response>> answers_of(web::app app, failure_log& log) {
    corio::get_running_loop().set_exception_handler(
        [&log](corio::event_loop&, const corio::exception_context&) { ++log.reported; });
    const web::detail::app_handler handler = app.handler();
    std::vector<http::response> answers;
    const std::vector<std::pair<std::string, std::string>> calls = {
        {"GET", "/refused"}, {"POST", "/typed"}, {"GET", "/invalid"},
        {"GET", "/boom"},    {"GET", "/teapot"}, {"GET", "/wrapped"}};
    for (const auto& [method, target] : calls) {
        for (int through_handle = 0; through_handle < 2; ++through_handle) {
            http::request request;
            request.method = method;
            request.target = target;
            request.body = method == "POST" ? R"({"age":"old"})" : "";
            if (through_handle == 1) {
                answers.push_back(co_await app.handle(request));
            } else {
                answers.push_back(co_await handler(request));
            }
        }
    }
    co_return answers;
}

}  // namespace error_mapping

TEST_CASE("handler exceptions map to the same responses with and without global middleware") {
    using namespace error_mapping;
    failure_log bare_log;
    failure_log wrapped_log;
    const std::vector<http::response> bare = corio::run(answers_of(failing_app(false), bare_log));
    const std::vector<http::response> wrapped = corio::run(answers_of(failing_app(true), wrapped_log));
    REQUIRE(bare.size() == 12);
    REQUIRE(wrapped.size() == bare.size());
    for (std::size_t i = 0; i < bare.size(); ++i) {
        INFO("call " << i);
        CHECK(bare[i] == wrapped[i]);
    }
    CHECK(bare[0].status == 403);
    CHECK(std::string(bare[0].headers.get_or("X-Reason", "")) == "owner");
    CHECK(json::parse(bare[0].body).at("detail").as_string() == "Not yours");
    CHECK(bare[2].status == 422);
    CHECK(first_loc(json::parse(bare[2].body)) == "/body/name");
    CHECK(bare[4].status == 422);
    CHECK(first_loc(json::parse(bare[4].body)) == "/query/q");
    CHECK(bare[6].status == 500);
    CHECK(json::parse(bare[6].body).at("detail").as_string() == "Internal Server Error");
    CHECK(bare[8].status == 418);
    CHECK(bare[10].status == 500);
    CHECK(std::string(bare[10].headers.get_or("X-Route-Middleware", "")) == "500");
    CHECK(bare_log.reported == 4);
    CHECK(wrapped_log.reported == 4);
}

namespace direct_json {

enum class tone { calm, loud };
BOOST_DESCRIBE_ENUM(tone, calm, loud)

struct point {
    double x = 0;
    float y = 0;
};
BOOST_DESCRIBE_STRUCT(point, (), (x, y))

struct base_part {
    std::string label;
};
BOOST_DESCRIBE_STRUCT(base_part, (), (label))

struct rich : base_part {
    bool yes = true;
    bool no = false;
    char letter = 'A';
    std::int8_t small = -128;
    std::uint16_t port = 65535;
    std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
    std::uint64_t highest = std::numeric_limits<std::uint64_t>::max();
    std::vector<double> reals;
    std::string text;
    std::string_view view = "view \"quoted\"";
    tone named = tone::loud;
    tone unnamed = static_cast<tone>(7);
    std::optional<int> absent;
    std::optional<std::string> present = "here";
    std::optional<point> nested_absent;
    std::vector<point> points;
    std::vector<std::vector<int>> grid;
    std::map<std::string, std::optional<tone>> by_name;
    std::unordered_map<std::string, int> unordered;
    std::map<std::string, int> empty_map;
    std::vector<std::string> empty_list;
    json::value raw;
};
BOOST_DESCRIBE_STRUCT(rich, (base_part), (yes, no, letter, small, port, lowest, highest, reals, text, view, named,
                                          unnamed, absent, present, nested_absent, points, grid, by_name, unordered,
                                          empty_map, empty_list, raw))

// Two bases with a member of the same name: a JSON object keeps one key.
struct left_part {
    int x = 1;
};
BOOST_DESCRIBE_STRUCT(left_part, (), (x))
struct right_part {
    std::string x = "right";
};
BOOST_DESCRIBE_STRUCT(right_part, (), (x))
struct both_parts : left_part, right_part {
    int z = 3;
};
BOOST_DESCRIBE_STRUCT(both_parts, (left_part, right_part), (z))

}  // namespace direct_json

TEST_CASE("the direct JSON writer gives what boost::json::serialize(to_json(x)) gives") {
    using namespace direct_json;
    rich value;
    value.label = "top";
    value.reals = {0.0,
                   -0.0,
                   1.5,
                   0.1,
                   -2.25e-7,
                   1e300,
                   123456789012345680.0,
                   std::numeric_limits<double>::denorm_min(),
                   std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN(),
                   static_cast<double>(0.1F)};
    for (int c = 0; c < 0x80; ++c) {
        value.text += static_cast<char>(c);
    }
    value.text += "/ é ✓ 😀";
    const std::string valid_text = value.text;
    value.text += " \xff\xc3 end";  // not UTF-8: passed through as is
    value.points = {{0.5, 0.25F}, {-3.0, 1e10F}};
    value.grid = {{1, 2}, {}, {-3}};
    value.by_name = {{"a\"b", tone::calm}, {"c\nd", std::nullopt}, {"é", tone::loud}};
    value.unordered = {{"one", 1}, {"two", 2}, {"three", 3}, {"four", 4}};
    value.raw = json::parse(R"({"k":[1,2.5,"s",null,{"t":true}]})");
    const std::string expected = json::serialize(web::to_json(value));
    CHECK(web::dump_json(value) == expected);
    CHECK(json::parse(web::dump_json(valid_text)).as_string() == valid_text);
    CHECK(web::dump_json(both_parts{}) == json::serialize(web::to_json(both_parts{})));
    CHECK(web::dump_json(both_parts{}) == R"({"x":"right","z":3})");
    CHECK(web::dump_json(std::vector<rich>{value, rich{}}) ==
          json::serialize(web::to_json(std::vector<rich>{value, rich{}})));
    CHECK(web::dump_json(std::optional<point>{}) == "null");
    CHECK(web::dump_json(std::string("\x1f")) == R"("\u001f")");

    web::app app;
    app.get("/rich", [&value] { return value; });
    web::test_client client(app);
    const web::test_response answer = client.get("/rich");
    CHECK(answer.status == 200);
    CHECK(answer.body == expected);
}
