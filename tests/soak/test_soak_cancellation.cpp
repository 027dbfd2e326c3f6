#include "catch.hpp"
TEST_CASE("placeholder", "[soak]") {}
