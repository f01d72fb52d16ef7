# vtime: the virtual-time core (hv-core/src/vtime), tested on the host.
file(GLOB VTIME_SOURCES ${HV_CORE}/src/vtime/*.c)
tsx_host_test(vtime_test ${CMAKE_CURRENT_LIST_DIR}/vtime_test.c ${VTIME_SOURCES})
find_package(Threads REQUIRED)
tsx_host_test(vtime_concurrency_test ${CMAKE_CURRENT_LIST_DIR}/vtime_concurrency_test.c ${VTIME_SOURCES})
target_link_libraries(vtime_concurrency_test Threads::Threads)
# The same test with the smallest ring, where a reader overtaken by writers is most likely
# (a missing sequence re-check is caught there).
tsx_host_test(vtime_concurrency_ring4_test ${CMAKE_CURRENT_LIST_DIR}/vtime_concurrency_test.c ${VTIME_SOURCES})
target_compile_definitions(vtime_concurrency_ring4_test PRIVATE VTIME_RING=4u)
target_link_libraries(vtime_concurrency_ring4_test Threads::Threads)

# libFuzzer target over API call sequences (fuzz/vtime_fuzz.c). It needs clang (the tests
# above use the default compiler), so it is built with a custom command; ctest runs it for
# VTIME_FUZZ_SECONDS (default 30). Without clang it is skipped with a notice, except in CI,
# where .ci/apt-packages.txt installs clang and a missing one is an error.
find_program(TSX_CLANG NAMES clang clang-16 clang-15 clang-14)
if(TSX_CLANG)
  set(VTIME_FUZZ ${CMAKE_CURRENT_BINARY_DIR}/vtime_fuzz)
  set(VTIME_FUZZ_CORPUS ${CMAKE_CURRENT_BINARY_DIR}/vtime_fuzz_corpus)
  if(DEFINED ENV{VTIME_FUZZ_SECONDS})
    set(VTIME_FUZZ_SECONDS $ENV{VTIME_FUZZ_SECONDS})
  else()
    set(VTIME_FUZZ_SECONDS 30)
  endif()
  add_custom_command(OUTPUT ${VTIME_FUZZ}
    COMMAND ${TSX_CLANG} -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined
            -fno-sanitize-recover=all -Wall -Wextra -Werror -I${HV_CORE}/include
            ${CMAKE_CURRENT_LIST_DIR}/fuzz/vtime_fuzz.c ${VTIME_SOURCES} -o ${VTIME_FUZZ}
    DEPENDS ${CMAKE_CURRENT_LIST_DIR}/fuzz/vtime_fuzz.c ${VTIME_SOURCES} ${HV_CORE}/include/vtime.h
    COMMENT "Building the vtime libFuzzer target with clang")
  add_custom_target(vtime_fuzz_build ALL DEPENDS ${VTIME_FUZZ})
  file(MAKE_DIRECTORY ${VTIME_FUZZ_CORPUS})
  add_test(NAME vtime_fuzz COMMAND ${VTIME_FUZZ} -max_total_time=${VTIME_FUZZ_SECONDS}
           -artifact_prefix=${CMAKE_CURRENT_BINARY_DIR}/vtime_fuzz- -print_final_stats=1
           ${VTIME_FUZZ_CORPUS})
elseif(DEFINED ENV{CI})
  message(FATAL_ERROR "vtime_fuzz: clang is required in CI (.ci/apt-packages.txt lists it)")
else()
  message(STATUS "vtime_fuzz: clang not found, the vtime fuzz target is skipped (apt-get install clang)")
endif()
