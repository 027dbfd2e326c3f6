#pragma once

// What a redis::cluster shares with its running commands: the slot map, one
// redis::connection per node (auto-pipelined, made when a command first
// needs that node), the redirect loop and the refresh of the map.
//
// A command goes to the master of its keys' slot as the map says. MOVED
// means the map is stale: the slot's entry is corrected at once, the command
// retried on the node named, and a refresh of the whole map scheduled (at
// most one per min_refresh_interval), since a moved slot rarely moves alone.
// ASK means the slot is being migrated and this key is already on the
// target: ASKING and the command go to the target together (one enqueue, so
// no other task's command falls between them) and the map is left alone.

#include <corio/detail/config.hpp>
#include <corio/redis/connection.hpp>
#include <corio/redis/detail/client_state.hpp>
#include <corio/redis/detail/cluster_routing.hpp>
#include <corio/redis/detail/cluster_slots.hpp>
#include <corio/redis/detail/command_encoder.hpp>
#include <corio/redis/errors.hpp>
#include <corio/redis/options.hpp>
#include <corio/redis/types.hpp>
#include <corio/redis/value.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::redis::detail {

class cluster_state : public std::enable_shared_from_this<cluster_state> {
public:
    explicit cluster_state(cluster_options options) : m_options(std::move(options)) {}

    cluster_options m_options;
    std::vector<std::pair<std::string, std::uint16_t>> m_seeds;  // host, port of each seed
    slot_map m_map;
    std::map<std::string, connection> m_nodes;  // by "host:port"; each owns its connection
    cluster_stats m_stats;
    bool m_closed = false;
    mutex m_refreshing;  // one map refresh at a time
    bool m_refresh_scheduled = false;
    std::chrono::steady_clock::time_point m_last_refresh{};

    [[nodiscard]] connect_options options_for(const std::string& host, std::uint16_t port) const {
        connect_options options = m_options.node;
        options.host = host;
        options.port = port;
        options.unix_path.clear();
        return options;
    }

    /// The connection to host:port, made when new without connecting: its
    /// first command connects it (one task connects, the others wait).
    [[nodiscard]] std::shared_ptr<client_state> node(const std::string& host, std::uint16_t port) {
        const std::string address = node_address(host, port);
        auto found = m_nodes.find(address);
        if (found == m_nodes.end()) {
            found = m_nodes.emplace(address, connection(std::make_shared<client_state>(options_for(host, port)))).first;
        }
        return found->second.state_ptr();
    }

    [[nodiscard]] bool connected_to(const std::string& address) const {
        const auto found = m_nodes.find(address);
        return found != m_nodes.end() && found->second.valid() && found->second.state_ptr()->usable_now();
    }

    void schedule_refresh();

    void close() noexcept {
        m_closed = true;
        for (auto& [address, conn] : m_nodes) {
            conn.close();
        }
    }
};

/// The slot map as `node` (reached as `host`) sees it: CLUSTER SHARDS, or
/// CLUSTER SLOTS on servers before 7 that do not know SHARDS. Throws
/// redis::error when the node refuses (cluster support disabled) or serves
/// no slots, connection_error when it cannot be reached.
CORIO_HEADER_COROUTINE inline task<slot_map> read_slot_map(std::shared_ptr<client_state> node, std::string host) {
    std::string shards;
    append_command(shards, "CLUSTER", "SHARDS");
    std::vector<value> replies = co_await execute(node, std::move(shards), 1);
    slot_map map;
    if (!replies.front().is_error()) {
        map = parse_cluster_shards(replies.front(), host, node->m_options.use_tls);
    } else {
        const error refused(replies.front().text());
        if (refused.prefix() != "ERR" || refused.text().find("ubcommand") == std::string::npos) {
            throw refused;
        }
        std::string slots;
        append_command(slots, "CLUSTER", "SLOTS");
        std::vector<value> older = co_await execute(node, std::move(slots), 1);
        (void)older.front().throw_if_error();
        map = parse_cluster_slots(older.front(), host);
    }
    if (map.assigned_slots() == 0) {
        throw error("CLUSTERDOWN the cluster seen from " + node->m_options.describe() + " serves no slots");
    }
    co_return map;
}

