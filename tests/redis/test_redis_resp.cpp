// The RESP parser and command encoding, over bytes (no server): every reply
// type, a reply split anywhere, limits and bad input; URL parsing.
#include "catch.hpp"

#include <corio/redis/detail/command_encoder.hpp>
#include <corio/redis/detail/resp_parser.hpp>
#include <corio/redis/options.hpp>
#include <corio/redis/value.hpp>

#include <cmath>
#include <string>
#include <vector>

using corio::redis::kind;
using corio::redis::value;
using corio::redis::detail::resp_parser;

namespace {

// Parses all of `bytes` as exactly one reply.
value parse_whole(std::string_view bytes) {
    resp_parser parser;
    const std::size_t used = parser.feed(bytes);
    REQUIRE(parser.ready());
    REQUIRE(used == bytes.size());
    return parser.take();
}

// Feeds `bytes` in pieces cut at `cuts`, as a socket might deliver them,
// keeping unused bytes as a connection's read buffer would.
std::vector<value> parse_in_pieces(std::string_view bytes, const std::vector<std::size_t>& cuts) {
    resp_parser parser;
    std::vector<value> out;
    std::string buffer;
    std::size_t from = 0;
    auto drain = [&] {
        for (;;) {
            const std::size_t used = parser.feed(buffer);
            buffer.erase(0, used);
            if (!parser.ready()) {
                break;
            }
            out.push_back(parser.take());
        }
    };
    for (const std::size_t cut : cuts) {
        buffer.append(bytes.substr(from, cut - from));
        from = cut;
        drain();
    }
    buffer.append(bytes.substr(from));
    drain();
    CHECK(buffer.empty());
    return out;
}

const std::string every_type =
    "+OK\r\n"
    "-WRONGTYPE Operation against a key\r\n"
    ":-42\r\n"
    "$5\r\nhe\r\no\r\n"
    "$-1\r\n"
    "*-1\r\n"
    "$0\r\n\r\n"
    "_\r\n"
    ",3.25\r\n"
    ",-inf\r\n"
    "#t\r\n"
    "#f\r\n"
    "(3492890328409238509324850943850943825024385\r\n"
    "=15\r\ntxt:Some string\r\n"
    "!21\r\nSYNTAX invalid syntax\r\n"
    "*3\r\n:1\r\n*2\r\n+a\r\n$1\r\nb\r\n%1\r\n+k\r\n:2\r\n"
    "%2\r\n+first\r\n:1\r\n+second\r\n~2\r\n+x\r\n+y\r\n"
    ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhi!\r\n"
    "|1\r\n+ttl\r\n:3600\r\n+after-attribute\r\n"
    "*0\r\n";

}  // namespace

TEST_CASE("every RESP2 and RESP3 reply type parses to its value") {
    const std::vector<value> replies = parse_in_pieces(every_type, {});
    REQUIRE(replies.size() == 20);
    CHECK(replies[0] == value::simple_string("OK"));
    CHECK(replies[1].is_error());
    CHECK(replies[1].text() == "WRONGTYPE Operation against a key");
    CHECK(replies[2].as_integer() == -42);
    CHECK(replies[3].type() == kind::bulk_string);
    CHECK(replies[3].as_string() == "he\r\no");
    CHECK(replies[4].is_null());
    CHECK(replies[5].is_null());
    CHECK(replies[6].as_string().empty());
    CHECK(replies[7].is_null());
    CHECK(replies[8].as_double() == 3.25);
    CHECK(std::isinf(replies[9].as_double()));
    CHECK(replies[9].as_double() < 0);
    CHECK(replies[10].as_bool());
    CHECK_FALSE(replies[11].as_bool());
    CHECK(replies[12].type() == kind::big_number);
    CHECK(replies[12].text() == "3492890328409238509324850943850943825024385");
    CHECK(replies[13].type() == kind::verbatim_string);
    CHECK(replies[13].as_string() == "Some string");
    CHECK(replies[14].is_error());
    CHECK(replies[14].text() == "SYNTAX invalid syntax");
    const value& nested = replies[15];
    REQUIRE(nested.type() == kind::array);
    REQUIRE(nested.size() == 3);
    CHECK(nested[0].as_integer() == 1);
    CHECK(nested[1][1].as_string() == "b");
    CHECK(nested[2].type() == kind::map);
    CHECK(nested[2][0].as_string() == "k");
    CHECK(nested[2][1].as_integer() == 2);
    CHECK(replies[16].type() == kind::map);
    CHECK(replies[16].size() == 4);
    CHECK(replies[16][3].type() == kind::set);
    CHECK(replies[17].type() == kind::push);
    CHECK(replies[17][2].as_string() == "hi!");
    // An attribute is metadata for the reply after it, which is what comes out.
    CHECK(replies[18] == value::simple_string("after-attribute"));
    CHECK(replies[19].type() == kind::array);
    CHECK(replies[19].size() == 0);
}

