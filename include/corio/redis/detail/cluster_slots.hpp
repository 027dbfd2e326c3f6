#pragma once

// Redis Cluster's key space: 16384 hash slots, a key's slot is
// CRC16-XMODEM(key) mod 16384, and only the hash tag is hashed when the key
// has one (the bytes between the first '{' and the next '}', if there are
// any), so "{user1000}.following" and "{user1000}.followers" share a slot.
//
// slot_map is which master serves each slot, read from CLUSTER SHARDS
// (Redis 7) or CLUSTER SLOTS (older servers).

#include <corio/redis/errors.hpp>
#include <corio/redis/value.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corio::redis::detail {

inline constexpr std::size_t cluster_slot_count = 16384;

/// CRC16 with polynomial 0x1021, initial value 0, no reflection (XMODEM):
/// the variant the cluster specification names.
[[nodiscard]] constexpr std::array<std::uint16_t, 256> crc16_xmodem_table() noexcept {
    std::array<std::uint16_t, 256> table{};
    for (std::uint32_t byte = 0; byte < 256; ++byte) {
        std::uint32_t crc = byte << 8;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 0x8000U) != 0 ? (crc << 1) ^ 0x1021U : crc << 1;
        }
        table[byte] = static_cast<std::uint16_t>(crc & 0xFFFFU);
    }
    return table;
}

inline constexpr std::array<std::uint16_t, 256> crc16_xmodem_lookup = crc16_xmodem_table();

[[nodiscard]] constexpr std::uint16_t crc16_xmodem(std::string_view bytes) noexcept {
    std::uint16_t crc = 0;
    for (const char c : bytes) {
        const auto index = static_cast<std::uint8_t>((crc >> 8) ^ static_cast<std::uint8_t>(c));
        crc = static_cast<std::uint16_t>((crc << 8) ^ crc16_xmodem_lookup[index]);
    }
    return crc;
}

/// The part of `key` that is hashed: the hash tag when there is a non-empty
/// one (first '{', then the first '}' after it), else the whole key.
[[nodiscard]] constexpr std::string_view hashed_part(std::string_view key) noexcept {
    const std::size_t open = key.find('{');
    if (open == std::string_view::npos) {
        return key;
    }
    const std::size_t close = key.find('}', open + 1);
    if (close == std::string_view::npos || close == open + 1) {
        return key;
    }
    return key.substr(open + 1, close - open - 1);
}

[[nodiscard]] constexpr std::uint16_t slot_of_key(std::string_view key) noexcept {
    return static_cast<std::uint16_t>(crc16_xmodem(hashed_part(key)) % cluster_slot_count);
}

