#pragma once

#include <corio/detail/config.hpp>
#include <corio/generator.hpp>
#include <corio/redis/connection.hpp>
#include <corio/redis/detail/client_state.hpp>
#include <corio/redis/detail/command_encoder.hpp>
#include <corio/redis/detail/link.hpp>
#include <corio/redis/errors.hpp>
#include <corio/redis/options.hpp>
#include <corio/redis/types.hpp>
#include <corio/redis/value.hpp>
#include <corio/sleep.hpp>
#include <corio/sync/event.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/sync/queue.hpp>
#include <corio/task.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace corio::redis {
namespace detail {

/// What the subscriber's link hands to messages(): a message (or other
/// push), or the news that link `generation` broke.
struct inbox_item {
    value data;
    std::uint64_t generation = 0;
    bool broken = false;
};

class subscriber_state : public std::enable_shared_from_this<subscriber_state> {
public:
    explicit subscriber_state(connect_options options) : m_options(std::move(options)) {}

    connect_options m_options;
    std::shared_ptr<link> m_link;
    std::uint64_t m_generation = 0;
    queue<inbox_item> m_inbox;
    std::set<std::string> m_channels;
    std::set<std::string> m_patterns;
    std::int64_t m_unconfirmed = 0;  // (P)SUBSCRIBE confirmations still to come
    event m_confirmed;               // set whenever m_unconfirmed drops to 0
    mutex m_connecting;
    bool m_closed = false;

    // Takes `fresh` as the link: its pushes and its end go to m_inbox, tagged
    // with a generation so news of an older link is told apart.
    void attach(std::shared_ptr<link> fresh) {
        const std::uint64_t generation = ++m_generation;
        std::weak_ptr<subscriber_state> self = weak_from_this();
        fresh->m_on_unsolicited = [self, generation](value data) {
            if (auto state = self.lock()) {
                state->on_push(std::move(data), generation);
            }
        };
        fresh->m_on_broken = [self, generation] {
            if (auto state = self.lock()) {
                if (!state->m_closed) {
                    (void)state->m_inbox.try_put(inbox_item{value{}, generation, true});
                }
            }
        };
        m_link = std::move(fresh);
    }

    void on_push(value data, std::uint64_t generation) {
        if (data.size() >= 1 && data[0].is_string()) {
            const std::string& type = data[0].text();
            if (type == "subscribe" || type == "psubscribe") {
                if (generation == m_generation && m_unconfirmed > 0 && --m_unconfirmed == 0) {
                    m_confirmed.set();
                }
                return;
            }
            if (type != "message" && type != "pmessage") {
                return;  // unsubscribe confirmations, pong
            }
        }
        if (!m_closed) {
            (void)m_inbox.try_put(inbox_item{std::move(data), generation, false});
        }
    }

    // Sends (P)SUBSCRIBE for `names` and counts the confirmations to wait for.
    void send_subscribe(const char* verb, const std::set<std::string>& names) {
        if (names.empty() || !m_link) {
            return;
        }
        std::string encoded;
        append_command(encoded, verb, names);
        m_unconfirmed += static_cast<std::int64_t>(names.size());
        m_confirmed.clear();
        m_link->send_only(encoded);
    }

    void close() noexcept {
        if (m_closed) {
            return;
        }
        m_closed = true;
        if (m_link) {
            m_link->fail("redis subscriber closed");
        }
        m_inbox.close();
        m_confirmed.set();
    }
};

/// A live subscriber link, reconnecting (with backoff) and resubscribing to
/// every channel and pattern when it broke.
CORIO_HEADER_COROUTINE inline task<void> ensure_subscriber_link(std::shared_ptr<subscriber_state> state) {
    if (state->m_link && !state->m_link->broken()) {
        co_return;
    }
    auto lock = co_await state->m_connecting.lock();
    auto delay = state->m_options.reconnect_delay;
    const int attempts = std::max(1, state->m_options.reconnect_attempts);
    std::string last_failure;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
        if (state->m_closed) {
            throw connection_error("redis subscriber is closed");
        }
        if (state->m_link && !state->m_link->broken()) {
            co_return;
        }
        bool failed = false;
        try {
            std::shared_ptr<link> fresh = co_await open_link(state->m_options);
            state->attach(std::move(fresh));
            state->m_unconfirmed = 0;
            state->send_subscribe("SUBSCRIBE", state->m_channels);
            state->send_subscribe("PSUBSCRIBE", state->m_patterns);
        } catch (const connection_error& e) {
            failed = true;
            last_failure = e.what();
        }
        if (!failed) {
            co_return;
        }
        if (attempt < attempts) {
            co_await sleep(delay);
            delay = std::min(delay * 2, state->m_options.max_reconnect_delay);
        }
    }
    throw connection_error(last_failure + " (after " + std::to_string(attempts) + " attempts)");
}

