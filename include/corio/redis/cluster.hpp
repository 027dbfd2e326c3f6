#pragma once

#include <corio/detail/config.hpp>
#include <corio/redis/command_helpers.hpp>
#include <corio/redis/connection.hpp>
#include <corio/redis/detail/cluster_slots.hpp>
#include <corio/redis/detail/cluster_state.hpp>
#include <corio/redis/detail/command_encoder.hpp>
#include <corio/redis/errors.hpp>
#include <corio/redis/options.hpp>
#include <corio/redis/types.hpp>
#include <corio/redis/value.hpp>
#include <corio/task.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::redis {

/// The hash slot (0-16383) of `key` in a Redis Cluster: CRC16-XMODEM of the
/// key mod 16384, where a key with a hash tag (the bytes between its first
/// '{' and the next '}', when not empty) hashes only the tag, so
/// "{user1000}.following" and "{user1000}.followers" share a slot. The
/// server's CLUSTER KEYSLOT gives the same number.
[[nodiscard]] inline std::uint16_t key_slot(std::string_view key) noexcept { return detail::slot_of_key(key); }

/// A client of a Redis Cluster (redis.asyncio.cluster.RedisCluster), made by
/// cluster::connect from seed nodes.
///
/// It reads which master serves each of the 16384 hash slots (CLUSTER
/// SHARDS, or CLUSTER SLOTS before Redis 7) and sends each command to the
/// master of its keys' slot, over one redis::connection per node, made when
/// a command first needs that node. Commands issued concurrently to one node
/// are auto-pipelined on its connection; commands to different nodes run in
/// parallel.
///
/// Routing: the key of a command is its first key argument (GET k, HSET k
/// ..., XADD k ...); commands with several keys (MGET, DEL/EXISTS of many,
/// MSET, RENAME, LMOVE, BLPOP, EVAL's keys, XREAD's streams, ...) run when all
/// hash to one slot and throw crossslot_error before anything is sent
/// otherwise. Commands without keys (PING, INFO, PUBLISH, DBSIZE, ...) go to
/// one master, the one serving the lowest slot; for a command meant for
/// every node (FLUSHALL, KEYS, SCAN, INFO of each) use nodes() and node().
///
/// Redirects: MOVED updates the map's entry for the slot, retries on the
/// node named (connecting to it when new) and schedules a refresh of the
/// whole map (at most one per options.min_refresh_interval); ASK sends
/// ASKING and the command to the node named, once, leaving the map as it
/// is; TRYAGAIN retries after a short pause. More than
/// options.max_redirects of them for one command: redirect_limit_error.
///
/// Lost nodes: a node that cannot be connected to (nothing was sent) makes
/// the client read the map again and retry once when the slot has another
/// master now; else connection_error. A node lost while commands were in
/// flight fails them with connection_error (they may have run, so they are
/// not repeated) and schedules a refresh of the map.
///
/// No MULTI/EXEC, WATCH, SCAN or pub/sub subscriptions across the cluster:
/// take node() (a redis::connection) for them. Only database 0 exists in a
/// cluster. Loop thread only; move-only; destroying or close() closes every
/// node connection.
class cluster : public command_helpers<cluster> {
public:
    /// An empty client (valid() is false); cluster::connect makes usable ones.
    cluster() noexcept = default;
    /// Takes the other client's nodes and map; the source is left empty.
    cluster(cluster&& other) noexcept = default;
    /// Closes the client held before and takes the other one.
    cluster& operator=(cluster&& other) noexcept {
        if (this != &other) {
            close();
            m_state = std::move(other.m_state);
        }
        return *this;
    }
    ~cluster() { close(); }

    /// Connects to the cluster through `seeds` ("redis://host:port",
    /// "rediss://...", "host:port" or "[v6]:port"), tried in order until one
    /// answers with the slot map. Credentials or rediss:// in a seed URL
    /// apply to every node. Throws cluster_connect_error naming each seed
    /// and why it failed when none answers, url_error for a seed that cannot
    /// be parsed, std::invalid_argument for a database other than 0.
    [[nodiscard]] static task<cluster> connect(std::vector<std::string> seeds, cluster_options options) {
        if (options.node.database != 0) {
            throw std::invalid_argument("corio::redis::cluster: a cluster has only database 0");
        }
        std::vector<std::pair<std::string, std::uint16_t>> addresses;
        for (const std::string& seed : seeds) {
            const bool is_url = seed.find("://") != std::string::npos;
            const connect_options parsed = connect_options::from_url(is_url ? seed : "redis://" + seed);
            if (!parsed.unix_path.empty() || parsed.database != 0) {
                throw url_error("redis cluster seed must be a TCP address of database 0: '" + seed + "'");
            }
            options.node.use_tls = options.node.use_tls || parsed.use_tls;
            if (!parsed.password.empty()) {
                options.node.username = parsed.username;
                options.node.password = parsed.password;
            }
            addresses.emplace_back(parsed.host, parsed.port);
        }
        return connected(detail::connect_cluster(std::move(addresses), std::move(seeds), std::move(options)));
    }

