# Helpers every module uses to declare its targets the same way: C++23, the project's
# warnings, sanitizers when asked, and a railcheck::<name> alias.
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bin")
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

add_library(railcheck_build_flags INTERFACE)
target_compile_features(railcheck_build_flags INTERFACE cxx_std_23)
target_compile_options(railcheck_build_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wimplicit-fallthrough -Wformat=2 -Wundef
  $<$<BOOL:${RAILCHECK_WERROR}>:-Werror>)
if(RAILCHECK_SANITIZE)
  target_compile_options(railcheck_build_flags INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(railcheck_build_flags INTERFACE -fsanitize=address,undefined)
endif()

# railcheck_module(<name> [INTERFACE] SOURCES ... DEPS ... PRIVATE_DEPS ...)
# Declares library railcheck_<name> with alias railcheck::<name>; headers are included
# as "<name>/header.hpp" from the source root.
function(railcheck_module name)
  cmake_parse_arguments(ARG "INTERFACE" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target railcheck_${name})
  if(ARG_INTERFACE)
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE "${PROJECT_SOURCE_DIR}")
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  else()
    add_library(${target} STATIC ${ARG_SOURCES})
    target_include_directories(${target} PUBLIC "${PROJECT_SOURCE_DIR}")
    target_link_libraries(${target} PUBLIC ${ARG_DEPS} PRIVATE railcheck_build_flags ${ARG_PRIVATE_DEPS})
    target_compile_features(${target} PUBLIC cxx_std_23)
  endif()
  add_library(railcheck::${name} ALIAS ${target})
endfunction()

# railcheck_executable(<name> SOURCES ... DEPS ...)
function(railcheck_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE railcheck_build_flags ${ARG_DEPS})
endfunction()
