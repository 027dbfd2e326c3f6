#pragma once

// corio TLS (target corio::tls, OpenSSL): contexts, and tls::stream<Next>, a
// TLS stream over any corio::byte_stream (tcp_stream by default), with
// connect / accept / open_connection.

#include <corio/tls/context.hpp>
#include <corio/tls/errors.hpp>
#include <corio/tls/stream.hpp>

/// TLS over any corio byte stream (OpenSSL): client and server contexts,
/// connect and accept; target corio::tls.
namespace corio::tls {}
