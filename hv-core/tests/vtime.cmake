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

# libFuzzer target over API call sequences (fuzz/vtime_fuzz.c); VTIME_FUZZ_SECONDS sets how
# long ctest runs it.
tsx_fuzz_target(vtime_fuzz ${CMAKE_CURRENT_LIST_DIR}/fuzz/vtime_fuzz.c ${VTIME_SOURCES})
