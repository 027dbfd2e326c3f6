#pragma once

#include <corio/detail/config.hpp>
#include <corio/detail/file_ops.hpp>
#include <corio/detail/file_ring.hpp>
#include <corio/generator.hpp>
#include <corio/task.hpp>
#include <corio/thread_pool.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace corio {

/// A file opened with corio::open_file: aiofiles' model, awaited reads and
/// writes that never block the loop. On an io_uring loop every operation
/// (open, read, write, size, fsync) is a ring operation and no thread is
/// involved; otherwise each runs its system call on the thread pool behind
/// corio::to_thread (epoll and kqueue cannot make a regular file
/// asynchronous: it is always "ready").
///
/// read() and write() work at the file's position, which this object keeps
/// (not the kernel's), so a cancelled read leaves the position where it was;
/// pread()/pwrite() take an offset and leave the position alone. A cancelled
/// operation stops the wait at once on the pool (its system call finishes on
/// its worker) and after the kernel's answer on a ring; either way the
/// descriptor stays open until the system call is done with it. One operation at a time
/// per file (await each before the next); use on the loop that opened it.
///
/// Errors are std::system_error whose what() names the operation and the
/// path ("open /no/such: No such file or directory").
class file {
public:
    /// Default size of read() (64 KiB).
    static constexpr std::size_t default_chunk = 64 * 1024;

    file() = default;
    /// Moves the open file; the source is left closed.
    file(file&&) noexcept = default;
    /// Moves the open file (the old one is closed as by close()).
    file& operator=(file&&) noexcept = default;
    file(const file&) = delete;
    file& operator=(const file&) = delete;
    /// Closes the descriptor (once no operation runs on it any more).
    ~file() = default;

    /// False after close() or a move.
    [[nodiscard]] bool is_open() const noexcept { return m_fd != nullptr; }
    /// The path the file was opened with.
    [[nodiscard]] const std::string& path() const { return descriptor().path; }
    /// The position read() and write() use next.
    [[nodiscard]] std::uint64_t tell() const noexcept { return m_position; }
    /// Moves the position (aiofiles' seek(offset, SEEK_SET)).
    void seek(std::uint64_t position) noexcept { m_position = position; }

    /// Up to `n` bytes from the position ("" at the end of the file); fewer
    /// than `n` only at the end.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> read(std::size_t n = default_chunk) {
        std::string data = co_await pread(n, m_position);
        m_position += data.size();
        co_return data;
    }

    /// Everything from the position to the end of the file.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> read_all() {
#if defined(CORIO_REACTOR_IO_URING)
        if (detail::running_loop_ring() != nullptr) {
            std::string data = co_await detail::ring_read_to_end(held(), m_position);
            m_position += data.size();
            co_return data;
        }
#endif
        detail::file_request request;
        request.op = detail::file_request::kind::read_to_end;
        request.offset = m_position;
        detail::file_result result = co_await run(std::move(request));
        m_position += result.data.size();
        co_return std::move(result.data);
    }

    /// Writes all of `data` at the position (at the end in append mode) and
    /// advances it.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> write(std::string data) {
        const std::size_t size = data.size();
        co_await pwrite(std::move(data), m_position);
        m_position += size;
    }

    /// Up to `n` bytes at `offset`; the position does not move.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::string> pread(std::size_t n, std::uint64_t offset) {
#if defined(CORIO_REACTOR_IO_URING)
        if (detail::running_loop_ring() != nullptr) {
            co_return co_await detail::ring_read(held(), n, offset);
        }
#endif
        detail::file_request request;
        request.op = detail::file_request::kind::read;
        request.size = n;
        request.offset = offset;
        detail::file_result result = co_await run(std::move(request));
        co_return std::move(result.data);
    }

    /// All of `data` at `offset` (at the end in append mode); the position
    /// does not move.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> pwrite(std::string data, std::uint64_t offset) {
#if defined(CORIO_REACTOR_IO_URING)
        if (detail::running_loop_ring() != nullptr) {
            std::shared_ptr<detail::file_descriptor> fd = held();
            const std::uint64_t at = fd->append ? detail::append_offset : offset;
            co_await detail::ring_write(std::move(fd), std::move(data), at);
            co_return;
        }
#endif
        detail::file_request request;
        request.op = detail::file_request::kind::write;
        request.offset = offset;
        request.data = std::move(data);
        co_await run(std::move(request));
    }

    /// The file's size now.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<std::uint64_t> size() {
