#pragma once

// The compiled part of Boost.JSON, for corio::web.
//
// Boost.JSON is not header-only: its functions are defined in
// <boost/json/src.hpp>, which must be compiled in exactly one translation
// unit of a program (including it twice gives duplicate symbols, never
// including it gives undefined ones). corio stays header-only by leaving that
// choice to the program: include this header in ONE .cpp file (usually the
// one with main()). Every other file includes <corio/web.hpp> only. A program
// that already links Boost.JSON's library (libboost_json) includes neither.
// In separate-compilation mode (CORIO_SEPARATE_COMPILATION) the corio::web
// library has it already (src/corio_web.cpp) and this header is empty.

#include <corio/detail/separate_compilation.hpp>

#if defined(CORIO_WEB_DEFINITIONS)
#include <boost/json/src.hpp>
#endif
