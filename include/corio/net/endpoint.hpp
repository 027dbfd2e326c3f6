#pragma once

#include <cstdint>
#include <string>

namespace corio {

/// Address family of an endpoint.
enum class address_family : unsigned char { unspecified, ipv4, ipv6, unix_path };

/// Where a socket is bound or connected: a numeric address and a port for
/// IPv4/IPv6 ("127.0.0.1", 8080), or a filesystem path for a Unix domain
/// socket (port 0). A plain value type; no name resolution happens here.
struct endpoint {
    /// Numeric IPv4 or IPv6 address (no brackets), or the Unix socket's path ("" if unnamed).
    std::string address;
    /// Port in host byte order; 0 for a Unix socket.
    std::uint16_t port = 0;
    /// Which of the above `address` is; unspecified in a default endpoint.
    address_family family = address_family::unspecified;

    /// "127.0.0.1:8080", "[::1]:8080", or the path of a Unix socket.
    [[nodiscard]] std::string to_string() const {
        switch (family) {
        case address_family::ipv6:
            return "[" + address + "]:" + std::to_string(port);
        case address_family::unix_path:
            return address.empty() ? std::string("<unnamed unix socket>") : address;
        default:
            return address + ":" + std::to_string(port);
        }
    }

    /// Equal when address, port and family are.
    friend bool operator==(const endpoint&, const endpoint&) = default;
};

}  // namespace corio
