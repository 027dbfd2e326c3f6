// corio::web in separate-compilation mode (CMake option
// CORIO_SEPARATE_COMPILATION): Boost.JSON's compiled part, once here instead
// of in the program's own file including <corio/web/json_implementation.hpp>
// (which is empty in this mode).

#if !defined(CORIO_SEPARATE_COMPILATION)
#error "src/corio_web.cpp is built only with CORIO_SEPARATE_COMPILATION defined"
#endif

#define CORIO_WEB_SOURCE 1

#include <corio/web/json_implementation.hpp>
