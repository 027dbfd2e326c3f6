// corio/web/forms.hpp: urlencoded and multipart/form-data bodies into
// web::form_data, the incremental multipart parser fed in every split,
// spooling of large files to disk, limits and malformed bodies.
#include <corio/run.hpp>
#include <corio/web/forms.hpp>

#include "catch.hpp"

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http = corio::http;
namespace web = corio::web;
namespace multipart = corio::detail::web_multipart;

namespace {

http::request form_request(std::string content_type, std::string body) {
    http::request r;
    r.method = "POST";
    r.target = "/form";
    r.headers.add("Content-Type", std::move(content_type));
    r.body = std::move(body);
    return r;
}

// A body with a preamble, two fields (one repeated), a file whose content
// holds CRLFs and a boundary-like line without its CRLF, transport padding
// after a delimiter, and an epilogue.
const std::string boundary = "----corioBoundary7MA4YWxk";
// (A boundary inside a line is content: only CRLF "--" boundary delimits.)
const std::string file_content = "line one\r\nline two\r\nhalf ------corioBoundary7MA4YWxk inside a line\r\n\r\nend";

std::string sample_body() {
    return "This is the preamble, to be ignored.\r\n"
           "--" + boundary + "\r\n"
           "Content-Disposition: form-data; name=\"user\"\r\n"
           "\r\n"
           "ada\r\n"
           "--" + boundary + "  \t\r\n"
           "Content-Disposition: form-data; name=\"tag\"\r\n"
           "\r\n"
           "a\r\n"
           "--" + boundary + "\r\n"
           "content-disposition: form-data; name=\"tag\"\r\n"
           "\r\n"
           "b\r\n"
           "--" + boundary + "\r\n"
           "Content-Disposition: form-data; name=\"doc\"; filename=\"notes \\\"v2\\\".txt\"\r\n"
           "Content-Type: text/markdown\r\n"
           "\r\n" + file_content + "\r\n"
           "--" + boundary + "--\r\n"
           "epilogue, ignored too";
}

void check_sample(const web::form_data& form) {
    CHECK(std::string(form.get_or("user", "")) == "ada");
    const std::vector<std::string_view> tags = form.get_all("tag");
    REQUIRE(tags.size() == 2);
    CHECK(std::string(tags[0]) == "a");
    CHECK(std::string(tags[1]) == "b");
    CHECK(form.fields().size() == 3);
    REQUIRE(form.files().size() == 1);
    const web::upload_file* doc = form.file("doc");
    REQUIRE(doc != nullptr);
    CHECK(doc->filename() == "notes \"v2\".txt");
    CHECK(doc->content_type() == "text/markdown");
    CHECK(doc->size() == file_content.size());
    CHECK(doc->read() == file_content);
    CHECK(form.contains("doc"));
    CHECK_FALSE(form.get("doc"));
}

// Feeds `body` to the detail parser in pieces of the given sizes (cycled).
web::form_data parse_in_pieces(std::string_view body, const std::vector<std::size_t>& sizes,
                               const web::form_limits& limits = {}) {
    web::form_data form;
    web::detail::form_builder builder(form, limits);
    multipart::parser<web::detail::form_builder> parser(boundary, builder, limits.max_head_size);
    std::size_t turn = 0;
    while (!body.empty()) {
        const std::size_t n = std::min(body.size(), sizes[turn++ % sizes.size()]);
        parser.feed(body.substr(0, n));
        body.remove_prefix(n);
    }
    parser.finish();
    return form;
}

int status_of(const http::request& r, const web::form_limits& limits = {}) {
    try {
        (void)web::parse_form(r, limits);
    } catch (const web::http_exception& e) {
        return e.status();
    }
    return 200;
}

std::string detail_of(const http::request& r) {
    try {
        (void)web::parse_form(r);
    } catch (const web::http_exception& e) {
        return e.detail();
    }
    return "";
}

// What a parser fed in pieces of `size` bytes ends with: "ok" or the malformed message.
std::string outcome_in_pieces(std::string_view body, std::size_t size, std::size_t max_head_size) {
    web::form_data form;
    web::form_limits limits;
    limits.max_head_size = max_head_size;
    web::detail::form_builder builder(form, limits);
    multipart::parser<web::detail::form_builder> parser(boundary, builder, max_head_size);
    try {
        for (std::size_t at = 0; at < body.size(); at += size) {
            parser.feed(body.substr(at, size));
        }
        parser.finish();
    } catch (const multipart::malformed& e) {
        return e.what();
    }
    return "ok";
}

}  // namespace

TEST_CASE("a multipart body parses into fields and files") {
    const web::form_data form =
        web::parse_form(form_request("multipart/form-data; boundary=\"" + boundary + "\"", sample_body()));
    check_sample(form);
    CHECK(form.file("doc")->in_memory());
}

