// A minimal stand-in for the parts of the UnityEngine / UnityEditor API that the Unity layer
// (Runtime/Unity) and the sample (Samples~/BasicChat) use, so foil-ffi-tests/tests/unity_mono.rs
// can compile them with mcs (UNITY_5_3_OR_NEWER, plus UNITY_EDITOR or UNITY_IOS) and run the
// Unity layer's lifecycle in UnityLayerTests.cs. The signatures follow Unity's and the bodies do
// nothing, except the members marked "stub only", which let the test play the engine's part
// (enable/disable a component, end Play mode, reload the domain). Extend it when the Unity
// layer uses more. Never shipped: Unity ignores folders whose names end in "~".

using System;

namespace UnityEngine
{
    public class Object
    {
        /// <summary>Stub only: the objects passed to DontDestroyOnLoad / Destroy so far.</summary>
        public static readonly System.Collections.Generic.List<Object> StubKept = new System.Collections.Generic.List<Object>();
        public static readonly System.Collections.Generic.List<Object> StubDestroyed = new System.Collections.Generic.List<Object>();

        public static void DontDestroyOnLoad(Object target) { StubKept.Add(target); }
        public static void Destroy(Object obj) { StubDestroyed.Add(obj); }
    }

    public sealed class GameObject : Object
    {
        public GameObject() { transform = new Transform(); }
        public Transform transform { get; private set; }
    }

    public class Transform : Object
    {
        public Transform parent { get; set; }
        public void SetParent(Transform newParent, bool worldPositionStays) { parent = newParent; }
    }

    public class Component : Object
    {
        private GameObject _gameObject;

        public T GetComponent<T>() { return default(T); }

        /// <summary>Stub only: each component gets a GameObject of its own.</summary>
        public GameObject gameObject { get { return _gameObject ?? (_gameObject = new GameObject()); } }

        public Transform transform { get { return gameObject.transform; } }
    }

    public class Behaviour : Component
    {
        private bool _enabled = true;

        public bool enabled { get { return _enabled; } set { _enabled = value; } }

        public bool isActiveAndEnabled { get { return _enabled; } }
    }

    public class MonoBehaviour : Behaviour { }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute { }

    public sealed class TooltipAttribute : Attribute
    {
        public TooltipAttribute(string tooltip) { }
    }

    public sealed class AddComponentMenu : Attribute
    {
        public AddComponentMenu(string menuName) { }
    }

    public sealed class DisallowMultipleComponent : Attribute { }

    public sealed class DefaultExecutionOrder : Attribute
    {
        public DefaultExecutionOrder(int order) { }
    }

    public sealed class RequireComponent : Attribute
    {
        public RequireComponent(Type requiredComponent) { }
    }

    public enum RuntimeInitializeLoadType { AfterSceneLoad, BeforeSceneLoad, AfterAssembliesLoaded, BeforeSplashScreen, SubsystemRegistration }

    public sealed class RuntimeInitializeOnLoadMethodAttribute : Attribute
    {
        public RuntimeInitializeOnLoadMethodAttribute(RuntimeInitializeLoadType loadType) { }
    }

    public static class Application
    {
        public static event Action quitting;

        /// <summary>Stub only: what the engine does when the player quits or Play mode ends.</summary>
        public static void StubQuit()
        {
            Action handlers = quitting;
            if (handlers != null)
            {
                handlers();
            }
        }
    }

    public struct Rect
    {
        public Rect(float x, float y, float width, float height) { }
    }

    public struct Vector2 { }

    public static class Screen
    {
        public static int width { get { return 0; } }
        public static int height { get { return 0; } }
    }

    public enum EventType { KeyDown }

    public enum KeyCode { Return }

    public class Event
    {
        public static Event current { get { return null; } }
        public EventType type { get { return EventType.KeyDown; } }
        public KeyCode keyCode { get { return KeyCode.Return; } }
    }

    public sealed class GUILayoutOption { }

    public static class GUILayout
    {
        public static void BeginArea(Rect screenRect) { }
        public static void EndArea() { }
        public static Vector2 BeginScrollView(Vector2 scrollPosition, params GUILayoutOption[] options) { return scrollPosition; }
        public static void EndScrollView() { }
        public static void Label(string text, params GUILayoutOption[] options) { }
        public static void BeginHorizontal(params GUILayoutOption[] options) { }
        public static void EndHorizontal() { }
        public static string TextField(string text, int maxLength, params GUILayoutOption[] options) { return text; }
        public static bool Button(string text, params GUILayoutOption[] options) { return false; }
        public static GUILayoutOption ExpandWidth(bool expand) { return null; }
        public static GUILayoutOption Width(float width) { return null; }
    }
}

namespace UnityEditor
{
    public static class AssemblyReloadEvents
    {
        public delegate void AssemblyReloadCallback();

        public static event AssemblyReloadCallback beforeAssemblyReload;

        /// <summary>Stub only: what the editor does before it reloads the scripting domain.</summary>
        public static void StubBeforeAssemblyReload()
        {
            AssemblyReloadCallback handlers = beforeAssemblyReload;
            if (handlers != null)
            {
                handlers();
            }
        }
    }

    public sealed class InitializeOnLoadMethodAttribute : Attribute { }

    public enum BuildTarget
    {
        StandaloneOSX = 2,
        iOS = 9,
        Android = 13,
        StandaloneWindows64 = 19,
        StandaloneLinux64 = 24,
    }

    public class AssetImporter : UnityEngine.Object
    {
        public bool importSettingsMissing { get { return true; } }
    }

    public class PluginImporter : AssetImporter
    {
        public void ClearSettings() { }
        public void SetCompatibleWithAnyPlatform(bool enable) { }
        public void SetCompatibleWithEditor(bool enable) { }
        public void SetEditorData(string key, string value) { }
        public void SetCompatibleWithPlatform(BuildTarget platform, bool enable) { }
        public void SetPlatformData(BuildTarget platform, string key, string value) { }
    }

    public class AssetPostprocessor
    {
        public AssetImporter assetImporter { get { return null; } }
        public string assetPath { get { return ""; } }
    }
}