TEST_CASE("a stream of replies split at every byte parses to the same values") {
    const std::vector<value> whole = parse_in_pieces(every_type, {});
    for (std::size_t cut = 1; cut < every_type.size(); ++cut) {
        const std::vector<value> split = parse_in_pieces(every_type, {cut});
        REQUIRE(split.size() == whole.size());
        CHECK(split == whole);
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < every_type.size(); ++i) {
        every_byte.push_back(i);
    }
    CHECK(parse_in_pieces(every_type, every_byte) == whole);
}

TEST_CASE("the parser stops after one reply and leaves the next one's bytes") {
    resp_parser parser;
    const std::string two = "+first\r\n:2\r\n";
    CHECK(parser.feed(two) == 8);
    REQUIRE(parser.ready());
    CHECK(parser.take().as_string() == "first");
    CHECK(parser.feed(std::string_view(two).substr(8)) == 4);
    CHECK(parser.take().as_integer() == 2);
    // A partial bulk string uses its header and waits for the rest.
    CHECK(parser.feed("$10\r\nabc") == 0);
    CHECK_FALSE(parser.ready());
}

TEST_CASE("bad bytes throw protocol_error naming the problem and the offset") {
    auto fails_with = [](std::string bytes, std::string expected) {
        resp_parser parser;
        try {
            (void)parser.feed(bytes);
            FAIL("no protocol_error for " << bytes);
        } catch (const corio::redis::protocol_error& e) {
            CHECK_THAT(e.what(), Catch::Contains(expected));
        }
    };
    fails_with("?what\r\n", "unknown type byte '?'");
    fails_with(":12x\r\n", "bad integer '12x'");
    fails_with(":99999999999999999999\r\n", "bad integer");
    fails_with("$3\r\nabcd\r\n", "not followed by CRLF");
    fails_with("$-2\r\n", "negative length");
    fails_with("*-5\r\n", "negative count");
    fails_with("#x\r\n", "bad boolean");
    fails_with(",1.5.x\r\n", "bad double");
    fails_with("=2\r\nab\r\n", "verbatim");
    fails_with("_x\r\n", "null with a payload");
    fails_with("\r\n", "empty line");
    fails_with("*2\r\n:1\r\n@\r\n", "unknown type byte '@'");
    fails_with("$?\r\n", "streamed");
    try {
        resp_parser parser;
        (void)parser.feed("*2\r\n:1\r\n:x\r\n");
        FAIL("no protocol_error");
    } catch (const corio::redis::protocol_error& e) {
        CHECK(e.offset() == 9);  // the 'x' after "*2\r\n:1\r\n:"
    }
}

