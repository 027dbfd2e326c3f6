#pragma once

// corio::redis: a Redis client (RESP2/RESP3, auto-pipelining, pub/sub,
// blocking commands on dedicated connections), Redis Cluster and stream workers.
// Link the CMake target corio::redis.

#include <corio/redis/cluster.hpp>
#include <corio/redis/command_helpers.hpp>
#include <corio/redis/connection.hpp>
#include <corio/redis/errors.hpp>
#include <corio/redis/options.hpp>
#include <corio/redis/pubsub.hpp>
#include <corio/redis/stream_worker.hpp>
#include <corio/redis/types.hpp>
#include <corio/redis/value.hpp>

/// Redis client (redis.asyncio): RESP2/RESP3, auto-pipelining, pub/sub, streams
/// and the stream_worker job queue; target corio::redis.
namespace corio::redis {}
