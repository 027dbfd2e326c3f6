# Platform check: no header outside a detail/ folder includes a platform
# header; the platform lives in detail/reactor/ and net/detail/ only, behind
# corio's own interfaces (DESIGN.md, "Architecture"). Fails listing every
# offending #include line.
#
#   cmake -DINCLUDE_DIR=<repo>/include -P check_platform_headers.cmake
if(NOT INCLUDE_DIR)
    message(FATAL_ERROR "INCLUDE_DIR not set")
endif()

file(GLOB_RECURSE headers RELATIVE "${INCLUDE_DIR}" "${INCLUDE_DIR}/corio/*.hpp")
set(platform_include "^[ \t]*#[ \t]*include[ \t]*[<\"](sys/|linux/|mach/|machine/|netinet/|arpa/|net/|unistd\\.h|fcntl\\.h|poll\\.h|netdb\\.h|pthread\\.h|dlfcn\\.h|termios\\.h|windows\\.h|winsock2\\.h|ws2tcpip\\.h)")
set(offending "")
set(checked 0)
foreach(header IN LISTS headers)
    if(header MATCHES "(^|/)detail/")
        continue()
    endif()
    math(EXPR checked "${checked} + 1")
    file(STRINGS "${INCLUDE_DIR}/${header}" lines REGEX "${platform_include}")
    foreach(line IN LISTS lines)
        string(APPEND offending "\n  ${header}: ${line}")
    endforeach()
endforeach()
if(checked EQUAL 0)
    message(FATAL_ERROR "no public headers found under ${INCLUDE_DIR}/corio")
endif()
if(offending)
    message(FATAL_ERROR "platform headers included outside corio/detail/ (wrap them in a detail/ header):${offending}")
endif()
message(STATUS "${checked} public headers include no platform header")
