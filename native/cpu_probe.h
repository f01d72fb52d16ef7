// cpu_probe.h - cpuProbe(): what the CPUID instruction says about virtualisation and the TSC.
#ifndef TSX_HV_NATIVE_CPU_PROBE_H
#define TSX_HV_NATIVE_CPU_PROBE_H

#include <napi.h>

Napi::Value CpuProbe(const Napi::CallbackInfo &info);

#endif
