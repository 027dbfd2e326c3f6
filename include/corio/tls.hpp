#pragma once

// corio TLS (target corio::tls, OpenSSL): contexts, and a TLS stream over
// corio::tcp_stream with connect / accept / open_connection.

#include <corio/tls/context.hpp>
#include <corio/tls/errors.hpp>
#include <corio/tls/stream.hpp>
