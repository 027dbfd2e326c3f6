// The fault shim of fault_injection.hpp: interposed socket calls.
#include "fault_injection.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <dirent.h>
#include <dlfcn.h>
#include <mutex>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unordered_map>
#include <vector>
#include <unistd.h>

// The sanitizer runtimes' interceptors (weak here: absent without a sanitizer).
extern "C" {
ssize_t __interceptor_recv(int, void*, size_t, int) __attribute__((weak));
ssize_t __interceptor_send(int, const void*, size_t, int) __attribute__((weak));
ssize_t __interceptor_read(int, void*, size_t) __attribute__((weak));
ssize_t __interceptor_write(int, const void*, size_t) __attribute__((weak));
ssize_t __interceptor_readv(int, const iovec*, int) __attribute__((weak));
ssize_t __interceptor_writev(int, const iovec*, int) __attribute__((weak));
ssize_t __interceptor_recvmsg(int, msghdr*, int) __attribute__((weak));
ssize_t __interceptor_sendmsg(int, const msghdr*, int) __attribute__((weak));
int __interceptor_accept(int, sockaddr*, socklen_t*) __attribute__((weak));
int __interceptor_accept4(int, sockaddr*, socklen_t*, int) __attribute__((weak));
int __interceptor_connect(int, const sockaddr*, socklen_t) __attribute__((weak));
int __interceptor_socket(int, int, int) __attribute__((weak));
int __interceptor_epoll_ctl(int, int, int, epoll_event*) __attribute__((weak));
}

