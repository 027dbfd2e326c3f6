// Scaling and seeding for the soak suites (tests/soak/).
//
//   CORIO_SOAK=long        the long form (scripts/soak.sh): counts and times
//                          scaled up; otherwise the short CI form
//   CORIO_SOAK_SEED=<n>    the seed of the seeded suites (default: fixed per
//                          test, so CI runs are reproducible); printed on failure
//
// Sanitized builds (corio_test::under_sanitizer) run smaller counts: ASan
// makes every allocation and syscall several times slower.
#pragma once

#include "test_support.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace corio_soak {

/// True when CORIO_SOAK=long.
inline bool long_form() {
    const char* mode = std::getenv("CORIO_SOAK");
    return mode != nullptr && std::strcmp(mode, "long") == 0;
}

/// The count for this build: `long_count` in the long form, else
/// `sanitized` under a sanitizer, else `release`.
inline std::size_t scaled(std::size_t release, std::size_t sanitized, std::size_t long_count) {
    if (long_form()) {
        return long_count;
    }
    return corio_test::under_sanitizer ? sanitized : release;
}

/// CORIO_SOAK_SEED if set (decimal), else `fallback`.
inline std::uint64_t seed(std::uint64_t fallback) {
    const char* text = std::getenv("CORIO_SOAK_SEED");
    if (text == nullptr || *text == '\0') {
        return fallback;
    }
    return std::strtoull(text, nullptr, 10);
}

/// Raises the soft RLIMIT_NOFILE as far as the hard limit allows (up to
/// `wanted`); returns the soft limit in force afterwards.
inline std::size_t raise_fd_limit(std::size_t wanted) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return 0;
    }
    const rlim_t target = limit.rlim_max == RLIM_INFINITY ? static_cast<rlim_t>(wanted)
                                                          : std::min<rlim_t>(limit.rlim_max, wanted);
    if (limit.rlim_cur < target) {
        limit.rlim_cur = target;
        (void)::setrlimit(RLIMIT_NOFILE, &limit);
        (void)::getrlimit(RLIMIT_NOFILE, &limit);
    }
    return static_cast<std::size_t>(limit.rlim_cur);
}

/// Resident set size of the process in KiB (/proc/self/statm).
inline std::size_t rss_kib() {
    std::ifstream statm("/proc/self/statm");
    std::size_t total_pages = 0;
    std::size_t resident_pages = 0;
    statm >> total_pages >> resident_pages;
    return resident_pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) / 1024;
}

}  // namespace corio_soak
