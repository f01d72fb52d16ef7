/* `tsx-hv-agent cpus`: the tsx-hv CPUID signature on every online CPU. */
#ifndef TSX_HV_AGENT_CPUS_H
#define TSX_HV_AGENT_CPUS_H

/* Prints one line per CPU ("cpuN tsx-hv-vtime|outside|offline") and a summary line
 * ("cpus=N under=U outside=O offline=F errors=E"). Returns 0 when every online CPU is under
 * tsx-hv, 3 when one is not, 1 when the CPUs could not be listed or one could not be visited. */
int cpus_check(void);

#endif