TEST_CASE("limits bound nesting, sizes and line length") {
    corio::redis::detail::resp_limits limits;
    limits.max_depth = 3;
    limits.max_bulk_length = 10;
    limits.max_aggregate_length = 5;
    limits.max_line_length = 16;
    auto rejects = [&](std::string bytes, std::string expected) {
        resp_parser parser(limits);
        try {
            (void)parser.feed(bytes);
            FAIL("accepted " << bytes);
        } catch (const corio::redis::protocol_error& e) {
            CHECK_THAT(e.what(), Catch::Contains(expected));
        }
    };
    rejects("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", "nesting deeper than 3");
    rejects("$11\r\n", "exceeds the limit of 10");
    rejects("*6\r\n", "exceeds the limit of 5");
    rejects("%3\r\n", "aggregate of 6 elements");  // a map's pairs count twice
    rejects("+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "line longer than 16");
    resp_parser parser(limits);
    CHECK(parser.feed("*1\r\n*1\r\n*1\r\n:1\r\n") == 16);
    CHECK(parser.ready());

    // A line of exactly the limit whose CRLF arrives split after the '\r'
    // is accepted, as it is when it arrives whole.
    const std::string longest = "+" + std::string(15, 'a');
    resp_parser split(limits);
    CHECK(split.feed(longest + "\r") == 0);
    CHECK(split.feed(longest + "\r\n") == 18);
    REQUIRE(split.ready());
    CHECK(split.take() == value::simple_string(std::string(15, 'a')));
    rejects(longest + "a\r", "line longer than 16");
}

TEST_CASE("a huge declared length does not allocate before the bytes arrive") {
    resp_parser parser;
    CHECK(parser.feed("*16777216\r\n") == 11);  // at the default aggregate limit
    CHECK_FALSE(parser.ready());
    CHECK(parser.in_progress());
    parser.reset();
    CHECK_FALSE(parser.in_progress());
}

TEST_CASE("commands encode string-like, integer, floating and range arguments") {
    std::string out;
    const std::vector<std::string> keys{"k1", "k2"};
    const std::string_view view = "sv";
    corio::redis::detail::append_command(out, "MGET", keys, std::string("s"), view, 42, -7LL, 1.5);
    CHECK(out == "*8\r\n$4\r\nMGET\r\n$2\r\nk1\r\n$2\r\nk2\r\n$1\r\ns\r\n$2\r\nsv\r\n$2\r\n42\r\n$2\r\n-7\r\n$3\r\n1.5\r\n");
    out.clear();
    corio::redis::detail::append_command(out, "SET", std::string("a\r\nb\0c", 6));
    CHECK(out == std::string("*2\r\n$3\r\nSET\r\n$6\r\na\r\nb\0c\r\n", 25));
    // An encoded command parses back (as a client's reply would) to its arguments.
    const value back = parse_whole(out);
    CHECK(back[1].as_string() == std::string("a\r\nb\0c", 6));
}

TEST_CASE("value accessors convert where lossless and throw reply_type_error otherwise") {
    CHECK(value::bulk_string("17").as_integer() == 17);
    CHECK(value::bulk_string("2.5").as_double() == 2.5);
    CHECK(value::integer_reply(3).as_string() == "3");
    CHECK_THROWS_AS(value::bulk_string("x").as_integer(), corio::redis::reply_type_error);
    CHECK_THROWS_AS(value::null().as_string(), corio::redis::reply_type_error);
    CHECK_FALSE(value::null().as_optional_string().has_value());
    CHECK_THROWS_AS(value::integer_reply(1).as_elements(), corio::redis::reply_type_error);
    try {
        (void)value::error_reply("WRONGTYPE Operation").as_string();
        FAIL("no redis::error");
    } catch (const corio::redis::error& e) {
        CHECK(e.prefix() == "WRONGTYPE");
        CHECK(std::string(e.what()) == "WRONGTYPE Operation");
    }
    CHECK(value::parse_integer("-9223372036854775808") == INT64_MIN);
    CHECK_FALSE(value::parse_integer("9223372036854775808").has_value());
}

TEST_CASE("redis URLs give host, port, database, credentials and socket paths") {
    using corio::redis::connect_options;
    const auto plain = connect_options::from_url("redis://127.0.0.1:6380/2");
    CHECK(plain.host == "127.0.0.1");
    CHECK(plain.port == 6380);
    CHECK(plain.database == 2);
    CHECK_FALSE(plain.use_tls);
    const auto secured = connect_options::from_url("rediss://alice:p%40ss@[::1]/?name=worker");
    CHECK(secured.use_tls);
    CHECK(secured.host == "::1");
    CHECK(secured.port == 6379);
    CHECK(secured.username == "alice");
    CHECK(secured.password == "p@ss");
    CHECK(secured.client_name == "worker");
    const auto local = connect_options::from_url("unix://:secret@/tmp/redis.sock?db=3");
    CHECK(local.unix_path == "/tmp/redis.sock");
    CHECK(local.password == "secret");
    CHECK(local.username.empty());
    CHECK(local.database == 3);
    CHECK_THROWS_AS(connect_options::from_url("http://x"), corio::redis::url_error);
    CHECK_THROWS_AS(connect_options::from_url("redis://h:99999"), corio::redis::url_error);
    CHECK_THROWS_WITH(connect_options::from_url("redis://h:0"), "port out of range in redis URL 'redis://h:0'");
    CHECK(connect_options::from_url("redis://h?protocol=2").protocol == 2);
    CHECK_THROWS_WITH(connect_options::from_url("redis://h?protocol=1"),
                      "protocol out of range in redis URL 'redis://h?protocol=1'");
    CHECK_THROWS_AS(connect_options::from_url("redis://h/x"), corio::redis::url_error);
    CHECK_THROWS_AS(connect_options::from_url("redis://h?color=red"), corio::redis::url_error);
    CHECK_THROWS_AS(connect_options::from_url("redis://:%zz@h"), corio::redis::url_error);
}
