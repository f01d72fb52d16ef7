# hv-core pure modules (multiboot2 parsing, e820 carving, boot_params, control protocol,
# hotkeys, the hypervisor command line and the nested page table layout), tested on the host.
set(HV_SRC ${HV_CORE}/src)
tsx_host_test(hv_multiboot_test ${CMAKE_CURRENT_LIST_DIR}/hv_multiboot_test.c ${HV_SRC}/boot/multiboot.c)
tsx_host_test(hv_e820_test ${CMAKE_CURRENT_LIST_DIR}/hv_e820_test.c ${HV_SRC}/guest/e820.c)
tsx_host_test(hv_linux_boot_test ${CMAKE_CURRENT_LIST_DIR}/hv_linux_boot_test.c ${HV_SRC}/guest/linux_boot.c)
tsx_host_test(hv_control_test ${CMAKE_CURRENT_LIST_DIR}/hv_control_test.c ${HV_SRC}/control/control_protocol.c)
tsx_host_test(hv_config_test ${CMAKE_CURRENT_LIST_DIR}/hv_config_test.c ${HV_SRC}/boot/config.c ${HV_SRC}/devices/hotkeys.c)
tsx_host_test(hv_npt_test ${CMAKE_CURRENT_LIST_DIR}/hv_npt_test.c ${HV_SRC}/arch/svm/npt.c)

# libFuzzer target for the control protocol (fuzz/control_fuzz.c), built with clang like
# vtime_fuzz (vtime.cmake) and run by ctest for CONTROL_FUZZ_SECONDS (default 30).
find_program(TSX_CLANG NAMES clang clang-16 clang-15 clang-14)
if(TSX_CLANG)
  set(CONTROL_FUZZ ${CMAKE_CURRENT_BINARY_DIR}/control_fuzz)
  set(CONTROL_FUZZ_CORPUS ${CMAKE_CURRENT_BINARY_DIR}/control_fuzz_corpus)
  if(DEFINED ENV{CONTROL_FUZZ_SECONDS})
    set(CONTROL_FUZZ_SECONDS $ENV{CONTROL_FUZZ_SECONDS})
  else()
    set(CONTROL_FUZZ_SECONDS 30)
  endif()
  add_custom_command(OUTPUT ${CONTROL_FUZZ}
    COMMAND ${TSX_CLANG} -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined
            -fno-sanitize-recover=all -Wall -Wextra -Werror -I${HV_CORE}/include
            ${CMAKE_CURRENT_LIST_DIR}/fuzz/control_fuzz.c ${HV_SRC}/control/control_protocol.c
            -o ${CONTROL_FUZZ}
    DEPENDS ${CMAKE_CURRENT_LIST_DIR}/fuzz/control_fuzz.c ${HV_SRC}/control/control_protocol.c
            ${HV_CORE}/include/control_protocol.h
    COMMENT "Building the control protocol libFuzzer target with clang")
  add_custom_target(control_fuzz_build ALL DEPENDS ${CONTROL_FUZZ})
  file(MAKE_DIRECTORY ${CONTROL_FUZZ_CORPUS})
  add_test(NAME control_fuzz COMMAND ${CONTROL_FUZZ} -max_total_time=${CONTROL_FUZZ_SECONDS}
           -artifact_prefix=${CMAKE_CURRENT_BINARY_DIR}/control_fuzz- -print_final_stats=1
           ${CONTROL_FUZZ_CORPUS})
elseif(DEFINED ENV{CI})
  message(FATAL_ERROR "control_fuzz: clang is required in CI (.ci/apt-packages.txt lists it)")
else()
  message(STATUS "control_fuzz: clang not found, the control fuzz target is skipped (apt-get install clang)")
endif()
