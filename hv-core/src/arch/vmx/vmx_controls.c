/* vmx_controls.c - VMX control words from the capability MSRs (include/vmx_controls.h;
 * Intel SDM vol. 3C, appendix A.3-A.5). Pure. */
#include "vmx_controls.h"

enum vmx_control_result vmx_control_value(uint64_t capability, uint32_t required,
					  uint32_t optional, uint32_t unhandled, uint32_t *value,
					  uint32_t *bad)
{
	uint32_t must_be_1 = (uint32_t)capability;
	uint32_t may_be_1 = (uint32_t)(capability >> 32);
	if (required & ~may_be_1) {
		*bad = required & ~may_be_1;
		return VMX_CONTROL_MISSING;
	}
	if (must_be_1 & unhandled) {
		*bad = must_be_1 & unhandled;
		return VMX_CONTROL_FORCED;
	}
	*value = (must_be_1 | required | optional) & may_be_1;
	return VMX_CONTROL_OK;
}
