# vtime: the virtual-time core (hv-core/src/vtime), tested on the host.
file(GLOB VTIME_SOURCES ${HV_CORE}/src/vtime/*.c)
tsx_host_test(vtime_test ${CMAKE_CURRENT_LIST_DIR}/vtime_test.c ${VTIME_SOURCES})
