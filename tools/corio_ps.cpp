// corio-ps: print the task tree of a running corio process, as Python's
// `python -m asyncio ps PID`. The process must have opened its inspection
// socket (corio::start_inspection, <corio/net/inspection.hpp>).
//
//   corio-ps PID             the task tree
//   corio-ps PID --metrics   the loop's metrics (Prometheus text format)

#include <corio/detail/inspection_path.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

constexpr std::string_view usage =
    "usage: corio-ps PID [--metrics]\n"
    "  prints the task tree (or the loop metrics) of corio process PID, which must have\n"
    "  called corio::start_inspection()\n";

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3 || std::string_view(argv[1]) == "--help" ||
        std::string_view(argv[1]) == "-h") {
        std::fputs(usage.data(), argc < 2 || argc > 3 ? stderr : stdout);
        return argc < 2 || argc > 3 ? 2 : 0;
    }
    char* end = nullptr;
    const long pid = std::strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || pid <= 0) {
        std::fprintf(stderr, "corio-ps: '%s' is not a process id\n%s", argv[1], usage.data());
        return 2;
    }
    std::string command = "tasks\n";
    if (argc == 3) {
        if (std::string_view(argv[2]) != "--metrics") {
            std::fprintf(stderr, "corio-ps: unknown option '%s'\n%s", argv[2], usage.data());
            return 2;
        }
        command = "metrics\n";
    }
    const std::string path = corio::detail::inspection_socket_path(pid);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        std::fprintf(stderr, "corio-ps: socket path too long: %s\n", path.c_str());
        return 1;
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        std::fprintf(
            stderr,
            "corio-ps: cannot reach process %ld at %s: %s (is it a corio program that called "
            "corio::start_inspection(), run by this user?)\n",
            pid, path.c_str(), std::strerror(errno));
        return 1;
    }
    if (!write_all(fd, command)) {
        std::fprintf(stderr, "corio-ps: writing to %s failed: %s\n", path.c_str(),
                     std::strerror(errno));
        return 1;
    }
    char block[4096];
    for (;;) {
        const ssize_t n = ::read(fd, block, sizeof block);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            std::fprintf(stderr, "corio-ps: reading from %s failed: %s\n", path.c_str(),
                         std::strerror(errno));
            return 1;
        }
        if (n == 0) {
            break;
        }
        std::fwrite(block, 1, static_cast<std::size_t>(n), stdout);
    }
    ::close(fd);
    return 0;
}