CORIO_HEADER_COROUTINE inline task<void> subscribe_to(std::shared_ptr<subscriber_state> state, const char* verb,
                                                     std::vector<std::string> names) {
    co_await ensure_subscriber_link(state);
    std::set<std::string> fresh;
    std::set<std::string>& known = std::string_view(verb) == "SUBSCRIBE" ? state->m_channels : state->m_patterns;
    for (std::string& name : names) {
        if (known.insert(name).second) {
            fresh.insert(std::move(name));
        }
    }
    state->send_subscribe(verb, fresh);
    while (state->m_unconfirmed > 0 && !state->m_closed && state->m_link && !state->m_link->broken()) {
        co_await state->m_confirmed.wait();
    }
}

}  // namespace detail

/// A pub/sub subscription on its own connection (redis.asyncio's PubSub):
/// subscribe() / psubscribe() to channels and patterns, then read
/// messages() as an async generator.
///
///     redis::subscriber sub(r);
///     co_await sub.subscribe({"news"});
///     auto stream = sub.messages();
///     while (auto m = co_await stream.next()) { use(m->channel, m->payload); }
///
/// subscribe() returns once the server confirmed the subscription, so a
/// message published after it is delivered. When the connection is lost,
/// messages() reconnects with backoff and subscribes again to every channel
/// and pattern (messages published meanwhile are lost, as pub/sub does not
/// keep them); it throws connection_error when reconnecting fails. close()
/// ends messages(). Loop thread only; move-only.
class subscriber {
public:
    /// A subscriber that connects with `options` at its first subscribe() or psubscribe().
    explicit subscriber(connect_options options)
        : m_state(std::make_shared<detail::subscriber_state>(std::move(options))) {}
    /// A subscriber to the server `r` is connected to (same options).
    explicit subscriber(const connection& r) : subscriber(r.options()) {}
    /// Takes the subscription; the source is left closed.
    subscriber(subscriber&&) noexcept = default;
    /// Closes the subscription held before (see close()) and takes the other one.
    subscriber& operator=(subscriber&& other) noexcept {
        if (this != &other) {
            close();
            m_state = std::move(other.m_state);
        }
        return *this;
    }
    ~subscriber() { close(); }

    /// SUBSCRIBE to channels (connecting first); resumes once confirmed.
    [[nodiscard]] task<void> subscribe(std::vector<std::string> channels) {
        return detail::subscribe_to(m_state, "SUBSCRIBE", std::move(channels));
    }
    /// PSUBSCRIBE to glob patterns ("news.*"); resumes once confirmed.
    [[nodiscard]] task<void> psubscribe(std::vector<std::string> patterns) {
        return detail::subscribe_to(m_state, "PSUBSCRIBE", std::move(patterns));
    }
    /// UNSUBSCRIBE (messages already received may still come out of messages()).
    void unsubscribe(const std::vector<std::string>& channels) { drop("UNSUBSCRIBE", m_state->m_channels, channels); }
    /// PUNSUBSCRIBE, the same for patterns.
    void punsubscribe(const std::vector<std::string>& patterns) {
        drop("PUNSUBSCRIBE", m_state->m_patterns, patterns);
    }

    /// The messages of every subscription, in arrival order, until close().
    [[nodiscard]] async_generator<message> messages() { return read_messages(m_state); }

    /// Ends the subscription and its connection; messages() then ends.
    void close() noexcept {
        if (m_state) {
            m_state->close();
        }
    }

private:
    void drop(const char* verb, std::set<std::string>& known, const std::vector<std::string>& names) {
        for (const std::string& name : names) {
            known.erase(name);
        }
        if (m_state->m_link && !names.empty()) {
            std::string encoded;
            detail::append_command(encoded, verb, names);
            m_state->m_link->send_only(encoded);
        }
    }

    static std::optional<message> to_message(const value& data) {
        if (data.size() == 3 && data[0].text() == "message") {
            return message{data[1].as_string(), data[2].as_string(), std::string{}};
        }
        if (data.size() == 4 && data[0].text() == "pmessage") {
            return message{data[2].as_string(), data[3].as_string(), data[1].as_string()};
        }
        return std::nullopt;
    }

    CORIO_HEADER_COROUTINE static async_generator<message> read_messages(std::shared_ptr<detail::subscriber_state> state) {
        for (;;) {
            std::optional<detail::inbox_item> item;
            try {
                item.emplace(co_await state->m_inbox.get());
            } catch (const queue_closed&) {
            }
            if (!item) {
                co_return;
            }
            if (item->broken) {
                if (item->generation == state->m_generation && !state->m_closed) {
                    co_await detail::ensure_subscriber_link(state);
                }
                continue;
            }
            std::optional<message> next = to_message(item->data);
            if (next) {
                message out = std::move(*next);
                co_yield std::move(out);
            }
        }
    }

    std::shared_ptr<detail::subscriber_state> m_state;
};

}  // namespace corio::redis
