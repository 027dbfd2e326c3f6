#pragma once

// Which arguments of a command are keys, so redis::cluster can send it to
// the master of their slot. A table of the commands whose keys are not
// simply the first argument (none, several, after a count, after STREAMS);
// every other command with an argument has its key first (GET k, HSET k ...,
// XADD k ...), as nearly every single-key command does.

#include <corio/redis/detail/cluster_slots.hpp>
#include <corio/redis/errors.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corio::redis::detail {

[[nodiscard]] inline std::string upper_case(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

[[nodiscard]] inline bool name_in(std::string_view name, std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

/// The argument count at args[at], or nullopt when absent or not a number.
[[nodiscard]] inline std::optional<std::size_t> count_at(const std::vector<std::string_view>& args, std::size_t at) {
    if (at >= args.size()) {
        return std::nullopt;
    }
    std::size_t n = 0;
    for (const char c : args[at]) {
        if (c < '0' || c > '9' || n > args.size()) {
            return std::nullopt;
        }
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return args[at].empty() ? std::nullopt : std::optional<std::size_t>(n);
}

/// The arguments of an encoded command (append_command's RESP array of bulk
/// strings), as views into `encoded`; args[0] is the command name.
[[nodiscard]] inline std::vector<std::string_view> encoded_arguments(std::string_view encoded) {
    std::vector<std::string_view> args;
    const auto number_until_crlf = [&](std::size_t& at) {
        std::size_t n = 0;
        while (at < encoded.size() && encoded[at] != '\r') {
            n = n * 10 + static_cast<std::size_t>(encoded[at] - '0');
            ++at;
        }
        at += 2;
        return n;
    };
    std::size_t at = 1;  // after '*'
    const std::size_t count = number_until_crlf(at);
    args.reserve(count);
    for (std::size_t i = 0; i < count && at < encoded.size(); ++i) {
        ++at;  // '$'
        const std::size_t length = number_until_crlf(at);
        args.push_back(encoded.substr(at, length));
        at += length + 2;
    }
    return args;
}

/// Positions in `args` (args[0] is the command name) of the command's keys;
/// empty for a command without keys.
[[nodiscard]] inline std::vector<std::size_t> key_positions(const std::vector<std::string_view>& args) {
    std::vector<std::size_t> keys;
    if (args.empty()) {
        return keys;
    }
    const std::string name = upper_case(args[0]);
    const auto range = [&](std::size_t first, std::size_t end, std::size_t step = 1) {
        for (std::size_t i = first; i < std::min(end, args.size()); i += step) {
            keys.push_back(i);
        }
    };
    const auto counted_keys = [&](std::size_t count_position) {
        if (const std::optional<std::size_t> n = count_at(args, count_position)) {
            range(count_position + 1, count_position + 1 + *n);
        }
    };
    if (name_in(name, {"PING", "ECHO", "INFO", "TIME", "DBSIZE", "LASTSAVE", "CLUSTER", "CONFIG", "CLIENT",
                       "COMMAND", "SCRIPT", "FUNCTION", "FLUSHALL", "FLUSHDB", "KEYS", "SCAN", "RANDOMKEY",
                       "PUBLISH", "PUBSUB", "WAIT", "SAVE", "BGSAVE", "BGREWRITEAOF", "DEBUG", "SLOWLOG",
                       "LATENCY", "ACL", "AUTH", "HELLO", "READONLY", "READWRITE", "ROLE", "LOLWUT", "MODULE",
                       "SELECT", "SWAPDB", "SHUTDOWN", "ASKING", "FAILOVER", "REPLICAOF", "SLAVEOF", "MONITOR",
                       "MULTI", "EXEC", "DISCARD", "UNWATCH", "QUIT", "RESET", "SUBSCRIBE", "PSUBSCRIBE",
                       "UNSUBSCRIBE", "PUNSUBSCRIBE"})) {
        return keys;
    }
    if (name_in(name, {"MGET", "DEL", "UNLINK", "EXISTS", "TOUCH", "WATCH", "SINTER", "SUNION", "SDIFF",
                       "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE", "PFCOUNT", "PFMERGE"})) {
        range(1, args.size());
    } else if (name_in(name, {"MSET", "MSETNX"})) {
        range(1, args.size(), 2);
    } else if (name_in(name, {"RENAME", "RENAMENX", "RPOPLPUSH", "LMOVE", "BLMOVE", "BRPOPLPUSH", "SMOVE", "COPY",
                              "ZRANGESTORE", "GEOSEARCHSTORE"})) {
        range(1, 3);
    } else if (name_in(name, {"BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"})) {
        range(1, args.size() - 1);  // the last argument is the timeout
    } else if (name_in(name, {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})) {
        counted_keys(2);
    } else if (name_in(name, {"ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"})) {
        range(1, 2);
        counted_keys(2);
    } else if (name_in(name, {"ZUNION", "ZINTER", "ZDIFF", "ZINTERCARD", "SINTERCARD", "LMPOP", "ZMPOP"})) {
        counted_keys(1);
    } else if (name_in(name, {"BLMPOP", "BZMPOP"})) {
        counted_keys(2);
    } else if (name_in(name, {"XREAD", "XREADGROUP"})) {
        // XREAD ... STREAMS k1 k2 id1 id2: the first half after STREAMS.
        for (std::size_t i = 1; i < args.size(); ++i) {
            if (upper_case(args[i]) == "STREAMS") {
                const std::size_t rest = args.size() - i - 1;
                range(i + 1, i + 1 + rest / 2);
                break;
            }
        }
    } else if (name_in(name, {"XGROUP", "XINFO", "OBJECT", "MEMORY"})) {
        range(2, 3);  // "XGROUP CREATE stream ...": a subcommand, then the key
    } else {
        range(1, 2);
    }
    return keys;
}

/// The slot every key of the command hashes to, or nullopt for a command
/// without keys. Throws crossslot_error when keys hash to different slots.
[[nodiscard]] inline std::optional<std::uint16_t> command_slot(const std::vector<std::string_view>& args) {
    const std::vector<std::size_t> keys = key_positions(args);
    if (keys.empty()) {
        return std::nullopt;
    }
    const std::uint16_t slot = slot_of_key(args[keys.front()]);
    for (const std::size_t position : keys) {
        const std::uint16_t other = slot_of_key(args[position]);
        if (other != slot) {
            throw crossslot_error("keys of " + std::string(args[0]) + " hash to different slots ('" +
                                  std::string(args[keys.front()]) + "': " + std::to_string(slot) + ", '" +
                                  std::string(args[position]) +
                                  "': " + std::to_string(other) + "); give them one {hash tag}");
        }
    }
    return slot;
}

}  // namespace corio::redis::detail
