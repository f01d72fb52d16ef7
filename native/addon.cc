// addon.cc - module entry of the tsx-hv Node addon: registers VirtualClock and cpuProbe.
#include <napi.h>

#include "cpu_probe.h"
#include "virtual_clock.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports)
{
	VirtualClock::Init(env, exports);
	exports.Set("cpuProbe", Napi::Function::New(env, CpuProbe, "cpuProbe"));
	return exports;
}

NODE_API_MODULE(tsx_hv_native, Init)
