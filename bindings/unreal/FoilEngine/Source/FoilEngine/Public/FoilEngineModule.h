#pragma once

#include "CoreMinimal.h"
#include "Modules/ModuleInterface.h"

FOILENGINE_API DECLARE_LOG_CATEGORY_EXTERN(LogFoilEngine, Log, All);

/**
 * The FoilEngine runtime module. Its only job at startup is to make sure the native library
 * (libfoil) can be called: on Windows it loads foil.dll from the plugin's Binaries/Win64 folder
 * (the DLL is delay-loaded, so this must happen before the first foil_* call), on Mac the
 * weakly linked libfoil.dylib from the plugin's ThirdParty folder. Elsewhere the library is
 * linked (Linux, Android) or static (iOS) and needs nothing here.
 */
class FOILENGINE_API FFoilEngineModule : public IModuleInterface
{
public:
	virtual void StartupModule() override;
	virtual void ShutdownModule() override;

	/** The loaded module, or nullptr before startup / after shutdown. */
	static FFoilEngineModule* Get();

	/**
	 * True when the native library can be called. False on Windows or Mac when it failed to load;
	 * calling into it then would crash, so the subsystem checks this first.
	 */
	bool IsLibraryAvailable() const { return bLibraryAvailable; }

private:
	void* LibraryHandle = nullptr;
	bool bLibraryAvailable = false;
};
