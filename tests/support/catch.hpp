// Compatibility header: the tests write `#include "catch.hpp"` and get
// Catch2 v3 (<catch2/catch_all.hpp>) when it is installed, otherwise v2.
#pragma once

#if defined(__has_include)
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#define CORIO_CATCH_VERSION_MAJOR 3
#else
#include <catch2/catch.hpp>
#define CORIO_CATCH_VERSION_MAJOR 2
#endif
#else
#include <catch2/catch.hpp>
#define CORIO_CATCH_VERSION_MAJOR 2
#endif
