// Tests of corio/detail/cancellable_awaiter.hpp: the one cancellation
// protocol, exercised through a toy operation built on it.
//
// The toy needs no event loop: its registration is a slot in a `mailbox`,
// and "resume soon" appends the coroutine to the mailbox's ready list, which
// the test drains by hand. The awaiting task is driven by hand too, with a
// task_context of the test's own as its strand, so every step of the
// protocol (pending request, armed request, request after completion, frame
// destroyed) happens exactly where the test puts it.
//
// Coroutines under test live in an anonymous namespace: clang 14 with
// -fsanitize=function cannot assemble coroutines with external inline linkage.

#include "catch.hpp"
#include "test_support.hpp"

#include <corio/cancel.hpp>
#include <corio/detail/cancellable_awaiter.hpp>
#include <corio/detail/cancellation.hpp>
#include <corio/task.hpp>

#include <coroutine>
#include <optional>
#include <utility>
#include <vector>

using corio::task;
using corio::detail::task_access;
using corio::detail::task_context;

namespace {

class toy_operation;

/// Where a toy_operation registers, and what it hands back; counts every
/// hook call so a test can say which ones ran.
struct mailbox {
    toy_operation* waiting = nullptr;           // the registration
    std::vector<std::coroutine_handle<>> ready;  // resumptions queued, never run inline
    std::vector<int> passed_on;                 // values an undo() handed back
    int starts = 0;
    int cancels = 0;

    // Delivers `value` to the registered operation and queues its resumption.
    void complete(int value);

    // Runs the queued resumptions, in order.
    void run_ready() {
        while (!ready.empty()) {
            std::coroutine_handle<> next = ready.front();
            ready.erase(ready.begin());
            next.resume();
        }
    }
};

/// A toy operation: waits in `mailbox` for an int.
class toy_operation : public corio::detail::cancellable_awaiter<toy_operation> {
public:
    explicit toy_operation(mailbox& box) noexcept : m_box(box) {}
    // A frame destroyed while waiting leaves the mailbox.
    ~toy_operation() {
        if (m_box.waiting == this) {
            m_box.waiting = nullptr;
        }
    }

private:
    friend cancellable_awaiter;
    friend struct mailbox;

    template <class Promise>
    bool start(std::coroutine_handle<Promise> waiting) noexcept {
        ++m_box.starts;
        m_coroutine = waiting;
        m_box.waiting = this;
        return true;
    }

    bool cancel() noexcept {
        ++m_box.cancels;
        if (m_box.waiting == this) {
            m_box.waiting = nullptr;
            m_box.ready.push_back(m_coroutine);
        }
        // Otherwise the value arrived and the resumption is already queued.
        return true;
    }

    int result() const { return *m_value; }

    void undo() noexcept {
        if (m_value) {
            m_box.passed_on.push_back(*std::exchange(m_value, std::nullopt));
        }
    }

    mailbox& m_box;
    std::coroutine_handle<> m_coroutine;
    std::optional<int> m_value;
};

void mailbox::complete(int value) {
    toy_operation* operation = std::exchange(waiting, nullptr);
    operation->m_value = value;
    ready.push_back(operation->m_coroutine);
}

task<int> wait_in(mailbox& box) { co_return co_await toy_operation(box); }

// What wait_in ended with: its value, or whether it threw cancelled_error.
struct ending {
    std::optional<int> value;
    bool cancelled = false;
};

ending ending_of(task<int>& t) {
    auto& promise = task_access::handle(t).promise();
    REQUIRE(task_access::handle(t).done());
    ending result;
    if (promise.has_exception()) {
        try {
            std::rethrow_exception(promise.exception());
        } catch (const corio::cancelled_error&) {
            result.cancelled = true;
        }
    } else {
        result.value = promise.value();
    }
    return result;
}

// Makes `context` the strand of `t` and runs it to its first suspension.
void start_in(task<int>& t, task_context& context) {
    task_access::handle(t).promise().set_context(&context);
    task_access::handle(t).resume();
}

/// A task suspended in a toy_operation, in a strand of the test's own.
/// (Members are destroyed in reverse: the frame first, while its mailbox and
/// strand still exist.)
struct suspended_task {
    mailbox box;
    task_context strand;
    task<int> t = wait_in(box);

