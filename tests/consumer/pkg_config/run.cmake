# Consumer check: compiles main.cpp with nothing but the flags from the
# installed corio.pc, then runs it. Used by the test `consumer_pkg_config`.
#
#   cmake -DPKG_CONFIG_EXECUTABLE=... -DPKG_CONFIG_DIR=<prefix>/share/pkgconfig
#         -DCXX=<compiler> -DSOURCE=main.cpp -DBINARY_DIR=<dir> -P run.cmake
cmake_policy(VERSION 3.25)

foreach(var PKG_CONFIG_EXECUTABLE PKG_CONFIG_DIR CXX SOURCE BINARY_DIR)
    if(NOT ${var})
        message(FATAL_ERROR "${var} not set")
    endif()
endforeach()

# The freshly installed corio*.pc first, then the system's (for zlib.pc and
# openssl.pc, which the component files require), never another corio.
execute_process(
    COMMAND "${PKG_CONFIG_EXECUTABLE}" --variable pc_path pkg-config
    OUTPUT_VARIABLE system_pc_path
    OUTPUT_STRIP_TRAILING_WHITESPACE)
set(ENV{PKG_CONFIG_LIBDIR} "${PKG_CONFIG_DIR}:${system_pc_path}")
set(ENV{PKG_CONFIG_PATH} "")

function(pkg_config_of module out)
    execute_process(
        COMMAND "${PKG_CONFIG_EXECUTABLE}" ${ARGN} ${module}
        RESULT_VARIABLE result
        OUTPUT_VARIABLE output
        ERROR_VARIABLE error
        OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "pkg-config ${ARGN} ${module} failed (${result}): ${error}")
    endif()
    message(STATUS "pkg-config ${ARGN} ${module}: ${output}")
    separate_arguments(output UNIX_COMMAND "${output}")
    set(${out} "${output}" PARENT_SCOPE)
endfunction()

pkg_config_of(corio version --modversion)
pkg_config_of(corio cflags --cflags)
pkg_config_of(corio libs --libs)

# -pthread once, at link time only.
pkg_config_of(corio all_flags --cflags --libs)
list(FILTER all_flags INCLUDE REGEX "^-pthread$")
list(LENGTH all_flags pthread_count)
if(NOT pthread_count EQUAL 1)
    message(FATAL_ERROR "pkg-config --cflags --libs corio has -pthread ${pthread_count} times")
endif()

# The component files: versioned like corio, carrying their defines.
pkg_config_of(corio-http http_version --modversion)
if(NOT http_version STREQUAL version)
    message(FATAL_ERROR "corio-http.pc version ${http_version} differs from corio.pc's ${version}")
endif()
pkg_config_of(corio-http http_cflags --cflags)
if(EXISTS "${PKG_CONFIG_DIR}/corio-tls.pc")
    pkg_config_of(corio-tls tls_cflags --cflags)
    if(NOT "-DCORIO_WITH_TLS=1" IN_LIST tls_cflags)
        message(FATAL_ERROR "corio-tls.pc lacks -DCORIO_WITH_TLS=1")
    endif()
endif()

file(MAKE_DIRECTORY "${BINARY_DIR}")
set(exe "${BINARY_DIR}/corio_consumer")
file(REMOVE "${exe}")

execute_process(
    COMMAND "${CXX}" ${cflags} "${SOURCE}" -o "${exe}" ${libs}
    RESULT_VARIABLE result)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "compiling ${SOURCE} with the pkg-config flags failed (${result})")
endif()

execute_process(COMMAND "${exe}" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "${exe} exited with ${result}")
endif()
message(STATUS "pkg-config consumer OK")
