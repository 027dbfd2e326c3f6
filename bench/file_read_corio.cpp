// file_read_corio: the file rows of the io_uring issue, three ways side by
// side in one process on one file:
//
//   corio::file    pread() through corio::file: ring operations on an io_uring
//                  loop, the thread pool on epoll (CORIO_REACTOR=epoll)
//   to_thread      corio::to_thread(::pread) on the loop's thread pool
//   sync           a plain ::pread loop on one thread (the floor)
//
//   file_read_corio [--size-mib N] [--random-reads N] [--concurrency N] [--path FILE]
//
// Rows: N random 4 KiB reads (default 100,000) from a file of --size-mib
// (default 1024), --concurrency tasks at a time (default 64), and the whole
// file read sequentially in 1 MiB reads. The file is made once (and left for
// the next run) and read through once before timing, so every row reads the
// page cache: what is measured is the cost of asking, not the disk. Output:
// name<TAB>value<TAB>unit lines.

#include <corio/corio.hpp>
#include <corio/file.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
    std::uint64_t size_mib = 1024;
    int random_reads = 100'000;
    int concurrency = 64;
    std::string path = "/tmp/corio_file_bench.dat";
};

constexpr std::size_t small_read = 4096;
constexpr std::size_t big_read = 1 << 20;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

void print(const char* name, double value, const char* unit) { std::printf("%s\t%.6g\t%s\n", name, value, unit); }

void make_file(const options& opts) {
    const std::uint64_t bytes = opts.size_mib << 20;
    const int fd = ::open(opts.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::perror("open");
        std::exit(1);
    }
    struct stat info {};
    ::fstat(fd, &info);
    std::vector<char> block(big_read);
    if (static_cast<std::uint64_t>(info.st_size) != bytes) {
        std::mt19937_64 random(42);
        for (std::uint64_t at = 0; at < bytes; at += big_read) {
            for (std::size_t i = 0; i < block.size(); i += 8) {
                const std::uint64_t value = random();
                std::memcpy(block.data() + i, &value, 8);
            }
            if (::pwrite(fd, block.data(), block.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(block.size())) {
                std::perror("pwrite");
                std::exit(1);
            }
        }
        ::ftruncate(fd, static_cast<off_t>(bytes));
    }
    // Into the page cache before any row is timed.
    for (std::uint64_t at = 0; at < bytes; at += big_read) {
        (void)!::pread(fd, block.data(), block.size(), static_cast<off_t>(at));
    }
    ::close(fd);
}

std::vector<std::uint64_t> random_offsets(const options& opts) {
    std::mt19937_64 random(7);
    const std::uint64_t blocks = (opts.size_mib << 20) / small_read;
    std::vector<std::uint64_t> offsets(static_cast<std::size_t>(opts.random_reads));
    for (auto& offset : offsets) {
        offset = (random() % blocks) * small_read;
    }
    return offsets;
}

// `workers` tasks take offsets from a shared index until none are left.
template <class Read>
corio::task<std::uint64_t> run_random(const std::vector<std::uint64_t>& offsets, int workers, Read read) {
    std::size_t next = 0;
    std::uint64_t total = 0;
    auto worker = [&]() -> corio::task<void> {
        while (next < offsets.size()) {
            const std::uint64_t offset = offsets[next++];
            total += co_await read(offset);
        }
    };
    std::vector<corio::task<void>> tasks;
    for (int i = 0; i < workers; ++i) {
        tasks.push_back(worker());
    }
    co_await corio::gather(std::move(tasks));
    co_return total;
}

}  // namespace