TEST_CASE("the multipart parser gives the same form whatever the input's split") {
    const std::string body = sample_body();
    check_sample(parse_in_pieces(body, {1}));
    check_sample(parse_in_pieces(body, {3, 7, 1, 64}));
    for (std::size_t split = 1; split < body.size(); ++split) {
        web::form_data form;
        web::form_limits limits;
        web::detail::form_builder builder(form, limits);
        multipart::parser<web::detail::form_builder> parser(boundary, builder, limits.max_head_size);
        parser.feed(std::string_view(body).substr(0, split));
        parser.feed(std::string_view(body).substr(split));
        parser.finish();
        INFO("split at " << split);
        REQUIRE(form.files().size() == 1);
        CHECK(form.file("doc")->read() == file_content);
        CHECK(form.fields().size() == 3);
    }
}

TEST_CASE("the multipart limits hold the same whatever the input's split") {
    // A header section exactly at the limit is taken, however its blank line
    // arrives; one byte more is refused.
    const std::string head = "Content-Disposition: form-data; name=a";
    const std::string at_limit = "--" + boundary + "\r\n" + head + "\r\n\r\nv\r\n--" + boundary + "--";
    for (std::size_t size = 1; size <= at_limit.size(); ++size) {
        INFO("pieces of " << size);
        CHECK(outcome_in_pieces(at_limit, size, head.size()) == "ok");
        CHECK(outcome_in_pieces(at_limit, size, head.size() - 1).find("longer than") != std::string::npos);
    }
    // Transport padding: 256 spaces after a delimiter are taken, 257 refused,
    // whole or in pieces.
    for (const std::size_t padding : {std::size_t{256}, std::size_t{257}}) {
        const std::string body = "--" + boundary + std::string(padding, ' ') + "\r\n" + head + "\r\n\r\nv\r\n--" +
                                 boundary + "--";
        for (const std::size_t size : {std::size_t{1}, std::size_t{7}, std::size_t{100}, body.size()}) {
            INFO(padding << " spaces, pieces of " << size);
            const std::string outcome = outcome_in_pieces(body, size, 1024);
            if (padding == 256) {
                CHECK(outcome == "ok");
            } else {
                CHECK(outcome.find("endless padding") != std::string::npos);
            }
        }
    }
}

TEST_CASE("a body that opens with its delimiter, and an empty form, parse") {
    const std::string direct = "--" + boundary + "\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--" +
                               boundary + "--";
    const web::form_data form = web::parse_form(form_request("multipart/form-data; boundary=" + boundary, direct));
    CHECK(std::string(form.get_or("x", "")) == "1");
    const web::form_data empty = web::parse_form(form_request("multipart/form-data; boundary=" + boundary,
                                                              "--" + boundary + "--\r\n"));
    CHECK(empty.fields().empty());
    CHECK(empty.files().empty());
}

TEST_CASE("an urlencoded body parses like a query string") {
    const web::form_data form =
        web::parse_form(form_request("application/x-www-form-urlencoded", "a=1&b=hello+world&a=%41%2B&empty="));
    const std::vector<std::string_view> a = form.get_all("a");
    CHECK(std::vector<std::string>(a.begin(), a.end()) == std::vector<std::string>{"1", "A+"});
    CHECK(std::string(form.get_or("b", "")) == "hello world");
    CHECK(form.contains("empty"));
    CHECK(form.files().empty());
}

TEST_CASE("a large upload goes to a temporary file, which save_as keeps and the form otherwise removes") {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / "corio_test_uploads";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    web::form_limits limits;
    limits.spool_threshold = 16;
    limits.directory = dir;
    std::filesystem::path spooled;
    {
        const web::form_data form = parse_in_pieces(sample_body(), {5}, limits);
        check_sample(form);
        const web::upload_file* doc = form.file("doc");
        REQUIRE(doc != nullptr);
        CHECK_FALSE(doc->in_memory());
        spooled = doc->path();
        CHECK(spooled.parent_path() == dir);
        CHECK(std::filesystem::file_size(spooled) == file_content.size());
        const web::form_data copy = form;  // copies share the file
        CHECK(copy.file("doc")->path() == spooled);
    }
    CHECK_FALSE(std::filesystem::exists(spooled));

    const std::filesystem::path kept = dir / "kept.md";
    {
        const web::form_data form = parse_in_pieces(sample_body(), {4096}, limits);
        form.file("doc")->save_as(kept);
        CHECK(form.file("doc")->path() == kept);
        form.file("doc")->save_as(dir / "second.md");  // a copy: the first stays
    }
    REQUIRE(std::filesystem::exists(kept));
    CHECK(std::filesystem::file_size(dir / "second.md") == file_content.size());
    std::ifstream in(kept, std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == file_content);

    // A file held in memory is written out by save_as.
    const std::filesystem::path small = dir / "small.md";
    const web::form_data in_memory = parse_in_pieces(sample_body(), {4096});
    in_memory.file("doc")->save_as(small);
    CHECK(std::filesystem::file_size(small) == file_content.size());
    CHECK_THROWS_AS(in_memory.file("doc")->save_as(dir / "no" / "such" / "dir" / "x"), std::system_error);
    std::filesystem::remove_all(dir);
}

