// corio::http in separate-compilation mode (CMake option
// CORIO_SEPARATE_COMPILATION): the HTTP layer's non-template functions,
// compiled once here instead of in every program (see
// include/corio/detail/separate_compilation.hpp).

#if !defined(CORIO_SEPARATE_COMPILATION)
#error "src/corio_http.cpp is built only with CORIO_SEPARATE_COMPILATION defined"
#endif

#define CORIO_HTTP_SOURCE 1

// g++ 12 warns that the frame of a non-inline coroutine defined in a header
// has a member of a type without linkage (a lambda it captures): the frame
// never leaves this file, so there is nothing to conflict with.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wsubobject-linkage"
#endif

#include <corio/http.hpp>
