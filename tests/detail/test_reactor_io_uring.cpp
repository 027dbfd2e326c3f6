// The io_uring backend (a build configured with -DCORIO_REACTOR=io_uring):
// how a loop picks it, the fallback to epoll when the kernel refuses a ring
// (forced here with a seccomp filter, as container runtimes do), and reads
// and writes that complete through the ring. The rest of the suite runs on
// it too in such a build; these are the cases only it has.

#include "catch.hpp"
#include "fd_exhaustion.hpp"
#include "test_support.hpp"

#include <corio/corio.hpp>
#include <corio/file.hpp>
#include <corio/net.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#if defined(CORIO_REACTOR_IO_URING)

#include <liburing.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

// Whether this kernel gives this process a ring at all (containers may not):
// what a loop's default choice depends on.
bool kernel_gives_rings() {
    io_uring ring{};
    if (::io_uring_queue_init(4, &ring, 0) != 0) {
        return false;
    }
    ::io_uring_queue_exit(&ring);
    return true;
}

// In a forked child: io_uring_setup fails with EPERM from now on.
bool refuse_io_uring_setup() {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{};
    program.len = static_cast<unsigned short>(sizeof filter / sizeof filter[0]);
    program.filter = filter;
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

corio::task<std::string> echo_once(std::string text) {
    corio::tcp_server server = co_await corio::start_server(
        [](corio::tcp_stream stream) -> corio::task<void> {
            const std::string line = co_await stream.read_until("\n");
            co_await stream.write(line);
        },
        "127.0.0.1", 0);
    corio::tcp_stream client = co_await corio::open_connection("127.0.0.1", server.port());
    co_await client.write(text);
    std::string back = co_await client.read_until("\n");
    server.close();
    co_return back;
}

// A client connected to a server that handed it the accepted end.
struct loopback_pair {
    std::optional<corio::tcp_server> server;
    corio::tcp_stream client;
    corio::tcp_stream accepted;
};

corio::task<std::unique_ptr<loopback_pair>> connect_loopback_pair() {
    auto pair = std::make_unique<loopback_pair>();
    corio::event arrived;
    auto take = [pair = pair.get(), &arrived](corio::tcp_stream stream) -> corio::task<void> {
        pair->accepted = std::move(stream);
        arrived.set();
        co_return;
    };
    pair->server.emplace(co_await corio::start_server(take, "127.0.0.1", 0));
    pair->client = co_await corio::open_connection("127.0.0.1", pair->server->port());
    co_await arrived.wait();
    pair->server->close();  // one connection is all it takes
    co_return pair;
}

}  // namespace

TEST_CASE("a loop runs on io_uring unless the loop or the environment asks for epoll", "[reactor][io_uring]") {
    if (!kernel_gives_rings()) {
        corio_test::skip_test("this kernel or container refuses io_uring (io_uring_disabled or seccomp)");
        return;
    }
    ::unsetenv("CORIO_REACTOR");
    {
        corio::event_loop loop;
        CHECK(std::string(loop.io_backend_name()) == "io_uring");
        CHECK(loop.run_until_complete(echo_once("over the ring\n")) == "over the ring\n");
    }
    {
        corio::event_loop loop(corio::io_backend::epoll);
        CHECK(std::string(loop.io_backend_name()) == "epoll");
        CHECK(loop.run_until_complete(echo_once("over epoll\n")) == "over epoll\n");
    }
    ::setenv("CORIO_REACTOR", "epoll", 1);
    {
        corio::event_loop from_environment;
        corio::event_loop asked(corio::io_backend::io_uring);
        CHECK(std::string(from_environment.io_backend_name()) == "epoll");
        CHECK(std::string(asked.io_backend_name()) == "io_uring");  // the loop's own option wins
    }
    ::unsetenv("CORIO_REACTOR");
}

