#pragma once

#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/event_loop.hpp>
#include <corio/task.hpp>

#include <coroutine>

namespace corio::detail {

/// What every coroutine waiting in a FIFO wait list shares (the waiters of a
/// semaphore, mutex, event, condition or queue, of the HTTP pool, of a
/// server closing): its place in the list, the coroutine to resume, and its
/// cancellation state.
///
/// An operation waiting in a list derives from queued_awaiter<Op> below and
/// passes its list to the constructor. The node joins the list when the
/// coroutine suspends and is armed for cancellation until it resumes. The
/// owner of the list pops the node and calls grant(): what it waited for is
/// now the node's. A cancellation while the node is still queued takes it
/// out and resumes the coroutine soon; one arriving after grant() only marks
/// it cancelled, so the operation's undo() hook hands the grant on before
/// cancelled_error is thrown: nothing a waiter was given is ever lost.
class wait_node : public list_hook, public cancellation_slot {
public:
    /// The owner popped this node and hands it what it waited for.
    void grant() noexcept {
        m_granted = true;
        m_loop->resume_soon(m_coroutine);
    }

    /// The owner popped this node without granting anything (a queue
    /// closing): the waiter resumes and finds out why.
    void wake() noexcept { m_loop->resume_soon(m_coroutine); }

protected:
    explicit wait_node(list_links& list) noexcept : m_list(&list) {}

    // A frame destroyed while waiting (its loop closing) leaves the list.
    ~wait_node() {
        if (linked()) {
            m_list->unlink(*this);
        }
    }

    // ---- hooks of cancellable_awaiter (see queued_awaiter) ----

    template <class Promise>
    bool start(std::coroutine_handle<Promise> waiting) {
        join(waiting);
        return true;
    }

    // Still queued: leave and resume soon. Otherwise the owner already queued
    // the resumption; undo() passes the grant on.
    bool cancel() noexcept {
        if (linked()) {
            m_list->unlink(*this);
            m_loop->resume_soon(m_coroutine);
        }
        return true;
    }

    /// Joins the list without taking cancellation (no cancellable_awaiter): a
    /// request arriving meanwhile stays pending on the strand, for
    /// take_pending_cancel() after the wait.
    template <class Promise>
    void enqueue_uncancellable(std::coroutine_handle<Promise> waiting) {
        note_strand(waiting);
        join(waiting);
    }

    [[nodiscard]] bool granted() const noexcept { return m_granted; }
    /// Marks the grant used (or handed on), so a destructor does not undo it again.
    bool take_grant() noexcept {
        const bool was = m_granted;
        m_granted = false;
        return was;
    }
    /// A grant given without queueing (the fast path of await_ready).
    void set_granted() noexcept { m_granted = true; }

private:
    template <class Promise>
    void join(std::coroutine_handle<Promise> waiting) {
        m_loop = &get_running_loop();
        m_coroutine = waiting;
        m_list->link_back(*this);
    }

    bool m_granted = false;
    list_links* m_list;
    event_loop* m_loop = nullptr;
    std::coroutine_handle<> m_coroutine;
};

/// Base of an operation `Op` waiting in a FIFO list: wait_node supplies the
/// start and cancel hooks; Op supplies await_ready, result() and undo().
template <class Op, class Node = wait_node>
using queued_awaiter = cancellable_awaiter<Op, Node>;

}  // namespace corio::detail