/// Reads the slot map again from the first node that answers: masters
/// already connected first, then the other masters, then the seeds. Returns
/// whether one answered; never throws for a node that fails (a refresh is a
/// repair, the commands report their own failures).
CORIO_HEADER_COROUTINE inline task<bool> refresh_slot_map(std::shared_ptr<cluster_state> state) {
    const auto requested = std::chrono::steady_clock::now();
    auto lock = co_await state->m_refreshing.lock();
    if (state->m_closed) {
        co_return false;
    }
    if (state->m_last_refresh >= requested) {
        co_return true;  // a refresh that started after the request finished while this one waited
    }
    std::vector<std::pair<std::string, std::uint16_t>> candidates;
    const auto add = [&](const std::string& host, std::uint16_t port) {
        const std::pair<std::string, std::uint16_t> candidate(host, port);
        if (std::find(candidates.begin(), candidates.end(), candidate) == candidates.end()) {
            candidates.push_back(candidate);
        }
    };
    for (const cluster_node& n : state->m_map.nodes()) {
        if (state->connected_to(n.address())) {
            add(n.host, n.port);
        }
    }
    for (const cluster_node& n : state->m_map.nodes()) {
        add(n.host, n.port);
    }
    for (const auto& [host, port] : state->m_seeds) {
        add(host, port);
    }
    for (const auto& candidate : candidates) {
        const std::string& host = candidate.first;
        const std::uint16_t port = candidate.second;
        if (state->m_closed) {
            co_return false;
        }
        bool answered = true;
        slot_map map;
        try {
            map = co_await read_slot_map(state->node(host, port), host);
        } catch (const std::exception&) {
            answered = false;
        }
        if (answered) {
            state->m_map = std::move(map);
            ++state->m_stats.map_refreshes;
            state->m_last_refresh = std::chrono::steady_clock::now();
            co_return true;
        }
    }
    co_return false;
}

CORIO_HEADER_COROUTINE inline task<void> refresh_when_allowed(std::shared_ptr<cluster_state> state) {
    const auto allowed = state->m_last_refresh + state->m_options.min_refresh_interval;
    const auto now = std::chrono::steady_clock::now();
    if (allowed > now) {
        co_await sleep(allowed - now);
    }
    state->m_refresh_scheduled = false;  // a redirect from now on asks for a later refresh
    if (!state->m_closed) {
        (void)co_await refresh_slot_map(state);
    }
}

/// Refreshes the map in the background, once min_refresh_interval has passed
/// since the last refresh; several requests meanwhile make one refresh.
inline void cluster_state::schedule_refresh() {
    if (m_closed || m_refresh_scheduled) {
        return;
    }
    m_refresh_scheduled = true;
    // The loop keeps the task alive; it holds the state until it ends.
    (void)create_task(refresh_when_allowed(shared_from_this()));
}

/// The master serving `slot`; when the map has none, the map is read again
/// once, then redis::error CLUSTERDOWN.
CORIO_HEADER_COROUTINE inline task<cluster_node> slot_owner(std::shared_ptr<cluster_state> state,
                                                            std::uint16_t slot) {
    if (const cluster_node* owner = state->m_map.owner(slot)) {
        co_return *owner;
    }
    (void)co_await refresh_slot_map(state);
    if (const cluster_node* owner = state->m_map.owner(slot)) {
        co_return *owner;
    }
    throw error("CLUSTERDOWN hash slot " + std::to_string(slot) + " is served by no node of the cluster");
}

/// Where a keyless command goes: the master of the lowest assigned slot.
[[nodiscard]] inline cluster_node any_master(const cluster_state& state) {
    if (const cluster_node* first = state.m_map.first_master()) {
        return *first;
    }
    throw error("CLUSTERDOWN the cluster's slot map names no master");
}

/// The outcome of sending a command to one node.
struct node_reply {
    std::vector<value> replies;  // ASKING's reply first when it was sent
    std::exception_ptr failure;  // connection_error
    bool unreachable = false;    // the node could not be connected: nothing was sent
};

/// Sends `encoded` (one command) to `node`, after ASKING when `asking`; on
/// the shared pipelined connection, or a dedicated one when `blocking`.
CORIO_HEADER_COROUTINE inline task<node_reply> send_to_node(std::shared_ptr<client_state> node,
                                                            const std::string& encoded, bool asking, bool blocking) {
    std::string with_asking;
    if (asking) {
        append_command(with_asking, "ASKING");
        with_asking += encoded;
    }
    const std::string& bytes = asking ? with_asking : encoded;
    const std::size_t count = asking ? 2 : 1;
    node_reply result;
    if (blocking) {
        try {
            dedicated_lease lease = co_await lease_dedicated(std::move(node));
            result.replies = co_await execute(lease.conn, bytes, count);
            lease.finished = true;
        } catch (const connection_error&) {
            result.failure = std::current_exception();
        }
        co_return result;
    }
    std::shared_ptr<link> l;
    try {
        l = co_await acquire_link(std::move(node));
    } catch (const connection_error&) {
        result.failure = std::current_exception();
        result.unreachable = true;
    }
    if (l) {
        std::shared_ptr<reply_slot> slot = l->enqueue(bytes, count);
        co_await slot->m_done.wait();
        if (slot->m_failure) {
            result.failure = slot->m_failure;
        } else {
            result.replies = std::move(slot->m_replies);
        }
    }
    co_return result;
}