    /// connect(seeds, options) with the default cluster_options.
    // Not a defaulted argument: g++ 12 relocates a class-type default
    // argument of a call inside a co_await expression bitwise, leaving its
    // strings pointing into the caller's coroutine frame.
    [[nodiscard]] static task<cluster> connect(std::vector<std::string> seeds) {
        return connect(std::move(seeds), cluster_options{});
    }

    /// Closes every node connection (commands in flight throw
    /// connection_error). Idempotent.
    void close() noexcept {
        if (m_state) {
            m_state->close();
        }
    }

    /// False for a default-constructed or moved-from client.
    [[nodiscard]] bool valid() const noexcept { return m_state != nullptr; }

    /// Sends a command to the master of its key's slot (see the class
    /// comment for routing and redirects), e.g. `co_await c.command("SET",
    /// key, 42)`; arguments as for connection::command. Returns the reply;
    /// throws redis::error for an error reply, crossslot_error,
    /// redirect_limit_error, connection_error.
    template <command_argument... Args>
    [[nodiscard]] task<value> command(const Args&... args) {
        std::string encoded;
        detail::append_command(encoded, args...);
        return detail::run_cluster_command(state_ptr(), std::move(encoded), false);
    }

    /// Like command(), on a dedicated connection of the node (BLPOP,
    /// XREADGROUP BLOCK, ...), so it does not hold up that node's shared
    /// connection.
    template <command_argument... Args>
    [[nodiscard]] task<value> blocking_command(const Args&... args) {
        std::string encoded;
        detail::append_command(encoded, args...);
        return detail::run_cluster_command(state_ptr(), std::move(encoded), true);
    }

    // The typed helpers (get, set, hset, lpush, zadd, xadd, ...) come from
    // command_helpers and are routed like command().

    /// The masters' addresses ("host:port"), in the map's order.
    [[nodiscard]] std::vector<std::string> nodes() const {
        std::vector<std::string> out;
        for (const detail::cluster_node& n : state_ptr()->m_map.nodes()) {
            out.push_back(n.address());
        }
        return out;
    }

    /// The address ("host:port") of the master serving `slot` as the map
    /// says now; empty when no master does.
    [[nodiscard]] std::string node_for_slot(std::uint16_t slot) const {
        const detail::cluster_node* owner = state_ptr()->m_map.owner(slot);
        return owner != nullptr ? owner->address() : std::string{};
    }

    /// The connection to the node at `address` ("host:port", e.g. from
    /// nodes()), made when new, for commands meant for that node (FLUSHALL,
    /// KEYS, SCAN, INFO, CLUSTER ...). It stays the cluster's: closed with it,
    /// and not closed when the handle returned is destroyed. url_error for an
    /// address that cannot be parsed.
    [[nodiscard]] connection node(std::string_view address) {
        const connect_options parsed = connect_options::from_url("redis://" + std::string(address));
        const auto& state = state_ptr();
        (void)state->node(parsed.host, parsed.port);
        return state->m_nodes.at(detail::node_address(parsed.host, parsed.port)).borrow();
    }

    /// Reads the slot map again now (as a MOVED would, but awaited); returns
    /// whether a node answered (when none did, the old map stays).
    [[nodiscard]] task<bool> refresh() { return detail::refresh_slot_map(state_ptr()); }

    /// Counters of redirects followed and maps read (see cluster_stats).
    [[nodiscard]] cluster_stats stats() const { return state_ptr()->m_stats; }

    /// The options the client was made with.
    [[nodiscard]] const cluster_options& options() const { return state_ptr()->m_options; }

private:
    explicit cluster(std::shared_ptr<detail::cluster_state> state) noexcept : m_state(std::move(state)) {}

    CORIO_HEADER_COROUTINE static task<cluster> connected(task<std::shared_ptr<detail::cluster_state>> state) {
        std::shared_ptr<detail::cluster_state> made = co_await std::move(state);
        co_return cluster(std::move(made));
    }

    [[nodiscard]] const std::shared_ptr<detail::cluster_state>& state_ptr() const {
        if (!m_state) {
            throw connection_error("redis::cluster is empty (moved from, or never connected)");
        }
        return m_state;
    }

    std::shared_ptr<detail::cluster_state> m_state;
};

}  // namespace corio::redis
