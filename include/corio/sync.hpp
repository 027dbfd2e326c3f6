#pragma once

// corio's synchronization primitives for coroutines on one loop (asyncio's
// Semaphore, Lock, Event, Condition and Queue).

#include <corio/sync/condition.hpp>
#include <corio/sync/event.hpp>
#include <corio/sync/mutex.hpp>
#include <corio/sync/queue.hpp>
#include <corio/sync/semaphore.hpp>