/// "host:port", with brackets around an IPv6 address.
[[nodiscard]] inline std::string node_address(std::string_view host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string_view::npos;
    return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

/// One master of the cluster, as the slot map names it.
struct cluster_node {
    std::string host;
    std::uint16_t port = 0;
    std::string id;  // the node id ("" when the reply had none)

    [[nodiscard]] std::string address() const { return node_address(host, port); }
};

/// Which master serves each slot.
class slot_map {
public:
    static constexpr std::uint16_t unassigned = 0xFFFF;

    slot_map() { m_owner.fill(unassigned); }

    /// The index of the master at host:port, added when new.
    std::uint16_t add_node(std::string host, std::uint16_t port, std::string id = {}) {
        for (std::size_t i = 0; i < m_nodes.size(); ++i) {
            if (m_nodes[i].host == host && m_nodes[i].port == port) {
                if (m_nodes[i].id.empty()) {
                    m_nodes[i].id = std::move(id);
                }
                return static_cast<std::uint16_t>(i);
            }
        }
        if (m_nodes.size() == cluster_slot_count) {
            // More masters than slots: the index would reach `unassigned`.
            throw reply_type_error("redis cluster slot map names more than " + std::to_string(cluster_slot_count) +
                                   " masters");
        }
        m_nodes.push_back(cluster_node{std::move(host), port, std::move(id)});
        return static_cast<std::uint16_t>(m_nodes.size() - 1);
    }

    /// Slots first..last (both included) are served by master `node`.
    void assign(std::int64_t first, std::int64_t last, std::uint16_t node) {
        if (first < 0 || last >= static_cast<std::int64_t>(cluster_slot_count) || first > last) {
            throw reply_type_error("redis cluster slot range " + std::to_string(first) + "-" + std::to_string(last) +
                                   " is out of 0-16383");
        }
        for (std::int64_t slot = first; slot <= last; ++slot) {
            m_owner[static_cast<std::size_t>(slot)] = node;
        }
    }

    /// The master serving `slot`, or nullptr when none does.
    [[nodiscard]] const cluster_node* owner(std::uint16_t slot) const noexcept {
        const std::uint16_t node = m_owner[slot % cluster_slot_count];
        return node == unassigned ? nullptr : &m_nodes[node];
    }

    /// The masters, in the order the map named them.
    [[nodiscard]] const std::vector<cluster_node>& nodes() const noexcept { return m_nodes; }

    /// How many slots have a master.
    [[nodiscard]] std::size_t assigned_slots() const noexcept {
        std::size_t count = 0;
        for (const std::uint16_t node : m_owner) {
            count += node != unassigned ? 1 : 0;
        }
        return count;
    }

    /// The master of the lowest assigned slot (where keyless commands go), or nullptr.
    [[nodiscard]] const cluster_node* first_master() const noexcept {
        for (const std::uint16_t node : m_owner) {
            if (node != unassigned) {
                return &m_nodes[node];
            }
        }
        return nullptr;
    }

private:
    std::vector<cluster_node> m_nodes;
    std::array<std::uint16_t, cluster_slot_count> m_owner{};
};

/// The value of field `name` of a RESP3 map or a RESP2 array of
/// alternating names and values; nullptr when absent.
[[nodiscard]] inline const value* field_of(const value& record, std::string_view name) {
    const std::vector<value>& elements = record.as_elements();
    for (std::size_t i = 0; i + 1 < elements.size(); i += 2) {
        if (elements[i].is_string() && elements[i].text() == name) {
            return &elements[i + 1];
        }
    }
    return nullptr;
}

/// A node's port from a slot-map reply: 1-65535, or reply_type_error naming
/// `reply` (a port would otherwise wrap to 16 bits, 0 included).
[[nodiscard]] inline std::uint16_t port_of(const value& port, std::string_view reply) {
    const std::int64_t number = port.as_integer();
    if (number < 1 || number > 65535) {
        throw reply_type_error("redis " + std::string(reply) + ": port " + std::to_string(number) +
                               " is out of 1-65535");
    }
    return static_cast<std::uint16_t>(number);
}

/// The address to reach a node by: its endpoint, else its ip; "" (the
/// server's way to say "the address you asked me on") gives `queried_host`.
[[nodiscard]] inline std::string reachable_host(const value* endpoint, const value* ip,
                                                const std::string& queried_host) {
    for (const value* candidate : {endpoint, ip}) {
        if (candidate != nullptr && candidate->is_string() && !candidate->text().empty() &&
            candidate->text() != "?") {
            return candidate->text();
        }
    }
    return queried_host;
}

/// The map of a CLUSTER SHARDS reply: per shard its slot ranges and the
/// node whose role is master (port, or tls-port when `tls`).
[[nodiscard]] inline slot_map parse_cluster_shards(const value& reply, const std::string& queried_host, bool tls) {
    slot_map map;
    for (const value& shard : reply.as_elements()) {
        const value* slots = field_of(shard, "slots");
        const value* nodes = field_of(shard, "nodes");
        if (slots == nullptr || nodes == nullptr) {
            throw reply_type_error("redis CLUSTER SHARDS: a shard without slots or nodes");
        }
        const value* master = nullptr;
        for (const value& node : nodes->as_elements()) {
            const value* role = field_of(node, "role");
            if (role != nullptr && role->as_string() == "master") {
                master = &node;
                break;
            }
        }
        const std::vector<value>& ranges = slots->as_elements();
        if (master == nullptr || ranges.empty()) {
            continue;  // a shard without a master serves nothing for now
        }
        const value* port = tls ? field_of(*master, "tls-port") : nullptr;
        if (port == nullptr) {
            port = field_of(*master, "port");
        }
        if (port == nullptr) {
            throw reply_type_error("redis CLUSTER SHARDS: a master without a port");
        }
        const value* id = field_of(*master, "id");
        const std::uint16_t index = map.add_node(
            reachable_host(field_of(*master, "endpoint"), field_of(*master, "ip"), queried_host),
            port_of(*port, "CLUSTER SHARDS"), id != nullptr ? id->as_string() : std::string{});
        if (ranges.size() % 2 != 0) {
            throw reply_type_error("redis CLUSTER SHARDS: an odd number of slot bounds");
        }
        for (std::size_t i = 0; i < ranges.size(); i += 2) {
            map.assign(ranges[i].as_integer(), ranges[i + 1].as_integer(), index);
        }
    }
    return map;
}

/// The map of a CLUSTER SLOTS reply: [[first, last, [host, port, id, ...], replicas...], ...].
[[nodiscard]] inline slot_map parse_cluster_slots(const value& reply, const std::string& queried_host) {
    slot_map map;
    for (const value& range : reply.as_elements()) {
        if (range.size() < 3) {
            throw reply_type_error("redis CLUSTER SLOTS: a range without a master");
        }
        const value& master = range[2];
        if (master.size() < 2) {
            throw reply_type_error("redis CLUSTER SLOTS: a master without host and port");
        }
        const std::string host = reachable_host(&master[0], nullptr, queried_host);
        const std::uint16_t index = map.add_node(host, port_of(master[1], "CLUSTER SLOTS"),
                                                 master.size() > 2 ? master[2].as_string() : std::string{});
        map.assign(range[0].as_integer(), range[1].as_integer(), index);
    }
    return map;
}

/// A MOVED or ASK (or TRYAGAIN) error reply, taken apart.
struct redirect {
    enum class kind { none, moved, ask, try_again };
    kind type = kind::none;
    std::uint16_t slot = 0;
    std::string host;
    std::uint16_t port = 0;
};

/// Parses "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" (an empty
/// host means the node that answered, `answering_host`) and TRYAGAIN.
[[nodiscard]] inline redirect parse_redirect(std::string_view text, const std::string& answering_host) {
    redirect r;
    if (text.rfind("TRYAGAIN", 0) == 0) {
        r.type = redirect::kind::try_again;
        return r;
    }
    if (text.rfind("MOVED ", 0) == 0) {
        r.type = redirect::kind::moved;
        text.remove_prefix(6);
    } else if (text.rfind("ASK ", 0) == 0) {
        r.type = redirect::kind::ask;
        text.remove_prefix(4);
    } else {
        return r;
    }
    const std::size_t space = text.find(' ');
    const std::size_t colon = text.rfind(':');
    if (space == std::string_view::npos || colon == std::string_view::npos || colon < space) {
        throw reply_type_error("redis cluster redirect without slot and address: '" + std::string(text) + "'");
    }
    const value slot = value::bulk_string(std::string(text.substr(0, space)));
    const value port = value::bulk_string(std::string(text.substr(colon + 1)));
    const std::int64_t slot_number = slot.as_integer();
    const std::int64_t port_number = port.as_integer();
    if (slot_number < 0 || slot_number >= static_cast<std::int64_t>(cluster_slot_count) || port_number <= 0 ||
        port_number > 65535) {
        throw reply_type_error("redis cluster redirect out of range: '" + std::string(text) + "'");
    }
    r.slot = static_cast<std::uint16_t>(slot_number);
    r.port = static_cast<std::uint16_t>(port_number);
    std::string_view host = text.substr(space + 1, colon - space - 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    r.host = host.empty() ? answering_host : std::string(host);
    return r;
}

}  // namespace corio::redis::detail
