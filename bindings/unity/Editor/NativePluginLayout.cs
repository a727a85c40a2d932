// Where each Foil Engine native library goes and which platforms it serves: the one table
// behind the package's committed Plugins/**/*.meta files (foil-ffi-tests/tests/unity_mono.rs
// checks that they agree) and behind NativePluginImport, which gives a copy of a library
// outside the package the same settings. Plain C#, no UnityEditor types, so the test can run it.

namespace FoilEngine.Editor
{
    /// <summary>One platform a native library is enabled for, named as in its import settings.</summary>
    public sealed class NativePluginTarget
    {
        /// <summary>The settings group: <c>Editor</c>, <c>Standalone</c>, <c>Android</c> or <c>iPhone</c>.</summary>
        public readonly string Group;

        /// <summary>The platform in the group: <c>Editor</c>, <c>Linux64</c>, <c>Win64</c>, <c>OSXUniversal</c>, <c>Android</c> or <c>iOS</c>.</summary>
        public readonly string Platform;

        /// <summary>The <c>UnityEditor.BuildTarget</c> name; null for the Editor.</summary>
        public readonly string BuildTarget;

        /// <summary>The CPU setting: <c>x86_64</c>, <c>AnyCPU</c>, <c>ARM64</c>, <c>ARMv7</c> or <c>X86_64</c>.</summary>
        public readonly string Cpu;

        /// <summary>The Editor's OS setting (<c>Linux</c>, <c>Windows</c>, <c>OSX</c>); null for players.</summary>
        public readonly string EditorOs;

        private NativePluginTarget(string group, string platform, string buildTarget, string cpu, string editorOs)
        {
            Group = group;
            Platform = platform;
            BuildTarget = buildTarget;
            Cpu = cpu;
            EditorOs = editorOs;
        }

        internal static NativePluginTarget Editor(string os, string cpu)
        {
            return new NativePluginTarget("Editor", "Editor", null, cpu, os);
        }

        internal static NativePluginTarget Player(string group, string platform, string buildTarget, string cpu)
        {
            return new NativePluginTarget(group, platform, buildTarget, cpu, null);
        }
    }

    /// <summary>The Foil Engine native libraries, by path below a plugins folder.</summary>
    public static class NativePluginLayout
    {
        /// <summary>Each library's path below <c>Plugins/</c> (the package's) or below
        /// <c>Assets/Plugins/FoilEngine/</c> (a copy), with the platforms it serves.</summary>
        public static readonly string[] Paths =
        {
            "Linux/x86_64/libfoil.so",
            "Windows/x86_64/foil.dll",
            "macOS/libfoil.dylib",
            "iOS/libfoil.a",
            "Android/arm64-v8a/libfoil.so",
            "Android/armeabi-v7a/libfoil.so",
            "Android/x86_64/libfoil.so",
        };

        /// <summary>The platforms of the library at <paramref name="assetPath"/> (any prefix,
        /// either slash), or null when it is not one of the paths in <see cref="Paths"/>.</summary>
        public static NativePluginTarget[] For(string assetPath)
        {
            string path = assetPath.Replace('\\', '/');
            if (Ends(path, Paths[0]))
            {
                return new[]
                {
                    NativePluginTarget.Editor("Linux", "x86_64"),
                    NativePluginTarget.Player("Standalone", "Linux64", "StandaloneLinux64", "x86_64"),
                };
            }
            if (Ends(path, Paths[1]))
            {
                return new[]
                {
                    NativePluginTarget.Editor("Windows", "x86_64"),
                    NativePluginTarget.Player("Standalone", "Win64", "StandaloneWindows64", "x86_64"),
                };
            }
            if (Ends(path, Paths[2]))
            {
                return new[]
                {
                    NativePluginTarget.Editor("OSX", "AnyCPU"),
                    NativePluginTarget.Player("Standalone", "OSXUniversal", "StandaloneOSX", "AnyCPU"),
                };
            }
            if (Ends(path, Paths[3]))
            {
                // Linked statically into the Xcode project; the C# reaches it through "__Internal".
                return new[] { NativePluginTarget.Player("iPhone", "iOS", "iOS", "ARM64") };
            }
            if (Ends(path, Paths[4]))
            {
                return new[] { NativePluginTarget.Player("Android", "Android", "Android", "ARM64") };
            }
            if (Ends(path, Paths[5]))
            {
                return new[] { NativePluginTarget.Player("Android", "Android", "Android", "ARMv7") };
            }
            if (Ends(path, Paths[6]))
            {
                return new[] { NativePluginTarget.Player("Android", "Android", "Android", "X86_64") };
            }
            return null;
        }

        private static bool Ends(string path, string suffix)
        {
            return path == suffix || path.EndsWith("/" + suffix, System.StringComparison.Ordinal);
        }
    }
}
