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
    /// EX: expire after this many seconds.
    std::optional<std::chrono::seconds> ex{};
    /// PX: expire after this many milliseconds.
    std::optional<std::chrono::milliseconds> px{};
    /// NX: set only if the key does not exist.
    bool nx = false;
    /// XX: set only if the key exists.
    bool xx = false;
    /// KEEPTTL: keep the key's current expiry instead of clearing it.
    bool keepttl = false;
};

/// Which end of a list (BLMOVE / LMOVE).
enum class list_end { left, right };

/// One entry of a stream: its id ("1700000000000-0") and fields.
struct stream_entry {
    /// Entry id, "<milliseconds>-<sequence>".
    std::string id;
    /// Field/value pairs in the order they were added.
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
    /// The start to pass to the next call; "0-0" once the scan is complete.
    std::string next_start;
    /// Entries now pending for the calling consumer (delivery count incremented).
    std::vector<stream_entry> claimed;
    /// Ids that were pending but no longer in the stream (removed from the pending list).
    std::vector<std::string> deleted_ids;
};

/// XPENDING's summary of a group.
struct pending_summary {
    /// Entries delivered to the group and not acknowledged.
    std::int64_t count = 0;
    /// Lowest pending id; nullopt when nothing is pending.
    std::optional<std::string> smallest_id;
    /// Highest pending id; nullopt when nothing is pending.
    std::optional<std::string> largest_id;
    /// Each consumer with pending entries, and how many it has.
    std::vector<std::pair<std::string, std::int64_t>> consumers;  // name, pending entries
};

/// One row of XPENDING's extended form.
struct pending_entry {
    /// The entry's id.
    std::string id;
    /// The consumer it was delivered to.
    std::string consumer;
    /// Time since it was last delivered.
    std::chrono::milliseconds idle{0};
    /// Times it was delivered (a claim counts as one).
    std::int64_t deliveries = 0;
};

/// A pub/sub message: the channel it was published on, the payload, and the
/// pattern that matched (empty for a plain SUBSCRIBE).
struct message {
    /// Channel the message was published on.
    std::string channel;
    /// The message as published, bytes unchanged.
    std::string payload;
    /// Pattern that matched (PSUBSCRIBE); empty for a plain SUBSCRIBE.
    std::string pattern;
};

/// What a redis::cluster did to route its commands (cluster::stats()).
struct cluster_stats {
    /// MOVED replies followed (each updated the slot map).
    std::uint64_t moved_redirects = 0;
    /// ASK replies followed (ASKING sent, slot map left as it was).
    std::uint64_t ask_redirects = 0;
    /// TRYAGAIN replies (a multi-key command during a slot migration) retried.
    std::uint64_t try_again_retries = 0;
    /// Complete slot maps read (the one of connect() included).
    std::uint64_t map_refreshes = 0;
};

}  // namespace corio::redis
