#pragma once

#include <corio/cancel.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/wait_node.hpp>
#include <corio/event_loop.hpp>
#include <corio/sync/event.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <cstddef>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace corio {

/// Thrown by a queue's put / get / try_put / try_get once the queue is closed
/// (asyncio 3.13's QueueShutDown); see queue::close.
class queue_closed : public std::runtime_error {
public:
    queue_closed() : std::runtime_error("corio::queue: the queue is closed") {}
    /// `what` is the message what() returns.
    explicit queue_closed(const std::string& what) : std::runtime_error(what) {}
};

/// A FIFO queue for coroutines on one loop (asyncio.Queue), optionally bounded.
///
/// `co_await q.put(x)` waits while the queue is full; `co_await q.get()` waits
/// while it is empty. Items come out in the order they went in, and waiting
/// getters and waiting putters are each served in FIFO order:
///
/// - An item put while getters wait is handed to the first of them: it stays
///   at the head of the queue, reserved, until that getter resumes (on a
///   later loop iteration), and nobody else can take it. A getter arriving
///   meanwhile gets the first item that is not reserved, or waits.
/// - A slot freed while putters wait is reserved the same way for the first
///   putter, which inserts its item when it resumes; until then full() stays
///   true and try_put() fails, so no newcomer overtakes it.
/// - A cancelled get() never loses an item: the item reserved for it goes to
///   the next waiting getter, or becomes the head of the queue again. A
///   cancelled put() never inserts its item: the slot reserved for it goes to
///   the next putter, or becomes free.
///
/// size() counts reserved items (they are still in the queue), and full()
/// counts reserved slots as taken.
///
/// task_done() / join() track unfinished work as in asyncio; close() ends the
/// queue (asyncio's shutdown()). T may be move-only. Loop thread only. The
/// queue must outlive every operation on it.
template <class T>
class queue {
    static_assert(std::is_move_constructible_v<T> && std::is_move_assignable_v<T>,
                  "corio::queue<T>: T must be move-constructible and move-assignable");

public:
    /// The item type.
    using value_type = T;

    /// An unbounded queue (asyncio's maxsize=0).
    queue() noexcept = default;
    /// A queue holding at most `maxsize` items; 0 means unbounded.
    explicit queue(std::size_t maxsize) noexcept : m_maxsize(maxsize) {}
    queue(const queue&) = delete;
    queue& operator=(const queue&) = delete;

    // ---- Awaiters ----------------------------------------------------------

    /// Awaiter of get().
    class get_operation : public detail::queued_awaiter<get_operation> {
    public:
        explicit get_operation(queue& owner) noexcept
            : detail::queued_awaiter<get_operation>(owner.m_getters), m_owner(owner) {}
        // Movable only before it is awaited (so it can be handed to wait_for).
        get_operation(get_operation&& other) noexcept : get_operation(other.m_owner) {}

        // A frame destroyed after an item was promised to it (its loop
        // closing) hands the item to the next getter.
        ~get_operation() {
            if (this->take_grant()) {
                m_owner.unpromise_item();
            }
        }

        bool await_ready() noexcept {
            // No suspension: take an unpromised item now (in await_resume), or
            // fail at once on a closed queue that has none left for us.
            return m_owner.available_items() > 0 || m_owner.m_closed;
        }

    private:
        friend detail::queued_awaiter<get_operation>;

        void undo() noexcept {
            if (this->take_grant()) {
                m_owner.unpromise_item();
            }
        }

        T result() {
            if (this->take_grant()) {
                --m_owner.m_promised_items;
                if (m_owner.m_items.empty()) {
                    throw queue_closed();  // close(immediate) dropped the promised item
                }
                return m_owner.pop(0);  // promised items are the head, taken in grant order
            }
            // Not suspended, or woken by close(): an item nobody was promised
            // (the queue is draining after close()), else the queue is done.
            if (m_owner.available_items() > 0) {
                return m_owner.pop(m_owner.m_promised_items);
            }
            throw queue_closed();
        }

        queue& m_owner;
    };

