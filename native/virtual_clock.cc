// virtual_clock.cc - VirtualClock: the vtime core exposed to JavaScript with BigInt TSC values.
// Argument errors throw TypeError/RangeError carrying `code` (ETYPE, EINVAL, ERANGE), which
// src/native.ts turns into a typed VtimeError.
#include "virtual_clock.h"

#include <string>

namespace {

Napi::Error Fail(Napi::Env env, bool range, const char *code, const std::string &message)
{
	Napi::Error e = range ? Napi::Error(Napi::RangeError::New(env, message))
			      : Napi::Error(Napi::TypeError::New(env, message));
	e.Set("code", Napi::String::New(env, code));
	return e;
}

uint64_t U64(const Napi::CallbackInfo &info, size_t index, const char *name)
{
	Napi::Env env = info.Env();
	if (index >= info.Length() || !info[index].IsBigInt())
		throw Fail(env, false, "ETYPE", std::string(name) + " must be a bigint");
	bool lossless = false;
	uint64_t value = info[index].As<Napi::BigInt>().Uint64Value(&lossless);
	if (!lossless)
		throw Fail(env, true, "EINVAL", std::string(name) + " must be in 0 .. 2^64-1");
	return value;
}

int64_t I64(const Napi::CallbackInfo &info, size_t index, const char *name)
{
	Napi::Env env = info.Env();
	if (index >= info.Length() || !info[index].IsBigInt())
		throw Fail(env, false, "ETYPE", std::string(name) + " must be a bigint");
	bool lossless = false;
	int64_t value = info[index].As<Napi::BigInt>().Int64Value(&lossless);
	if (!lossless)
		throw Fail(env, true, "EINVAL", std::string(name) + " must be in -2^63 .. 2^63-1");
	return value;
}

// A speed term: a positive safe integer number or a bigint.
uint64_t Term(const Napi::CallbackInfo &info, size_t index, const char *name)
{
	Napi::Env env = info.Env();
	if (index < info.Length() && info[index].IsNumber()) {
		double d = info[index].As<Napi::Number>().DoubleValue();
		if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<uint64_t>(d)))
			throw Fail(env, true, "EINVAL", std::string(name) + " must be a non-negative integer");
		return static_cast<uint64_t>(d);
	}
	return U64(info, index, name);
}

void Check(Napi::Env env, int err, const char *what)
{
	if (err == VTIME_EINVAL)
		throw Fail(env, true, "EINVAL", std::string(what) + ": invalid argument");
	if (err == VTIME_ERANGE)
		throw Fail(env, true, "ERANGE", std::string(what) + ": speed outside 1/1000 .. 10000");
}

Napi::BigInt Big(Napi::Env env, uint64_t v)
{
	return Napi::BigInt::New(env, v);
}

} // namespace

void VirtualClock::Init(Napi::Env env, Napi::Object exports)
{
	Napi::Function cls = DefineClass(env, "VirtualClock", {
		InstanceMethod<&VirtualClock::SetSpeed>("setSpeed"),
		InstanceMethod<&VirtualClock::Arm>("arm"),
		InstanceMethod<&VirtualClock::Armed>("armed"),
		InstanceMethod<&VirtualClock::Read>("read"),
		InstanceMethod<&VirtualClock::ToReal>("toReal"),
		InstanceMethod<&VirtualClock::ToVirtual>("toVirtual"),
		InstanceMethod<&VirtualClock::SetCpuOffset>("setCpuOffset"),
		InstanceMethod<&VirtualClock::WriteTsc>("writeTsc"),
		InstanceMethod<&VirtualClock::WriteTscAdjust>("writeTscAdjust"),
		InstanceMethod<&VirtualClock::ReadTscAdjust>("readTscAdjust"),
		InstanceMethod<&VirtualClock::SetPublishLead>("setPublishLead"),
		InstanceMethod<&VirtualClock::State>("state"),
	});
	exports.Set("VirtualClock", cls);
	exports.Set("maxCpus", Napi::Number::New(env, VTIME_MAX_CPUS));
}

// new VirtualClock({ cpus, realTsc = 0n })
VirtualClock::VirtualClock(const Napi::CallbackInfo &info)
	: Napi::ObjectWrap<VirtualClock>(info), clock_(new struct vtime_clock())
{
	Napi::Env env = info.Env();
	if (info.Length() < 1 || !info[0].IsObject())
		throw Fail(env, false, "ETYPE", "VirtualClock options must be an object { cpus }");
	Napi::Object opts = info[0].As<Napi::Object>();
	Napi::Value cpus = opts.Get("cpus");
	if (!cpus.IsNumber())
		throw Fail(env, false, "ETYPE", "cpus must be a number");
	double n = cpus.As<Napi::Number>().DoubleValue();
	if (!(n >= 1 && n <= VTIME_MAX_CPUS) || n != static_cast<double>(static_cast<unsigned>(n)))
		throw Fail(env, true, "EINVAL", "cpus must be an integer in 1 .. 64");
	uint64_t start = 0;
	Napi::Value real = opts.Get("realTsc");
	if (!real.IsUndefined()) {
		if (!real.IsBigInt())
			throw Fail(env, false, "ETYPE", "realTsc must be a bigint");
		bool lossless = false;
		start = real.As<Napi::BigInt>().Uint64Value(&lossless);
		if (!lossless)
			throw Fail(env, true, "EINVAL", "realTsc must be in 0 .. 2^64-1");
	}
	Check(env, vtime_init(clock_.get(), static_cast<unsigned>(n), start), "VirtualClock");
}

