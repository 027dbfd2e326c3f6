// <sys/event.h> for Linux: a kqueue(2) / kevent(2) emulation on epoll,
// eventfd and signalfd, so corio's kqueue backend compiles and runs the whole
// test suite on Linux. Test-only: it is never installed and only the kqueue
// test build puts this directory on the include path.
//
// Written from the kqueue(2) manual pages of FreeBSD, NetBSD and macOS. What
// it implements:
//   filters  EVFILT_READ, EVFILT_WRITE (descriptors epoll accepts: pipes,
//            sockets, eventfds, ...), EVFILT_USER, EVFILT_SIGNAL
//   actions  EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_CLEAR, EV_ONESHOT
//   output   EV_EOF, EV_ERROR (a failed change, errno in data), udata as given
//   user     NOTE_TRIGGER and NOTE_FFNOP / FFAND / FFOR / FFCOPY on the low 24 bits
//   kevent   changes applied before events are collected; a failed change goes
//            to the event list when there is room (and kevent then returns at
//            once with just the errors), otherwise -1/errno and the rest of the
//            change list is not applied; nevents == 0 returns at once; a NULL
//            timeout blocks, a zero timespec polls; several threads may call
//            kevent on one queue (NOTE_TRIGGER from another thread wakes a
//            blocked kevent).
//
// How: the descriptor kqueue() returns is an epoll instance holding two inner
// epoll instances (one per descriptor filter, so each knote gets its own
// registration and its own edge/level mode: EV_CLEAR is EPOLLET, EV_ONESHOT
// is EPOLLONESHOT plus deletion), an eventfd that rings when a user event is
// triggered, and a signalfd once a signal is watched. A side table keyed by
// that descriptor holds the knotes.
//
// Known differences from a real kqueue (none matters to corio's backend):
//   - close() is not observed. epoll drops a closed file by itself, and the
//     table notices a reused descriptor number (by device and inode) at the
//     next change for it; but a descriptor closed while a dup() of it stays
//     open keeps reporting, as with epoll. A closed kqueue descriptor's
//     bookkeeping is freed when kqueue() next runs.
//   - EPOLLHUP and EPOLLERR cannot be masked, so a write filter also reports
//     EV_EOF when a pipe's read end loses its writer (macOS does the same;
//     FreeBSD never fires a write filter on a read end), and a socket that was
//     never connected reports EV_EOF at once (Linux calls it hung up).
//   - data is the FIONREAD count for the read filter and 0 for the write filter
//     (kqueue: free space in the send buffer); fflags never carries the socket
//     error. Regular files are refused (EPERM) as epoll refuses them.
//   - EVFILT_SIGNAL needs the signal blocked in every thread (signalfd only
//     sees blocked signals), and one signal is reported to one queue only.
//   - EV_RECEIPT, EV_DISPATCH and the other filters are not provided: input
//     flags the emulation does not implement are refused with EINVAL.
#pragma once

#if !defined(__cplusplus) || !defined(__linux__)
#error "tests/kqueue_emulation provides <sys/event.h> for C++ on Linux only"
#endif

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <system_error>
#include <utility>

/// Lets tests tell the emulation from a real kqueue.
#define CORIO_KQUEUE_EMULATION 1

struct kevent {
    std::uintptr_t ident;  // what is watched: a descriptor, a signal number, a user-chosen id
    short filter;          // EVFILT_*
    unsigned short flags;  // EV_* actions on input; EV_EOF / EV_ERROR on output
    unsigned int fflags;   // filter-specific NOTE_* flags
    std::intptr_t data;    // filter-specific value; the errno of a failed change
    void* udata;           // handed back unchanged with every event
};

// Numbers as on FreeBSD; code must only rely on the names.
#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_SIGNAL (-6)
#define EVFILT_USER (-11)

#define EV_ADD 0x0001
#define EV_DELETE 0x0002
#define EV_ENABLE 0x0004
#define EV_DISABLE 0x0008
#define EV_ONESHOT 0x0010
#define EV_CLEAR 0x0020
#define EV_SYSFLAGS 0xF000
#define EV_ERROR 0x4000
#define EV_EOF 0x8000