namespace corio_test::fault {
namespace {

// The next definition of `name` after ours: the sanitizer's interceptor if
// there is one, else libc's. Resolved once (dlsym does not call these).
// (The interceptors are declared above without glibc's noexcept on some of
// these, hence the two types.)
template <class Fn, class Interceptor>
Fn real_function(Interceptor interceptor, const char* name) {
    if (interceptor != nullptr) {
        return reinterpret_cast<Fn>(interceptor);
    }
    void* symbol = dlsym(RTLD_NEXT, name);
    if (symbol == nullptr) {
        std::fprintf(stderr, "fault_injection: dlsym(RTLD_NEXT, %s) failed\n", name);
        std::abort();
    }
    return reinterpret_cast<Fn>(symbol);
}

#define CORIO_FAULT_REAL(name)                                                        \
    [] {                                                                              \
        static const auto fn = corio_test::fault::real_function<decltype(&::name)>(&__interceptor_##name, #name); \
        return fn;                                                                    \
    }()

struct registration {
    int epoll_fd;
    epoll_event event;
};

// splitmix64: small, seedable, the same sequence everywhere.
struct random_source {
    std::uint64_t state;
    std::uint64_t next() noexcept {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
};

struct shim_state {
    std::mutex lock;
    bool enabled = false;
    plan active;
    random_source random{0};
    stats counters;
    // socket fd -> its epoll registrations (one per epoll instance: the kqueue
    // emulation registers a socket in a read set and a write set)
    std::unordered_map<int, std::vector<registration>> watched;
};

shim_state& state() {
    static auto* s = new shim_state;  // never destroyed: calls may come during exit
    return *s;
}

std::atomic<bool> g_enabled{false};
std::atomic<bool> g_called{false};

bool is_socket(int fd) noexcept {
    struct stat info {};
    return ::fstat(fd, &info) == 0 && S_ISSOCK(info.st_mode);
}

// What to inject into this call on `fd`: 0 for nothing (do the real call),
// an errno, or short_transfer with the length to use in *shorter.
int draw_fault(op call, int fd, std::size_t* shorter = nullptr, std::size_t size = 0) {
    g_called.store(true, std::memory_order_relaxed);
    if (!g_enabled.load(std::memory_order_acquire) || (call != op::socket && !is_socket(fd))) {
        return 0;
    }
    shim_state& s = state();
    std::vector<registration> rearm;
    int error = 0;
    {
        std::lock_guard guard(s.lock);
        if (!s.enabled) {
            return 0;
        }
        const auto index = static_cast<std::size_t>(call);
        ++s.counters.calls[index];
        for (const rule& r : s.active.rules) {
            if (r.call != call || r.errors.empty()) {
                continue;
            }
            if (s.random.next() % 1000000 >= r.per_million) {
                continue;
            }
            int candidate = r.errors[s.random.next() % r.errors.size()];
            if (candidate == short_transfer) {
                if (shorter == nullptr || size < 2) {
                    continue;
                }
                *shorter = 1 + static_cast<std::size_t>(s.random.next() % (size - 1));
                ++s.counters.shortened;
            }
            if (candidate == EAGAIN) {
                const auto it = s.watched.find(fd);
                if (call == op::connect || it == s.watched.end()) {
                    continue;  // see the header: no EAGAIN without a registration to re-arm
                }
                rearm = it->second;
                ++s.counters.rearmed;
            }
            error = candidate;
            ++s.counters.injected[index];
            if (error != short_transfer) {
                ++s.counters.by_errno[error];
            }
            break;
        }
    }
    for (registration& r : rearm) {
        // Re-reports the socket's current readiness as a fresh edge.
        (void)CORIO_FAULT_REAL(epoll_ctl)(r.epoll_fd, EPOLL_CTL_MOD, fd, &r.event);
    }
    return error;
}

template <class Result>
Result fail_with(int error) noexcept {
    errno = error;
    return static_cast<Result>(-1);
}

}  // namespace

const char* op_name(op call) noexcept {
    static constexpr std::array<const char*, op_count> names = {
        "recv", "send", "read", "write", "readv", "writev", "recvmsg", "sendmsg", "accept", "connect", "socket"};
    const auto index = static_cast<std::size_t>(call);
    return index < names.size() ? names[index] : "?";
}

std::uint64_t stats::total_injected() const noexcept {
    std::uint64_t total = 0;
    for (std::uint64_t n : injected) {
        total += n;
    }
    return total;
}

std::string stats::to_string() const {
    std::string text;
    for (std::size_t i = 0; i < op_count; ++i) {
        if (calls[i] == 0) {
            continue;
        }
        text += std::string(op_name(static_cast<op>(i))) + ": " + std::to_string(injected[i]) + "/" +
                std::to_string(calls[i]) + " failed; ";
    }
    for (const auto& [error, n] : by_errno) {
        text += "errno " + std::to_string(error) + " x" + std::to_string(n) + "; ";
    }
    text += std::to_string(rearmed) + " EAGAIN re-arms; " + std::to_string(shortened) + " short writes";
    return text;
}

scope::scope(plan p) {
    shim_state& s = state();
    std::lock_guard guard(s.lock);
    if (s.enabled) {
        throw std::logic_error("fault_injection: a scope is already active");
    }
    s.random = random_source{p.seed};
    s.active = std::move(p);
    s.counters = stats{};
    s.enabled = true;
    g_enabled.store(true, std::memory_order_release);
}

scope::~scope() {
    shim_state& s = state();
    std::lock_guard guard(s.lock);
    s.enabled = false;
    g_enabled.store(false, std::memory_order_release);
}

stats scope::snapshot() const {
    shim_state& s = state();
    std::lock_guard guard(s.lock);
    return s.counters;
}

std::size_t watched_sockets() {
    shim_state& s = state();
    std::lock_guard guard(s.lock);
    return s.watched.size();
}

std::size_t open_fds() {
    std::size_t count = 0;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) {
        return 0;
    }
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') {
            ++count;
        }
    }
    ::closedir(dir);
    return count - 1;  // the directory's own fd
}

bool shim_active() noexcept { return g_called.load(std::memory_order_relaxed); }

}  // namespace corio_test::fault

// ---- The interposed functions. -------------------------------------------

using corio_test::fault::draw_fault;
using corio_test::fault::fail_with;
using corio_test::fault::op;