    suspended_task() {
        start_in(t, strand);
        REQUIRE(box.waiting != nullptr);
        REQUIRE(box.starts == 1);
    }
};

}  // namespace

TEST_CASE("an operation on the protocol completes normally and returns its result") {
    suspended_task s;
    auto& [box, strand, t] = s;

    box.complete(42);
    box.run_ready();

    const ending e = ending_of(t);
    CHECK(e.value == 42);
    CHECK_FALSE(e.cancelled);
    CHECK(box.cancels == 0);
    CHECK(box.passed_on.empty());
    // The strand was disarmed on resumption: a later request is kept for the
    // next suspension point, not sent to the finished operation.
    strand.request_cancel();
    CHECK(box.cancels == 0);
    CHECK(strand.take_pending_cancel());
}

TEST_CASE("a cancellation pending before the suspension throws at once and never registers") {
    mailbox box;
    task_context strand;
    strand.request_cancel();  // nobody suspended: it stays pending
    task<int> t = wait_in(box);
    start_in(t, strand);

    // Finished without suspending: nothing was queued, nothing registered.
    const ending e = ending_of(t);
    CHECK(e.cancelled);
    CHECK(box.starts == 0);
    CHECK(box.cancels == 0);
    CHECK(box.waiting == nullptr);
    CHECK(box.ready.empty());
    CHECK_FALSE(strand.take_pending_cancel());  // consumed by that suspension point
}

TEST_CASE("a cancellation while suspended removes the registration and throws") {
    suspended_task s;
    auto& [box, strand, t] = s;

    strand.request_cancel();
    CHECK(box.cancels == 1);
    CHECK(box.waiting == nullptr);             // registration removed at once
    CHECK_FALSE(task_access::handle(t).done());  // resumed soon, never inline
    REQUIRE(box.ready.size() == 1);

    box.run_ready();
    const ending e = ending_of(t);
    CHECK(e.cancelled);
    CHECK(box.passed_on.empty());  // nothing was delivered, nothing to pass on
    CHECK_FALSE(strand.take_pending_cancel());
}

TEST_CASE(
    "a cancellation after completion but before the coroutine resumed throws and undo passes the value on") {
    suspended_task s;
    auto& [box, strand, t] = s;

    box.complete(7);  // delivered; the resumption is queued
    strand.request_cancel();
    CHECK(box.cancels == 1);       // still armed: the operation heard it
    CHECK(box.ready.size() == 1);  // and queued nothing more

    box.run_ready();
    const ending e = ending_of(t);
    CHECK(e.cancelled);
    CHECK(box.passed_on == std::vector<int>{7});
    // Delivered once: the strand has no leftover request.
    CHECK_FALSE(strand.take_pending_cancel());
}

TEST_CASE(
    "a frame destroyed while suspended removes its registration and is never told of a later cancellation") {
    suspended_task s;
    auto& [box, strand, t] = s;
    t = task<int>{};  // the suspended frame, and its toy_operation, are destroyed here
    CHECK(box.waiting == nullptr);

    // The strand is disarmed: the request stays pending instead of reaching
    // the dead operation (AddressSanitizer would catch that call).
    strand.request_cancel();
    CHECK(box.cancels == 0);
    CHECK(box.ready.empty());
    CHECK(strand.take_pending_cancel());
}

TEST_CASE("a coroutine that is not a corio task awaits the operation without cancellation") {
    // Nothing to arm: the operation still registers and completes.
    struct detached {
        struct promise_type {
            detached get_return_object() noexcept { return {}; }
            std::suspend_never initial_suspend() const noexcept { return {}; }
            std::suspend_never final_suspend() const noexcept { return {}; }
            void return_void() noexcept {}
            void unhandled_exception() noexcept {}
        };
    };
    mailbox box;
    int got = 0;
    auto body = [](mailbox& b, int& out) -> detached { out = co_await toy_operation(b); };
    body(box, got);
    REQUIRE(box.waiting != nullptr);
    box.complete(5);
    box.run_ready();
    CHECK(got == 5);
    CHECK(box.starts == 1);
}
