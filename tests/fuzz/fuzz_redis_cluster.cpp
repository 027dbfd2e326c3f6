// libFuzzer target for what a Redis Cluster client reads from the nodes
// (corio/redis/detail/cluster_slots.hpp): the slot map from a CLUSTER SHARDS
// or CLUSTER SLOTS reply, and MOVED / ASK redirects. Byte 0 picks which
// (0: SLOTS, 1: SHARDS, 2: SHARDS over TLS, 3: a redirect's text); the rest
// is RESP replies (for a redirect, the error's text). Each must be taken or
// refused with a named error (reply_type_error, or redis::error for an error
// reply inside): nothing else thrown, and a map taken names only masters
// with a usable port and an index that is a node's. A redirect taken names
// a slot in 0-16383, a port in 1-65535 and a host. A violation traps.
#include <corio/redis/detail/cluster_slots.hpp>
#include <corio/redis/detail/resp_parser.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace redis = corio::redis;
using redis::detail::cluster_slot_count;

void check_map(const redis::detail::slot_map& map) {
    if (map.nodes().size() > cluster_slot_count) {
        __builtin_trap();
    }
    for (const redis::detail::cluster_node& node : map.nodes()) {
        if (node.port == 0) {
            __builtin_trap();
        }
    }
    std::size_t assigned = 0;
    for (std::size_t slot = 0; slot < cluster_slot_count; ++slot) {
        const redis::detail::cluster_node* owner = map.owner(static_cast<std::uint16_t>(slot));
        if (owner == nullptr) {
            continue;
        }
        ++assigned;
        if (owner < map.nodes().data() || owner >= map.nodes().data() + map.nodes().size()) {
            __builtin_trap();
        }
    }
    if (assigned != map.assigned_slots() || (assigned > 0) != (map.first_master() != nullptr)) {
        __builtin_trap();
    }
}

void read_map(const redis::value& reply, unsigned which) {
    try {
        const redis::detail::slot_map map =
            which == 0 ? redis::detail::parse_cluster_slots(reply, "seed.example")
                       : redis::detail::parse_cluster_shards(reply, "seed.example", which == 2);
        check_map(map);
    } catch (const redis::reply_type_error&) {
    } catch (const redis::error&) {
    }
}

void read_redirect(std::string_view text) {
    try {
        const redis::detail::redirect r = redis::detail::parse_redirect(text, "answering.example");
        if (r.type == redis::detail::redirect::kind::moved ||
            r.type == redis::detail::redirect::kind::ask) {
            if (r.slot >= cluster_slot_count || r.port == 0 || r.host.empty()) {
                __builtin_trap();
            }
        }
    } catch (const redis::reply_type_error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const unsigned which = data[0] % 4;
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    if (which == 3) {
        read_redirect(rest);
        return 0;
    }
    redis::detail::resp_parser parser{redis::detail::resp_limits{}};
    std::string_view input = rest;
    try {
        while (!input.empty()) {
            const std::size_t used = parser.feed(input);
            input.remove_prefix(used);
            if (!parser.ready()) {
                break;
            }
            read_map(parser.take(), which);
        }
    } catch (const redis::protocol_error&) {
        // Not RESP: the connection would have failed before the map was read.
    }
    return 0;
}
