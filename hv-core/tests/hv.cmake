# hv-core pure modules (multiboot2 parsing, e820 carving, boot_params, control protocol,
# hotkeys, the hypervisor command line and the nested page table layout), tested on the host.
set(HV_SRC ${HV_CORE}/src)
tsx_host_test(hv_multiboot_test ${CMAKE_CURRENT_LIST_DIR}/hv_multiboot_test.c ${HV_SRC}/boot/multiboot.c)
tsx_host_test(hv_e820_test ${CMAKE_CURRENT_LIST_DIR}/hv_e820_test.c ${HV_SRC}/guest/e820.c)
tsx_host_test(hv_linux_boot_test ${CMAKE_CURRENT_LIST_DIR}/hv_linux_boot_test.c ${HV_SRC}/guest/linux_boot.c)
tsx_host_test(hv_control_test ${CMAKE_CURRENT_LIST_DIR}/hv_control_test.c ${HV_SRC}/control/control_protocol.c)
tsx_host_test(hv_config_test ${CMAKE_CURRENT_LIST_DIR}/hv_config_test.c ${HV_SRC}/boot/config.c ${HV_SRC}/devices/hotkeys.c)
tsx_host_test(hv_npt_test ${CMAKE_CURRENT_LIST_DIR}/hv_npt_test.c ${HV_SRC}/arch/svm/npt.c)

# libFuzzer target for the control protocol parser (fuzz/control_fuzz.c);
# CONTROL_FUZZ_SECONDS sets how long ctest runs it.
tsx_fuzz_target(control_fuzz ${CMAKE_CURRENT_LIST_DIR}/fuzz/control_fuzz.c ${HV_SRC}/control/control_protocol.c)

# Guest-instruction decoding and the guest page walk (src/emulate), with a libFuzzer target
# for the decoder (INSN_DECODE_FUZZ_SECONDS).
tsx_host_test(hv_insn_decode_test ${CMAKE_CURRENT_LIST_DIR}/hv_insn_decode_test.c ${HV_SRC}/emulate/insn_decode.c)
tsx_host_test(hv_page_walk_test ${CMAKE_CURRENT_LIST_DIR}/hv_page_walk_test.c ${HV_SRC}/emulate/page_walk.c)
tsx_fuzz_target(insn_decode_fuzz ${CMAKE_CURRENT_LIST_DIR}/fuzz/insn_decode_fuzz.c ${HV_SRC}/emulate/insn_decode.c)

# The virtual local-APIC timer's arithmetic (divide register, rounded-up scaling).
tsx_host_test(hv_lapic_timer_test ${CMAKE_CURRENT_LIST_DIR}/hv_lapic_timer_test.c ${HV_SRC}/devices/lapic_timer_math.c)
tsx_host_test(hv_chain_boot_test ${CMAKE_CURRENT_LIST_DIR}/hv_chain_boot_test.c ${HV_SRC}/guest/chain_map.c ${HV_SRC}/guest/e820.c)
