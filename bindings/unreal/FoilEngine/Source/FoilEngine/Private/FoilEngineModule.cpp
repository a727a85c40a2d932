#include "FoilEngineModule.h"

#include "FoilNative.h"
#include "HAL/PlatformProcess.h"
#include "Interfaces/IPluginManager.h"
#include "Misc/Paths.h"
#include "Modules/ModuleManager.h"

DEFINE_LOG_CATEGORY(LogFoilEngine);

void FFoilEngineModule::StartupModule()
{
#if PLATFORM_WINDOWS || PLATFORM_MAC
	// The library is delay-loaded (Windows) or weakly linked (Mac): the first call would look
	// for it next to the executable, or fail silently. Loading it by full path first makes that
	// first call resolve to the plugin's copy (staged with packaged games), and tells us here,
	// rather than with a crash later, when it is missing.
#if PLATFORM_WINDOWS
	const TCHAR* RelativePath = TEXT("Binaries/Win64/foil.dll");
#else
	const TCHAR* RelativePath = TEXT("Source/ThirdParty/FoilEngineLibrary/Binaries/Mac/libfoil.dylib");
#endif
	const TSharedPtr<IPlugin> Plugin = IPluginManager::Get().FindPlugin(TEXT("FoilEngine"));
	const FString LibraryPath = Plugin.IsValid()
		? FPaths::ConvertRelativePathToFull(FPaths::Combine(Plugin->GetBaseDir(), RelativePath))
		: FString();
	LibraryHandle = LibraryPath.IsEmpty() ? nullptr : FPlatformProcess::GetDllHandle(*LibraryPath);
	if (LibraryHandle == nullptr)
	{
		UE_LOG(LogFoilEngine, Error,
			TEXT("Could not load %s: the Foil Engine subsystem stays disconnected. See ")
			TEXT("Source/ThirdParty/FoilEngineLibrary/README.md in the plugin."),
			LibraryPath.IsEmpty() ? RelativePath : *LibraryPath);
		bLibraryAvailable = false;
		return;
	}
#endif

	bLibraryAvailable = true;

	// A header from one commit and a library from another may disagree on the ABI.
	const std::string_view Loaded = foil::version();
	if (Loaded != foil::kHeaderVersion)
	{
		UE_LOG(LogFoilEngine, Warning,
			TEXT("libfoil %s does not match its header foil.h %s: rebuild the library and copy both from the same commit."),
			*FoilUnreal::ToFString(Loaded), *FoilUnreal::ToFString(foil::kHeaderVersion));
	}
	else
	{
		UE_LOG(LogFoilEngine, Log, TEXT("libfoil %s loaded."), *FoilUnreal::ToFString(Loaded));
	}
}

void FFoilEngineModule::ShutdownModule()
{
	// Every client was freed by its subsystem's Deinitialize before modules shut down, so no
	// library thread still runs code from the DLL.
	bLibraryAvailable = false;
	if (LibraryHandle != nullptr)
	{
		FPlatformProcess::FreeDllHandle(LibraryHandle);
		LibraryHandle = nullptr;
	}
}

FFoilEngineModule* FFoilEngineModule::Get()
{
	return FModuleManager::GetModulePtr<FFoilEngineModule>(TEXT("FoilEngine"));
}

IMPLEMENT_MODULE(FFoilEngineModule, FoilEngine)
