# The vendor-neutral exit layer (src/core/exits.c) with the real instruction decoder, CPUID
# and MSR policies, hypercall ABI, I/O hooks and I/O emulation behind it, on a test double of
# the CPU: fake_vcpu.c implements include/vcpu.h and include/arch.h on plain structs, and
# fake_cpu.h (force-included) sends the hypervisor's CPUID/RDTSC/RDMSR/WRMSR/IN/OUT to it.
# The same tests are built twice: the double plays AMD SVM (hv_exits_test_svm) and Intel VT-x
# (hv_exits_test_vmx, -DFAKE_VENDOR_VMX): each vendor's hypercall instruction and private MSRs.
foreach(vendor svm vmx)
  tsx_host_test(hv_exits_test_${vendor} ${CMAKE_CURRENT_LIST_DIR}/hv_exits_test.c ${CMAKE_CURRENT_LIST_DIR}/fake_vcpu.c
                ${HV_CORE}/src/core/exits.c ${HV_CORE}/src/emulate/insn_exit.c
                ${HV_CORE}/src/emulate/insn_decode.c ${HV_CORE}/src/emulate/io_emulate.c
                ${HV_CORE}/src/devices/io_hooks.c ${HV_CORE}/src/devices/cpuid_policy.c
                ${HV_CORE}/src/devices/msr_policy.c ${HV_CORE}/src/control/hypercall.c
                ${HV_CORE}/src/devices/tsc_scaling.c ${HV_CORE}/src/guest/chain_boot.c
                ${HV_CORE}/src/guest/chain_map.c)
  target_compile_options(hv_exits_test_${vendor} PRIVATE -include ${CMAKE_CURRENT_LIST_DIR}/fake_cpu.h)
  if(vendor STREQUAL "vmx")
    target_compile_definitions(hv_exits_test_vmx PRIVATE FAKE_VENDOR_VMX)
  endif()
endforeach()
