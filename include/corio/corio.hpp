#pragma once

// The core of corio: tasks, the event loop, spawning, combinators, sleeping
// and synchronization.

#include <corio/cancel.hpp>
#include <corio/combinators.hpp>
#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/invoke.hpp>
#include <corio/outcome.hpp>
#include <corio/run.hpp>
#include <corio/sleep.hpp>
#include <corio/spawn.hpp>
#include <corio/sync/semaphore.hpp>
#include <corio/task.hpp>
