#pragma once

#include <cstddef>

namespace corio::detail {

/// Link fields for a node that lives inside whatever waits (an awaiter in a
/// coroutine frame), so joining a wait list never allocates.
struct list_hook {
    list_hook* prev = nullptr;
    list_hook* next = nullptr;

    [[nodiscard]] bool linked() const noexcept { return prev != nullptr; }
};

/// The node-type-independent part of intrusive_list: what a node needs to
/// leave its list without knowing the list's element type (wait_node).
class list_links {
public:
    list_links() noexcept { m_sentinel.prev = m_sentinel.next = &m_sentinel; }
    list_links(const list_links&) = delete;
    list_links& operator=(const list_links&) = delete;

    [[nodiscard]] bool empty() const noexcept { return m_sentinel.next == &m_sentinel; }
    [[nodiscard]] std::size_t size() const noexcept { return m_size; }

    void link_back(list_hook& hook) noexcept {
        hook.prev = m_sentinel.prev;
        hook.next = &m_sentinel;
        m_sentinel.prev->next = &hook;
        m_sentinel.prev = &hook;
        ++m_size;
    }

    void unlink(list_hook& hook) noexcept {
        hook.prev->next = hook.next;
        hook.next->prev = hook.prev;
        hook.prev = hook.next = nullptr;
        --m_size;
    }

protected:
    ~list_links() = default;

    list_hook m_sentinel;
    std::size_t m_size = 0;
};

/// Circular doubly linked FIFO list of hooks; O(1) push, pop and unlink.
/// The list does not own its nodes.
template <class Node>
class intrusive_list : public list_links {
public:
    intrusive_list() noexcept = default;

    void push_back(Node& node) noexcept { link_back(node); }

    [[nodiscard]] Node& front() noexcept { return static_cast<Node&>(*m_sentinel.next); }

    Node& pop_front() noexcept {
        Node& node = front();
        erase(node);
        return node;
    }

    void erase(Node& node) noexcept { unlink(node); }

    /// Calls f on each node; f may erase the node it is given.
    template <class F>
    void for_each(F&& f) {
        list_hook* hook = m_sentinel.next;
        while (hook != &m_sentinel) {
            list_hook* next = hook->next;
            f(static_cast<Node&>(*hook));
            hook = next;
        }
    }
};

}  // namespace corio::detail
