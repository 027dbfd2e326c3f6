// Running a test process out of file descriptors, so a server's accept()
// fails with EMFILE while everything already open keeps working.
//
//   fd_exhaustion  lowers RLIMIT_NOFILE to just above the descriptors in use
//                  and fills every free slot below it with /dev/null; free(n)
//                  gives n slots back, release() all of them; the destructor
//                  closes the fillers and restores the limit
//   fd_exhaustion_testable
//                  false under the sanitizers: their runtime needs descriptors
//                  of its own (UBSan tests memory with a pipe before an
//                  uncached vptr check, and without one reports "invalid
//                  vptr"), so a process out of descriptors cannot run them
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace corio_test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool fd_exhaustion_testable = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool fd_exhaustion_testable = false;
#else
inline constexpr bool fd_exhaustion_testable = true;
#endif
#else
inline constexpr bool fd_exhaustion_testable = true;
#endif

class fd_exhaustion {
public:
    fd_exhaustion() {
        if (::getrlimit(RLIMIT_NOFILE, &m_saved) != 0) {
            throw std::runtime_error("getrlimit failed");
        }
        rlimit lowered = m_saved;
        lowered.rlim_cur = static_cast<rlim_t>(highest_open_fd() + 1 + spare);
        if (::setrlimit(RLIMIT_NOFILE, &lowered) != 0) {
            throw std::runtime_error("setrlimit failed");
        }
        for (;;) {
            const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                if (errno != EMFILE) {
                    release();
                    ::setrlimit(RLIMIT_NOFILE, &m_saved);
                    throw std::runtime_error("open /dev/null failed");
                }
                break;
            }
            m_fillers.push_back(fd);
        }
    }
    fd_exhaustion(const fd_exhaustion&) = delete;
    fd_exhaustion& operator=(const fd_exhaustion&) = delete;
    ~fd_exhaustion() {
        release();
        ::setrlimit(RLIMIT_NOFILE, &m_saved);
    }

    /// Closes `n` fillers: the next `n` descriptors the process opens succeed.
    void free(std::size_t n) {
        for (; n > 0 && !m_fillers.empty(); --n) {
            ::close(m_fillers.back());
            m_fillers.pop_back();
        }
    }
    /// Closes every filler (the lowered limit stays, with room to spare).
    void release() { free(m_fillers.size()); }
    /// Descriptors held as fillers.
    [[nodiscard]] std::size_t held() const noexcept { return m_fillers.size(); }

private:
    static constexpr int spare = 16;  // fillers above the highest fd in use

    static int highest_open_fd() {
        int highest = 2;
        DIR* dir = ::opendir("/proc/self/fd");
        if (dir == nullptr) {
            throw std::runtime_error("cannot list /proc/self/fd");
        }
        while (const dirent* entry = ::readdir(dir)) {
            const int fd = std::atoi(entry->d_name);
            if (fd > highest) {
                highest = fd;
            }
        }
        ::closedir(dir);
        return highest;
    }

    rlimit m_saved{};
    std::vector<int> m_fillers;
};

}  // namespace corio_test
