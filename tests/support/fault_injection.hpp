// A syscall fault shim for tests: while a corio_test::fault::scope is alive,
// the socket calls corio makes fail at seeded random points with the errnos
// a plan names. Nothing in the library changes: fault_injection.cpp defines
// recv, send, read, write, readv, writev, recvmsg, sendmsg, accept, accept4,
// connect and epoll_ctl in the TEST executable, which the dynamic linker then
// binds every call to (the executable comes first in symbol lookup), and
// forwards to the real function (socket() too, to fail it with EMFILE). Link fault_injection.cpp into a test to get
// the shim (tests/CMakeLists.txt does so for soak/ and test_fault_injection).
//
// Under ASan/TSan the runtime's own interceptors are weak aliases of
// __interceptor_<name>; ours are strong and win, and forward to
// __interceptor_<name> when it exists, so the sanitizer still checks the
// buffers and the real call still happens (otherwise dlsym(RTLD_NEXT)).
//
// Only sockets are touched (fstat S_ISSOCK), and only while a scope is alive;
// the rest of the process (stdout, the loop's eventfd) goes straight through.
//
// Injected EAGAIN keeps the edge-triggered contract: the kernel reports
// EAGAIN only when nothing is ready, and any later readiness raises a new
// edge. A fake EAGAIN on a ready socket would lose the edge for good, so the
// shim re-arms the socket's epoll registrations (EPOLL_CTL_MOD, which
// re-reports current readiness) as if data had just arrived. Sockets it has
// not seen registered get no EAGAIN. connect() gets no EAGAIN either (for a
// TCP connect it means "no local ports", a real error).
//
// The epoll_ctl interposer also keeps the set of registered sockets:
// watched_sockets() is how tests prove no reactor registration is left.
#pragma once

#include <corio/detail/config.hpp>
#include <corio/run.hpp>
#include <corio/task.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace corio_test::fault {

/// The calls the shim can fail.
/// (`socket` is socket(2) itself: no fd yet, so it is not filtered by fd type.)
enum class op : unsigned { recv, send, read, write, readv, writev, recvmsg, sendmsg, accept, connect, socket, count };
inline constexpr std::size_t op_count = static_cast<std::size_t>(op::count);

/// "recv", "send", ...
const char* op_name(op call) noexcept;

/// Not an errno: in a rule's errors for send or write, "do the real call
/// with a random shorter length" (a short write, which the kernel may do
/// whenever the socket buffer is nearly full). Reads get no short transfers:
/// Linux's TCP and unix stream sockets return everything queued, and corio
/// relies on that (a short read means the buffer was drained; see
/// stream_socket::receive).
inline constexpr int short_transfer = -1;

/// Fail `call` with one of `errors` (picked at random) with probability
/// `per_million` / 1,000,000 per call on a socket.
struct rule {
    op call;
    std::vector<int> errors;
    std::uint32_t per_million;
};

struct plan {
    std::uint64_t seed = 1;
    std::vector<rule> rules;
};

struct stats {
    std::array<std::uint64_t, op_count> calls{};     // socket calls seen while enabled
    std::array<std::uint64_t, op_count> injected{};  // of which failed on purpose
    std::map<int, std::uint64_t> by_errno;           // injected, per errno
    std::uint64_t rearmed = 0;                       // EAGAINs that re-armed an epoll registration
    std::uint64_t shortened = 0;                     // short transfers (short_transfer)

    [[nodiscard]] std::uint64_t total_injected() const noexcept;
    [[nodiscard]] std::string to_string() const;
};

/// Injects faults by `plan` until destroyed. One scope at a time (throws
/// std::logic_error otherwise). Thread-safe: any thread's calls are subject.
class scope {
public:
    explicit scope(plan p);
    ~scope();
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

    /// What happened so far.
    [[nodiscard]] stats snapshot() const;
};

/// Sockets with at least one epoll registration (an ADD not yet followed by
/// its DEL), over all epoll instances. A socket closed while still
/// registered stays counted: that is the leak this is meant to show.
std::size_t watched_sockets();

/// Open file descriptors of the process (entries of /proc/self/fd).
std::size_t open_fds();

namespace detail {
CORIO_HEADER_COROUTINE inline corio::task<void> nothing() { co_return; }
}  // namespace detail

/// open_fds() after a loop has come and gone: the baseline to compare with
/// after a test's loop. (The kqueue emulation, tests/kqueue_emulation, frees
/// a closed queue's inner fds only when the next queue is made, so a count
/// taken before any loop ran would be short by those.)
inline std::size_t open_fds_after_a_loop() {
    corio::run(detail::nothing());
    return open_fds();
}

/// True once the interposed functions have been called at least once, i.e.
/// the dynamic linker bound the library's calls to the shim.
bool shim_active() noexcept;

}  // namespace corio_test::fault
