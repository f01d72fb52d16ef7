// virtual_clock.h - the VirtualClock class: one struct vtime_clock owned by a JS object.
#ifndef TSX_HV_NATIVE_VIRTUAL_CLOCK_H
#define TSX_HV_NATIVE_VIRTUAL_CLOCK_H

#include <memory>
#include <napi.h>

extern "C" {
#include "vtime.h"
}

class VirtualClock : public Napi::ObjectWrap<VirtualClock> {
public:
	static void Init(Napi::Env env, Napi::Object exports);
	explicit VirtualClock(const Napi::CallbackInfo &info);

private:
	Napi::Value SetSpeed(const Napi::CallbackInfo &info);
	Napi::Value Arm(const Napi::CallbackInfo &info);
	Napi::Value Armed(const Napi::CallbackInfo &info);
	Napi::Value Read(const Napi::CallbackInfo &info);
	Napi::Value ToReal(const Napi::CallbackInfo &info);
	Napi::Value ToVirtual(const Napi::CallbackInfo &info);
	Napi::Value SetCpuOffset(const Napi::CallbackInfo &info);
	Napi::Value WriteTsc(const Napi::CallbackInfo &info);
	Napi::Value WriteTscAdjust(const Napi::CallbackInfo &info);
	Napi::Value ReadTscAdjust(const Napi::CallbackInfo &info);
	Napi::Value SetPublishLead(const Napi::CallbackInfo &info);
	Napi::Value State(const Napi::CallbackInfo &info);

	unsigned Cpu(const Napi::CallbackInfo &info, size_t index, bool optional) const;

	std::unique_ptr<struct vtime_clock> clock_;
};

#endif
