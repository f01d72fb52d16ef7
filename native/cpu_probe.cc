// cpu_probe.cc - cpuProbe(): reads CPUID leaves that decide whether tsx-hv can run here and
// how the TSC behaves. Leaf numbers and bits: Intel SDM vol. 2A, CPUID; AMD APM vol. 3,
// appendix E (CPUID). `tsx-hv doctor` reports them.
#include "cpu_probe.h"

#include <cstring>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

namespace {

constexpr uint32_t LEAF_VENDOR = 0x0;
constexpr uint32_t LEAF_FEATURES = 0x1;
constexpr uint32_t LEAF_EXT_FEATURES = 0x7;
constexpr uint32_t LEAF_TSC_CRYSTAL = 0x15;        // Intel: TSC / crystal clock ratio
constexpr uint32_t LEAF_FREQUENCY = 0x16;          // Intel: processor base/max/bus MHz
constexpr uint32_t LEAF_HYPERVISOR = 0x40000000;   // hypervisor max leaf + signature
constexpr uint32_t LEAF_HV_TIMING = 0x40000010;    // VMware/KVM convention: TSC kHz in EAX
constexpr uint32_t LEAF_EXT_MAX = 0x80000000;
constexpr uint32_t LEAF_EXT_FEATURES_AMD = 0x80000001;
constexpr uint32_t LEAF_BRAND = 0x80000002;        // .. 0x80000004
constexpr uint32_t LEAF_POWER = 0x80000007;        // advanced power management (invariant TSC)
constexpr uint32_t LEAF_SVM = 0x8000000A;          // SVM revision and features

constexpr uint32_t FEAT1_ECX_VMX = 1u << 5;
constexpr uint32_t FEAT1_ECX_TSC_DEADLINE = 1u << 24;
constexpr uint32_t FEAT1_ECX_HYPERVISOR = 1u << 31;
constexpr uint32_t FEAT1_EDX_TSC = 1u << 4;
constexpr uint32_t FEAT7_EBX_TSC_ADJUST = 1u << 1;
constexpr uint32_t EXT1_ECX_SVM = 1u << 2;
constexpr uint32_t EXT1_EDX_RDTSCP = 1u << 27;
constexpr uint32_t POWER_EDX_INVARIANT_TSC = 1u << 8;
constexpr uint32_t SVM_EDX_NP = 1u << 0;
constexpr uint32_t SVM_EDX_NRIPS = 1u << 3;
constexpr uint32_t SVM_EDX_TSC_RATE_MSR = 1u << 4;

struct Regs {
	uint32_t a, b, c, d;
};

Regs Cpuid(uint32_t leaf, uint32_t sub = 0)
{
	Regs r{};
	__cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
	return r;
}

std::string Ascii(const uint32_t *words, size_t n)
{
	std::string s(reinterpret_cast<const char *>(words), n * 4);
	s.erase(s.find_last_not_of(std::string(" \0", 2)) + 1);
	size_t start = s.find_first_not_of(' ');
	return start == std::string::npos ? std::string() : s.substr(start);
}

} // namespace

