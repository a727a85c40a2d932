// The Foil Engine native plugin (libfoil, built from foil-ffi) as an external module: its C
// header and C++17 wrapper, and the prebuilt library for each platform. Nothing here is
// compiled by UnrealBuildTool; README.md says where each file comes from.

using System.IO;
using UnrealBuildTool;

public class FoilEngineLibrary : ModuleRules
{
	public FoilEngineLibrary(ReadOnlyTargetRules Target) : base(Target)
	{
		Type = ModuleType.External;

		// include/foil.h (C ABI) and include/foil.hpp (header-only C++17 wrapper), copied from
		// the repository's include/. A system include path keeps the engine's stricter
		// warnings away from code that is not ours to change here.
		PublicSystemIncludePaths.Add(Path.Combine(ModuleDirectory, "include"));

		// Binaries/<Platform>/ as UnrealTargetPlatform spells it (Win64, Mac, Linux, Android, IOS).
		string PlatformDir = Path.Combine(ModuleDirectory, "Binaries", Target.Platform.ToString());
		string StagedDir = "$(PluginDir)/Source/ThirdParty/FoilEngineLibrary/Binaries/" + Target.Platform.ToString();

		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			// A Rust cdylib on MSVC is foil.dll plus the import library foil.dll.lib.
			PublicAdditionalLibraries.Add(Require(Path.Combine(PlatformDir, "foil.dll.lib")));

			// Delay-loaded so FFoilEngineModule::StartupModule can load it by full path from the
			// plugin's Binaries/Win64 first (Windows would otherwise only search next to the .exe).
			PublicDelayLoadDLLs.Add("foil.dll");

			// Copied next to the plugin's own DLL at build time and staged with packaged games.
			RuntimeDependencies.Add("$(PluginDir)/Binaries/Win64/foil.dll", Require(Path.Combine(PlatformDir, "foil.dll")));
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			// Weakly linked, loaded by full path from here by FFoilEngineModule::StartupModule,
			// and staged into the .app. Its install name must be @rpath/libfoil.dylib (README.md).
			string Dylib = Require(Path.Combine(PlatformDir, "libfoil.dylib"));
			PublicDelayLoadDLLs.Add(Dylib);
			RuntimeDependencies.Add(StagedDir + "/libfoil.dylib");
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			// Linked by path, found at run time through the rpath UBT adds; staged alongside.
			// foil-ffi's build.rs gives it the SONAME "libfoil.so", so the game records that,
			// not this machine's path, as its dependency.
			string SharedObject = Require(Path.Combine(PlatformDir, "libfoil.so"));
			PublicAdditionalLibraries.Add(SharedObject);
			PublicDelayLoadDLLs.Add(SharedObject);
			RuntimeDependencies.Add(StagedDir + "/libfoil.so");
		}
		else if (Target.Platform == UnrealTargetPlatform.Android)
		{
			// One libfoil.so per ABI. The Android toolchain links each architecture only with the
			// libraries whose folder names that architecture (arm64-v8a, x86_64), so both can be
			// listed. FoilEngineLibrary_APL.xml packs the matching one into the APK/AAB.
			foreach (string Abi in new string[] { "arm64-v8a", "x86_64" })
			{
				PublicAdditionalLibraries.Add(Require(Path.Combine(PlatformDir, Abi, "libfoil.so")));
			}
			AdditionalPropertiesForReceipt.Add("AndroidPlugin", Path.Combine(ModuleDirectory, "FoilEngineLibrary_APL.xml"));
		}
		else if (Target.Platform == UnrealTargetPlatform.IOS)
		{
			// iOS apps may not load their own dylibs: the Rust staticlib is linked into the game.
			// Its HTTP/TLS stack needs these system frameworks.
			PublicAdditionalLibraries.Add(Require(Path.Combine(PlatformDir, "libfoil.a")));
			PublicFrameworks.AddRange(new string[] { "Security", "SystemConfiguration", "CoreFoundation" });
		}
	}

	// Fails the build with a pointer to the instructions, rather than with a linker error.
	private static string Require(string FilePath)
	{
		if (!File.Exists(FilePath))
		{
			throw new BuildException(
				"FoilEngine: " + FilePath + " is missing. Build libfoil (cargo build --release -p foil-ffi) " +
				"and copy it there; see FoilEngine/Source/ThirdParty/FoilEngineLibrary/README.md.");
		}
		return FilePath;
	}
}