extern "C" {

ssize_t recv(int fd, void* buffer, size_t size, int flags) {
    if (const int error = draw_fault(op::recv, fd)) {
        return fail_with<ssize_t>(error);
    }
    return CORIO_FAULT_REAL(recv)(fd, buffer, size, flags);
}

ssize_t send(int fd, const void* buffer, size_t size, int flags) {
    std::size_t shorter = size;
    if (const int error = draw_fault(op::send, fd, &shorter, size); error > 0) {
        return fail_with<ssize_t>(error);
    }
    return CORIO_FAULT_REAL(send)(fd, buffer, shorter, flags);
}

ssize_t read(int fd, void* buffer, size_t size) {
    if (const int error = draw_fault(op::read, fd)) {
        return fail_with<ssize_t>(error);
    }
    return CORIO_FAULT_REAL(read)(fd, buffer, size);
}

ssize_t write(int fd, const void* buffer, size_t size) {
    std::size_t shorter = size;
    if (const int error = draw_fault(op::write, fd, &shorter, size); error > 0) {
        return fail_with<ssize_t>(error);
    }
    return CORIO_FAULT_REAL(write)(fd, buffer, shorter);
}

ssize_t readv(int fd, const iovec* vectors, int count) {
    if (const int error = draw_fault(op::readv, fd)) {
        return fail_with<ssize_t>(error);
    }
    return CORIO_FAULT_REAL(readv)(fd, vectors, count);
}

ssize_t writev(int fd, const iovec* vectors, int count) {
    if (const int error = draw_fault(op::writev, fd)) {
        return fail_with<ssize_t>(error);
    }
    return CORIO_FAULT_REAL(writev)(fd, vectors, count);
}

ssize_t recvmsg(int fd, msghdr* message, int flags) {
    if (const int error = draw_fault(op::recvmsg, fd)) {
        return fail_with<ssize_t>(error);
    }
    return CORIO_FAULT_REAL(recvmsg)(fd, message, flags);
}

ssize_t sendmsg(int fd, const msghdr* message, int flags) {
    if (const int error = draw_fault(op::sendmsg, fd)) {
        return fail_with<ssize_t>(error);
    }
    return CORIO_FAULT_REAL(sendmsg)(fd, message, flags);
}

int accept(int fd, sockaddr* address, socklen_t* length) {
    if (const int error = draw_fault(op::accept, fd)) {
        return fail_with<int>(error);
    }
    return CORIO_FAULT_REAL(accept)(fd, address, length);
}

int accept4(int fd, sockaddr* address, socklen_t* length, int flags) {
    if (const int error = draw_fault(op::accept, fd)) {
        return fail_with<int>(error);
    }
    return CORIO_FAULT_REAL(accept4)(fd, address, length, flags);
}

int connect(int fd, const sockaddr* address, socklen_t length) {
    if (const int error = draw_fault(op::connect, fd)) {
        return fail_with<int>(error);
    }
    return CORIO_FAULT_REAL(connect)(fd, address, length);
}

int socket(int domain, int type, int protocol) noexcept {
    if (const int error = draw_fault(op::socket, -1)) {
        return fail_with<int>(error);
    }
    return CORIO_FAULT_REAL(socket)(domain, type, protocol);
}

// Never fails; records which sockets are registered (for watched_sockets()
// and for re-arming after an injected EAGAIN).
int epoll_ctl(int epoll_fd, int operation, int fd, epoll_event* event) noexcept {
    corio_test::fault::g_called.store(true, std::memory_order_relaxed);
    const int result = CORIO_FAULT_REAL(epoll_ctl)(epoll_fd, operation, fd, event);
    if (result == 0 && corio_test::fault::is_socket(fd)) {
        auto& s = corio_test::fault::state();
        std::lock_guard guard(s.lock);
        std::vector<corio_test::fault::registration>& list = s.watched[fd];
        std::erase_if(list, [epoll_fd](const auto& r) { return r.epoll_fd == epoll_fd; });
        if (operation != EPOLL_CTL_DEL && event != nullptr) {
            list.push_back(corio_test::fault::registration{epoll_fd, *event});
        }
        if (list.empty()) {
            s.watched.erase(fd);
        }
    }
    return result;
}

}  // extern "C"