TEST_CASE("form limits answer 413") {
    const http::request sample = form_request("multipart/form-data; boundary=" + boundary, sample_body());
    web::form_limits limits;
    limits.max_file_size = file_content.size() - 1;
    CHECK(status_of(sample, limits) == 413);
    limits = {};
    limits.max_fields = 2;
    CHECK(status_of(sample, limits) == 413);
    limits = {};
    limits.max_files = 0;
    CHECK(status_of(sample, limits) == 413);
    limits = {};
    limits.max_field_size = 2;
    CHECK(status_of(sample, limits) == 413);
    CHECK(status_of(form_request("application/x-www-form-urlencoded", "a=123"), limits) == 413);
    limits = {};
    limits.max_head_size = 20;
    CHECK(status_of(sample, limits) == 400);
    CHECK(status_of(sample) == 200);
}

TEST_CASE("malformed forms answer 400 naming the fault, other types 415") {
    const std::string type = "multipart/form-data; boundary=" + boundary;
    std::string cut = sample_body();
    cut.resize(cut.find("--" + boundary + "--"));
    CHECK(status_of(form_request(type, cut)) == 400);
    CHECK(detail_of(form_request(type, cut)).find("ends before the close delimiter") != std::string::npos);
    CHECK(status_of(form_request(type, "no delimiter at all")) == 400);
    CHECK(status_of(form_request(type, "--" + boundary + "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" + boundary +
                                           "--")) == 400);
    CHECK(status_of(form_request(type, "--" + boundary + "\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--" +
                                           boundary + "--")) == 400);
    CHECK(status_of(form_request(type, "--" + boundary + "garbage\r\n")) == 400);
    CHECK(status_of(form_request("multipart/form-data", sample_body())) == 400);
    CHECK(detail_of(form_request("multipart/form-data", sample_body())).find("boundary") != std::string::npos);
    CHECK(status_of(form_request("multipart/form-data; boundary=" + std::string(71, 'b'), sample_body())) == 400);
    CHECK(status_of(form_request("application/json", "{}")) == 415);
    CHECK(multipart::boundary_of("multipart/form-data; charset=utf-8; BOUNDARY=abc") == "abc");
    CHECK(multipart::boundary_of("multipart/form-data; boundary=\"a b\"") == "a b");
    CHECK_FALSE(multipart::boundary_of("multipart/form-data; boundary="));
}

TEST_CASE("read_form parses a streamed body piece by piece, multipart and urlencoded alike") {
    const std::string body = sample_body();
    http::request multipart_request = form_request("multipart/form-data; boundary=" + boundary, "");
    http::string_body_reader in_pieces(body, 7);
    multipart_request.streamed_body = &in_pieces;
    web::form_limits limits;
    limits.spool_threshold = 16;  // the file goes to disk while the body is still arriving
    const web::form_data form = corio::run(web::read_form(multipart_request, limits));
    check_sample(form);
    CHECK_FALSE(form.file("doc")->in_memory());
    CHECK(in_pieces.done());

    // Pairs cut anywhere, '&' included, still decode whole.
    const std::string pairs = "name=Ada+Lovelace&tag=a%26b&&tag=c&empty=&flag";
    for (const std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{5}, pairs.size()}) {
        http::request request = form_request("application/x-www-form-urlencoded", "");
        http::string_body_reader reader(pairs, piece);
        request.streamed_body = &reader;
        const web::form_data fields = corio::run(web::read_form(request));
        CHECK(std::string(fields.get_or("name", "")) == "Ada Lovelace");
        const std::vector<std::string_view> tags = fields.get_all("tag");
        REQUIRE(tags.size() == 2);
        CHECK(std::string(tags[0]) == "a&b");
        CHECK(std::string(tags[1]) == "c");
        CHECK(std::string(fields.get_or("empty", "missing")).empty());
        CHECK(std::string(fields.get_or("flag", "missing")).empty());
        CHECK(fields.fields().size() == 5);
    }

    // Limits hold across pieces: a value over max_field_size is 413.
    http::request long_value = form_request("application/x-www-form-urlencoded", "");
    const std::string too_long = "a=" + std::string(64, 'x');
    http::string_body_reader long_reader(too_long, 3);
    long_value.streamed_body = &long_reader;
    web::form_limits small;
    small.max_field_size = 10;
    int status = 0;
    try {
        (void)corio::run(web::read_form(long_value, small));
    } catch (const web::http_exception& e) {
        status = e.status();
    }
    CHECK(status == 413);
}
