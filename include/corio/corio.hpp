#pragma once

// Everything corio has apart from networking (<corio/net.hpp>): tasks, the
// event loop, spawning, combinators, timeout scopes, structured concurrency,
// async generators, synchronization, thread off-loading and sleeping.

#include <corio/as_completed.hpp>
#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/current_task.hpp>
#include <corio/debug.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/fd_watcher.hpp>
#include <corio/generator.hpp>
#include <corio/invoke.hpp>
#include <corio/loop_metrics.hpp>
#include <corio/outcome.hpp>
#include <corio/run.hpp>
#include <corio/shield.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync.hpp>
#include <corio/task.hpp>
#include <corio/task_group.hpp>
#include <corio/thread_pool.hpp>
#include <corio/timeout.hpp>
#include <corio/version.hpp>
#include <corio/wait.hpp>
#include <corio/wait_any.hpp>

/// Python's asyncio in C++20 coroutines: tasks and the event loop, combinators
/// (gather, wait_for, wait, as_completed), task groups, timeouts, synchronization,
/// async generators, thread off-loading; networking in corio::http and the headers
/// of <corio/net.hpp>.
namespace corio {}
