#pragma once

// app::run: one event loop per worker thread, each with its own http::server
// on one port (SO_REUSEPORT), stopped together by SIGINT/SIGTERM.

#include <corio/detail/config.hpp>
#include <corio/event_loop.hpp>
#include <corio/http/server.hpp>
#include <corio/run.hpp>
#include <corio/sync/event.hpp>
#include <corio/task.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace corio::web {

/// Options of app::run.
struct run_options {
    /// Event loops (threads) serving the app, each with its own listening
    /// socket on the port; 0 means one per hardware thread.
    unsigned workers = 1;
    /// Options of every loop's http::server (reuse_port is forced on with
    /// several workers).
    http::server_options server{};
    /// On SIGINT/SIGTERM, requests in flight get this long to finish.
    std::chrono::milliseconds grace{5000};
    /// Called once every worker listens, with the port (useful with port 0).
    std::function<void(std::uint16_t port)> on_ready{};
    /// Stop on SIGINT and SIGTERM (blocked in the calling thread, which
    /// must be the one that starts the program's other threads, or they
    /// must block them too; see event_loop::add_signal_handler).
    bool handle_signals = true;
};

}  // namespace corio::web

namespace corio::web::detail {

using request_handler_fn = std::function<task<http::response>(http::request&)>;

/// What the main loop knows of one worker loop.
struct worker_link {
    std::promise<void> ready;
    event_loop* loop = nullptr;  // set by the worker before `ready`
    corio::event* stop = nullptr;
};

struct run_plan {
    request_handler_fn handler;
    std::string host;
    http::server_options server;
    std::chrono::milliseconds grace{};
};

CORIO_HEADER_COROUTINE inline task<void> worker_loop(std::shared_ptr<const run_plan> plan, std::uint16_t port,
                                                     worker_link* link) {
    corio::event stop;
    std::optional<http::server> server;
    try {
        server.emplace(co_await http::start_server(plan->handler, plan->host, port, plan->server));
    } catch (...) {
        link->ready.set_exception(std::current_exception());
        co_return;
    }
    link->loop = &get_running_loop();
    link->stop = &stop;
    link->ready.set_value();
    co_await stop.wait();
    co_await server->shutdown(plan->grace);
}

CORIO_HEADER_COROUTINE inline task<void> main_loop(std::shared_ptr<const run_plan> plan, std::uint16_t port,
                                                   unsigned workers, std::function<void(std::uint16_t)> on_ready,
                                                   bool handle_signals, std::vector<std::thread>* threads,
                                                   std::vector<std::unique_ptr<worker_link>>* links) {
    event_loop& loop = get_running_loop();
    corio::event stop;
    if (handle_signals) {
        loop.add_signal_handler(SIGINT, [&stop] { stop.set(); });
        loop.add_signal_handler(SIGTERM, [&stop] { stop.set(); });
    }
    http::server server = co_await http::start_server(plan->handler, plan->host, port, plan->server);
    const std::uint16_t bound = server.port();
    std::exception_ptr failed;
    for (unsigned i = 1; i < workers; ++i) {
        links->push_back(std::make_unique<worker_link>());
        worker_link* link = links->back().get();
        std::future<void> ready = link->ready.get_future();
        threads->emplace_back([plan, bound, link] { corio::run(worker_loop(plan, bound, link)); });
        try {
            ready.get();  // startup only: the loop accepts nothing yet worth waiting for
        } catch (...) {
            failed = std::current_exception();
            break;
        }
    }
    if (!failed) {
        if (on_ready) {
            on_ready(bound);
        }
        co_await stop.wait();
    }
    for (const auto& link : *links) {
        if (link->loop != nullptr) {
            corio::event* worker_stop = link->stop;
            link->loop->call_soon_threadsafe([worker_stop] { worker_stop->set(); });
        }
    }
    co_await server.shutdown(plan->grace);
    if (handle_signals) {
        loop.remove_signal_handler(SIGINT);
        loop.remove_signal_handler(SIGTERM);
    }
    if (failed) {
        std::rethrow_exception(failed);
    }
}

/// Runs `handler` on host:port with options.workers loops until SIGINT/SIGTERM.
inline void run_app(request_handler_fn handler, std::string host, std::uint16_t port, run_options options) {
    unsigned workers = options.workers == 0 ? std::thread::hardware_concurrency() : options.workers;
    if (workers == 0) {
        workers = 1;
    }
    auto plan = std::make_shared<run_plan>();
    plan->handler = std::move(handler);
    plan->host = std::move(host);
    plan->server = options.server;
    plan->server.reuse_port = plan->server.reuse_port || workers > 1;
    plan->grace = options.grace;
    std::vector<std::thread> threads;
    std::vector<std::unique_ptr<worker_link>> links;
    std::exception_ptr error;
    try {
        corio::run(main_loop(plan, port, workers, std::move(options.on_ready), options.handle_signals, &threads,
                             &links));
    } catch (...) {
        error = std::current_exception();
    }
    for (std::thread& t : threads) {
        t.join();
    }
    if (error) {
        std::rethrow_exception(error);
    }
}

}  // namespace corio::web::detail
