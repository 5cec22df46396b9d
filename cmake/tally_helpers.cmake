# One helper per kind of target, after Abseil's absl_cc_library / absl_cc_test.

# tally_cc_library(NAME name SRCS ... [HDRS ...] [DEPS ...])
function(tally_cc_library)
  cmake_parse_arguments(T "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  if(T_SRCS)
    add_library(${T_NAME} STATIC ${T_SRCS} ${T_HDRS})
    target_include_directories(${T_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${T_NAME} PUBLIC ${T_DEPS})
  else()
    add_library(${T_NAME} INTERFACE ${T_HDRS})
    target_include_directories(${T_NAME} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${T_NAME} INTERFACE ${T_DEPS})
  endif()
endfunction()

# tally_cc_test(NAME name SRCS ... [DEPS ...] [LABELS ...])
# Registers every GoogleTest case with CTest (gtest_discover_tests).
function(tally_cc_test)
  cmake_parse_arguments(T "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SRCS})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main)
  if(TALLY_TSAN)  # librdkafka's C11 threads, made visible to ThreadSanitizer
    target_sources(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests/testing/tsan_c11_threads.cc)
  endif()
  set(labels unit)
  if(T_LABELS)
    set(labels ${T_LABELS})
  endif()
  # A hung test fails after 5 minutes instead of holding CI to its limit.
  gtest_discover_tests(${T_NAME} PROPERTIES LABELS "${labels}" TIMEOUT 300 DISCOVERY_TIMEOUT 60)
endfunction()

# tally_fuzz_test(NAME name SRCS ... [DEPS ...] [SECONDS n])
# With clang the target is a real libFuzzer binary; CTest runs it for a few
# seconds from its seed corpus. With another compiler it links a small
# standalone driver that replays the corpus and random mutations of it, so the
# target still runs as an ordinary test.
function(tally_fuzz_test)
  cmake_parse_arguments(T "" "NAME;SECONDS" "SRCS;DEPS" ${ARGN})
  if(NOT T_SECONDS)
    set(T_SECONDS 10)
  endif()
  add_executable(${T_NAME} ${T_SRCS})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS})
  set(corpus ${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}_corpus)
  # Inputs that once crashed the target, kept in the repo and read on every
  # run (libFuzzer reads every folder after the first, the output corpus).
  set(regressions ${PROJECT_SOURCE_DIR}/tests/fuzz/regressions/${T_NAME})
  if(NOT IS_DIRECTORY ${regressions})
    set(regressions "")
  endif()
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${T_NAME} PRIVATE -fsanitize=fuzzer)
    target_link_options(${T_NAME} PRIVATE -fsanitize=fuzzer)
    add_test(NAME ${T_NAME}
             COMMAND ${CMAKE_COMMAND} -E env
                     $<TARGET_FILE:${T_NAME}> -seed=1 -max_total_time=${T_SECONDS}
                     -artifact_prefix=${CMAKE_CURRENT_BINARY_DIR}/
                     -rss_limit_mb=2048 ${corpus} ${regressions})
  else()
    target_sources(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz/standalone_driver.cc)
    add_test(NAME ${T_NAME} COMMAND $<TARGET_FILE:${T_NAME}> --seconds=${T_SECONDS} ${corpus})
  endif()
  # The corpus folder is created (and seeded by the target itself) before the run.
  set_tests_properties(${T_NAME} PROPERTIES LABELS fuzz TIMEOUT 300)
  file(MAKE_DIRECTORY ${corpus})
endfunction()

# tally_forbid_links(target forbidden...): fails the configure step when
# `target` links any of `forbidden`, directly or through its dependencies
# (the one-way layers: tools/check_layers.py checks the includes).
function(tally_forbid_links target)
  set(seen "")
  set(queue ${target})
  while(queue)
    list(POP_FRONT queue current)
    if(current IN_LIST seen OR NOT TARGET ${current})
      continue()
    endif()
    list(APPEND seen ${current})
    get_target_property(type ${current} TYPE)
    set(deps "")
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(direct ${current} LINK_LIBRARIES)
      if(direct)
        list(APPEND deps ${direct})
      endif()
    endif()
    get_target_property(iface ${current} INTERFACE_LINK_LIBRARIES)
    if(iface)
      list(APPEND deps ${iface})
    endif()
    foreach(dep ${deps})
      if(dep IN_LIST ARGN)
        message(FATAL_ERROR "${target} may not link ${dep}, but ${current} brings it in (cmake/tally_helpers.cmake, tally_forbid_links)")
      endif()
      list(APPEND queue ${dep})
    endforeach()
  endwhile()
endfunction()
