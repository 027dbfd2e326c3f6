#pragma once

// permessage-deflate (RFC 7692): the negotiation of its parameters in the
// Sec-WebSocket-Extensions header (no zlib needed), and, with zlib
// (CORIO_WITH_ZLIB), the per-connection compressor and decompressor.

#include <corio/http/detail/grammar.hpp>
#include <corio/http/websocket_options.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#if defined(CORIO_WITH_ZLIB)
#include <zlib.h>
#endif

namespace corio::detail::ws {

/// Whether this build can compress (zlib found).
inline constexpr bool deflate_available =
#if defined(CORIO_WITH_ZLIB)
    true;
#else
    false;
#endif

/// The parameters both sides agreed on.
struct deflate_params {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
};

/// One extension of a Sec-WebSocket-Extensions list: its name and parameters.
struct extension_offer {
    std::string name;
    std::vector<std::pair<std::string, std::optional<std::string>>> params;
};

/// Splits a Sec-WebSocket-Extensions value into its extensions (RFC 6455 §9.1;
/// quoted parameter values are unquoted).
inline std::vector<extension_offer> parse_extensions(std::string_view value) {
    std::vector<extension_offer> result;
    std::size_t i = 0;
    const auto skip_ws = [&] {
        while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) {
            ++i;
        }
    };
    const auto token = [&] {
        const std::size_t start = i;
        while (i < value.size() && value[i] != ';' && value[i] != ',' && value[i] != '=' && value[i] != ' ' &&
               value[i] != '\t') {
            ++i;
        }
        return std::string(value.substr(start, i - start));
    };
    while (i < value.size()) {
        skip_ws();
        if (i < value.size() && value[i] == ',') {
            ++i;
            continue;
        }
        extension_offer offer;
        offer.name = token();
        skip_ws();
        while (i < value.size() && value[i] == ';') {
            ++i;
            skip_ws();
            std::string name = token();
            skip_ws();
            std::optional<std::string> param_value;
            if (i < value.size() && value[i] == '=') {
                ++i;
                skip_ws();
                if (i < value.size() && value[i] == '"') {
                    const std::size_t close = value.find('"', i + 1);
                    if (close == std::string_view::npos) {
                        throw std::invalid_argument("unterminated quoted string");
                    }
                    param_value = std::string(value.substr(i + 1, close - i - 1));
                    i = close + 1;
                } else {
                    param_value = token();
                }
                skip_ws();
            }
            offer.params.emplace_back(std::move(name), std::move(param_value));
        }
        if (i < value.size() && value[i] != ',') {
            throw std::invalid_argument("unexpected character in extension list");
        }
        if (!offer.name.empty()) {
            result.push_back(std::move(offer));
        }
    }
    return result;
}

// A window-bits parameter value: 8..15 digits, nothing else.
inline std::optional<int> window_bits(const std::optional<std::string>& v) {
    if (!v || v->empty() || v->size() > 2) {
        return std::nullopt;
    }
    int bits = 0;
    for (const char c : *v) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        bits = bits * 10 + (c - '0');
    }
    if (bits < 8 || bits > 15) {
        return std::nullopt;
    }
    return bits;
}