#if defined(CORIO_REACTOR_IO_URING)
        if (detail::running_loop_ring() != nullptr) {
            co_return co_await detail::ring_size(held());
        }
#endif
        detail::file_request request;
        request.op = detail::file_request::kind::size;
        const detail::file_result result = co_await run(std::move(request));
        co_return result.number;
    }

    /// Flushes the file's data and metadata to the device (fsync).
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> fsync() {
#if defined(CORIO_REACTOR_IO_URING)
        if (detail::running_loop_ring() != nullptr) {
            co_await detail::ring_sync(held());
            co_return;
        }
#endif
        detail::file_request request;
        request.op = detail::file_request::kind::sync;
        co_await run(std::move(request));
    }

    /// Lines from the position to the end, each with its '\n' (the last one
    /// without, when the file does not end in one), as Python iterates a
    /// file: `while (auto line = co_await lines.next())`. The file must
    /// outlive the generator; the position ends at the end of the file.
    [[nodiscard]] CORIO_HEADER_COROUTINE async_generator<std::string> lines() {
        std::string pending;
        while (true) {
            std::string chunk = co_await read();
            if (chunk.empty()) {
                break;
            }
            pending += chunk;
            std::size_t start = 0;
            for (std::size_t end = pending.find('\n'); end != std::string::npos;
                 end = pending.find('\n', start)) {
                std::string line = pending.substr(start, end + 1 - start);
                start = end + 1;
                co_yield std::move(line);
            }
            pending.erase(0, start);
        }
        if (!pending.empty()) {
            co_yield std::move(pending);
        }
    }

    /// Closes the file (aiofiles' close()). Later operations throw
    /// std::logic_error; closing twice is harmless.
    [[nodiscard]] CORIO_HEADER_COROUTINE task<void> close() {
        m_fd.reset();
        co_return;
    }

private:
    friend task<file> open_file(std::filesystem::path path, std::string mode);

    explicit file(std::shared_ptr<detail::file_descriptor> fd) : m_fd(std::move(fd)) {}

    const detail::file_descriptor& descriptor() const {
        if (!m_fd) {
            throw std::logic_error("corio::file: used after close() or after being moved from");
        }
        return *m_fd;
    }
    // The descriptor as the operation holds it: an operation whose awaiter
    // was cancelled, or a close() during it, leaves it open until the system
    // call or the kernel is done with it.
    std::shared_ptr<detail::file_descriptor> held() const {
        (void)descriptor();
        return m_fd;
    }
    using file_job = offload_operation<decltype(&detail::perform_file_request),
                                       std::shared_ptr<detail::file_descriptor>, detail::file_request>;
    file_job run(detail::file_request request) const {
        return to_thread(&detail::perform_file_request, held(), std::move(request));
    }

    std::shared_ptr<detail::file_descriptor> m_fd;
    std::uint64_t m_position = 0;
};

/// Opens `path` with a Python-style mode ("r", "w", "a", "x", each with an
/// optional "+"; "b" is accepted: files are bytes): aiofiles.open(path, mode).
/// The open is asynchronous too, on the ring or on the thread pool (it may
/// block on a slow disk or NFS).
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<file> open_file(std::filesystem::path path, std::string mode) {
    const detail::open_flags flags = detail::parse_open_mode(mode);
    auto fd = std::make_shared<detail::file_descriptor>();
    fd->path = path.string();
#if defined(CORIO_REACTOR_IO_URING)
    if (detail::running_loop_ring() != nullptr) {
        co_await detail::ring_open(fd, flags);
    } else
#endif
    {
        detail::file_request request;
        request.op = detail::file_request::kind::open;
        request.flags = flags;
        co_await to_thread(&detail::perform_file_request, fd, std::move(request));
    }
    file opened(std::move(fd));
    if (flags.append) {
        opened.seek(co_await opened.size());
    }
    co_return opened;
}

/// open_file(path, "r").
[[nodiscard]] inline task<file> open_file(std::filesystem::path path) { return open_file(std::move(path), "r"); }

/// The whole content of `path`.
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<std::string> read_file(std::filesystem::path path) {
    file f = co_await open_file(std::move(path), "r");
    co_return co_await f.read_all();
}

/// Replaces the content of `path` with `data` (created if missing).
[[nodiscard]] CORIO_HEADER_COROUTINE inline task<void> write_file(std::filesystem::path path, std::string data) {
    file f = co_await open_file(std::move(path), "w");
    co_await f.write(std::move(data));
}

}  // namespace corio