int main(int argc, char** argv) {
    options opts;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--size-mib") {
            opts.size_mib = std::strtoull(argv[i + 1], nullptr, 10);
        } else if (flag == "--random-reads") {
            opts.random_reads = std::atoi(argv[i + 1]);
        } else if (flag == "--concurrency") {
            opts.concurrency = std::atoi(argv[i + 1]);
        } else if (flag == "--path") {
            opts.path = argv[i + 1];
        } else {
            std::fprintf(stderr, "file_read_corio: unknown flag %s\n", argv[i]);
            return 2;
        }
    }
    make_file(opts);
    const std::vector<std::uint64_t> offsets = random_offsets(opts);
    const std::uint64_t file_bytes = opts.size_mib << 20;

    corio::event_loop loop;
    std::printf("# backend\t%s\n", loop.io_backend_name());

    // corio::file
    loop.run_until_complete([&]() -> corio::task<void> {
        corio::file file = co_await corio::open_file(opts.path, "r");
        auto start = clock_type::now();
        const std::uint64_t got = co_await run_random(offsets, opts.concurrency, [&](std::uint64_t offset) -> corio::task<std::uint64_t> {
            const std::string data = co_await file.pread(small_read, offset);
            co_return data.size();
        });
        const double random_seconds = seconds_since(start);
        start = clock_type::now();
        std::uint64_t sequential = 0;
        for (;;) {
            const std::string chunk = co_await file.read(big_read);
            if (chunk.empty()) {
                break;
            }
            sequential += chunk.size();
        }
        const double sequential_seconds = seconds_since(start);
        if (got != offsets.size() * small_read || sequential != file_bytes) {
            std::fprintf(stderr, "file_read_corio: corio::file read %llu / %llu bytes\n",
                         static_cast<unsigned long long>(got), static_cast<unsigned long long>(sequential));
            std::exit(1);
        }
        print("file_random_4k_corio_file", offsets.size() / random_seconds, "reads/s");
        print("file_sequential_1m_corio_file", file_bytes / sequential_seconds / (1 << 20), "MiB/s");
    }());

    // to_thread + pread
    loop.run_until_complete([&]() -> corio::task<void> {
        const int fd = ::open(opts.path.c_str(), O_RDONLY | O_CLOEXEC);
        auto start = clock_type::now();
        const std::uint64_t got = co_await run_random(offsets, opts.concurrency, [fd](std::uint64_t offset) -> corio::task<std::uint64_t> {
            const long n = co_await corio::to_thread([fd, offset] {
                std::string data(small_read, '\0');
                return static_cast<long>(::pread(fd, data.data(), data.size(), static_cast<off_t>(offset)));
            });
            co_return static_cast<std::uint64_t>(n);
        });
        const double random_seconds = seconds_since(start);
        start = clock_type::now();
        std::uint64_t sequential = 0;
        for (std::uint64_t at = 0;; at += big_read) {
            const long n = co_await corio::to_thread([fd, at] {
                std::string data(big_read, '\0');
                return static_cast<long>(::pread(fd, data.data(), data.size(), static_cast<off_t>(at)));
            });
            if (n <= 0) {
                break;
            }
            sequential += static_cast<std::uint64_t>(n);
        }
        const double sequential_seconds = seconds_since(start);
        ::close(fd);
        if (got != offsets.size() * small_read || sequential != file_bytes) {
            std::fprintf(stderr, "file_read_corio: to_thread read short\n");
            std::exit(1);
        }
        print("file_random_4k_to_thread", offsets.size() / random_seconds, "reads/s");
        print("file_sequential_1m_to_thread", file_bytes / sequential_seconds / (1 << 20), "MiB/s");
    }());

    // synchronous pread, one thread
    {
        const int fd = ::open(opts.path.c_str(), O_RDONLY | O_CLOEXEC);
        std::string data(big_read, '\0');
        auto start = clock_type::now();
        std::uint64_t got = 0;
        for (const std::uint64_t offset : offsets) {
            got += static_cast<std::uint64_t>(::pread(fd, data.data(), small_read, static_cast<off_t>(offset)));
        }
        const double random_seconds = seconds_since(start);
        start = clock_type::now();
        std::uint64_t sequential = 0;
        for (std::uint64_t at = 0; at < file_bytes; at += big_read) {
            sequential += static_cast<std::uint64_t>(::pread(fd, data.data(), big_read, static_cast<off_t>(at)));
        }
        const double sequential_seconds = seconds_since(start);
        ::close(fd);
        if (got != offsets.size() * small_read || sequential != file_bytes) {
            std::fprintf(stderr, "file_read_corio: pread read short\n");
            return 1;
        }
        print("file_random_4k_sync_pread", offsets.size() / random_seconds, "reads/s");
        print("file_sequential_1m_sync_pread", file_bytes / sequential_seconds / (1 << 20), "MiB/s");
    }
    return 0;
}