/// Server side (RFC 7692 §7.1): the first acceptable permessage-deflate offer
/// of the client's header values, answered within `ours`; nullopt when none
/// is acceptable (then the connection runs uncompressed). `response` gets
/// the Sec-WebSocket-Extensions value to answer with.
inline std::optional<deflate_params> negotiate_server(const std::vector<std::string_view>& header_values,
                                                      const http::deflate_options& ours, std::string& response) {
    if (!ours.enabled || !deflate_available) {
        return std::nullopt;
    }
    for (const std::string_view value : header_values) {
        std::vector<extension_offer> offers;
        try {
            offers = parse_extensions(value);
        } catch (const std::invalid_argument&) {
            continue;
        }
        for (const extension_offer& offer : offers) {
            if (offer.name != "permessage-deflate") {
                continue;
            }
            deflate_params p;
            p.server_no_context_takeover = ours.server_no_context_takeover;
            p.client_no_context_takeover = ours.client_no_context_takeover;
            p.server_max_window_bits = ours.server_max_window_bits;
            p.client_max_window_bits = 15;
            bool client_bits_allowed = false;
            bool acceptable = true;
            std::vector<std::string_view> seen;
            for (const auto& [name, v] : offer.params) {
                for (const std::string_view s : seen) {
                    if (s == name) {
                        acceptable = false;  // §7: a parameter twice declines the offer
                    }
                }
                seen.push_back(name);
                if (name == "server_no_context_takeover" && !v) {
                    p.server_no_context_takeover = true;
                } else if (name == "client_no_context_takeover" && !v) {
                    p.client_no_context_takeover = true;
                } else if (name == "server_max_window_bits") {
                    const std::optional<int> bits = window_bits(v);
                    if (!bits || *bits == 8) {
                        acceptable = false;  // zlib cannot deflate with an 8-bit window
                    } else if (*bits < p.server_max_window_bits) {
                        p.server_max_window_bits = *bits;
                    }
                } else if (name == "client_max_window_bits") {
                    client_bits_allowed = true;
                    if (v) {
                        if (const std::optional<int> bits = window_bits(v)) {
                            p.client_max_window_bits = *bits;
                        } else {
                            acceptable = false;
                        }
                    }
                } else {
                    acceptable = false;
                }
            }
            if (!acceptable) {
                continue;
            }
            if (client_bits_allowed && ours.client_max_window_bits < p.client_max_window_bits) {
                p.client_max_window_bits = ours.client_max_window_bits;
            }
            response = "permessage-deflate";
            if (p.server_no_context_takeover) {
                response += "; server_no_context_takeover";
            }
            if (p.client_no_context_takeover) {
                response += "; client_no_context_takeover";
            }
            if (p.server_max_window_bits < 15) {
                response += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
            }
            if (client_bits_allowed && p.client_max_window_bits < 15) {
                response += "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
            }
            return p;
        }
    }
    return std::nullopt;
}

/// Client side: the offer to send (empty: offer nothing).
inline std::string client_offer(const http::deflate_options& ours) {
    if (!ours.enabled || !deflate_available) {
        return {};
    }
    std::string offer = "permessage-deflate";
    if (ours.server_no_context_takeover) {
        offer += "; server_no_context_takeover";
    }
    if (ours.client_no_context_takeover) {
        offer += "; client_no_context_takeover";
    }
    if (ours.server_max_window_bits < 15) {
        offer += "; server_max_window_bits=" + std::to_string(ours.server_max_window_bits);
    }
    offer += "; client_max_window_bits";
    if (ours.client_max_window_bits < 15) {
        offer += "=" + std::to_string(ours.client_max_window_bits);
    }
    return offer;
}

/// Client side: the parameters of the server's answer to client_offer();
/// nullopt when it accepted no extension. Throws std::invalid_argument when
/// the answer is not one the offer allows (the handshake then fails, §7.2.2).
inline std::optional<deflate_params> accept_client(const std::vector<std::string_view>& header_values,
                                                   const http::deflate_options& ours) {
    std::optional<deflate_params> result;
    for (const std::string_view value : header_values) {
        for (const extension_offer& ext : parse_extensions(value)) {
            if (ext.name != "permessage-deflate" || client_offer(ours).empty()) {
                throw std::invalid_argument("server accepted an extension not offered: " + ext.name);
            }
            if (result) {
                throw std::invalid_argument("server accepted permessage-deflate twice");
            }
            deflate_params p;
            p.client_no_context_takeover = ours.client_no_context_takeover;
            p.client_max_window_bits = ours.client_max_window_bits;
            for (const auto& [name, v] : ext.params) {
                if (name == "server_no_context_takeover" && !v) {
                    p.server_no_context_takeover = true;
                } else if (name == "client_no_context_takeover" && !v) {
                    p.client_no_context_takeover = true;
                } else if (name == "server_max_window_bits" && window_bits(v)) {
                    p.server_max_window_bits = *window_bits(v);
                } else if (name == "client_max_window_bits" && window_bits(v)) {
                    p.client_max_window_bits = std::min(p.client_max_window_bits, *window_bits(v));
                } else {
                    throw std::invalid_argument("bad permessage-deflate parameter in the answer: " + name);
                }
            }
            if (ours.server_no_context_takeover && !p.server_no_context_takeover) {
                throw std::invalid_argument("server ignored server_no_context_takeover");
            }
            if (p.server_max_window_bits > ours.server_max_window_bits) {
                throw std::invalid_argument("server_max_window_bits larger than offered");
            }
            result = p;
        }
    }
    return result;
}

