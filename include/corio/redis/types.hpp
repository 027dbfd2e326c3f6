#pragma once

// The shapes typed helpers return: stream entries, pending-entry reports,
// pub/sub messages, SET's options.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace corio::redis {

/// Field/value pairs, in order (hashes, stream entries).
using field_list = std::vector<std::pair<std::string, std::string>>;

/// SET's options: expiry (EX seconds / PX milliseconds) and condition
/// (NX: only if absent, XX: only if present).
struct set_options {
    std::optional<std::chrono::seconds> ex{};
    std::optional<std::chrono::milliseconds> px{};
    bool nx = false;
    bool xx = false;
    bool keepttl = false;
};

/// Which end of a list (BLMOVE / LMOVE).
enum class list_end { left, right };

/// One entry of a stream: its id ("1700000000000-0") and fields.
struct stream_entry {
    std::string id;
    field_list fields;

    /// The value of `field`, or nullopt.
    [[nodiscard]] std::optional<std::string> field(std::string_view name) const {
        for (const auto& [key, value] : fields) {
            if (key == name) {
                return value;
            }
        }
        return std::nullopt;
    }
};

/// XAUTOCLAIM's answer: where the next call starts ("0-0" once the whole
/// pending list was scanned), the entries now owned by the caller, and ids
/// that were pending but deleted from the stream.
struct autoclaim_result {
    std::string next_start;
    std::vector<stream_entry> claimed;
    std::vector<std::string> deleted_ids;
};

/// XPENDING's summary of a group.
struct pending_summary {
    std::int64_t count = 0;
    std::optional<std::string> smallest_id;
    std::optional<std::string> largest_id;
    std::vector<std::pair<std::string, std::int64_t>> consumers;  // name, pending entries
};

/// One row of XPENDING's extended form.
struct pending_entry {
    std::string id;
    std::string consumer;
    std::chrono::milliseconds idle{0};
    std::int64_t deliveries = 0;
};

/// A pub/sub message: the channel it was published on, the payload, and the
/// pattern that matched (empty for a plain SUBSCRIBE).
struct message {
    std::string channel;
    std::string payload;
    std::string pattern;
};

}  // namespace corio::redis
