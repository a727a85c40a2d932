// STAND-IN FOR TESTS, NEVER SHIPPED (see CoreMinimal.h): loading libraries by path. The Linux
// build links libfoil, so the plugin only calls these on Windows and Mac (compiled here with
// -DPLATFORM_WINDOWS=1 / -DPLATFORM_MAC=1, never run): they load nothing.

#pragma once

#include "CoreMinimal.h"

struct FPlatformProcess
{
	static void* GetDllHandle(const TCHAR* Filename)
	{
		static_cast<void>(Filename);
		return nullptr;
	}
	static void FreeDllHandle(void* DllHandle) { static_cast<void>(DllHandle); }
};
