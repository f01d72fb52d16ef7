# The pure parts of the VT-x backend: control words from the capability MSRs
# (src/arch/vmx/vmx_controls.c) and the EPT map's MTRR memory types and access changes
# (src/arch/vmx/ept.c on top of the shared identity-map layout, src/arch/svm/npt.c).
tsx_host_test(hv_vmx_test ${CMAKE_CURRENT_LIST_DIR}/hv_vmx_test.c ${HV_CORE}/src/arch/vmx/vmx_controls.c
              ${HV_CORE}/src/arch/vmx/ept.c ${HV_CORE}/src/arch/svm/npt.c)