#if defined(CORIO_WITH_ZLIB)

/// One direction's compressor: a message in, its raw DEFLATE blocks out
/// without the 00 00 FF FF tail of the final sync flush (RFC 7692 §7.2.1).
class deflater {
public:
    deflater(int window_bits, bool no_context_takeover) : m_reset(no_context_takeover) {
        m_stream.zalloc = nullptr;
        m_stream.zfree = nullptr;
        m_stream.opaque = nullptr;
        if (deflateInit2(&m_stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            throw std::runtime_error("corio::http websocket: deflateInit2 failed");
        }
    }
    deflater(const deflater&) = delete;
    deflater& operator=(const deflater&) = delete;
    ~deflater() { deflateEnd(&m_stream); }

    /// Appends the compressed form of `input` to `out`.
    void compress(std::string_view input, std::string& out) {
        m_stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
        m_stream.avail_in = static_cast<uInt>(input.size());
        const std::size_t start = out.size();
        for (;;) {
            const std::size_t room = input.size() / 2 + 64;
            const std::size_t at = out.size();
            out.resize(at + room);
            m_stream.next_out = reinterpret_cast<Bytef*>(out.data() + at);
            m_stream.avail_out = static_cast<uInt>(room);
            const int rc = deflate(&m_stream, Z_SYNC_FLUSH);
            out.resize(at + room - m_stream.avail_out);
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                throw std::runtime_error("corio::http websocket: deflate failed");
            }
            if (m_stream.avail_in == 0 && m_stream.avail_out != 0) {
                break;
            }
        }
        if (out.size() - start >= 4 && out.compare(out.size() - 4, 4, std::string_view("\0\0\xff\xff", 4)) == 0) {
            out.resize(out.size() - 4);
        }
        if (m_reset) {
            deflateReset(&m_stream);
        }
    }

private:
    z_stream m_stream{};
    bool m_reset;
};

/// One direction's decompressor, bounded: a message that inflates past the
/// limit is stopped there (a deflate bomb costs at most the limit).
class inflater {
public:
    enum class result { ok, too_big, corrupt };

    inflater(int window_bits, bool no_context_takeover) : m_reset(no_context_takeover) {
        // zlib cannot inflate with an 8-bit window's header value; 9 reads
        // everything an 8-bit window wrote.
        if (inflateInit2(&m_stream, -(window_bits < 9 ? 9 : window_bits)) != Z_OK) {
            throw std::runtime_error("corio::http websocket: inflateInit2 failed");
        }
    }
    inflater(const inflater&) = delete;
    inflater& operator=(const inflater&) = delete;
    ~inflater() { inflateEnd(&m_stream); }

    /// Decompresses one whole message's payload into `out` (replacing it).
    result decompress(std::string_view input, std::string& out, std::size_t limit) {
        out.clear();
        static const char tail[4] = {0, 0, '\xff', '\xff'};
        const result r = run(input, out, limit);
        const result final = r == result::ok ? run(std::string_view(tail, 4), out, limit) : r;
        if (m_reset || final != result::ok) {
            inflateReset(&m_stream);
        }
        return final;
    }

private:
    result run(std::string_view input, std::string& out, std::size_t limit) {
        m_stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
        m_stream.avail_in = static_cast<uInt>(input.size());
        for (;;) {
            if (out.size() > limit) {
                return result::too_big;
            }
            std::size_t room = std::max<std::size_t>(input.size() * 4, 16 * 1024);
            room = std::min(room, limit + 1 - out.size());
            const std::size_t at = out.size();
            out.resize(at + room);
            m_stream.next_out = reinterpret_cast<Bytef*>(out.data() + at);
            m_stream.avail_out = static_cast<uInt>(room);
            const int rc = inflate(&m_stream, Z_SYNC_FLUSH);
            out.resize(at + room - m_stream.avail_out);
            if (rc == Z_STREAM_END) {
                // A final block ends the context; what follows starts afresh.
                inflateReset(&m_stream);
                if (m_stream.avail_in == 0) {
                    break;
                }
                continue;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                return result::corrupt;
            }
            if (m_stream.avail_out != 0) {
                break;  // all input taken and nothing more pending
            }
        }
        return out.size() > limit ? result::too_big : result::ok;
    }

    z_stream m_stream{};
    bool m_reset;
};

#endif

}  // namespace corio::detail::ws
