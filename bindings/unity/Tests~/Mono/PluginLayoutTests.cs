// Prints Editor/NativePluginLayout.cs's table, one line per enabled platform, in the shape
// foil-ffi-tests/tests/unity_mono.rs builds from the committed Plugins/**/*.meta files:
//   <path>|<Group>: <Platform>|CPU=<cpu>|OS=<os or ->
// and checks the path matching (exit code 1 on a failure).

using System;
using FoilEngine.Editor;

public static class PluginLayoutTests
{
    public static int Main()
    {
        int failures = 0;
        foreach (string path in NativePluginLayout.Paths)
        {
            foreach (NativePluginTarget t in NativePluginLayout.For(path))
            {
                Console.WriteLine(path + "|" + t.Group + ": " + t.Platform + "|CPU=" + t.Cpu + "|OS=" + (t.EditorOs ?? "-"));
            }
            // A copy outside the package, with Windows separators, is recognised too.
            string copy = "Assets\\Plugins\\FoilEngine\\" + path.Replace('/', '\\');
            if (NativePluginLayout.For(copy) == null)
            {
                Console.Error.WriteLine("FAIL: not recognised: " + copy);
                failures++;
            }
        }
        foreach (string other in new[] { "Assets/Plugins/libfoil.so", "Assets/Plugins/x/libfoil2.so", "Assets/Linux/x86_64/libother.so" })
        {
            if (NativePluginLayout.For(other) != null)
            {
                Console.Error.WriteLine("FAIL: recognised: " + other);
                failures++;
            }
        }
        return failures == 0 ? 0 : 1;
    }
}
