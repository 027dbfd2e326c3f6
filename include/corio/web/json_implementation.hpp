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

#include <boost/json/src.hpp>
