// Tests of corio/http/url.hpp: corio::http::url, percent-encoding, resolve().
#include <corio/http/url.hpp>

#include "catch.hpp"

#include <string>
#include <vector>

using corio::http::url;
using corio::http::url_error;

TEST_CASE("Valid URLs parse into their parts", "[http][url]") {
    struct row {
        const char* input;
        const char* scheme;
        const char* host;
        int port;
        const char* path;
        const char* query;
        const char* target;
        const char* normalised;
    };
    const std::vector<row> rows = {
        {"http://example.com", "http", "example.com", 80, "/", "", "/", "http://example.com/"},
        {"HTTP://Example.COM/", "http", "example.com", 80, "/", "", "/", "http://example.com/"},
        {"https://example.com/a/b?x=1&y=2", "https", "example.com", 443, "/a/b", "x=1&y=2",
         "/a/b?x=1&y=2", "https://example.com/a/b?x=1&y=2"},
        {"http://example.com:8080/p", "http", "example.com", 8080, "/p", "", "/p",
         "http://example.com:8080/p"},
        {"https://example.com:443/", "https", "example.com", 443, "/", "", "/",
         "https://example.com/"},
        {"http://127.0.0.1:65535/", "http", "127.0.0.1", 65535, "/", "", "/",
         "http://127.0.0.1:65535/"},
        {"http://[::1]:8080/x", "http", "::1", 8080, "/x", "", "/x", "http://[::1]:8080/x"},
        {"http://[2001:DB8::1]/", "http", "2001:db8::1", 80, "/", "", "/", "http://[2001:db8::1]/"},
        {"http://[::ffff:192.0.2.1]/", "http", "::ffff:192.0.2.1", 80, "/", "", "/",
         "http://[::ffff:192.0.2.1]/"},
        {"http://[1:2:3:4:5:6:7:8]/", "http", "1:2:3:4:5:6:7:8", 80, "/", "", "/",
         "http://[1:2:3:4:5:6:7:8]/"},
        {"http://[::]/", "http", "::", 80, "/", "", "/", "http://[::]/"},
        {"http://a.b/p%20q?q=%2F#frag", "http", "a.b", 80, "/p%20q", "q=%2F", "/p%20q?q=%2F",
         "http://a.b/p%20q?q=%2F#frag"},
        {"http://h?only=query", "http", "h", 80, "/", "only=query", "/?only=query",
         "http://h/?only=query"},
        {"http://h/a:b@c!$&'()*+,;=-._~", "http", "h", 80, "/a:b@c!$&'()*+,;=-._~", "",
         "/a:b@c!$&'()*+,;=-._~", "http://h/a:b@c!$&'()*+,;=-._~"},
        {"http://my_host-1.local/", "http", "my_host-1.local", 80, "/", "", "/",
         "http://my_host-1.local/"},
    };
    for (const auto& r : rows) {
        INFO(r.input);
        const url u = url::parse(r.input);
        CHECK(u.scheme() == r.scheme);
        CHECK(u.host() == r.host);
        CHECK(u.port() == r.port);
        CHECK(u.path() == r.path);
        CHECK(u.query() == r.query);
        CHECK(u.target() == r.target);
        CHECK(u.to_string() == r.normalised);
        // Round trip: the normalised form parses to the same URL.
        CHECK(url::parse(u.to_string()) == u);
    }
}

TEST_CASE("IPv6 literals are stored without brackets and the authority adds them back",
          "[http][url]") {
    const url u = url::parse("https://[fe80::1]:8443/x");
    CHECK(u.host() == "fe80::1");
    CHECK(u.host_is_ipv6());
    CHECK(u.authority() == "[fe80::1]:8443");
    CHECK(url::parse("http://example.com:80/").authority() == "example.com");
    CHECK_FALSE(url::parse("http://example.com/").host_is_ipv6());
    CHECK(url::parse("http://example.com/#f").fragment() == "f");
    CHECK(url::parse("http://example.com/#f").target() == "/");
}

