#pragma once

// Compiler and sanitizer facts the rest of corio keys off.

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORIO_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define CORIO_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(CORIO_ASAN)
#define CORIO_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(CORIO_TSAN)
#define CORIO_TSAN 1
#endif

// clang 14 with -fsanitize=function cannot assemble coroutines defined inline in
// headers ("Cannot represent a difference across sections"); corio's own header
// coroutines opt out of that one check so users building with UBSan are not hit.
#if defined(__clang__)
#define CORIO_HEADER_COROUTINE __attribute__((no_sanitize("function")))
#else
#define CORIO_HEADER_COROUTINE
#endif

// Recycled coroutine frames would hide use-after-free from AddressSanitizer.
#if defined(CORIO_ASAN) && !defined(CORIO_NO_FRAME_RECYCLING)
#define CORIO_NO_FRAME_RECYCLING 1
#endif