/// Runs the encoded command on the cluster: routed by its keys' slot (any
/// master when it has none), following MOVED / ASK / TRYAGAIN up to
/// max_redirects times. Error replies throw redis::error.
///
/// A node that cannot be connected to (the command surely not sent): the
/// map is read again at once and the command retried once when the slot
/// has a new master; else connection_error. A node lost with the command in
/// flight: connection_error (it may have run, so it is not repeated) and a
/// refresh of the map is scheduled for the commands after it.
CORIO_HEADER_COROUTINE inline task<value> run_cluster_command(std::shared_ptr<cluster_state> state,
                                                              std::string encoded, bool blocking) {
    if (state->m_closed) {
        throw connection_error("redis cluster is closed");
    }
    const std::optional<std::uint16_t> slot = command_slot(encoded_arguments(encoded));
    cluster_node target;
    if (slot) {
        target = co_await slot_owner(state, *slot);
    } else {
        target = any_master(*state);
    }
    bool asking = false;
    bool retried_unreachable = false;
    int redirects = 0;
    for (;;) {
        if (state->m_closed) {
            throw connection_error("redis cluster is closed");
        }
        node_reply sent = co_await send_to_node(state->node(target.host, target.port), encoded, asking, blocking);
        if (sent.failure) {
            if (sent.unreachable && slot && !retried_unreachable) {
                retried_unreachable = true;
                (void)co_await refresh_slot_map(state);
                const cluster_node* now = state->m_map.owner(*slot);
                if (now != nullptr && now->address() != target.address()) {
                    target = *now;
                    asking = false;
                    continue;
                }
            }
            state->schedule_refresh();
            std::rethrow_exception(sent.failure);
        }
        value& reply = sent.replies.back();
        if (!reply.is_error()) {
            co_return std::move(reply);
        }
        const redirect r = parse_redirect(reply.text(), target.host);
        if (r.type == redirect::kind::none) {
            throw error(reply.text());
        }
        if (++redirects > state->m_options.max_redirects) {
            const std::vector<std::string_view> args = encoded_arguments(encoded);
            throw redirect_limit_error(std::string(args.empty() ? std::string_view{} : args[0]) + " followed " +
                                       std::to_string(state->m_options.max_redirects) +
                                       " redirects; the last reply was '" + reply.text() + "' from " +
                                       target.address());
        }
        switch (r.type) {
            case redirect::kind::moved: {
                ++state->m_stats.moved_redirects;
                const std::uint16_t index = state->m_map.add_node(r.host, r.port);
                state->m_map.assign(r.slot, r.slot, index);
                state->schedule_refresh();
                target = cluster_node{r.host, r.port, {}};
                asking = false;
                break;
            }
            case redirect::kind::ask:
                ++state->m_stats.ask_redirects;
                target = cluster_node{r.host, r.port, {}};
                asking = true;
                break;
            case redirect::kind::try_again:
                // A multi-key command while its slot migrates, some keys moved
                // already: the migration usually completes within milliseconds.
                ++state->m_stats.try_again_retries;
                co_await sleep(std::chrono::milliseconds(10 * redirects));
                break;
            case redirect::kind::none: break;
        }
    }
}

/// Connects to the seeds in order until one answers with a slot map.
/// Throws cluster_connect_error naming every seed and its failure when none
/// does.
CORIO_HEADER_COROUTINE inline task<std::shared_ptr<cluster_state>> connect_cluster(
    std::vector<std::pair<std::string, std::uint16_t>> seeds, std::vector<std::string> seed_names,
    cluster_options options) {
    auto state = std::make_shared<cluster_state>(std::move(options));
    state->m_seeds = std::move(seeds);
    std::string failures;
    for (std::size_t i = 0; i < state->m_seeds.size(); ++i) {
        const std::string host = state->m_seeds[i].first;
        const std::uint16_t port = state->m_seeds[i].second;
        std::string failure;
        try {
            connection seed = co_await redis::connect(state->options_for(host, port));
            state->m_map = co_await read_slot_map(seed.state_ptr(), host);
            state->m_nodes.emplace(node_address(host, port), std::move(seed));
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (failure.empty()) {
            ++state->m_stats.map_refreshes;
            state->m_last_refresh = std::chrono::steady_clock::now();
            co_return state;
        }
        failures += (failures.empty() ? "" : "; ") + seed_names[i] + ": " + failure;
    }
    if (state->m_seeds.empty()) {
        throw cluster_connect_error("redis cluster: no seed nodes given", std::move(seed_names));
    }
    throw cluster_connect_error("redis cluster: no seed node answered (" + failures + ")", std::move(seed_names));
}

}  // namespace corio::redis::detail