TEST_CASE("Invalid URLs throw url_error naming the problem and its offset", "[http][url]") {
    struct row {
        const char* input;
        const char* problem;
        std::size_t offset;
    };
    const std::vector<row> rows = {
        {"", "missing scheme", 0},
        {"example.com/path", "missing scheme", 0},
        {"ftp://example.com/", "unsupported scheme", 0},
        {"http:/example.com", "expected '//'", 5},
        {"http://", "empty host", 7},
        {"http:///path", "empty host", 7},
        {"http://user:pw@example.com/", "userinfo", 14},
        {"http://@example.com/", "userinfo", 7},
        {"http://exa mple.com/", "character not allowed in host", 10},
        {"http://ex%41mple.com/", "character not allowed in host", 9},
        {"http://example.com:/", "empty port", 19},
        {"http://example.com:0/", "port out of range", 19},
        {"http://example.com:65536/", "port out of range", 19},
        {"http://example.com:123456/", "port out of range", 19},
        {"http://example.com:8o/", "port is not a number", 20},
        {"http://example.com:-1/", "port is not a number", 19},
        {"http://[::1/", "unterminated IPv6", 7},
        {"http://[::g]/", "invalid IPv6", 8},
        {"http://[1:2:3:4:5:6:7:8:9]/", "invalid IPv6", 8},
        {"http://[1::2::3]/", "invalid IPv6", 8},
        {"http://[12345::]/", "invalid IPv6", 8},
        {"http://[fe80::1%25eth0]/", "invalid IPv6", 8},
        {"http://[::1]x/", "after IPv6 literal", 12},
        {"http://[::256.1.1.1]/", "invalid IPv6", 8},
        {"http://[:1]/", "invalid IPv6", 8},
        {"http://[1:]/", "invalid IPv6", 8},
        {"http://[]/", "invalid IPv6", 8},
        {"http://h/a%zzb", "bad percent-escape in path", 10},
        {"http://h/a%2", "bad percent-escape in path", 10},
        {"http://h/%", "bad percent-escape in path", 9},
        {"http://h/a b", "character not allowed in path", 10},
        {"http://h/a\"b", "character not allowed in path", 10},
        {"http://h/?q=%G0", "bad percent-escape in query", 12},
        {"http://h/?q=a b", "character not allowed in query", 13},
        {"http://h/#a#b", "character not allowed in fragment", 11},
        {"http://h/\x80", "character not allowed in path", 9},
    };
    for (const auto& r : rows) {
        INFO(r.input);
        try {
            (void)url::parse(r.input);
            FAIL("no error");
        } catch (const url_error& e) {
            const std::string what = e.what();
            CHECK(what.find(r.problem) != std::string::npos);
            CHECK(e.offset() == r.offset);
            CHECK(what.find("at offset " + std::to_string(r.offset)) != std::string::npos);
        }
    }
    // url_error is an std::invalid_argument.
    CHECK_THROWS_AS(url::parse("gopher://x/"), std::invalid_argument);
}

TEST_CASE("percent_encode and percent_decode round-trip any bytes", "[http][url]") {
    using corio::http::percent_decode;
    using corio::http::percent_encode;
    CHECK(percent_encode("a b/c?d=e&f") == "a%20b%2Fc%3Fd%3De%26f");
    CHECK(percent_encode("a b/c", "/") == "a%20b/c");
    CHECK(percent_encode("100%", "%") == "100%25");  // '%' is always escaped
    CHECK(percent_encode("-._~AZaz09") == "-._~AZaz09");
    CHECK(percent_encode("\xc3\xa9") == "%C3%A9");
    CHECK(percent_decode("a%20b%2fc") == "a b/c");
    CHECK(percent_decode("a+b") == "a+b");
    std::string all;
    for (int i = 0; i < 256; ++i)
        all.push_back(static_cast<char>(i));
    CHECK(percent_decode(percent_encode(all)) == all);
    CHECK_THROWS_AS(percent_decode("%"), url_error);
    CHECK_THROWS_AS(percent_decode("%4"), url_error);
    CHECK_THROWS_AS(percent_decode("ab%xy"), url_error);
    try {
        (void)percent_decode("ab%xy");
    } catch (const url_error& e) {
        CHECK(e.offset() == 2);
    }
}

TEST_CASE("resolve() follows RFC 3986 reference resolution for redirect Locations", "[http][url]") {
    const url base = url::parse("http://a.example/b/c/d;p?q");
    const std::vector<std::pair<const char*, const char*>> rows = {
        // RFC 3986 §5.4.1 normal examples (http-only subset).
        {"g", "http://a.example/b/c/g"},
        {"./g", "http://a.example/b/c/g"},
        {"g/", "http://a.example/b/c/g/"},
        {"/g", "http://a.example/g"},
        {"//g", "http://g/"},
        {"?y", "http://a.example/b/c/d;p?y"},
        {"g?y", "http://a.example/b/c/g?y"},
        {"#s", "http://a.example/b/c/d;p?q#s"},
        {"g#s", "http://a.example/b/c/g#s"},
        {";x", "http://a.example/b/c/;x"},
        {"", "http://a.example/b/c/d;p?q"},
        {".", "http://a.example/b/c/"},
        {"./", "http://a.example/b/c/"},
        {"..", "http://a.example/b/"},
        {"../", "http://a.example/b/"},
        {"../g", "http://a.example/b/g"},
        {"../..", "http://a.example/"},
        {"../../g", "http://a.example/g"},
        // §5.4.2 abnormal examples.
        {"../../../g", "http://a.example/g"},
        {"/./g", "http://a.example/g"},
        {"/../g", "http://a.example/g"},
        {"g.", "http://a.example/b/c/g."},
        {"..g", "http://a.example/b/c/..g"},
        {"./g/.", "http://a.example/b/c/g/"},
        {"g/../h", "http://a.example/b/c/h"},
        // Absolute URLs replace everything, other schemes' case normalised.
        {"https://other.example:8443/x?y", "https://other.example:8443/x?y"},
        {"HTTP://Other.example/a/../b", "http://other.example/b"},
        {"//[::1]:81/z", "http://[::1]:81/z"},
    };
    for (const auto& [reference, expected] : rows) {
        INFO(reference);
        CHECK(base.resolve(reference).to_string() == expected);
    }
    CHECK(base.resolve("/p").port() == 80);
    CHECK(url::parse("https://h:8443/a").resolve("b").to_string() == "https://h:8443/b");
    CHECK_THROWS_AS(base.resolve("ftp://x/"), url_error);
    CHECK_THROWS_AS(base.resolve("//user@x/"), url_error);
    CHECK_THROWS_AS(base.resolve("/a%zz"), url_error);
    CHECK_THROWS_AS(base.resolve("a b"), url_error);
}
