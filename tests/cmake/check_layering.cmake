# Layering check: a header of layer X includes corio headers of X and the
# layers below it only (DESIGN.md, "Architecture"). Layers, lowest first:
#
#   core   every corio/ header not named below (detail/, detail/reactor/, impl/ included)
#   sync   corio/sync/, corio/sync.hpp, corio/corio.hpp (the core + sync umbrella)
#   net    corio/net/ (net/detail/ included), corio/net.hpp
#   tls    corio/tls/ (tls/detail/ included), corio/tls.hpp
#   http   corio/http/ (http/detail/ included), corio/http.hpp
#   redis  corio/redis/ (redis/detail/ included), corio/redis.hpp (on top: net, and tls when present)
#   pg     corio/pg/ (pg/detail/ included), corio/pg.hpp (on net; ranked on top)
#   web    corio/web/ (web/detail/ included), corio/web.hpp
#
# A layer's internal headers live in its own detail/ and obey the same rule.
# Fails listing every offending #include line.
#
#   cmake -DINCLUDE_DIR=<repo>/include -P check_layering.cmake
if(NOT INCLUDE_DIR)
    message(FATAL_ERROR "INCLUDE_DIR not set")
endif()

set(layer_names core sync net tls http "pg, redis and web")

# Sets <out> to the rank (index in layer_names) of the header at <path>,
# relative to INCLUDE_DIR ("corio/net/tcp.hpp").
function(corio_layer_rank path out)
    if(path MATCHES "^corio/(redis|pg|web)(/|\\.hpp$)")
        set(rank 5)
    elseif(path MATCHES "^corio/http(/|\\.hpp$)")
        set(rank 4)
    elseif(path MATCHES "^corio/tls(/|\\.hpp$)")
        set(rank 3)
    elseif(path MATCHES "^corio/net(/|\\.hpp$)")
        set(rank 2)
    elseif(path MATCHES "^corio/(sync/|sync\\.hpp$|corio\\.hpp$)")
        set(rank 1)
    else()
        set(rank 0)
    endif()
    set(${out} ${rank} PARENT_SCOPE)
endfunction()

file(GLOB_RECURSE headers RELATIVE "${INCLUDE_DIR}"
    "${INCLUDE_DIR}/corio/*.hpp" "${INCLUDE_DIR}/corio/*.ipp" "${INCLUDE_DIR}/corio/*.h")
list(SORT headers)
if(NOT headers)
    message(FATAL_ERROR "no headers found under ${INCLUDE_DIR}/corio")
endif()

set(include_line "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]")
set(offending "")
set(edges 0)
foreach(header IN LISTS headers)
    corio_layer_rank("${header}" own_rank)
    list(GET layer_names ${own_rank} own_layer)
    get_filename_component(header_dir "${header}" DIRECTORY)
    file(STRINGS "${INCLUDE_DIR}/${header}" lines REGEX "${include_line}")
    foreach(line IN LISTS lines)
        string(REGEX MATCH "${include_line}" ignored "${line}")
        set(target "${CMAKE_MATCH_1}")
        # A quoted include relative to the including header counts as the
        # header it names, so a relative path cannot slip past the check.
        if(NOT target MATCHES "^corio/" AND EXISTS "${INCLUDE_DIR}/${header_dir}/${target}")
            get_filename_component(resolved "${INCLUDE_DIR}/${header_dir}/${target}" ABSOLUTE)
            file(RELATIVE_PATH target "${INCLUDE_DIR}" "${resolved}")
        endif()
        if(NOT target MATCHES "^corio/")
            continue()  # the standard library, the OS, a third-party dependency
        endif()
        math(EXPR edges "${edges} + 1")
        corio_layer_rank("${target}" target_rank)
        if(target_rank GREATER own_rank)
            list(GET layer_names ${target_rank} target_layer)
            string(APPEND offending "\n  ${header} (${own_layer}) includes ${target} (${target_layer}): ${line}")
        endif()
    endforeach()
endforeach()

list(LENGTH headers checked)
if(offending)
    message(FATAL_ERROR "corio layering violated: a header includes a header of a higher layer "
                        "(order: core < sync < net < tls < http < pg, redis, web):${offending}")
endif()
message(STATUS "${checked} headers, ${edges} corio includes: each within its layer or below")