#define NOTE_FFNOP 0x00000000U
#define NOTE_FFAND 0x40000000U
#define NOTE_FFOR 0x80000000U
#define NOTE_FFCOPY 0xc0000000U
#define NOTE_FFCTRLMASK 0xc0000000U
#define NOTE_FFLAGSMASK 0x00ffffffU
#define NOTE_TRIGGER 0x01000000U

#define EV_SET(kevp, a, b, c, d, e, f)                      \
    do {                                                    \
        struct kevent* corio_kev_ = (kevp);                 \
        corio_kev_->ident = static_cast<std::uintptr_t>(a); \
        corio_kev_->filter = static_cast<short>(b);         \
        corio_kev_->flags = static_cast<unsigned short>(c); \
        corio_kev_->fflags = static_cast<unsigned int>(d);  \
        corio_kev_->data = static_cast<std::intptr_t>(e);   \
        corio_kev_->udata = (f);                            \
    } while (0)

// Everything below has external linkage (plain `inline`, not `static inline`):
// the table of queues must be one table for the whole program, whichever
// translation unit created a queue and whichever one calls kevent on it.
namespace corio_kqueue_emulation {

using clock = std::chrono::steady_clock;

// What each descriptor inside a queue's outer epoll instance is.
enum : std::uint64_t { read_set_tag, write_set_tag, doorbell_tag, signal_tag };

// One (ident, filter) registration.
struct knote {
    unsigned short flags = 0;  // EV_CLEAR / EV_ONESHOT as last added
    bool enabled = false;      // descriptor knotes: also "registered in the inner epoll"
    void* udata = nullptr;
    dev_t device = 0;  // descriptor knotes: the file registered, to spot a reused number
    ino_t inode = 0;
    bool triggered = false;        // EVFILT_USER
    unsigned int user_fflags = 0;  // EVFILT_USER: the low 24 bits
    std::intptr_t user_data = 0;   // EVFILT_USER: data of the last change
    std::intptr_t deliveries = 0;  // EVFILT_SIGNAL: signals since last reported
};

struct queue {
    // The descriptor the caller owns (and closes): never closed here.
    int epoll_fd = -1;
    int read_set = -1;   // inner epoll: one registration per EVFILT_READ knote
    int write_set = -1;  // inner epoll: one registration per EVFILT_WRITE knote
    int doorbell = -1;   // eventfd: rung when a user or signal knote may need reporting
    int signal_fd = -1;  // signalfd over the watched signals; -1 until the first
    sigset_t signal_mask{};

    std::mutex mutex;  // guards the tables, signal_fd and signal_mask
    std::map<std::pair<std::uintptr_t, short>, knote> descriptor_knotes;
    std::map<std::uintptr_t, knote> user_knotes;
    std::map<std::uintptr_t, knote> signal_knotes;

