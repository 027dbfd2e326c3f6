// Tests of corio/version.hpp: the macros agree with each other and with the
// CMake project version (passed in by tests/CMakeLists.txt).

#include "catch.hpp"

#include <corio/version.hpp>

#include <string>

static_assert(CORIO_VERSION == CORIO_VERSION_MAJOR * 10000 + CORIO_VERSION_MINOR * 100 + CORIO_VERSION_PATCH);

TEST_CASE("version: header matches the CMake project version", "[version]") {
    const std::string from_macros = std::to_string(CORIO_VERSION_MAJOR) + "." +
                                    std::to_string(CORIO_VERSION_MINOR) + "." +
                                    std::to_string(CORIO_VERSION_PATCH);
    CHECK(from_macros == CORIO_CMAKE_PROJECT_VERSION);
    CHECK(std::string(corio::version_string) == CORIO_CMAKE_PROJECT_VERSION);
}