    /// Awaiter of put(); owns the item until it is inserted.
    class put_operation : public detail::queued_awaiter<put_operation> {
    public:
        put_operation(queue& owner, T item) noexcept(std::is_nothrow_move_constructible_v<T>)
            : detail::queued_awaiter<put_operation>(owner.m_putters),
              m_owner(owner),
              m_item(std::move(item)) {}
        // Movable only before it is awaited (so it can be handed to wait_for).
        put_operation(put_operation&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
            : put_operation(other.m_owner, std::move(other.m_item)) {}

        // A frame destroyed after a slot was promised to it hands the slot on.
        ~put_operation() {
            if (this->take_grant()) {
                m_owner.unpromise_slot();
            }
        }

        bool await_ready() const noexcept { return m_owner.m_closed || m_owner.free_slots() > 0; }

    private:
        friend detail::queued_awaiter<put_operation>;

        void undo() noexcept {
            if (this->take_grant()) {
                m_owner.unpromise_slot();
            }
        }

        void result() {
            if (this->take_grant()) {
                --m_owner.m_promised_slots;
            }
            if (m_owner.m_closed) {
                throw queue_closed();
            }
            m_owner.push(std::move(m_item));
        }

        queue& m_owner;
        T m_item;
    };

    // ---- Operations ----------------------------------------------------------

    /// Appends `item`, first waiting while the queue is full. Returns (on the
    /// loop) once the item is in the queue. Throws queue_closed if the queue is
    /// closed before the item could go in. Cancelled: throws cancelled_error
    /// and the item is not inserted (it is destroyed with the operation; use
    /// try_put to keep it on failure).
    [[nodiscard]] put_operation put(T item) noexcept(std::is_nothrow_move_constructible_v<T>) {
        return put_operation(*this, std::move(item));
    }

    /// Removes and returns the first item, first waiting while the queue is
    /// empty (resumes on the loop). After close(): returns the items still
    /// queued, then throws queue_closed; a get() waiting on an empty queue
    /// throws queue_closed when close() is called. Cancelled: throws
    /// cancelled_error and takes no item.
    [[nodiscard]] get_operation get() noexcept { return get_operation(*this); }

    /// Waits until every item put so far was marked done with task_done()
    /// (returns at once if none is unfinished). Cancelled: throws cancelled_error.
    [[nodiscard]] event::wait_operation join() noexcept { return m_all_done.wait(); }

    /// Appends `item` if the queue has a free slot (none promised to a waiting
    /// putter) and returns true; returns false, leaving `item` untouched, when
    /// full. Throws queue_closed once the queue is closed.
    bool try_put(T&& item) { return try_put_impl(std::move(item)); }
    /// Copying overload of try_put.
    bool try_put(const T& item) requires std::is_copy_constructible_v<T> {
        return try_put_impl(item);
    }

    /// Removes and returns the first item not promised to a waiting getter,
    /// or nullopt if there is none. Throws queue_closed when the queue is
    /// closed and has no such item.
    std::optional<T> try_get() {
        if (available_items() > 0) {
            return pop(m_promised_items);
        }
        if (m_closed) {
            throw queue_closed();
        }
        return std::nullopt;
    }

    /// Marks one item taken from the queue as processed. When every item put
    /// so far is done, join() waiters resume. Throws std::logic_error when
    /// called more times than items were put.
    void task_done() {
        if (m_unfinished == 0) {
            throw std::logic_error(
                "corio::queue::task_done: called more times than items were put");
        }
        if (--m_unfinished == 0) {
            m_all_done.set();
        }
    }

    /// Closes the queue (asyncio 3.13's shutdown()). Afterwards put() and
    /// try_put() throw queue_closed; waiting putters and waiting getters wake
    /// with queue_closed. Items already queued can still be taken with get() /
    /// try_get(), which throw queue_closed only once none is left. With
    /// `immediate`, the queued items are dropped as well (counted as done, so
    /// join() returns) and every get() throws. Closing twice is harmless.
    void close(bool immediate = false) {
        m_closed = true;
        if (immediate) {
            const std::size_t dropped = m_items.size();
            m_items.clear();
            m_unfinished -= dropped < m_unfinished ? dropped : m_unfinished;
            if (m_unfinished == 0) {
                m_all_done.set();
            }
        }
        while (!m_getters.empty()) {
            m_getters.pop_front().wake();
        }
        while (!m_putters.empty()) {
            m_putters.pop_front().wake();
        }
    }

