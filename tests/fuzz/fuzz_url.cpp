// libFuzzer target for corio/http/url.hpp: parse, normalise and re-parse,
// resolve references, and round-trip percent-encoding. url_error is the only
// exception allowed; a normalised URL must re-parse to the same value.
#include <corio/http/url.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

std::optional<corio::http::url> try_parse(std::string_view s) {
    try {
        return corio::http::url::parse(s);
    } catch (const corio::http::url_error& e) {
        if (e.offset() > s.size())
            __builtin_trap();
        return std::nullopt;
    }
}

void check_round_trip(const corio::http::url& u) {
    const auto again = try_parse(u.to_string());
    if (!again || !(*again == u))
        __builtin_trap();
    if (u.target().empty() || u.target()[0] != '/')
        __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    const std::string_view data(reinterpret_cast<const char*>(bytes), size);

    // The whole input as a URL.
    if (const auto u = try_parse(data))
        check_round_trip(*u);

    // Split at the first newline: a base URL and a reference to resolve against it.
    const std::size_t nl = data.find('\n');
    const std::string_view base_text = nl == std::string_view::npos
                                           ? std::string_view("http://a.example/b/c?q")
                                           : data.substr(0, nl);
    const std::string_view reference = nl == std::string_view::npos ? data : data.substr(nl + 1);
    if (const auto base = try_parse(base_text)) {
        try {
            const corio::http::url resolved = base->resolve(reference);
            check_round_trip(resolved);
        } catch (const corio::http::url_error&) {
        }
    }

    // Percent-encoding round trip, and decoding arbitrary input.
    if (corio::http::percent_decode(corio::http::percent_encode(data)) != data)
        __builtin_trap();
    try {
        (void)corio::http::percent_decode(data);
    } catch (const corio::http::url_error&) {
    }
    return 0;
}
