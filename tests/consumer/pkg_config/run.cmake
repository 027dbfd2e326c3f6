# Consumer check: compiles main.cpp with nothing but the flags from the
# installed corio.pc, then runs it. Used by the test `consumer_pkg_config`.
#
#   cmake -DPKG_CONFIG_EXECUTABLE=... -DPKG_CONFIG_DIR=<prefix>/share/pkgconfig
#         -DCXX=<compiler> -DSOURCE=main.cpp -DBINARY_DIR=<dir> -P run.cmake
foreach(var PKG_CONFIG_EXECUTABLE PKG_CONFIG_DIR CXX SOURCE BINARY_DIR)
    if(NOT ${var})
        message(FATAL_ERROR "${var} not set")
    endif()
endforeach()

# Only look at the freshly installed corio.pc.
set(ENV{PKG_CONFIG_LIBDIR} "${PKG_CONFIG_DIR}")
set(ENV{PKG_CONFIG_PATH} "")

function(pkg_config out)
    execute_process(
        COMMAND "${PKG_CONFIG_EXECUTABLE}" ${ARGN} corio
        RESULT_VARIABLE result
        OUTPUT_VARIABLE output
        ERROR_VARIABLE error
        OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "pkg-config ${ARGN} corio failed (${result}): ${error}")
    endif()
    message(STATUS "pkg-config ${ARGN} corio: ${output}")
    separate_arguments(output UNIX_COMMAND "${output}")
    set(${out} "${output}" PARENT_SCOPE)
endfunction()

pkg_config(version --modversion)
pkg_config(cflags --cflags)
pkg_config(libs --libs)

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
