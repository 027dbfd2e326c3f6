// Fixture of the checks' negative tests (tests/cmake/): core including core is fine.
#pragma once
#include <corio/detail/internal.hpp>
