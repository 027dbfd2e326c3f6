#pragma once

// corio::web middleware: a chain of `task<http::response>(http::request&, next)`
// around the handler, global (app::use) or per route (route_options).

#include <corio/http/message.hpp>
#include <corio/task.hpp>

#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace corio::web {

class next;

/// One link of the chain: may change the request, answer itself (not calling
/// next), or call `next(request)` and change the response it returns.
using middleware = std::function<task<http::response>(http::request&, next)>;

/// The rest of the chain after a middleware; call it at most once with the
/// request. Copyable and cheap; valid as long as the app is.
class next {
public:
    /// What ends the chain: the router, or a route's handler.
    using endpoint = std::function<task<http::response>(http::request&)>;

    /// The chain from `chain[index]` on, then `last` (the app builds these; not for user code).
    next(const std::vector<middleware>* chain, std::size_t index, const endpoint* last) noexcept
        : m_chain(chain), m_index(index), m_last(last) {}

    /// Runs the remaining middleware and then the handler.
    [[nodiscard]] task<http::response> operator()(http::request& request) const {
        if (m_chain != nullptr && m_index < m_chain->size()) {
            return (*m_chain)[m_index](request, next(m_chain, m_index + 1, m_last));
        }
        return (*m_last)(request);
    }

private:
    const std::vector<middleware>* m_chain;
    std::size_t m_index;
    const endpoint* m_last;
};

}  // namespace corio::web