Napi::Value CpuProbe(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Napi::Object o = Napi::Object::New(env);

	Regs v = Cpuid(LEAF_VENDOR);
	uint32_t vendor[3] = { v.b, v.d, v.c };
	uint32_t max_leaf = v.a;
	Regs f = Cpuid(LEAF_FEATURES);
	Regs ext = Cpuid(LEAF_EXT_MAX);
	uint32_t max_ext = ext.a;

	o.Set("vendor", Ascii(vendor, 3));
	o.Set("maxLeaf", max_leaf);
	o.Set("maxExtendedLeaf", max_ext);
	o.Set("family", ((f.a >> 8) & 0xf) + (((f.a >> 8) & 0xf) == 0xf ? (f.a >> 20) & 0xff : 0));
	o.Set("model", ((f.a >> 4) & 0xf) | (((f.a >> 8) & 0xf) >= 6 ? ((f.a >> 16) & 0xf) << 4 : 0));
	o.Set("stepping", f.a & 0xf);
	o.Set("tsc", (f.d & FEAT1_EDX_TSC) != 0);
	o.Set("vmx", (f.c & FEAT1_ECX_VMX) != 0);
	o.Set("tscDeadline", (f.c & FEAT1_ECX_TSC_DEADLINE) != 0);
	o.Set("tscAdjust", max_leaf >= LEAF_EXT_FEATURES && (Cpuid(LEAF_EXT_FEATURES).b & FEAT7_EBX_TSC_ADJUST) != 0);

	bool svm = false, rdtscp = false, invariant = false;
	std::string brand;
	if (max_ext >= LEAF_EXT_FEATURES_AMD) {
		Regs e1 = Cpuid(LEAF_EXT_FEATURES_AMD);
		svm = (e1.c & EXT1_ECX_SVM) != 0;
		rdtscp = (e1.d & EXT1_EDX_RDTSCP) != 0;
	}
	if (max_ext >= LEAF_BRAND + 2) {
		uint32_t words[12];
		for (uint32_t i = 0; i < 3; i++) {
			Regs b = Cpuid(LEAF_BRAND + i);
			words[i * 4] = b.a;
			words[i * 4 + 1] = b.b;
			words[i * 4 + 2] = b.c;
			words[i * 4 + 3] = b.d;
		}
		brand = Ascii(words, 12);
	}
	if (max_ext >= LEAF_POWER)
		invariant = (Cpuid(LEAF_POWER).d & POWER_EDX_INVARIANT_TSC) != 0;
	o.Set("brand", brand);
	o.Set("svm", svm);
	o.Set("rdtscp", rdtscp);
	o.Set("invariantTsc", invariant);
	if (svm && max_ext >= LEAF_SVM) {
		Regs s = Cpuid(LEAF_SVM);
		Napi::Object so = Napi::Object::New(env);
		so.Set("revision", s.a & 0xff);
		so.Set("nestedPaging", (s.d & SVM_EDX_NP) != 0);
		so.Set("nripSave", (s.d & SVM_EDX_NRIPS) != 0);
		so.Set("tscRateMsr", (s.d & SVM_EDX_TSC_RATE_MSR) != 0);
		o.Set("svmFeatures", so);
	} else {
		o.Set("svmFeatures", env.Null());
	}

	bool hypervisor = (f.c & FEAT1_ECX_HYPERVISOR) != 0;
	o.Set("hypervisor", hypervisor);
	if (hypervisor) {
		Regs h = Cpuid(LEAF_HYPERVISOR);
		uint32_t sig[3] = { h.b, h.c, h.d };
		o.Set("hypervisorSignature", Ascii(sig, 3));
		o.Set("hypervisorMaxLeaf", h.a);
		bool timing = h.a >= LEAF_HV_TIMING && h.a < LEAF_HYPERVISOR + 0x100;
		o.Set("hypervisorTscKhz", timing && Cpuid(LEAF_HV_TIMING).a != 0
				? Napi::Value(Napi::Number::New(env, Cpuid(LEAF_HV_TIMING).a)) : env.Null());
	} else {
		o.Set("hypervisorSignature", env.Null());
		o.Set("hypervisorMaxLeaf", env.Null());
		o.Set("hypervisorTscKhz", env.Null());
	}

	if (max_leaf >= LEAF_TSC_CRYSTAL) {
		Regs t = Cpuid(LEAF_TSC_CRYSTAL);
		Napi::Object to = Napi::Object::New(env);
		to.Set("denominator", t.a);
		to.Set("numerator", t.b);
		to.Set("crystalHz", t.c);
		// TSC Hz = crystal Hz * EBX / EAX when all three are enumerated (Intel SDM vol. 2A, CPUID leaf 15H).
		to.Set("tscHz", t.a != 0 && t.b != 0 && t.c != 0
				? Napi::Value(Napi::Number::New(env, static_cast<double>(t.c) * t.b / t.a)) : env.Null());
		o.Set("tscLeaf15", to);
	} else {
		o.Set("tscLeaf15", env.Null());
	}
	if (max_leaf >= LEAF_FREQUENCY) {
		Regs q = Cpuid(LEAF_FREQUENCY);
		Napi::Object fo = Napi::Object::New(env);
		fo.Set("baseMhz", q.a & 0xffff);
		fo.Set("maxMhz", q.b & 0xffff);
		fo.Set("busMhz", q.c & 0xffff);
		o.Set("frequencyLeaf16", fo);
	} else {
		o.Set("frequencyLeaf16", env.Null());
	}
	return o;
}

#else

Napi::Value CpuProbe(const Napi::CallbackInfo &info)
{
	Napi::Error e = Napi::Error::New(info.Env(), "cpuProbe() needs an x86 CPU (CPUID)");
	e.Set("code", Napi::String::New(info.Env(), "ENOTX86"));
	throw e;
}

#endif
