#pragma once

// corio networking: the byte-stream concept and its algorithms, TCP streams
// and servers, Unix domain sockets, UDP.

#include <corio/net/byte_stream.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/net/errors.hpp>
#include <corio/net/read_buffer.hpp>
#include <corio/net/server.hpp>
#include <corio/net/stream.hpp>
#include <corio/net/stream_algorithms.hpp>
#include <corio/net/subprocess.hpp>
#include <corio/net/tcp.hpp>
#include <corio/net/udp.hpp>
#include <corio/net/unix.hpp>