unsigned VirtualClock::Cpu(const Napi::CallbackInfo &info, size_t index, bool optional) const
{
	Napi::Env env = info.Env();
	if (optional && (index >= info.Length() || info[index].IsUndefined()))
		return 0;
	if (index >= info.Length() || !info[index].IsNumber())
		throw Fail(env, false, "ETYPE", "cpu must be a number");
	double d = info[index].As<Napi::Number>().DoubleValue();
	if (!(d >= 0 && d < clock_->cpus) || d != static_cast<double>(static_cast<unsigned>(d)))
		throw Fail(env, true, "EINVAL", "cpu must be an integer in 0 .. " + std::to_string(clock_->cpus - 1));
	return static_cast<unsigned>(d);
}

// setSpeed(realTsc, p, q = 1)
Napi::Value VirtualClock::SetSpeed(const Napi::CallbackInfo &info)
{
	uint64_t now = U64(info, 0, "realTsc");
	uint64_t p = Term(info, 1, "p");
	uint64_t q = info.Length() > 2 && !info[2].IsUndefined() ? Term(info, 2, "q") : 1;
	Check(info.Env(), vtime_set_speed(clock_.get(), now, p, q), "setSpeed");
	return info.Env().Undefined();
}

Napi::Value VirtualClock::Arm(const Napi::CallbackInfo &info)
{
	Check(info.Env(), vtime_arm(clock_.get(), U64(info, 0, "realTsc")), "arm");
	return info.Env().Undefined();
}

Napi::Value VirtualClock::Armed(const Napi::CallbackInfo &info)
{
	return Napi::Boolean::New(info.Env(), vtime_armed(clock_.get()));
}

// read(cpu, realTsc)
Napi::Value VirtualClock::Read(const Napi::CallbackInfo &info)
{
	unsigned cpu = Cpu(info, 0, false);
	return Big(info.Env(), vtime_read(clock_.get(), cpu, U64(info, 1, "realTsc")));
}

// toReal(virtualDeadline, cpu = 0)
Napi::Value VirtualClock::ToReal(const Napi::CallbackInfo &info)
{
	uint64_t deadline = U64(info, 0, "virtualDeadline");
	return Big(info.Env(), vtime_to_real(clock_.get(), Cpu(info, 1, true), deadline));
}

// toVirtual(realTsc, cpu = 0)
Napi::Value VirtualClock::ToVirtual(const Napi::CallbackInfo &info)
{
	uint64_t real = U64(info, 0, "realTsc");
	return Big(info.Env(), vtime_to_virtual(clock_.get(), Cpu(info, 1, true), real));
}

// setCpuOffset(cpu, offset): reference TSC = raw TSC of cpu + offset
Napi::Value VirtualClock::SetCpuOffset(const Napi::CallbackInfo &info)
{
	unsigned cpu = Cpu(info, 0, false);
	Check(info.Env(), vtime_set_cpu_offset(clock_.get(), cpu, I64(info, 1, "offset")), "setCpuOffset");
	return info.Env().Undefined();
}

// writeTsc(cpu, realTsc, value): guest WRMSR IA32_TSC
Napi::Value VirtualClock::WriteTsc(const Napi::CallbackInfo &info)
{
	unsigned cpu = Cpu(info, 0, false);
	uint64_t now = U64(info, 1, "realTsc");
	Check(info.Env(), vtime_write_tsc(clock_.get(), cpu, now, U64(info, 2, "value")), "writeTsc");
	return info.Env().Undefined();
}

// writeTscAdjust(cpu, value): guest WRMSR IA32_TSC_ADJUST
Napi::Value VirtualClock::WriteTscAdjust(const Napi::CallbackInfo &info)
{
	unsigned cpu = Cpu(info, 0, false);
	Check(info.Env(), vtime_write_tsc_adjust(clock_.get(), cpu, I64(info, 1, "value")), "writeTscAdjust");
	return info.Env().Undefined();
}

Napi::Value VirtualClock::ReadTscAdjust(const Napi::CallbackInfo &info)
{
	return Napi::BigInt::New(info.Env(), vtime_read_tsc_adjust(clock_.get(), Cpu(info, 0, false)));
}

Napi::Value VirtualClock::SetPublishLead(const Napi::CallbackInfo &info)
{
	vtime_set_publish_lead(clock_.get(), U64(info, 0, "ticks"));
	return info.Env().Undefined();
}

Napi::Value VirtualClock::State(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	struct vtime_state s;
	vtime_get_state(clock_.get(), &s);
	Napi::Object o = Napi::Object::New(env);
	o.Set("p", Big(env, s.p));
	o.Set("q", Big(env, s.q));
	o.Set("pendingP", Big(env, s.pending_p));
	o.Set("pendingQ", Big(env, s.pending_q));
	o.Set("rate", Big(env, s.rate));
	o.Set("epochCount", Big(env, s.epoch_count));
	o.Set("armed", Napi::Boolean::New(env, s.armed));
	o.Set("epochU", Big(env, s.epoch_u));
	o.Set("epochG", Big(env, s.epoch_g));
	o.Set("publishLead", Big(env, s.publish_lead));
	o.Set("cpus", Napi::Number::New(env, s.cpus));
	return o;
}
