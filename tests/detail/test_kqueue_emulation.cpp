// Tests of the kqueue semantics tests/kqueue_emulation claims, written from the
// kqueue(2) manual pages (on macOS/BSD this file builds against the real
// <sys/event.h> and checks the same sentences there), and of corio's kqueue
// backend with its pipe wake-up fallback.
//
// The backend is compiled here with CORIO_KQUEUE_WAKE_PIPE: the EVFILT_USER
// wake-up is what the whole suite runs on in the kqueue build. No other file
// of this executable includes kqueue_reactor.hpp, so the two never meet.
#define CORIO_KQUEUE_WAKE_PIPE 1

#include "catch.hpp"

#include <corio/detail/reactor/kqueue.hpp>

// The BSDs want <sys/types.h> before <sys/event.h>.
#include <sys/types.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/event.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

/// Two connected non-blocking descriptors (a pipe or a socketpair), closed on destruction.
class fd_pair {
public:
    static fd_pair make_pipe() {
        int fds[2] = {-1, -1};
        REQUIRE(::pipe(fds) == 0);
        return fd_pair(fds);
    }
    static fd_pair make_socketpair() {
        int fds[2] = {-1, -1};
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        return fd_pair(fds);
    }

    fd_pair(fd_pair&& other) noexcept
        : m_fds{std::exchange(other.m_fds[0], -1), std::exchange(other.m_fds[1], -1)} {}
    fd_pair& operator=(fd_pair&&) = delete;
    ~fd_pair() {
        close(0);
        close(1);
    }

    /// The read end of a pipe; one end of a socketpair.
    [[nodiscard]] int first() const noexcept { return m_fds[0]; }
    /// The write end of a pipe; the other end of a socketpair.
    [[nodiscard]] int second() const noexcept { return m_fds[1]; }