TEST_CASE("a kernel that refuses io_uring gets epoll, said once on stderr, and everything works",
          "[reactor][io_uring]") {
    int error_pipe[2];
    REQUIRE(::pipe(error_pipe) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::dup2(error_pipe[1], STDERR_FILENO);
        ::close(error_pipe[0]);
        if (!refuse_io_uring_setup()) {
            ::_exit(10);
        }
        int status = 0;
        {
            corio::event_loop first;
            corio::event_loop second(corio::io_backend::io_uring);
            if (std::string_view(first.io_backend_name()) != "epoll" ||
                std::string_view(second.io_backend_name()) != "epoll") {
                status = 11;
            } else if (first.run_until_complete(echo_once("fallback\n")) != "fallback\n") {
                status = 12;
            }
        }
        ::_exit(status);
    }
    ::close(error_pipe[1]);
    std::string said;
    char piece[512];
    for (ssize_t n; (n = ::read(error_pipe[0], piece, sizeof piece)) > 0;) {
        said.append(piece, static_cast<std::size_t>(n));
    }
    ::close(error_pipe[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(said == "corio: io_uring unavailable (io_uring_queue_init: Operation not permitted); using epoll\n");
}

// Threads of this process other than io_uring's own kernel workers
// ("iou-wrk-", "iou-sqp-"), which the kernel may start for file operations.
int user_threads() {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(entry.path() / "comm");
        std::string name;
        std::getline(comm, name);
        count += name.rfind("iou-", 0) == 0 ? 0 : 1;
    }
    return count;
}

TEST_CASE("on a ring, files are opened, written, synced, measured and read with no thread", "[reactor][io_uring]") {
    if (!kernel_gives_rings()) {
        corio_test::skip_test("this kernel or container refuses io_uring (io_uring_disabled or seccomp)");
        return;
    }
    std::string directory = (std::filesystem::temp_directory_path() / "corio-ring-file-XXXXXX").string();
    REQUIRE(::mkdtemp(directory.data()) != nullptr);
    const std::string path = directory + "/f.txt";
    // In a fresh child, so that no test before this one has started the pool.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        int status = 0;
        {
            corio::event_loop loop(corio::io_backend::io_uring);
            auto body = [&]() -> corio::task<int> {
                corio::file out = co_await corio::open_file(path, "w");
                co_await out.write("one\ntwo\n");
                co_await out.fsync();
                if (co_await out.size() != 8) {
                    co_return 21;
                }
                co_await out.close();
                corio::file in = co_await corio::open_file(path, "a+");
                co_await in.write("three\n");
                in.seek(0);
                if (co_await in.read_all() != "one\ntwo\nthree\n") {
                    co_return 22;
                }
                bool missing = false;
                try {
                    corio::file none = co_await corio::open_file(path + ".missing");
                } catch (const std::system_error& e) {
                    missing = e.code().value() == ENOENT && std::string(e.what()).find(".missing") != std::string::npos;
                }
                co_return missing ? 0 : 23;
            };
            if (std::string_view(loop.io_backend_name()) != "io_uring") {
                status = 20;
            } else {
                status = loop.run_until_complete(body());
            }
        }
        if (status == 0 && user_threads() != 1) {
            status = 24;  // something ran on the thread pool
        }
        ::_exit(status);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    std::filesystem::remove_all(directory);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a loop on io_uring runs on the thread that first ran it, and another thread is told why",
          "[reactor][io_uring][threads]") {
    if (!kernel_gives_rings()) {
        corio_test::skip_test("this kernel or container refuses io_uring (io_uring_disabled or seccomp)");
        return;
    }
    auto echo = [](std::string text) -> corio::task<std::string> { co_return co_await echo_once(std::move(text)); };
    // Made here, first run on another thread: that thread becomes its submitter.
    corio::event_loop loop(corio::io_backend::io_uring);
    std::string first;
    std::thread([&] { first = loop.run_until_complete(echo("from a worker\n")); }).join();
    CHECK(first == "from a worker\n");
    // This thread is not it: refused before any task runs, with a named error.
    std::string refusal;
    try {
        (void)loop.run_until_complete(echo("from here\n"));
    } catch (const corio::event_loop_error& e) {
        refusal = e.what();
    }
    CHECK(refusal.find("binds it to the thread that first ran it") != std::string::npos);
    // A fresh thread is refused too, though it may get the first one's
    // pthread id: the kernel bound the ring to that thread's task.
    std::string again;
    std::thread([&] {
        try {
            (void)loop.run_until_complete(echo("x\n"));
        } catch (const corio::event_loop_error&) {
            again = "refused";
        }
    }).join();
    CHECK(again == "refused");
    // An epoll loop has no such binding.
    corio::event_loop on_epoll(corio::io_backend::epoll);
    std::string from_worker;
    std::thread([&] { from_worker = on_epoll.run_until_complete(echo("a\n")); }).join();
    CHECK(from_worker == "a\n");
    CHECK(on_epoll.run_until_complete(echo("b\n")) == "b\n");
}

TEST_CASE("a server's multishot accept reports running out of descriptors and accepts once one is free",
          "[reactor][io_uring]") {
    if (!kernel_gives_rings()) {
        corio_test::skip_test("this kernel or container refuses io_uring (io_uring_disabled or seccomp)");
        return;
    }
    if (!corio_test::fd_exhaustion_testable) {
        corio_test::skip_test("the sanitizers' runtime cannot work without descriptors");
        return;
    }
    std::vector<std::string> reports;
    auto echo_line = [](corio::tcp_stream stream) -> corio::task<void> {
        const std::string line = co_await stream.read_until("\n");
        co_await stream.write(line);
        (void)co_await stream.read();  // until the client closes
    };
    auto body = [&]() -> corio::task<void> {
        corio_test::record_loop_exceptions(reports);
        // The limit is lowered before the server starts, as the kernel reads
        // it when the multishot accept is armed.
        corio_test::fd_exhaustion exhausted;
        exhausted.free(3);  // the listener, a client, and the server's end of it
        corio::server_options options;
        options.accept_backoff = 5s;  // a connection ending must cut it short
        auto server = co_await corio::start_server(echo_line, "127.0.0.1", 0, options);
        auto first = co_await corio::open_connection("127.0.0.1", server.port());
        co_await first.write("one\n");
        const std::string echoed = co_await first.read_until("\n");
        CHECK(echoed == "one\n");

        exhausted.free(1);  // the next client's socket; nothing left for the server's end
        auto second = co_await corio::open_connection("127.0.0.1", server.port());
        co_await second.write("two\n");
        co_await corio::sleep(100ms);
        REQUIRE(reports.size() == 1);
        CHECK(reports[0].find("Too many open files") != std::string::npos);
        CHECK(server.active_connections() == 1);

        first.close();  // its server end closes too, which frees a descriptor
        const std::string answered = co_await corio::wait_for(second.read_until("\n"), 2s);
        CHECK(answered == "two\n");
        second.close();
        co_await server.shutdown(1s);
    };
    corio_test::run_with_watchdog_on(corio::io_backend::io_uring, body(), 5s);
}

TEST_CASE("a server's multishot accept takes a burst of 300 connections and honours max_connections",
          "[reactor][io_uring]") {
    if (!kernel_gives_rings()) {
        corio_test::skip_test("this kernel or container refuses io_uring (io_uring_disabled or seccomp)");
        return;
    }
    auto body = []() -> corio::task<void> {
        int peak = 0;
        int live = 0;
        auto handler = [&](corio::tcp_stream stream) -> corio::task<void> {
            peak = std::max(peak, ++live);
            const std::string line = co_await stream.read_until("\n");
            co_await corio::sleep(1ms);
            --live;
            co_await stream.write(line);
        };
        corio::server_options options;
        options.max_connections = 50;
        options.backlog = 512;
        auto server = co_await corio::start_server(handler, "127.0.0.1", 0, options);
        auto client = [&](int i) -> corio::task<bool> {
            corio::tcp_stream stream = co_await corio::open_connection("127.0.0.1", server.port());
            const std::string line = std::to_string(i) + "\n";
            co_await stream.write(line);
            co_return co_await stream.read_until("\n") == line;
        };
        std::vector<corio::task<bool>> clients;
        for (int i = 0; i < 300; ++i) {
            clients.push_back(client(i));
        }
        const std::vector<bool> answered = co_await corio::gather(std::move(clients));
        CHECK(std::count(answered.begin(), answered.end(), true) == 300);
        CHECK(peak <= 50);
        CHECK(peak >= 2);
        server.close();
    };
    corio_test::run_with_watchdog_on(corio::io_backend::io_uring, body(), 10s);
}

TEST_CASE("a read the kernel holds is cancelled by a timeout and the stream stays usable", "[reactor][io_uring]") {
    corio::event_loop loop;
    const std::string got = loop.run_until_complete([]() -> corio::task<std::string> {
        std::unique_ptr<loopback_pair> pair = co_await connect_loopback_pair();
        corio::tcp_stream& client = pair->client;
        corio::tcp_stream& accepted = pair->accepted;
        bool timed_out = false;
        try {
            (void)co_await corio::wait_for(client.read(16), 50ms);
        } catch (const corio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK_FALSE(client.read_pending());
        co_await accepted.write("after\n");
        std::string line = co_await client.read_until("\n");
        co_return line;
    }());
    CHECK(got == "after\n");
}

TEST_CASE("closing a stream while the kernel holds its read throws stream_closed to the reader",
          "[reactor][io_uring]") {
    corio::event_loop loop;
    const bool closed = loop.run_until_complete([]() -> corio::task<bool> {
        std::unique_ptr<loopback_pair> pair = co_await connect_loopback_pair();
        corio::tcp_stream& client = pair->client;
        auto reader = corio::create_task(
            [](corio::tcp_stream& stream) -> corio::task<bool> {
                try {
                    (void)co_await stream.read(16);
                } catch (const corio::stream_closed&) {
                    co_return true;
                }
                co_return false;
            }(client));
        co_await corio::sleep(20ms);
        CHECK(client.read_pending());
        client.close();
        const bool result = co_await corio::wait_for(std::move(reader), 5s);
        co_return result;
    }());
    CHECK(closed);
}

TEST_CASE("a read cancelled as its bytes arrive loses none of them", "[reactor][io_uring]") {
    corio::event_loop loop;
    const std::string all = loop.run_until_complete([]() -> corio::task<std::string> {
        std::unique_ptr<loopback_pair> pair = co_await connect_loopback_pair();
        corio::tcp_stream& client = pair->client;
        corio::tcp_stream& accepted = pair->accepted;
        std::string before_cancel;
        bool cancelled = false;
        auto reader = corio::create_task(
            [](corio::tcp_stream& stream, std::string& out, bool& was_cancelled) -> corio::task<void> {
                try {
                    out = co_await stream.read(16);
                    co_await corio::sleep(0s);  // where a request that lost the race is taken
                } catch (const corio::cancelled_error&) {
                    was_cancelled = true;
                }
            }(client, before_cancel, cancelled));
        co_await corio::sleep(20ms);
        // The bytes and the cancellation reach the read in the same iteration.
        const int fd = accepted.native_handle();
        CHECK(::send(fd, "abc", 3, MSG_NOSIGNAL) == 3);
        reader.cancel();
        co_await corio::wait_for(std::move(reader), 5s);
        CHECK(cancelled);
        std::string rest;
        if (before_cancel.size() < 3) {
            rest = co_await client.read_exactly(3 - before_cancel.size());
        }
        co_return before_cancel + rest;
    }());
    CHECK(all == "abc");
}

TEST_CASE("100 connections echo a thousand messages each through the ring", "[reactor][io_uring]") {
    corio::event_loop loop;
    const std::size_t echoed = loop.run_until_complete([]() -> corio::task<std::size_t> {
        corio::tcp_server server = co_await corio::start_server(
            [](corio::tcp_stream stream) -> corio::task<void> {
                for (;;) {
                    std::string line = co_await stream.read(64);
                    if (line.empty()) {
                        co_return;  // the client closed
                    }
                    co_await stream.write(line);
                }
            },
            "127.0.0.1", 0);
        std::size_t total = 0;
        auto client = [](std::uint16_t port, int id, std::size_t& count) -> corio::task<void> {
            corio::tcp_stream stream = co_await corio::open_connection("127.0.0.1", port);
            for (int i = 0; i < 1000; ++i) {
                const std::string message = std::to_string(id) + ":" + std::to_string(i) + "\n";
                co_await stream.write(message);
                const std::string back = co_await stream.read_until("\n");
                if (back == message) {
                    ++count;
                }
            }
        };
        std::vector<corio::task_handle<void>> clients;
        for (int id = 0; id < 100; ++id) {
            clients.push_back(corio::create_task(client(server.port(), id, total)));
        }
        for (corio::task_handle<void>& each : clients) {
            co_await each;
        }
        server.close();
        co_return total;
    }());
    CHECK(echoed == 100'000);
}

namespace {

// Whether `loop` (made to ask for io_uring) got a ring; reported skipped if not.
bool runs_on_ring(corio::event_loop& loop) {
    if (loop.completion_reactor() != nullptr) {
        return true;
    }
    corio_test::skip_test("this kernel refuses io_uring here (the loop fell back to epoll)");
    return false;
}

// The ring's receive buffers, registered by the loop's first stream read.
corio::detail::provided_buffers* receive_buffers_of(corio::event_loop& loop) {
    return loop.completion_reactor()->receive_buffers();
}

// `count` connected pairs through one server: the clients and the accepted ends.
struct loopback_pairs {
    std::vector<corio::tcp_stream> clients;
    std::vector<corio::tcp_stream> accepted;
};

corio::task<loopback_pairs> connect_loopback_pairs(std::size_t count) {
    loopback_pairs pairs;
    corio::event all_arrived;
    auto take = [&pairs, &all_arrived, count](corio::tcp_stream stream) -> corio::task<void> {
        pairs.accepted.push_back(std::move(stream));
        if (pairs.accepted.size() == count) {
            all_arrived.set();
        }
        co_return;
    };
    corio::tcp_server server = co_await corio::start_server(take, "127.0.0.1", 0);
    for (std::size_t i = 0; i < count; ++i) {
        pairs.clients.push_back(co_await corio::open_connection("127.0.0.1", server.port()));
    }
    co_await corio::wait_for(all_arrived.wait(), 10s);
    server.close();
    co_return pairs;
}

std::string pattern_bytes(std::size_t size, std::size_t seed) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
    }
    return bytes;
}

}  // namespace

TEST_CASE("stream reads take their bytes from a multishot recv, a lagging reader does not hold the ring, all come back",
          "[reactor][io_uring]") {
    corio::event_loop loop(corio::io_backend::io_uring);
    if (!runs_on_ring(loop)) {
        return;
    }
    loop.run_until_complete([](corio::event_loop& running) -> corio::task<void> {
        std::unique_ptr<loopback_pair> pair = co_await connect_loopback_pair();
        // More than the ring's 4 MiB of buffers: without the feed's pause a
        // reader that lags would take them all.
        const std::string sent = pattern_bytes(8 << 20, 3);
        corio::detail::provided_buffers* buffers = receive_buffers_of(running);
        if (buffers == nullptr) {
            corio_test::skip_test("this kernel lends no provided buffer ring (multishot recv needs Linux 6.0)");
            co_return;
        }
        // The first read arms the multishot; then the reader lags while the
        // rest arrives. The kernel drains what the socket holds into the
        // ring before the feed sees the first piece, then the feed stops.
        auto first = corio::create_task(pair->client.read(1));
        co_await pair->accepted.write(std::string_view(sent).substr(0, 1));
        std::string received = co_await first;
        auto writer = corio::create_task(pair->accepted.write(std::string_view(sent).substr(1)));
        co_await corio::sleep(100ms);
        const unsigned lent_while_lagging = buffers->lent();
        CHECK(lent_while_lagging >= 1);
        CHECK(lent_while_lagging < corio::detail::provided_buffers::count / 2);
        while (received.size() < sent.size()) {
            std::string piece = co_await pair->client.read(7001);
            REQUIRE_FALSE(piece.empty());
            received += piece;
        }
        co_await writer;
        CHECK(received == sent);
        CHECK(buffers->lent() == 0);
        pair->accepted.close();
        const std::string after_fin = co_await pair->client.read(16);
        const std::string again = co_await pair->client.read(16);
        CHECK(after_fin.empty());
        CHECK(again.empty());
    }(loop));
}

TEST_CASE("when the ring's buffers run out, reads go by one recv each and no byte is lost",
          "[reactor][io_uring]") {
    corio::event_loop loop(corio::io_backend::io_uring);
    if (!runs_on_ring(loop)) {
        return;
    }
    loop.run_until_complete([](corio::event_loop& running) -> corio::task<void> {
        constexpr std::size_t connections = 100;
        constexpr std::size_t per_connection = 100 * 1024;
        loopback_pairs pairs = co_await connect_loopback_pairs(connections);
        // A first read on each client arms its multishot.
        const std::string mark = "#";
        for (std::size_t i = 0; i < connections; ++i) {
            auto first = corio::create_task(pairs.clients[i].read(1));
            co_await pairs.accepted[i].write(mark);
            const std::string got_mark = co_await first;
            REQUIRE(got_mark == mark);
        }
        corio::detail::provided_buffers* buffers = receive_buffers_of(running);
        if (buffers == nullptr) {
            corio_test::skip_test("this kernel lends no provided buffer ring (multishot recv needs Linux 6.0)");
            co_return;
        }
        std::vector<std::string> payloads;
        std::vector<corio::task_handle<void>> writers;
        for (std::size_t i = 0; i < connections; ++i) {
            payloads.push_back(pattern_bytes(per_connection, i));
        }
        for (std::size_t i = 0; i < connections; ++i) {
            writers.push_back(corio::create_task(pairs.accepted[i].write(payloads[i])));
        }
        co_await corio::sleep(200ms);
        // Nobody reads: each multishot queues a few pieces, and together they
        // take every buffer the ring has.
        CHECK(buffers->lent() == corio::detail::provided_buffers::count);
        std::size_t intact = 0;
        for (std::size_t i = 0; i < connections; ++i) {
            const std::string got = co_await pairs.clients[i].read_exactly(per_connection);
            if (got == payloads[i]) {
                ++intact;
            }
        }
        for (corio::task_handle<void>& writer : writers) {
            co_await writer;
        }
        CHECK(intact == connections);
        CHECK(buffers->lent() == 0);
    }(loop));
}

TEST_CASE("wait_readable and peek_input see what the multishot recv queued, and the peer's FIN",
          "[reactor][io_uring]") {
    corio::event_loop loop(corio::io_backend::io_uring);
    if (!runs_on_ring(loop)) {
        return;
    }
    loop.run_until_complete([]() -> corio::task<void> {
        std::unique_ptr<loopback_pair> pair = co_await connect_loopback_pair();
        corio::tcp_stream& client = pair->client;
        CHECK(client.peek_input() == corio::detail::pending_input::nothing);
        auto waiting = corio::create_task(client.wait_readable());
        co_await corio::sleep(20ms);
        CHECK_FALSE(waiting.done());
        co_await pair->accepted.write("x");
        co_await corio::wait_for(std::move(waiting), 5s);
        CHECK(client.peek_input() == corio::detail::pending_input::bytes);
        const std::string x = co_await client.read(16);
        CHECK(x == "x");
        CHECK(client.peek_input() == corio::detail::pending_input::nothing);
        pair->accepted.close();
        co_await corio::wait_for(client.wait_readable(), 5s);
        CHECK(client.peek_input() == corio::detail::pending_input::end);
        const std::string end = co_await client.read(16);
        CHECK(end.empty());
    }());
}

TEST_CASE("CORIO_RECV_MULTISHOT=0 makes reads go one recv at a time", "[reactor][io_uring]") {
    corio::event_loop loop(corio::io_backend::io_uring);
    if (!runs_on_ring(loop)) {
        return;
    }
    ::setenv("CORIO_RECV_MULTISHOT", "0", 1);  // read at the loop's first stream read
    const std::string back = loop.run_until_complete(echo_once("plain recv\n"));
    const bool lends = loop.completion_reactor()->receive_buffers() != nullptr;
    ::unsetenv("CORIO_RECV_MULTISHOT");
    CHECK(back == "plain recv\n");
    CHECK_FALSE(lends);
}

#else

TEST_CASE("io_uring backend", "[reactor][io_uring]") {
    corio_test::skip_test("corio built without io_uring: configure with -DCORIO_REACTOR=io_uring (apt-get install liburing-dev)");
}

#endif
