# corio_precompile_headers(<target> [COMPONENTS <component>...])
#
# Gives <target> a precompiled header made of <corio/corio.hpp> and the
# umbrella header of each corio component it uses (http, tls, redis, pg,
# web): the components given, or else those of the corio::<component>
# targets <target> links so far (call it after target_link_libraries).
# Available after add_subdirectory(corio) and after find_package(corio).
#
# Worth it with clang, where it takes parsing off every compile: with
# CORIO_SEPARATE_COMPILATION an HTTP program then compiles in about half
# the CPU time (bench/compile_time.py, mode separate+pch). g++ 12 loads its
# large .gch files about as slowly as it parses the headers.
#
# Several targets linking the same corio components can share one PCH:
# call this for one of them and `target_precompile_headers(<other> REUSE_FROM
# <target>)` for the others.

# The components with an umbrella header. A function, not a variable: the
# functions here are called from directories that do not see corio's variables.
function(corio_pch_components out_var)
    set(${out_var} http tls redis pg web PARENT_SCOPE)
endfunction()

# The headers a PCH for `libraries` (a target's LINK_LIBRARIES) holds.
function(corio_pch_headers_for out_var libraries)
    set(headers <corio/corio.hpp>)
    corio_pch_components(components)
    foreach(component IN LISTS components)
        if("corio::${component}" IN_LIST libraries)
            list(APPEND headers <corio/${component}.hpp>)
        endif()
    endforeach()
    set(${out_var} "${headers}" PARENT_SCOPE)
endfunction()

function(corio_precompile_headers target)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "COMPONENTS")
    if(arg_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "corio_precompile_headers: unexpected arguments ${arg_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT TARGET ${target})
        message(FATAL_ERROR "corio_precompile_headers: no target ${target}")
    endif()
    if(arg_COMPONENTS)
        corio_pch_components(known)
        set(libraries "")
        foreach(component IN LISTS arg_COMPONENTS)
            if(NOT component IN_LIST known)
                message(FATAL_ERROR
                    "corio_precompile_headers: unknown component '${component}' (one of: ${known})")
            endif()
            list(APPEND libraries corio::${component})
        endforeach()
    else()
        get_target_property(libraries ${target} LINK_LIBRARIES)
        if(NOT libraries)
            set(libraries "")
        endif()
    endif()
    corio_pch_headers_for(headers "${libraries}")
    target_precompile_headers(${target} PRIVATE ${headers})
endfunction()
