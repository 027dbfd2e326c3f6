#pragma once

// corio networking: TCP streams and servers, Unix domain sockets, UDP.

#include <corio/net/endpoint.hpp>
#include <corio/net/errors.hpp>
#include <corio/net/server.hpp>
#include <corio/net/stream.hpp>
#include <corio/net/tcp.hpp>
#include <corio/net/udp.hpp>
#include <corio/net/unix.hpp>
