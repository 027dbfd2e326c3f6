#pragma once

// The blocking system calls behind corio::file, run on the thread pool (a
// regular file is always "ready" to epoll and kqueue, so readiness cannot
// make them asynchronous). Each throws std::system_error naming the path.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace corio::detail {

/// An open file descriptor and the path it was opened with, closed with the
/// last reference: operations still running on the pool after their awaiter
/// was cancelled keep it open until they finish.
struct file_descriptor {
    int fd = -1;
    std::string path;
    bool append = false;

    file_descriptor() = default;
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() {
        if (fd >= 0) {
            ::close(fd);
        }
    }

    [[noreturn]] void fail(const char* operation, int error) const {
        throw std::system_error(error, std::generic_category(), std::string(operation) + " " + path);
    }
};

/// open(2) flags for a Python-style mode: "r", "w", "a", "x", each with an
/// optional '+' (read and write); 'b' and 't' are accepted and ignored (files
/// are bytes). Anything else is std::invalid_argument.
struct open_flags {
    int flags = 0;
    bool append = false;
};

inline open_flags parse_open_mode(std::string_view mode) {
    open_flags result;
    char kind = 0;
    bool plus = false;
    for (char c : mode) {
        if (c == 'r' || c == 'w' || c == 'a' || c == 'x') {
            if (kind != 0) {
                kind = '?';
            } else {
                kind = c;
            }
        } else if (c == '+') {
            plus = true;
        } else if (c != 'b' && c != 't') {
            kind = '?';
        }
    }
    switch (kind) {
        case 'r':
            result.flags = plus ? O_RDWR : O_RDONLY;
            break;
        case 'w':
            result.flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC;
            break;
        case 'a':
            result.flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND;
            result.append = true;
            break;
        case 'x':
            result.flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL;
            break;
        default:
            throw std::invalid_argument("corio::open_file: bad mode '" + std::string(mode) +
                                        "' (use r, w, a or x, optionally with + and b)");
    }
    result.flags |= O_CLOEXEC;
    return result;
}

inline void open_file_descriptor(file_descriptor& file, const open_flags& flags) {
    int fd = -1;
    do {
        fd = ::open(file.path.c_str(), flags.flags, 0666);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        file.fail("open", errno);
    }
    file.fd = fd;
    file.append = flags.append;
}

/// Creates a new file, open for writing, named `prefix` plus six random
/// characters in `directory` (mkstemp: no other process can have opened it).
inline void create_temporary_file(file_descriptor& file, const std::string& directory, const std::string& prefix) {
    std::string name = directory + "/" + prefix + "XXXXXX";
    const int fd = ::mkstemp(name.data());
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "mkstemp " + name);
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    file.fd = fd;
    file.path = std::move(name);
}

/// Up to `size` bytes at `offset` (fewer only at the end of the file).
inline std::string read_at(const file_descriptor& file, std::size_t size, std::uint64_t offset) {
    std::string data(size, '\0');
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::pread(file.fd, data.data() + got, size - got, static_cast<off_t>(offset + got));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            file.fail("read", errno);
        }
        if (n == 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    data.resize(got);
    return data;
}

/// All of `data` at `offset`, or appended at the end for a file opened in
/// append mode (pwrite ignores the offset there on Linux anyway).
inline void write_at(const file_descriptor& file, std::string_view data, std::uint64_t offset) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = file.append ? ::write(file.fd, data.data() + done, data.size() - done)
                                      : ::pwrite(file.fd, data.data() + done, data.size() - done,
                                                 static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            file.fail("write", errno);
        }
        done += static_cast<std::size_t>(n);
    }
}

inline std::uint64_t file_size(const file_descriptor& file) {
    struct stat status {};
    if (::fstat(file.fd, &status) != 0) {
        file.fail("fstat", errno);
    }
    return static_cast<std::uint64_t>(status.st_size);
}

inline void sync_file(const file_descriptor& file) {
    if (::fsync(file.fd) != 0) {
        file.fail("fsync", errno);
    }
}

/// One operation of corio::file, run on the thread pool. Every operation
/// goes through this one function, so a program instantiates the pool's
/// offload machinery once for files, not once per operation.
struct file_request {
    enum class kind : unsigned char { open, read, read_to_end, write, size, sync } op = kind::read;
    std::size_t size = 0;
    std::uint64_t offset = 0;
    std::string data{};
    open_flags flags{};
};

struct file_result {
    std::string data{};
    std::uint64_t number = 0;
};

inline file_result perform_file_request(const std::shared_ptr<file_descriptor>& file, const file_request& request) {
    file_result result;
    switch (request.op) {
        case file_request::kind::open:
            open_file_descriptor(*file, request.flags);
            break;
        case file_request::kind::read:
            result.data = read_at(*file, request.size, request.offset);
            break;
        case file_request::kind::read_to_end: {
            const std::uint64_t size = file_size(*file);
            result.data = read_at(*file, size > request.offset ? static_cast<std::size_t>(size - request.offset) : 0,
                                  request.offset);
            // The file may have grown since fstat: read on to its end.
            while (true) {
                std::string more = read_at(*file, 64 * 1024, request.offset + result.data.size());
                if (more.empty()) {
                    break;
                }
                result.data += more;
            }
            break;
        }
        case file_request::kind::write:
            write_at(*file, request.data, request.offset);
            break;
        case file_request::kind::size:
            result.number = file_size(*file);
            break;
        case file_request::kind::sync:
            sync_file(*file);
            break;
    }
    return result;
}

}  // namespace corio::detail
