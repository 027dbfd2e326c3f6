#pragma once

// corio::file's operations as io_uring operations (open, read, write, size,
// fsync): on an io_uring loop a file needs no thread at all. Only in a build
// with io_uring compiled in (CORIO_REACTOR_IO_URING).

#include <corio/detail/completion_operation.hpp>

#if defined(CORIO_REACTOR_IO_URING)

#include <corio/detail/config.hpp>
#include <corio/detail/file_ops.hpp>
#include <corio/task.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>

namespace corio::detail {

/// The ring of the running loop, or null when it runs on epoll (a refused
/// ring, or the loop's choice).
[[nodiscard]] inline io_uring_reactor* running_loop_ring() { return get_running_loop().completion_reactor(); }

/// One operation on the running loop's ring, given as its preparation; its
/// result is a count or -errno. A cancellation that ended it is thrown; a
/// result that came first stands (see completion_outcome).
template <class Prepare>
CORIO_HEADER_COROUTINE task<int> ring_call(Prepare prepare) {
    event_loop& loop = get_running_loop();
    io_completion* in_flight = nullptr;
    completion_operation<Prepare> operation(loop, *loop.completion_reactor(), in_flight, std::move(prepare));
    const completion_outcome outcome = co_await operation;
    if (outcome.result < 0 && outcome.cancel_requested) {
        co_await rethrow_cancellation();
    }
    co_return outcome.result;
}

/// open(2) through the ring (IORING_OP_OPENAT). An open that completes as
/// its cancellation arrives keeps its descriptor in `file`, which closes it.
CORIO_HEADER_COROUTINE inline task<void> ring_open(std::shared_ptr<file_descriptor> file, open_flags flags) {
    const char* path = file->path.c_str();
    auto prepare = [path, flags](io_uring_sqe* sqe) noexcept {
        ::io_uring_prep_openat(sqe, AT_FDCWD, path, flags.flags, 0666);
    };
    const int fd = co_await ring_call(prepare);
    if (fd < 0) {
        file->fail("open", -fd);
    }
    file->fd = fd;
    file->append = flags.append;
}

/// The file's size (IORING_OP_STATX on the descriptor itself).
CORIO_HEADER_COROUTINE inline task<std::uint64_t> ring_size(std::shared_ptr<file_descriptor> file) {
    struct statx status {};
    struct statx* into = &status;
    const int fd = file->fd;
    auto prepare = [fd, into](io_uring_sqe* sqe) noexcept {
        ::io_uring_prep_statx(sqe, fd, "", AT_EMPTY_PATH, STATX_SIZE, into);
    };
    const int result = co_await ring_call(prepare);
    if (result < 0) {
        file->fail("fstat", -result);
    }
    co_return status.stx_size;
}

/// fsync(2) through the ring.
CORIO_HEADER_COROUTINE inline task<void> ring_sync(std::shared_ptr<file_descriptor> file) {
    const int fd = file->fd;
    auto prepare = [fd](io_uring_sqe* sqe) noexcept { ::io_uring_prep_fsync(sqe, fd, 0); };
    const int result = co_await ring_call(prepare);
    if (result < 0) {
        file->fail("fsync", -result);
    }
}

/// Up to `n` bytes at `offset` (fewer only at the end of the file). The
/// coroutine holds the descriptor, so the file's close() during the read
/// leaves it open until the kernel is done.
CORIO_HEADER_COROUTINE inline task<std::string> ring_read(std::shared_ptr<file_descriptor> file, std::size_t n,
                                                          std::uint64_t offset) {
    event_loop& loop = get_running_loop();
    std::string data(n, '\0');
    std::size_t got = 0;
    io_completion* in_flight = nullptr;
    while (got < n) {
        const completion_outcome outcome = co_await file_transfer_completion(
            loop, *loop.completion_reactor(), in_flight, true, file->fd, data.data() + got, n - got, offset + got);
        if (outcome.result > 0) {
            got += static_cast<std::size_t>(outcome.result);
            continue;
        }
        if (outcome.result == 0) {
            break;  // the end of the file
        }
        if (outcome.cancel_requested) {
            co_await rethrow_cancellation();
        }
        if (outcome.result != -EINTR && outcome.result != -EAGAIN) {
            file->fail("read", -outcome.result);
        }
    }
    data.resize(got);
    co_return data;
}

/// Everything from `offset` to the end of the file, which may grow while it
/// is read: the size first, then reads until one finds the end.
CORIO_HEADER_COROUTINE inline task<std::string> ring_read_to_end(std::shared_ptr<file_descriptor> file,
                                                                 std::uint64_t offset) {
    const std::uint64_t size = co_await ring_size(file);
    std::string data =
        co_await ring_read(file, size > offset ? static_cast<std::size_t>(size - offset) : 0, offset);
    while (true) {
        std::string more = co_await ring_read(file, 64 * 1024, offset + data.size());
        if (more.empty()) {
            break;
        }
        data += more;
    }
    co_return data;
}

/// All of `data` at `offset`, or at the end for `append_offset`.
CORIO_HEADER_COROUTINE inline task<void> ring_write(std::shared_ptr<file_descriptor> file, std::string data,
                                                    std::uint64_t offset) {
    event_loop& loop = get_running_loop();
    std::size_t done = 0;
    io_completion* in_flight = nullptr;
    while (done < data.size()) {
        const std::uint64_t at = offset == append_offset ? offset : offset + done;
        const completion_outcome outcome = co_await file_transfer_completion(
            loop, *loop.completion_reactor(), in_flight, false, file->fd, data.data() + done, data.size() - done, at);
        if (outcome.result > 0) {
            done += static_cast<std::size_t>(outcome.result);
            continue;
        }
        if (outcome.cancel_requested) {
            co_await rethrow_cancellation();
        }
        if (outcome.result == 0) {
            file->fail("write", EIO);  // a regular file that takes nothing would loop forever
        }
        if (outcome.result != -EINTR && outcome.result != -EAGAIN) {
            file->fail("write", -outcome.result);
        }
    }
}

}  // namespace corio::detail

#endif