    void write(const std::string& text) const {
        REQUIRE(::write(m_fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    }

    void close(int end) noexcept {
        if (m_fds[end] >= 0) {
            ::close(m_fds[end]);
            m_fds[end] = -1;
        }
    }

private:
    explicit fd_pair(const int (&fds)[2]) : m_fds{fds[0], fds[1]} {
        for (int fd : m_fds) {
            REQUIRE(::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
            REQUIRE(::fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);
        }
    }

    int m_fds[2];
};

/// A kqueue descriptor, closed on destruction.
class queue {
public:
    queue() : m_fd(::kqueue()) { REQUIRE(m_fd >= 0); }
    queue(const queue&) = delete;
    queue& operator=(const queue&) = delete;
    ~queue() { ::close(m_fd); }

    /// Applies one change with no event list: 0, or -1 with errno.
    int change(std::uintptr_t ident, int filter, int flags, unsigned fflags = 0,
               void* udata = nullptr, std::intptr_t data = 0) const {
        struct kevent change {};
        EV_SET(&change, ident, filter, flags, fflags, data, nullptr);
        change.udata = udata;
        return ::kevent(m_fd, &change, 1, nullptr, 0, nullptr);
    }

    /// Collects up to 16 events, waiting at most `limit` (no limit: block).
    std::vector<struct kevent> events(std::chrono::nanoseconds limit = 0ns) const {
        const timespec timeout = to_timespec(limit);
        return collect(&timeout);
    }
    std::vector<struct kevent> events_blocking() const { return collect(nullptr); }

    [[nodiscard]] int fd() const noexcept { return m_fd; }

    static timespec to_timespec(std::chrono::nanoseconds limit) {
        timespec timeout{};
        timeout.tv_sec = static_cast<time_t>(limit.count() / 1'000'000'000);
        timeout.tv_nsec = static_cast<long>(limit.count() % 1'000'000'000);
        return timeout;
    }

private:
    std::vector<struct kevent> collect(const timespec* timeout) const {
        struct kevent buffer[16];
        const int count = ::kevent(m_fd, nullptr, 0, buffer, 16, timeout);
        REQUIRE(count >= 0);
        return {buffer, buffer + count};
    }

    int m_fd;
};

std::uintptr_t ident_of(int fd) {
    return static_cast<std::uintptr_t>(fd);
}

/// A descriptor number that was just closed; valid until the next one is opened.
int closed_fd() {
    const int fd = ::dup(STDERR_FILENO);
    REQUIRE(fd >= 0);
    ::close(fd);
    return fd;
}

// Sorts events by filter so a test can name them (READ = -1 comes after WRITE = -2).
std::vector<struct kevent> by_filter(std::vector<struct kevent> events) {
    std::sort(events.begin(), events.end(),
              [](const struct kevent& a, const struct kevent& b) { return a.filter < b.filter; });
    return events;
}

}  // namespace

// ---- the kqueue(2) semantics the emulation claims -------------------------------------

TEST_CASE("EV_CLEAR reports a readable pipe once per new write, even with data left unread",
          "[kqueue]") {
    fd_pair pipe = fd_pair::make_pipe();
    queue kq;
    REQUIRE(kq.change(ident_of(pipe.first()), EVFILT_READ, EV_ADD | EV_CLEAR) == 0);
    CHECK(kq.events().empty());  // an empty pipe is not readable

    pipe.write("hello");
    auto events = kq.events(1s);
    REQUIRE(events.size() == 1);
    CHECK(events[0].ident == ident_of(pipe.first()));
    CHECK(events[0].filter == EVFILT_READ);
    CHECK(events[0].data == 5);  // "data contains the number of bytes available"
    CHECK((events[0].flags & EV_EOF) == 0);

    CHECK(kq.events().empty());  // state reset on retrieval: no new data, no event

    pipe.write("!");
    events = kq.events(1s);
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == 6);
}

TEST_CASE("without EV_CLEAR a readable pipe is reported on every call until drained", "[kqueue]") {
    fd_pair pipe = fd_pair::make_pipe();
    queue kq;
    REQUIRE(kq.change(ident_of(pipe.first()), EVFILT_READ, EV_ADD) == 0);
    pipe.write("abc");
    CHECK(kq.events(1s).size() == 1);
    CHECK(kq.events().size() == 1);
    char buffer[8];
    REQUIRE(::read(pipe.first(), buffer, sizeof buffer) == 3);
    CHECK(kq.events().empty());
}

TEST_CASE("EV_EOF is set when a pipe's last writer closes, with unread data still counted",
          "[kqueue]") {
    fd_pair pipe = fd_pair::make_pipe();
    queue kq;
    REQUIRE(kq.change(ident_of(pipe.first()), EVFILT_READ, EV_ADD | EV_CLEAR) == 0);
    pipe.write("x");
    pipe.close(1);
    const auto events = kq.events(1s);
    REQUIRE(events.size() == 1);
    CHECK(events[0].filter == EVFILT_READ);
    CHECK((events[0].flags & EV_EOF) != 0);
    CHECK(events[0].data == 1);
}

TEST_CASE("both filters of a socket report EV_EOF when the peer closes, each with its udata",
          "[kqueue]") {
    fd_pair sockets = fd_pair::make_socketpair();
    queue kq;
    int read_tag = 0;
    int write_tag = 0;
    REQUIRE(kq.change(ident_of(sockets.first()), EVFILT_READ, EV_ADD | EV_CLEAR, 0, &read_tag) ==
            0);
    REQUIRE(kq.change(ident_of(sockets.first()), EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, &write_tag) ==
            0);

    // A fresh connected socket is writable: the filter runs at registration.
    auto events = kq.events(1s);
    REQUIRE(events.size() == 1);
    CHECK(events[0].filter == EVFILT_WRITE);
    CHECK(events[0].udata == &write_tag);
    CHECK((events[0].flags & EV_EOF) == 0);

    sockets.close(1);
    events = by_filter(kq.events(1s));
    REQUIRE(events.size() == 2);
    CHECK(events[0].filter == EVFILT_WRITE);
    CHECK(events[0].udata == &write_tag);
    CHECK((events[0].flags & EV_EOF) != 0);
    CHECK(events[1].filter == EVFILT_READ);
    CHECK(events[1].udata == &read_tag);
    CHECK((events[1].flags & EV_EOF) != 0);
}

TEST_CASE("EV_DELETE stops reports, and deleting again fails with ENOENT", "[kqueue]") {
    fd_pair pipe = fd_pair::make_pipe();
    queue kq;
    const std::uintptr_t ident = ident_of(pipe.first());
    REQUIRE(kq.change(ident, EVFILT_READ, EV_ADD | EV_CLEAR) == 0);
    REQUIRE(kq.change(ident, EVFILT_READ, EV_DELETE) == 0);
    pipe.write("ignored");
    CHECK(kq.events(20ms).empty());

    errno = 0;
    CHECK(kq.change(ident, EVFILT_READ, EV_DELETE) == -1);
    CHECK(errno == ENOENT);
    // A change that is neither EV_ADD nor about an existing knote fails alike.
    errno = 0;
    CHECK(kq.change(ident, EVFILT_READ, EV_ENABLE) == -1);
    CHECK(errno == ENOENT);
}

TEST_CASE("EV_ONESHOT reports the first occurrence only and then deletes the knote", "[kqueue]") {
    fd_pair pipe = fd_pair::make_pipe();
    queue kq;
    const std::uintptr_t ident = ident_of(pipe.first());
    REQUIRE(kq.change(ident, EVFILT_READ, EV_ADD | EV_ONESHOT) == 0);
    pipe.write("one");
    CHECK(kq.events(1s).size() == 1);
    pipe.write("two");
    CHECK(kq.events(20ms).empty());
    errno = 0;
    CHECK(kq.change(ident, EVFILT_READ, EV_DELETE) == -1);
    CHECK(errno == ENOENT);
}

TEST_CASE("udata comes back unchanged per knote and follows the last EV_ADD", "[kqueue]") {
    fd_pair first = fd_pair::make_pipe();
    fd_pair second = fd_pair::make_pipe();
    queue kq;
    int a = 0;
    int b = 0;
    int c = 0;
    REQUIRE(kq.change(ident_of(first.first()), EVFILT_READ, EV_ADD | EV_CLEAR, 0, &a) == 0);
    REQUIRE(kq.change(ident_of(second.first()), EVFILT_READ, EV_ADD | EV_CLEAR, 0, &b) == 0);
    first.write("1");
    second.write("2");
    auto events = kq.events(1s);
    if (events.size() < 2) {
        const auto more = kq.events(1s);
        events.insert(events.end(), more.begin(), more.end());
    }
    REQUIRE(events.size() == 2);
    for (const struct kevent& event : events) {
        CHECK(event.udata == (event.ident == ident_of(first.first()) ? &a : &b));
    }

    // "Re-adding an existing event will modify the parameters of the original event."
    REQUIRE(kq.change(ident_of(first.first()), EVFILT_READ, EV_ADD | EV_CLEAR, 0, &c) == 0);
    first.write("3");
    events = kq.events(1s);
    REQUIRE(events.size() == 1);
    CHECK(events[0].udata == &c);
}

TEST_CASE("EV_DISABLE silences a knote and EV_ENABLE reports a condition that still holds",
          "[kqueue]") {
    fd_pair pipe = fd_pair::make_pipe();
    queue kq;
    const std::uintptr_t ident = ident_of(pipe.first());
    REQUIRE(kq.change(ident, EVFILT_READ, EV_ADD) == 0);
    REQUIRE(kq.change(ident, EVFILT_READ, EV_DISABLE) == 0);
    pipe.write("waiting");
    CHECK(kq.events(20ms).empty());
    REQUIRE(kq.change(ident, EVFILT_READ, EV_ENABLE) == 0);
    const auto events = kq.events(1s);
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == 7);

    // EV_ADD | EV_DISABLE registers without enabling.
    fd_pair other = fd_pair::make_pipe();
    other.write("x");
    REQUIRE(kq.change(ident_of(other.first()), EVFILT_READ, EV_ADD | EV_DISABLE) == 0);
    CHECK(kq.events().size() == 1);  // only the first pipe, still readable (level)
}

TEST_CASE("a failed change goes to the event list when there is room, otherwise kevent returns -1",
          "[kqueue]") {
    fd_pair pipe = fd_pair::make_pipe();
    queue kq;
    int tag = 0;
    const int closed = closed_fd();

    struct kevent changes[2];
    EV_SET(&changes[0], ident_of(closed), EVFILT_READ, EV_ADD, 0, 0, nullptr);
    EV_SET(&changes[1], ident_of(pipe.first()), EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, nullptr);
    changes[1].udata = &tag;
    struct kevent results[4];
    // With room the error is an event, and the rest of the list is still applied.
    REQUIRE(::kevent(kq.fd(), changes, 2, results, 4, nullptr) == 1);
    CHECK((results[0].flags & EV_ERROR) != 0);
    CHECK(results[0].data == EBADF);
    CHECK(results[0].ident == ident_of(closed));
    pipe.write("y");
    const auto events = kq.events(1s);
    REQUIRE(events.size() == 1);
    CHECK(events[0].udata == &tag);

    // Without room: -1 and errno.
    errno = 0;
    CHECK(::kevent(kq.fd(), changes, 1, nullptr, 0, nullptr) == -1);
    CHECK(errno == EBADF);
}

TEST_CASE("closing a descriptor drops its knotes, also when its number is reused", "[kqueue]") {
    fd_pair old_pipe = fd_pair::make_pipe();
    fd_pair new_pipe = fd_pair::make_pipe();
    queue kq;
    const int number = old_pipe.first();
    REQUIRE(kq.change(ident_of(number), EVFILT_READ, EV_ADD | EV_CLEAR) == 0);

    // dup2 closes the old read end and puts another file under the same number.
    REQUIRE(::dup2(new_pipe.first(), number) == number);
    new_pipe.write("new file");
    CHECK(kq.events(20ms).empty());
    errno = 0;
    CHECK(kq.change(ident_of(number), EVFILT_READ, EV_DELETE) == -1);
    CHECK(errno == ENOENT);

    // Registering the number again watches the new file.
    REQUIRE(kq.change(ident_of(number), EVFILT_READ, EV_ADD | EV_CLEAR) == 0);
    const auto events = kq.events(1s);
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == 8);
}

TEST_CASE("EVFILT_USER with NOTE_TRIGGER wakes a kevent blocked in another thread",
          "[kqueue][threads]") {
    queue kq;
    int marker = 0;
    REQUIRE(kq.change(42, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_FFNOP, &marker) == 0);
    CHECK(kq.events().empty());  // added, not triggered

    std::thread trigger([&] {
        std::this_thread::sleep_for(50ms);
        kq.change(42, EVFILT_USER, 0, NOTE_TRIGGER, &marker);
    });
    const auto start = clock_type::now();
    const auto events = kq.events_blocking();
    const auto elapsed = clock_type::now() - start;
    trigger.join();
    REQUIRE(events.size() == 1);
    CHECK(events[0].ident == 42);
    CHECK(events[0].filter == EVFILT_USER);
    CHECK(events[0].udata == &marker);
    CHECK(elapsed >= 40ms);
    CHECK(elapsed < 5s);
    CHECK(kq.events().empty());  // EV_CLEAR: reported once

    // Any number of triggers before a retrieval is one event.
    kq.change(42, EVFILT_USER, 0, NOTE_TRIGGER, &marker);
    kq.change(42, EVFILT_USER, 0, NOTE_TRIGGER, &marker);
    CHECK(kq.events().size() == 1);
    CHECK(kq.events().empty());
}

TEST_CASE("EVFILT_USER returns the user flags, and stays triggered without EV_CLEAR", "[kqueue]") {
    queue kq;
    REQUIRE(kq.change(7, EVFILT_USER, EV_ADD) == 0);
    REQUIRE(kq.change(7, EVFILT_USER, 0, NOTE_FFCOPY | 0x123U) == 0);
    CHECK(kq.events().empty());  // flags alone do not trigger
    REQUIRE(kq.change(7, EVFILT_USER, 0, NOTE_TRIGGER | NOTE_FFOR | 0x004U) == 0);
    auto events = kq.events();
    REQUIRE(events.size() == 1);
    CHECK((events[0].fflags & NOTE_FFLAGSMASK) == 0x127U);
    REQUIRE(kq.change(7, EVFILT_USER, 0, NOTE_FFAND | 0x00fU) == 0);
    events = kq.events();
    REQUIRE(events.size() == 1);  // still triggered: no EV_CLEAR
    CHECK((events[0].fflags & NOTE_FFLAGSMASK) == 0x007U);
    REQUIRE(kq.change(7, EVFILT_USER, EV_DELETE) == 0);
    CHECK(kq.events().empty());
}

TEST_CASE("a NULL timeout blocks, a zero timespec polls, a positive one expires with 0",
          "[kqueue][threads]") {
    fd_pair pipe = fd_pair::make_pipe();
    queue kq;
    REQUIRE(kq.change(ident_of(pipe.first()), EVFILT_READ, EV_ADD | EV_CLEAR) == 0);

    auto start = clock_type::now();
    CHECK(kq.events(0ns).empty());
    CHECK(clock_type::now() - start < 1s);

    start = clock_type::now();
    CHECK(kq.events(30ms).empty());
    CHECK(clock_type::now() - start >= 25ms);

    // nevents == 0: returns at once, whatever the timeout says.
    start = clock_type::now();
    CHECK(::kevent(kq.fd(), nullptr, 0, nullptr, 0, nullptr) == 0);
    CHECK(clock_type::now() - start < 1s);

    // No Catch assertion in the helper thread: Catch2's are not thread-safe.
    ssize_t written = 0;
    std::thread writer([&] {
        std::this_thread::sleep_for(50ms);
        written = ::write(pipe.second(), "late", 4);
    });
    start = clock_type::now();
    const auto events = kq.events_blocking();
    const auto elapsed = clock_type::now() - start;
    writer.join();
    CHECK(written == 4);
    CHECK(events.size() == 1);
    CHECK(elapsed >= 40ms);

    const timespec invalid{0, 1'000'000'000L};
    struct kevent event {};
    errno = 0;
    CHECK(::kevent(kq.fd(), nullptr, 0, &event, 1, &invalid) == -1);
    CHECK(errno == EINVAL);
}

TEST_CASE("EVFILT_SIGNAL counts deliveries of a signal and clears after reporting", "[kqueue]") {
    // Ignored and blocked: kqueue records deliveries of an ignored signal, and
    // the emulation's signalfd only sees blocked ones.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction previous_action {};
    REQUIRE(::sigaction(SIGUSR1, &ignore, &previous_action) == 0);
    sigset_t block;
    sigset_t previous_mask;
    ::sigemptyset(&block);
    ::sigaddset(&block, SIGUSR1);
    REQUIRE(::pthread_sigmask(SIG_BLOCK, &block, &previous_mask) == 0);

    {
        queue kq;
        int tag = 0;
        REQUIRE(kq.change(SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, &tag) == 0);
        CHECK(kq.events().empty());
        REQUIRE(::raise(SIGUSR1) == 0);
        const auto events = kq.events(1s);
        REQUIRE(events.size() == 1);
        CHECK(events[0].ident == static_cast<std::uintptr_t>(SIGUSR1));
        CHECK(events[0].filter == EVFILT_SIGNAL);
        CHECK(events[0].data >= 1);
        CHECK((events[0].flags & EV_CLEAR) != 0);  // set internally
        CHECK(events[0].udata == &tag);
        CHECK(kq.events().empty());
        REQUIRE(kq.change(SIGUSR1, EVFILT_SIGNAL, EV_DELETE) == 0);
    }

    REQUIRE(::pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr) == 0);
    REQUIRE(::sigaction(SIGUSR1, &previous_action, nullptr) == 0);
}

TEST_CASE("several kqueues are independent", "[kqueue]") {
    fd_pair pipe = fd_pair::make_pipe();
    queue watching;
    queue other;
    REQUIRE(watching.change(ident_of(pipe.first()), EVFILT_READ, EV_ADD | EV_CLEAR) == 0);
    REQUIRE(other.change(1, EVFILT_USER, EV_ADD | EV_CLEAR) == 0);
    pipe.write("z");
    CHECK(other.events(20ms).empty());
    CHECK(watching.events(1s).size() == 1);
}

// ---- corio's kqueue backend, with the pipe wake-up ----------------------------------

namespace {

using corio::detail::io_closed;
using corio::detail::io_events;
using corio::detail::io_readable;
using corio::detail::io_writable;
using corio::detail::kqueue_reactor;

/// Records what a reactor wait reports.
struct recorder {
    std::vector<std::pair<void*, io_events>> seen;
    auto sink() {
        return [this](void* tag, io_events events) { seen.emplace_back(tag, events); };
    }
};

}  // namespace

TEST_CASE("kqueue_reactor with the pipe wake-up: a wake from another thread ends a blocking wait",
          "[kqueue][reactor][threads]") {
    kqueue_reactor reactor;
    recorder record;
    std::thread waker([&] {
        std::this_thread::sleep_for(50ms);
        reactor.wake();
    });
    const auto start = clock_type::now();
    const bool woken = reactor.wait(-1, record.sink());
    const auto elapsed = clock_type::now() - start;
    waker.join();
    CHECK(woken);
    CHECK(record.seen.empty());
    CHECK(elapsed >= 40ms);
    CHECK(elapsed < 5s);
}

TEST_CASE("kqueue_reactor with the pipe wake-up: wakes before a wait are one wake-up",
          "[kqueue][reactor]") {
    kqueue_reactor reactor;
    recorder record;
    for (int i = 0; i < 10'000; ++i) {
        reactor.wake();  // more than a pipe holds: a full pipe must not matter
    }
    CHECK(reactor.wait(0, record.sink()));
    CHECK_FALSE(reactor.wait(0, record.sink()));
    reactor.wake();
    CHECK(reactor.wait(0, record.sink()));
    CHECK(record.seen.empty());
}

TEST_CASE("kqueue_reactor reports each fd once per wait, merging its two filters",
          "[kqueue][reactor]") {
    fd_pair sockets = fd_pair::make_socketpair();
    kqueue_reactor reactor;
    recorder record;
    int tag = 0;
    reactor.add(sockets.first(), &tag);
    reactor.wait(1000, record.sink());
    REQUIRE(record.seen.size() == 1);
    CHECK(record.seen[0] == std::pair<void*, io_events>{&tag, io_writable});

    record.seen.clear();
    REQUIRE(::write(sockets.second(), "ping", 4) == 4);
    reactor.wait(1000, record.sink());
    REQUIRE(record.seen.size() == 1);
    CHECK(record.seen[0].second == io_readable);

    record.seen.clear();
    CHECK_FALSE(reactor.wait(0, record.sink()));
    CHECK(record.seen.empty());  // edge-triggered

    sockets.close(1);
    reactor.wait(1000, record.sink());
    REQUIRE(record.seen.size() == 1);  // read and write filters, one report
    CHECK(record.seen[0].first == &tag);
    CHECK(record.seen[0].second == (io_readable | io_writable | io_closed));
}

TEST_CASE("kqueue_reactor stops reporting a removed fd that stays open", "[kqueue][reactor]") {
    std::vector<fd_pair> pipes;
    kqueue_reactor reactor;
    recorder record;
    int tag = 0;
    // More removals than one batch holds: some are applied at once, the rest by the wait.
    for (int i = 0; i < 200; ++i) {
        pipes.push_back(fd_pair::make_pipe());
        reactor.add(pipes.back().first(), &tag);
    }
    for (const fd_pair& pipe : pipes) {
        reactor.remove(pipe.first());
    }
    for (const fd_pair& pipe : pipes) {
        pipe.write("x");
    }
    CHECK_FALSE(reactor.wait(20, record.sink()));
    CHECK(record.seen.empty());
}

TEST_CASE("kqueue_reactor: a wait after removing and closing fds still blocks for its timeout",
          "[kqueue][reactor]") {
    kqueue_reactor reactor;
    recorder record;
    int tag = 0;
    {
        std::vector<fd_pair> pipes;
        for (int i = 0; i < 10; ++i) {
            pipes.push_back(fd_pair::make_pipe());
            reactor.add(pipes.back().first(), &tag);
        }
        for (const fd_pair& pipe : pipes) {
            reactor.remove(pipe.first());
        }
    }  // closed with their deletes still queued: those fail in the next wait
    const auto start = clock_type::now();
    CHECK_FALSE(reactor.wait(50, record.sink()));
    CHECK(clock_type::now() - start >= 40ms);
    CHECK(record.seen.empty());
}

TEST_CASE("kqueue_reactor: a poll right after removing and closing an fd reports the ready ones",
          "[kqueue][reactor]") {
    fd_pair watched = fd_pair::make_pipe();
    kqueue_reactor reactor;
    recorder record;
    int tag = 0;
    int gone_tag = 0;
    reactor.add(watched.first(), &tag);
    {
        fd_pair gone = fd_pair::make_pipe();
        reactor.add(gone.first(), &gone_tag);
        reactor.remove(gone.first());
    }
    watched.write("x");
    reactor.wait(0, record.sink());
    REQUIRE(record.seen.size() == 1);
    CHECK(record.seen[0].first == &tag);
}

TEST_CASE("kqueue_reactor keeps watching a reused fd number whose old delete is still queued",
          "[kqueue][reactor]") {
    fd_pair old_pipe = fd_pair::make_pipe();
    fd_pair new_pipe = fd_pair::make_pipe();
    kqueue_reactor reactor;
    recorder record;
    int old_tag = 0;
    int new_tag = 0;
    const int number = old_pipe.first();
    reactor.add(number, &old_tag);
    reactor.remove(number);                               // queued until the next wait
    REQUIRE(::dup2(new_pipe.first(), number) == number);  // close + reuse of the number
    reactor.add(number, &new_tag);
    new_pipe.write("still watched");
    reactor.wait(1000, record.sink());
    REQUIRE(record.seen.size() == 1);
    CHECK(record.seen[0].first == &new_tag);
    CHECK((record.seen[0].second & io_readable) != 0);
}

TEST_CASE("kqueue_reactor::add of a closed fd throws std::system_error", "[kqueue][reactor]") {
    kqueue_reactor reactor;
    int tag = 0;
    const int closed = closed_fd();
    try {
        reactor.add(closed, &tag);
        FAIL("add did not throw");
    } catch (const std::system_error& error) {
        CHECK(error.code().value() == EBADF);
    }
}
