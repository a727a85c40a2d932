// Gives a Foil Engine native library copied into the project — for example
// Assets/Plugins/FoilEngine/Linux/x86_64/libfoil.so, next to a package installed from a git URL,
// whose folder is read-only — the same import settings as the package's own libraries, the first
// time it is imported. A library that has settings already (the package's committed .meta files,
// or settings changed in the Inspector) is left alone.

using System;
using UnityEditor;

namespace FoilEngine.Editor
{
    internal sealed class NativePluginImport : AssetPostprocessor
    {
        private void OnPreprocessAsset()
        {
            PluginImporter importer = assetImporter as PluginImporter;
            if (importer == null || !importer.importSettingsMissing)
            {
                return;
            }
            NativePluginTarget[] targets = NativePluginLayout.For(assetPath);
            if (targets == null)
            {
                return;
            }
            importer.ClearSettings();
            importer.SetCompatibleWithAnyPlatform(false);
            foreach (NativePluginTarget target in targets)
            {
                if (target.BuildTarget == null)
                {
                    importer.SetCompatibleWithEditor(true);
                    importer.SetEditorData("OS", target.EditorOs);
                    importer.SetEditorData("CPU", target.Cpu);
                }
                else
                {
                    BuildTarget buildTarget = (BuildTarget)Enum.Parse(typeof(BuildTarget), target.BuildTarget);
                    importer.SetCompatibleWithPlatform(buildTarget, true);
                    importer.SetPlatformData(buildTarget, "CPU", target.Cpu);
                }
            }
        }
    }
}
