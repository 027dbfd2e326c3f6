// Catch2 v2 only: provides main() for every test executable.
// (With Catch2 v3 the tests link Catch2::Catch2WithMain instead.)
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
