# Building blocks of multi-core support, tested on the host: the processors from the ACPI
# MADT (src/devices/madt.c) and the decoder of MMIO accesses to a write-protected device page
# such as the xAPIC's (src/emulate/mmio_decode.c), with a libFuzzer target for the decoder
# (MMIO_DECODE_FUZZ_SECONDS). It also checks the prefixes against insn_decode.
tsx_host_test(hv_madt_test ${CMAKE_CURRENT_LIST_DIR}/hv_madt_test.c ${HV_CORE}/src/devices/madt.c)
tsx_host_test(hv_mmio_decode_test ${CMAKE_CURRENT_LIST_DIR}/hv_mmio_decode_test.c
              ${HV_CORE}/src/emulate/mmio_decode.c ${HV_CORE}/src/emulate/insn_decode.c)
tsx_fuzz_target(mmio_decode_fuzz ${CMAKE_CURRENT_LIST_DIR}/fuzz/mmio_decode_fuzz.c
                ${HV_CORE}/src/emulate/mmio_decode.c ${HV_CORE}/src/emulate/insn_decode.c)
