#pragma once

#include <corio/detail/cancellation.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/event_loop.hpp>
#include <corio/task.hpp>

#include <coroutine>

namespace corio::detail {

/// What every waiter of a synchronization primitive (semaphore, mutex,
/// event, condition, queue) shares: its place in the primitive's FIFO list,
/// the coroutine to resume, and the cancellation protocol.
///
/// A node joins the list in await_suspend (enqueue) and is armed for
/// cancellation until its coroutine resumes (finish_wait). The primitive
/// pops the node and calls grant(): what it waited for is now the node's.
/// A cancellation while the node is still queued takes it out and resumes
/// the coroutine soon; one arriving after grant() only marks the node
/// cancelled, so its await_resume hands the grant on before throwing —
/// nothing a waiter was given is ever lost.
class wait_node : public list_hook, private cancel_callback {
public:
    wait_node(const wait_node&) = delete;
    wait_node& operator=(const wait_node&) = delete;

    /// The primitive popped this node and hands it what it waited for.
    void grant() noexcept {
        m_granted = true;
        m_loop->resume_soon(m_coroutine);
    }

    /// The primitive popped this node without granting anything (a queue
    /// closing): the waiter resumes and finds out why.
    void wake() noexcept { m_loop->resume_soon(m_coroutine); }

protected:
    wait_node() noexcept { on_cancel = &cancel; }

    // A frame destroyed while waiting (its loop closing) leaves the list.
    ~wait_node() {
        if (linked()) {
            m_list->erase(*this);
        }
        if (m_context != nullptr) {
            m_context->disarm(this);
        }
    }

    /// For await_suspend: joins `list` and arms for cancellation. Returns
    /// false, without joining, when a cancellation was already pending: the
    /// node is then cancelled and must not suspend.
    template <class Promise>
    bool enqueue(std::coroutine_handle<Promise> waiting, intrusive_list<wait_node>& list) {
        m_context = context_of(waiting);
        if (m_context != nullptr && m_context->take_pending_cancel()) {
            m_cancelled = true;
            return false;
        }
        join(waiting, list);
        if (m_context != nullptr) {
            m_context->arm(this);
        }
        return true;
    }

    /// Joins `list` without taking cancellation: a request arriving meanwhile
    /// stays pending on the strand (see cancellation_pending()).
    template <class Promise>
    void enqueue_uncancellable(std::coroutine_handle<Promise> waiting, intrusive_list<wait_node>& list) {
        m_context = context_of(waiting);
        join(waiting, list);
    }

    /// For await_resume, first thing: disarms and says whether the wait was
    /// cancelled. If it was and granted() is true, the caller passes the grant
    /// on before throwing cancelled_error.
    bool finish_wait() noexcept {
        if (m_context != nullptr) {
            m_context->resumed(this);
        }
        return m_cancelled;
    }

    /// Consumes a cancellation that arrived during an uncancellable wait.
    bool take_pending_cancel() noexcept { return m_context != nullptr && m_context->take_pending_cancel(); }

    [[nodiscard]] bool granted() const noexcept { return m_granted; }
    [[nodiscard]] bool cancelled() const noexcept { return m_cancelled; }
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
    void join(std::coroutine_handle<Promise> waiting, intrusive_list<wait_node>& list) {
        m_loop = &get_running_loop();
        m_coroutine = waiting;
        m_list = &list;
        list.push_back(*this);
    }

    static void cancel(cancel_callback* callback) noexcept {
        auto* self = static_cast<wait_node*>(callback);
        self->m_cancelled = true;
        if (self->linked()) {
            self->m_list->erase(*self);
            self->m_loop->resume_soon(self->m_coroutine);
        }
        // Otherwise the primitive already queued the resumption; await_resume
        // sees the flag and undoes the grant.
    }

    intrusive_list<wait_node>* m_list = nullptr;
    event_loop* m_loop = nullptr;
    task_context* m_context = nullptr;
    std::coroutine_handle<> m_coroutine;
    bool m_granted = false;
    bool m_cancelled = false;
};

}  // namespace corio::detail
