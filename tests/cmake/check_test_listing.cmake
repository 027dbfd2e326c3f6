# Build-time guard run before catch_discover_tests' own discovery step:
# lists the tests of TEST_EXECUTABLE with a timeout of DISCOVERY_TIMEOUT seconds
# and fails if the executable hangs or crashes.
#
#   cmake -DTEST_EXECUTABLE=<exe> -DDISCOVERY_TIMEOUT=<seconds> -P check_test_listing.cmake
if(NOT TEST_EXECUTABLE)
    message(FATAL_ERROR "TEST_EXECUTABLE not set")
endif()
if(NOT DISCOVERY_TIMEOUT)
    set(DISCOVERY_TIMEOUT 60)
endif()

execute_process(
    COMMAND "${TEST_EXECUTABLE}" --list-tests
    RESULT_VARIABLE result
    OUTPUT_VARIABLE output
    ERROR_VARIABLE output
    TIMEOUT ${DISCOVERY_TIMEOUT})

# Catch2 v2 exits with the number of tests, v3 with 0: any non-negative number
# is fine. Timeouts and signals give a text result ("Process terminated due to
# timeout", "Segmentation fault", ...).
if(NOT result MATCHES "^[0-9]+$")
    message(FATAL_ERROR
        "Listing the tests of ${TEST_EXECUTABLE} failed "
        "(timeout ${DISCOVERY_TIMEOUT}s): ${result}\n${output}")
endif()
