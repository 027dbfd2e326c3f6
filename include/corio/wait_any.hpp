#pragma once

#include <corio/combinators.hpp>
#include <corio/detail/awaitable_traits.hpp>
#include <corio/detail/child_group.hpp>
#include <corio/task.hpp>

#include <array>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace corio {

/// Result of wait_any over a fixed set of awaitables: which one finished
/// first (its argument position) and its result, in the variant alternative
/// of the same index. A `void` awaitable contributes std::monostate, a
/// reference one a std::reference_wrapper.
template <class... Ts>
struct first_completed {
    /// Position among wait_any's arguments of the awaitable that finished first.
    std::size_t index = 0;
    /// Its result, in the alternative `index`.
    std::variant<detail::gather_vector_element_t<Ts>...> value;
};

/// Result of wait_any over a vector of tasks: the position of the first task
/// to finish and its value (std::monostate for `void`, a
/// std::reference_wrapper for a reference).
template <class T>
struct indexed_result {
    /// Position in the vector of the task that finished first.
    std::size_t index = 0;
    /// Its result.
    detail::gather_vector_element_t<T> value;
};

namespace detail {

template <class T>
gather_vector_element_t<T> take_race_result(task<T>& child) {
    auto& promise = task_access::handle(child).promise();
    if constexpr (std::is_void_v<T>) {
        promise.value();
        return std::monostate{};
    } else if constexpr (std::is_reference_v<T>) {
        return std::ref(promise.value());
    } else {
        return std::move(promise).value();
    }
}

/// Awaiter of wait_any over a fixed set of children.
template <class... Ts>
class wait_any_tuple_operation {
public:
    using result_type = first_completed<Ts...>;

    explicit wait_any_tuple_operation(task<Ts>... children) : m_children(std::move(children)...) {}
    // Movable only before it is awaited (so it can be handed to wait_for).
    wait_any_tuple_operation(wait_any_tuple_operation&& other) noexcept
        : m_children(std::move(other.m_children)) {}
    wait_any_tuple_operation& operator=(const wait_any_tuple_operation&) = delete;

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        return start_children(m_group, awaiting, std::span<child_slot>(m_slots), m_children);
    }

    result_type await_resume() {
        const std::size_t winner = m_group.finish();
        return take(winner, std::index_sequence_for<Ts...>{});
    }

private:
    template <std::size_t... I>
    result_type take(std::size_t winner, std::index_sequence<I...>) {
        std::optional<result_type> result;
        // Only the winner's alternative is built; its exception, if any, propagates.
        ((I == winner ? static_cast<void>(result.emplace(result_type{
                            I, decltype(result_type::value)(std::in_place_index<I>,
                                                            take_race_result(std::get<I>(m_children)))}))
                      : static_cast<void>(0)),
         ...);
        return std::move(*result);
    }

    // Slots before children: children's frames are destroyed first, while the
    // slots they may still point at exist.
    child_group m_group{stop_rule::first_completion};
    std::array<child_slot, sizeof...(Ts)> m_slots{};
    std::tuple<task<Ts>...> m_children;
};

/// Awaiter of wait_any over a vector of same-typed children.
template <class T>
class wait_any_vector_operation {
public:
    explicit wait_any_vector_operation(std::vector<task<T>> children)
        : m_slots(children.size()), m_children(std::move(children)) {
        if (m_children.empty()) {
            throw std::invalid_argument("corio::wait_any: no tasks to wait for");
        }
        require_valid_tasks(m_children, "corio::wait_any");
    }
    // Movable only before it is awaited, like the tuple form.
    wait_any_vector_operation(wait_any_vector_operation&& other) noexcept
        : m_slots(other.m_children.size()), m_children(std::move(other.m_children)) {}
    wait_any_vector_operation& operator=(const wait_any_vector_operation&) = delete;

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        return start_children(m_group, awaiting, std::span<child_slot>(m_slots), m_children);
    }

    indexed_result<T> await_resume() {
        const std::size_t winner = m_group.finish();
        return indexed_result<T>{winner, take_race_result(m_children[winner])};
    }

private:
    child_group m_group{stop_rule::first_completion};
    std::vector<child_slot> m_slots;
    std::vector<task<T>> m_children;
};

}  // namespace detail

/// Runs the awaitables concurrently and returns as soon as the first one
/// finishes (asyncio.wait(..., return_when=FIRST_COMPLETED)), as a
/// corio::first_completed: `.index` is its argument position and `.value` a
/// std::variant holding its result at that same index.
///
/// Children start in argument order, each running until its first suspension
/// (one that finishes during the start stops the later ones from starting).
/// The moment one finishes, the others are cancelled, and wait_any returns
/// only after every one of them has unwound: no child outlives the call. A
/// loser that completes anyway (it swallowed the cancellation) is discarded.
/// If the first to finish threw, wait_any rethrows that exception (after the
/// losers are done). Cancelling the awaiting task cancels every child, waits
/// for them and throws cancelled_error. Resumes where the last child finished.
template <class... Awaitables>
    requires(sizeof...(Awaitables) > 0 && (detail::awaitable<Awaitables> && ...))
[[nodiscard]] auto wait_any(Awaitables&&... awaitables) {
    return detail::wait_any_tuple_operation<typename detail::as_task_t<Awaitables>::value_type...>(
        detail::as_task(std::forward<Awaitables>(awaitables))...);
}

/// wait_any over a vector of tasks: returns a corio::indexed_result<T> with
/// the position and value of the first task to finish. Throws
/// std::invalid_argument for an empty vector (nothing could ever finish).
template <class T>
[[nodiscard]] auto wait_any(std::vector<task<T>> tasks) {
    return detail::wait_any_vector_operation<T>(std::move(tasks));
}

}  // namespace corio