    queue() { ::sigemptyset(&signal_mask); }
    queue(const queue&) = delete;
    queue& operator=(const queue&) = delete;
    ~queue() {
        const int saved = errno;  // may run on a failure path that reports errno
        for (int fd : {signal_fd, doorbell, write_set, read_set}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
        errno = saved;
    }
};

struct registry {
    std::mutex mutex;
    std::map<int, std::shared_ptr<queue>> queues;  // keyed by queue::epoll_fd
};

// Never destroyed, so a thread still calling kevent() during exit finds it.
inline registry& queues() {
    static registry* const instance = new registry;
    return *instance;
}

// Whether q's descriptor is still the epoll instance holding q's doorbell: it
// is not once the caller closed it, even if the number was handed out again.
inline bool is_alive(const queue& q) noexcept {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = doorbell_tag;
    return ::epoll_ctl(q.epoll_fd, EPOLL_CTL_MOD, q.doorbell, &event) == 0;
}

inline void ring(const queue& q) noexcept {
    const std::uint64_t one = 1;
    // A full counter (EAGAIN) still leaves the eventfd readable.
    [[maybe_unused]] const ssize_t n = ::write(q.doorbell, &one, sizeof one);
}

inline int create_queue() noexcept {
    std::shared_ptr<queue> q;
    try {
        q = std::make_shared<queue>();
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
        return -1;
    }
    q->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (q->epoll_fd < 0) {
        return -1;
    }
    const auto fail = [&] {
        const int error = errno;
        ::close(q->epoll_fd);
        q.reset();
        errno = error;
        return -1;
    };
    q->read_set = ::epoll_create1(EPOLL_CLOEXEC);
    q->write_set = ::epoll_create1(EPOLL_CLOEXEC);
    q->doorbell = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (q->read_set < 0 || q->write_set < 0 || q->doorbell < 0) {
        return fail();
    }
    const std::pair<int, std::uint64_t> members[] = {
        {q->read_set, read_set_tag}, {q->write_set, write_set_tag}, {q->doorbell, doorbell_tag}};
    for (const auto& [fd, tag] : members) {
        // Level-triggered: the outer instance reports a member while anything in it is pending.
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = tag;
        if (::epoll_ctl(q->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
            return fail();
        }
    }
    registry& all = queues();
    try {
        std::lock_guard lock(all.mutex);
        std::erase_if(all.queues, [](const auto& entry) { return !is_alive(*entry.second); });
        all.queues[q->epoll_fd] = q;
    } catch (...) {
        errno = ENOMEM;
        return fail();
    }
    return q->epoll_fd;
}

inline std::shared_ptr<queue> find_queue(int kq) {
    registry& all = queues();
    std::lock_guard lock(all.mutex);
    const auto it = all.queues.find(kq);
    return it == all.queues.end() ? nullptr : it->second;
}

// Registers (or re-registers, which re-evaluates readiness as kqueue does on a
// modification) one descriptor knote in its inner epoll. Returns an errno.
inline int arm(int set, int fd, std::uintptr_t ident, unsigned short flags, bool reading,
               bool registered) noexcept {
    epoll_event event{};
    event.events = reading ? (EPOLLIN | EPOLLRDHUP) : EPOLLOUT;
    if ((flags & EV_CLEAR) != 0) {
        event.events |= EPOLLET;
    }
    if ((flags & EV_ONESHOT) != 0) {
        event.events |= EPOLLONESHOT;
    }
    event.data.u64 = ident;
    if (::epoll_ctl(set, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event) == 0) {
        return 0;
    }
    // The table and epoll disagree when a file was closed behind the table's
    // back and the number reused by a file with the same identity (anonymous
    // inodes such as eventfds share one): use the other operation.
    if (errno == (registered ? ENOENT : EEXIST) &&
        ::epoll_ctl(set, registered ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event) == 0) {
        return 0;
    }
    return errno;
}

// Whether a change turns a knote on: EV_DISABLE wins, EV_ADD and EV_ENABLE enable.
inline bool enabled_after(const struct kevent& change, bool enabled) noexcept {
    if ((change.flags & EV_DISABLE) != 0) {
        return false;
    }
    return enabled || (change.flags & (EV_ADD | EV_ENABLE)) != 0;
}

inline int change_descriptor(queue& q, const struct kevent& change) {
    const bool reading = change.filter == EVFILT_READ;
    struct stat status {};
    if (change.ident > static_cast<std::uintptr_t>(INT_MAX) ||
        ::fstat(static_cast<int>(change.ident), &status) != 0) {
        // Closed: kqueue would have dropped its knotes with the close.
        q.descriptor_knotes.erase({change.ident, EVFILT_READ});
        q.descriptor_knotes.erase({change.ident, EVFILT_WRITE});
        return EBADF;
    }
    const int fd = static_cast<int>(change.ident);
    for (const short filter : {static_cast<short>(EVFILT_READ), static_cast<short>(EVFILT_WRITE)}) {
        const auto it = q.descriptor_knotes.find({change.ident, filter});
        if (it != q.descriptor_knotes.end() &&
            (it->second.device != status.st_dev || it->second.inode != status.st_ino)) {
            // Another file under a reused number: the old one was closed, which
            // deletes its knotes in kqueue (and its registration in epoll).
            q.descriptor_knotes.erase(it);
        }
    }

    const int set = reading ? q.read_set : q.write_set;
    auto it = q.descriptor_knotes.find({change.ident, change.filter});
    if ((change.flags & EV_DELETE) != 0) {
        if (it == q.descriptor_knotes.end()) {
            return ENOENT;
        }
        if (it->second.enabled) {
            ::epoll_ctl(set, EPOLL_CTL_DEL, fd, nullptr);
        }
        q.descriptor_knotes.erase(it);
        return 0;
    }
    const bool created = it == q.descriptor_knotes.end();
    if (created) {
        if ((change.flags & EV_ADD) == 0) {
            return ENOENT;
        }
        it = q.descriptor_knotes.emplace(std::pair{change.ident, change.filter}, knote{}).first;
        it->second.device = status.st_dev;
        it->second.inode = status.st_ino;
    }
    knote& k = it->second;
    k.udata = change.udata;
    if ((change.flags & EV_ADD) != 0) {
        k.flags = change.flags & (EV_CLEAR | EV_ONESHOT);
    }
    const bool enable = enabled_after(change, k.enabled);
    if (enable && (!k.enabled || (change.flags & (EV_ADD | EV_ENABLE)) != 0)) {
        if (const int error = arm(set, fd, change.ident, k.flags, reading, k.enabled); error != 0) {
            if (created) {
                q.descriptor_knotes.erase(it);
            }
            return error;
        }
    } else if (!enable && k.enabled) {
        ::epoll_ctl(set, EPOLL_CTL_DEL, fd, nullptr);
    }
    k.enabled = enable;
    return 0;
}

inline int change_user(queue& q, const struct kevent& change) {
    auto it = q.user_knotes.find(change.ident);
    if ((change.flags & EV_DELETE) != 0) {
        if (it == q.user_knotes.end()) {
            return ENOENT;
        }
        q.user_knotes.erase(it);
        return 0;
    }
    if (it == q.user_knotes.end()) {
        if ((change.flags & EV_ADD) == 0) {
            return ENOENT;
        }
        it = q.user_knotes.emplace(change.ident, knote{}).first;
    }
    knote& k = it->second;
    if ((change.flags & EV_ADD) != 0) {
        k.flags = change.flags & (EV_CLEAR | EV_ONESHOT);
    }
    k.enabled = enabled_after(change, k.enabled);
    k.udata = change.udata;
    const unsigned int value = change.fflags & NOTE_FFLAGSMASK;
    switch (change.fflags & NOTE_FFCTRLMASK) {
        case NOTE_FFAND:
            k.user_fflags &= value;
            break;
        case NOTE_FFOR:
            k.user_fflags |= value;
            break;
        case NOTE_FFCOPY:
            k.user_fflags = value;
            break;
        default:
            break;  // NOTE_FFNOP
    }
    k.user_data = change.data;
    if ((change.fflags & NOTE_TRIGGER) != 0) {
        k.triggered = true;
    }
    if (k.triggered && k.enabled) {
        ring(q);  // a kevent blocked in another thread must look again
    }
    return 0;
}

// Points the signalfd at the current mask, creating it on first use.
inline int update_signal_fd(queue& q) noexcept {
    if (q.signal_fd >= 0) {
        return ::signalfd(q.signal_fd, &q.signal_mask, 0) < 0 ? errno : 0;
    }
    const int fd = ::signalfd(-1, &q.signal_mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = signal_tag;
    if (::epoll_ctl(q.epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
        const int error = errno;
        ::close(fd);
        return error;
    }
    q.signal_fd = fd;
    return 0;
}

inline int change_signal(queue& q, const struct kevent& change) {
    const std::uintptr_t signo = change.ident;
    if (signo == 0 || signo >= static_cast<std::uintptr_t>(NSIG) || signo == SIGKILL ||
        signo == SIGSTOP) {
        return EINVAL;
    }
    auto it = q.signal_knotes.find(signo);
    if ((change.flags & EV_DELETE) != 0) {
        if (it == q.signal_knotes.end()) {
            return ENOENT;
        }
        q.signal_knotes.erase(it);
        ::sigdelset(&q.signal_mask, static_cast<int>(signo));
        update_signal_fd(q);
        return 0;
    }
    if (it == q.signal_knotes.end()) {
        if ((change.flags & EV_ADD) == 0) {
            return ENOENT;
        }
        ::sigaddset(&q.signal_mask, static_cast<int>(signo));
        if (const int error = update_signal_fd(q); error != 0) {
            ::sigdelset(&q.signal_mask, static_cast<int>(signo));
            return error;
        }
        it = q.signal_knotes.emplace(signo, knote{}).first;
    }
    knote& k = it->second;
    if ((change.flags & EV_ADD) != 0) {
        // kqueue(2): "This filter automatically sets the EV_CLEAR flag internally."
        k.flags = static_cast<unsigned short>((change.flags & EV_ONESHOT) | EV_CLEAR);
    }
    // A disabled signal knote keeps counting ("the filter itself is not disabled").
    k.enabled = enabled_after(change, k.enabled);
    k.udata = change.udata;
    if (k.enabled && k.deliveries != 0) {
        ring(q);
    }
    return 0;
}

inline int apply_change(queue& q, struct kevent change) {
    // Output-only bits are ignored on input, so a returned event can be fed back.
    change.flags &= static_cast<unsigned short>(~EV_SYSFLAGS);
    constexpr unsigned supported =
        EV_ADD | EV_DELETE | EV_ENABLE | EV_DISABLE | EV_ONESHOT | EV_CLEAR;
    if ((change.flags & ~supported) != 0) {
        return EINVAL;
    }
    switch (change.filter) {
        case EVFILT_READ:
        case EVFILT_WRITE:
            return change_descriptor(q, change);
        case EVFILT_USER:
            return change_user(q, change);
        case EVFILT_SIGNAL:
            return change_signal(q, change);
        default:
            return EINVAL;
    }
}

inline struct kevent make_event(std::uintptr_t ident, short filter, unsigned short flags,
                                unsigned int fflags, std::intptr_t data, void* udata) noexcept {
    struct kevent event {};
    EV_SET(&event, ident, filter, flags, fflags, data, udata);
    return event;
}

// Moves whatever is pending into out without blocking; returns how many.
inline int harvest(queue& q, struct kevent* out, int room) {
    std::lock_guard lock(q.mutex);
    int count = 0;

    // Rung before every trigger; drained first so a ring after this point wakes the next wait.
    std::uint64_t rings = 0;
    [[maybe_unused]] const ssize_t drained = ::read(q.doorbell, &rings, sizeof rings);
    for (auto it = q.user_knotes.begin(); it != q.user_knotes.end() && count < room;) {
        knote& k = it->second;
        if (!k.enabled || !k.triggered) {
            ++it;
            continue;
        }
        out[count++] =
            make_event(it->first, EVFILT_USER, k.flags, k.user_fflags, k.user_data, k.udata);
        if ((k.flags & EV_ONESHOT) != 0) {
            it = q.user_knotes.erase(it);
            continue;
        }
        if ((k.flags & EV_CLEAR) != 0) {
            k.triggered = false;  // without EV_CLEAR a user event stays triggered (level)
        }
        ++it;
    }

    if (q.signal_fd >= 0) {
        signalfd_siginfo info{};
        while (::read(q.signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            if (const auto it = q.signal_knotes.find(info.ssi_signo); it != q.signal_knotes.end()) {
                ++it->second.deliveries;
            }
        }
        for (auto it = q.signal_knotes.begin(); it != q.signal_knotes.end() && count < room;) {
            knote& k = it->second;
            if (!k.enabled || k.deliveries == 0) {
                ++it;
                continue;
            }
            out[count++] = make_event(it->first, EVFILT_SIGNAL, k.flags, 0, k.deliveries, k.udata);
            k.deliveries = 0;
            if ((k.flags & EV_ONESHOT) != 0) {
                ::sigdelset(&q.signal_mask, static_cast<int>(it->first));
                update_signal_fd(q);
                it = q.signal_knotes.erase(it);
                continue;
            }
            ++it;
        }
    }

    for (const bool reading : {true, false}) {
        if (count >= room) {
            break;
        }
        const int set = reading ? q.read_set : q.write_set;
        const short filter = reading ? EVFILT_READ : EVFILT_WRITE;
        // One epoll_wait per set: a second one could hand back a level-triggered
        // knote again, and kevent reports a knote at most once per call.
        constexpr int batch = 256;
        epoll_event ready[batch];
        const int n = ::epoll_wait(set, ready, std::min(room - count, batch), 0);
        for (int i = 0; i < n; ++i) {
            const std::uintptr_t ident = ready[i].data.u64;
            const auto it = q.descriptor_knotes.find({ident, filter});
            if (it == q.descriptor_knotes.end() || !it->second.enabled) {
                continue;  // a stale registration (see the header comment)
            }
            knote& k = it->second;
            const std::uint32_t ended =
                reading ? (EPOLLRDHUP | EPOLLHUP | EPOLLERR) : (EPOLLHUP | EPOLLERR);
            unsigned short flags = k.flags;
            if ((ready[i].events & ended) != 0) {
                flags |= EV_EOF;
            }
            std::intptr_t data = 0;
            if (int available = 0;
                reading && ::ioctl(static_cast<int>(ident), FIONREAD, &available) == 0) {
                data = available;
            }
            out[count++] = make_event(ident, filter, flags, 0, data, k.udata);
            if ((k.flags & EV_ONESHOT) != 0) {
                ::epoll_ctl(set, EPOLL_CTL_DEL, static_cast<int>(ident), nullptr);
                q.descriptor_knotes.erase(it);
            }
        }
    }
    return count;
}

inline int collect(queue& q, struct kevent* out, int room, const struct timespec* timeout) {
    clock::time_point deadline = clock::time_point::max();
    if (timeout != nullptr) {
        // Anything beyond a year is as good as forever, and cannot overflow the clock.
        constexpr time_t year = 365L * 24 * 3600;
        if (timeout->tv_sec < year) {
            deadline = clock::now() + std::chrono::seconds(timeout->tv_sec) +
                       std::chrono::nanoseconds(timeout->tv_nsec);
        }
    }
    for (;;) {
        if (const int count = harvest(q, out, room); count != 0) {
            return count;
        }
        int wait_ms = -1;
        if (deadline != clock::time_point::max()) {
            const auto left = deadline - clock::now();
            if (left <= clock::duration::zero()) {
                return 0;
            }
            // Rounded up: waking before the deadline would only loop back here.
            wait_ms = static_cast<int>(std::min<long long>(
                std::chrono::ceil<std::chrono::milliseconds>(left).count(), INT_MAX));
        }
        epoll_event ready[4];
        if (::epoll_wait(q.epoll_fd, ready, 4, wait_ms) < 0) {
            return -1;  // EINTR included: as kevent(2) says, the changes were applied
        }
    }
}

inline int kevent_call(int kq, const struct kevent* changes, int nchanges, struct kevent* events,
                       int nevents, const struct timespec* timeout) noexcept {
    if (nchanges < 0 || nevents < 0 || (nchanges > 0 && changes == nullptr) ||
        (nevents > 0 && events == nullptr)) {
        errno = nchanges < 0 || nevents < 0 ? EINVAL : EFAULT;
        return -1;
    }
    if (timeout != nullptr &&
        (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1'000'000'000L)) {
        errno = EINVAL;
        return -1;
    }
    try {
        const std::shared_ptr<queue> q = find_queue(kq);
        if (q == nullptr) {
            errno = EBADF;
            return -1;
        }
        int errors = 0;
        {
            std::lock_guard lock(q->mutex);
            for (int i = 0; i < nchanges; ++i) {
                // A copy: the event list may be the change list itself.
                const struct kevent change = changes[i];
                const int error = apply_change(*q, change);
                if (error == 0) {
                    continue;
                }
                if (errors == nevents) {
                    errno = error;  // no room to report it: the remaining changes are not applied
                    return -1;
                }
                events[errors] = change;
                events[errors].flags = EV_ERROR;
                events[errors].data = error;
                ++errors;
            }
        }
        if (errors != 0 || nevents == 0) {
            return errors;
        }
        return collect(*q, events, nevents, timeout);
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
        return -1;
    } catch (const std::system_error& error) {
        errno = error.code().value();
        return -1;
    }
}

}  // namespace corio_kqueue_emulation

inline int kqueue() noexcept {
    return corio_kqueue_emulation::create_queue();
}

inline int kevent(int kq, const struct kevent* changelist, int nchanges, struct kevent* eventlist,
                  int nevents, const struct timespec* timeout) noexcept {
    return corio_kqueue_emulation::kevent_call(kq, changelist, nchanges, eventlist, nevents,
                                               timeout);
}
