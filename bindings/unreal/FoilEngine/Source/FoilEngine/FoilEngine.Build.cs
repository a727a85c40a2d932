// The Foil Engine runtime module: the game-instance subsystem, the Blueprint async actions and
// the USTRUCTs, over the C++17 wrapper include/foil.hpp of FoilEngineLibrary.

using UnrealBuildTool;

public class FoilEngine : ModuleRules
{
	public FoilEngine(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;

		// Public: FoilNative.h (included by FoilSubsystem.h) includes foil.hpp, so modules that
		// use the subsystem from C++ need FoilEngineLibrary's include path too.
		PublicDependencyModuleNames.AddRange(new string[]
		{
			"Core",
			"CoreUObject",
			"Engine",
			"DeveloperSettings",
			"FoilEngineLibrary",
		});

		// Projects: IPluginManager, to find the plugin's Binaries folder (Windows DLL loading).
		PrivateDependencyModuleNames.AddRange(new string[]
		{
			"Projects",
		});

		// foil.hpp needs C++17 (the UE5 default is C++17 or C++20) and no exceptions: it reports
		// every failure through foil::Result, and FoilNative.h defines FOIL_HPP_NO_EXCEPTIONS.
		bEnableExceptions = false;
	}
}
