#pragma once

// corio's release version (semantic versioning), kept equal to the CMake
// project version by tests/core/test_version.cpp. A release is tagged
// `vMAJOR.MINOR.PATCH` (CHANGELOG.md).

#define CORIO_VERSION_MAJOR 0
#define CORIO_VERSION_MINOR 1
#define CORIO_VERSION_PATCH 0

/// MAJOR * 10000 + MINOR * 100 + PATCH, for `#if CORIO_VERSION >= 100` checks.
#define CORIO_VERSION (CORIO_VERSION_MAJOR * 10000 + CORIO_VERSION_MINOR * 100 + CORIO_VERSION_PATCH)

namespace corio {

/// The version as "MAJOR.MINOR.PATCH".
inline constexpr const char* version_string = "0.1.0";

}  // namespace corio