    // ---- Observers ---------------------------------------------------------

    /// Items in the queue, including those promised to getters about to resume.
    [[nodiscard]] std::size_t size() const noexcept { return m_items.size(); }
    /// True when size() is 0.
    [[nodiscard]] bool empty() const noexcept { return m_items.empty(); }
    /// True when a put() would have to wait: the queue is bounded and its free
    /// slots are all taken or promised to waiting putters.
    [[nodiscard]] bool full() const noexcept { return m_maxsize != 0 && free_slots() == 0; }
    /// The bound given at construction; 0 means unbounded.
    [[nodiscard]] std::size_t maxsize() const noexcept { return m_maxsize; }
    /// True once close() was called.
    [[nodiscard]] bool closed() const noexcept { return m_closed; }
    /// Items put and not yet marked with task_done().
    [[nodiscard]] std::size_t unfinished_tasks() const noexcept { return m_unfinished; }
    /// Coroutines waiting in get().
    [[nodiscard]] std::size_t waiting_getters() const noexcept { return m_getters.size(); }
    /// Coroutines waiting in put().
    [[nodiscard]] std::size_t waiting_putters() const noexcept { return m_putters.size(); }

private:
    template <class U>
    bool try_put_impl(U&& item) {
        if (m_closed) {
            throw queue_closed();
        }
        if (free_slots() == 0) {
            return false;
        }
        push(std::forward<U>(item));
        return true;
    }

    // Items at the head not promised to a getter that is about to resume.
    // (close(immediate) may leave more promises than items.)
    [[nodiscard]] std::size_t available_items() const noexcept {
        return m_items.size() > m_promised_items ? m_items.size() - m_promised_items : 0;
    }

    // Slots neither filled nor promised; unbounded queues never run out.
    [[nodiscard]] std::size_t free_slots() const noexcept {
        if (m_maxsize == 0) {
            return 1;
        }
        const std::size_t taken = m_items.size() + m_promised_slots;
        return taken < m_maxsize ? m_maxsize - taken : 0;
    }

    template <class U>
    void push(U&& item) {
        m_items.push_back(std::forward<U>(item));
        if (m_unfinished++ == 0) {
            m_all_done.clear();
        }
        promise_items();
    }

    // Removes the item at `index`: 0 for a getter an item was promised to,
    // the first unpromised item for anyone else (usually the head too).
    T pop(std::size_t index) {
        const auto at = m_items.begin() + static_cast<std::ptrdiff_t>(index);
        T item = std::move(*at);
        if (index == 0) {
            m_items.pop_front();
        } else {
            m_items.erase(at);
        }
        promise_slots();
        return item;
    }

    // Promises unpromised items to waiting getters, FIFO.
    void promise_items() noexcept {
        while (!m_getters.empty() && available_items() > 0) {
            ++m_promised_items;
            m_getters.pop_front().grant();
        }
    }

    // Promises free slots to waiting putters, FIFO.
    void promise_slots() noexcept {
        while (!m_putters.empty() && free_slots() > 0) {
            ++m_promised_slots;
            m_putters.pop_front().grant();
        }
    }

    // A getter gives up the item promised to it: the next getter gets it.
    void unpromise_item() noexcept {
        if (m_promised_items > 0) {
            --m_promised_items;
        }
        promise_items();
    }

    // A putter gives up the slot promised to it: the next putter gets it.
    void unpromise_slot() noexcept {
        --m_promised_slots;
        promise_slots();
    }

    std::deque<T> m_items;
    std::size_t m_maxsize = 0;
    std::size_t m_promised_items = 0;  // head items reserved for granted getters
    std::size_t m_promised_slots = 0;  // free slots reserved for granted putters
    std::size_t m_unfinished = 0;      // items put and not yet task_done()
    bool m_closed = false;
    detail::intrusive_list<detail::wait_node> m_getters;
    detail::intrusive_list<detail::wait_node> m_putters;
    event m_all_done{true};  // set while nothing is unfinished: join() waits on it (as in asyncio)
};

}  // namespace corio
