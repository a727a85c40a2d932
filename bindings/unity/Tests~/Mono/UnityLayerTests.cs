// Tests of the Unity layer (Runtime/Unity/FoilEngineBehaviour.cs) outside Unity: compiled with
// UNITY_5_3_OR_NEWER and UNITY_EDITOR against UnityStubs.cs (a stand-in for UnityEngine) and
// run under Mono against the real native library and a real foil-server, by
// foil-ffi-tests/tests/unity_mono.rs. The test plays the engine's part the way Unity does it:
// it calls the component's magic methods (OnEnable, Update, OnDisable, OnApplicationQuit) by
// reflection, runs the [RuntimeInitializeOnLoadMethod] / [InitializeOnLoadMethod] methods, and
// raises Application.quitting and AssemblyReloadEvents.beforeAssemblyReload.
//
// What this cannot show is Unity's own behaviour (when it calls these, its
// SynchronizationContext, IL2CPP); it shows that the layer does the right thing when called.
//
// By hand (from the repository root; FOIL_* as for FoilNativeTests.cs):
//   mcs -langversion:7 -define:UNITY_5_3_OR_NEWER -define:UNITY_EDITOR -out:UnityLayerTests.exe \
//       $(find bindings/unity/Runtime bindings/unity/Samples~ -name '*.cs') \
//       bindings/unity/Tests~/Mono/UnityStubs.cs bindings/unity/Tests~/Mono/UnityLayerTests.cs
//   LD_LIBRARY_PATH=target/debug FOIL_BASE_URL=... FOIL_API_KEY=... FOIL_PERSONA_ID=... mono UnityLayerTests.exe
//
// Prints one line per test and, last, "N passed, N failed"; exits 1 on any failure.

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using FoilEngine;
using FoilEngine.Models;
using FoilEngine.Unity;

namespace FoilEngine.Tests
{
    internal static class UnityLayerTests
    {
        private static string _baseUrl;
        private static string _apiKey;
        private static string _personaId;
        private static string _tokenPlayer;
        private static string _freshToken;
        private static int _mainThread;
        private static int _passed;
        private static int _failed;

        private static int Main()
        {
            _mainThread = Thread.CurrentThread.ManagedThreadId;
            _baseUrl = Env("FOIL_BASE_URL");
            _apiKey = Env("FOIL_API_KEY");
            _personaId = Env("FOIL_PERSONA_ID");
            _tokenPlayer = Env("FOIL_TEST_TOKEN_PLAYER");
            _freshToken = Env("FOIL_TEST_FRESH_TOKEN");
            string only = Environment.GetEnvironmentVariable("FOIL_TEST_FILTER");
            var tests = new List<KeyValuePair<string, Action>>
            {
                Case("behaviour_update_pumps_results_on_the_main_thread", UpdatePumps),
                Case("behaviour_on_disable_disposes_and_re_enable_recreates", DisableAndReEnable),
                Case("behaviour_on_application_quit_disposes", ApplicationQuit),
                Case("behaviour_kept_across_scenes_is_the_only_one", KeptAcrossScenes),
                Case("quitting_disposes_every_client", QuittingDisposesAll),
                Case("domain_reload_disposes_every_client", DomainReload),
                Case("behaviour_api_key_refreshes_the_live_client", RefreshToken),
            };
            foreach (KeyValuePair<string, Action> test in tests)
            {
                if (!string.IsNullOrEmpty(only) && !test.Key.Contains(only))
                {
                    continue;
                }
                try
                {
                    test.Value();
                    _passed++;
                    Console.WriteLine("ok     " + test.Key);
                }
                catch (Exception e)
                {
                    _failed++;
                    Console.WriteLine("FAILED " + test.Key + ": " + e);
                }
            }
            Console.WriteLine("{0} passed, {1} failed", _passed, _failed);
            return _failed == 0 ? 0 : 1;
        }

        // ---- Harness ----

        private static KeyValuePair<string, Action> Case(string name, Action body)
        {
            return new KeyValuePair<string, Action>(name, body);
        }

        private static string Env(string name)
        {
            string value = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(value))
            {
                Console.Error.WriteLine("missing environment variable " + name);
                Console.WriteLine("0 passed, 1 failed");
                Environment.Exit(2);
            }
            return value;
        }

        private static void Check(bool condition, string what)
        {
            if (!condition)
            {
                throw new Exception("check failed: " + what);
            }
        }

        /// <summary>Calls one of the component's magic methods, as the engine does.</summary>
        private static void Message(FoilEngineBehaviour component, string method)
        {
            MethodInfo m = typeof(FoilEngineBehaviour).GetMethod(method, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
            Check(m != null, "FoilEngineBehaviour has " + method + "()");
            try
            {
                m.Invoke(component, null);
            }
            catch (TargetInvocationException e)
            {
                throw e.InnerException;
            }
        }

        /// <summary>What the engine does when a component becomes enabled / disabled.</summary>
        private static void SetEnabled(FoilEngineBehaviour component, bool enabled)
        {
            component.enabled = enabled;
            Message(component, enabled ? "OnEnable" : "OnDisable");
        }

        private static FoilEngineBehaviour NewComponent()
        {
            var component = new FoilEngineBehaviour { ApiKey = _apiKey, BaseUrl = _baseUrl };
            Message(component, "OnEnable");
            return component;
        }

        /// <summary>Frames: the engine's Update() calls until <paramref name="task"/> ends.</summary>
        private static int RunFrames(FoilEngineBehaviour component, Task task, int timeoutMs = 30000)
        {
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
            int frames = 0;
            while (!task.IsCompleted)
            {
                Check(DateTime.UtcNow < deadline, "task completed within " + timeoutMs + " ms of frames");
                Message(component, "Update");
                frames++;
                Thread.Sleep(1);
            }
            return frames;
        }

        /// <summary>Runs the methods the engine runs at start-up, found by their attributes.</summary>
        private static void RunStartupMethods(string attributeName)
        {
            int found = 0;
            foreach (Type type in typeof(FoilEngineBehaviour).Assembly.GetTypes())
            {
                foreach (MethodInfo m in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
                {
                    if (m.GetCustomAttributes(false).Any(a => a.GetType().Name == attributeName))
                    {
                        m.Invoke(null, null);
                        found++;
                    }
                }
            }
            Check(found > 0, "a [" + attributeName + "] method exists");
        }

        /// <summary>The native clients' threads (<c>foil-*</c>) alive in this process, from /proc.</summary>
        private static int NativeThreads()
        {
            int count = 0;
            foreach (string task in Directory.GetDirectories("/proc/self/task"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).Trim().StartsWith("foil-", StringComparison.Ordinal))
                    {
                        count++;
                    }
                }
                catch (IOException)
                {
                    // The thread exited meanwhile.
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
            return count;
        }

        /// <summary>Waits until <paramref name="ok"/> holds for the native thread count.</summary>
        private static void WaitForNativeThreads(Func<int, bool> ok, string what, int timeoutMs = 5000)
        {
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
            int now;
            while (!ok(now = NativeThreads()))
            {
                Check(DateTime.UtcNow < deadline, what + " (" + now + " native threads)");
                Thread.Sleep(5);
            }
        }

        // ---- Tests ----

        private static void UpdatePumps()
        {
            FoilEngineBehaviour component = new FoilEngineBehaviour { ApiKey = _apiKey, BaseUrl = _baseUrl };
            FoilEngineClient created = null;
            component.ClientCreated += c => created = c;
            Message(component, "OnEnable");
            FoilEngineClient client = component.Client;
            Check(client != null && ReferenceEquals(created, client), "OnEnable created the client and raised ClientCreated");
            Check(ReferenceEquals(client, component.Client), "Client is the same client while enabled");
            try
            {
                Task<Persona[]> personas = client.Personas.ListAsync();
                Thread.Sleep(300);
                Check(!personas.IsCompleted, "nothing is delivered between frames (no Update, no results)");
                RunFrames(component, personas);
                Check(personas.Result.Any(p => p.Id == _personaId), "Update() delivered the persona list");

                string player = "unity-layer-" + Guid.NewGuid().ToString("N").Substring(0, 12);
                Task<SessionInit> init = client.Chat.InitSessionAsync(_personaId, player, "Alex", "non-binary");
                RunFrames(component, init);
                Task<SessionStatus> status = client.Chat.GetSessionAsync(_personaId, player);
                RunFrames(component, status);
                var threads = new List<int>();
                int states = 0;
                int scores = 0;
                string text = "";
                client.OnStateChange += e => { threads.Add(Thread.CurrentThread.ManagedThreadId); states++; };
                client.OnScoreChange += e => { threads.Add(Thread.CurrentThread.ManagedThreadId); scores++; };
                Task<ChatResponse> reply = client.Chat.SendMessageStreamAsync(
                    _personaId, "Morning! What's good here today?", player,
                    onTextDelta: t => { threads.Add(Thread.CurrentThread.ManagedThreadId); text += t; });
                RunFrames(component, reply);
                ChatResponse r = reply.Result;
                Check(r != null && r.Message == text, "streamed deltas concatenate to the reply");
                Check((states == 1) == (r.CurrentState != status.Result.CurrentState), "a state change event iff the state changed");
                Check((scores == 1) == (r.Score != status.Result.Score), "a score change event iff the score changed");
                Check(threads.Count > 0 && threads.All(t => t == _mainThread), "callbacks and events ran on the thread calling Update()");
            }
            finally
            {
                SetEnabled(component, false);
            }
        }

        private static void DisableAndReEnable()
        {
            int baseline = NativeThreads();
            FoilEngineBehaviour component = NewComponent();
            FoilEngineClient first = component.Client;
            WaitForNativeThreads(n => n > baseline, "the client's native threads start");
            Task<ChatResponse> inFlight = first.Chat.SendMessageStreamAsync(
                _personaId, "Hello?", "unity-layer-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            Task<Persona[]> list = first.Personas.ListAsync();
            SetEnabled(component, false);
            Check(first.IsDisposed, "OnDisable disposed the client");
            Check(inFlight.IsCanceled && list.IsCanceled, "requests in flight end as cancelled");
            Check(component.Client == null, "no client while disabled");
            WaitForNativeThreads(n => n == baseline, "OnDisable freed the native client");
            Message(component, "Update"); // harmless while disabled

            SetEnabled(component, true);
            FoilEngineClient second = component.Client;
            Check(second != null && !ReferenceEquals(first, second) && !second.IsDisposed, "re-enabling creates a new client");
            Task<Persona[]> personas = second.Personas.ListAsync();
            RunFrames(component, personas);
            Check(personas.Result.Length > 0, "the new client works");
            SetEnabled(component, false);
            Check(second.IsDisposed, "disposed again");
            WaitForNativeThreads(n => n == baseline, "the second native client was freed too");
        }

        private static void KeptAcrossScenes()
        {
            var first = new FoilEngineBehaviour { ApiKey = _apiKey, BaseUrl = _baseUrl, KeepAcrossScenes = true };
            first.transform.SetParent(new UnityEngine.Transform(), false);
            Message(first, "Awake");
            Check(ReferenceEquals(FoilEngineBehaviour.Persistent, first), "the first one is kept");
            Check(UnityEngine.Object.StubKept.Contains(first.gameObject), "its GameObject is DontDestroyOnLoad");
            Check(first.transform.parent == null, "moved to the scene root (DontDestroyOnLoad keeps roots only)");

            // The first scene loads again: its component arrives a second time.
            var second = new FoilEngineBehaviour { ApiKey = _apiKey, BaseUrl = _baseUrl, KeepAcrossScenes = true };
            Message(second, "Awake");
            Check(UnityEngine.Object.StubDestroyed.Contains(second.gameObject), "the second one's GameObject is destroyed");
            Check(ReferenceEquals(FoilEngineBehaviour.Persistent, first), "the first one stays");

            var plain = new FoilEngineBehaviour { ApiKey = _apiKey, BaseUrl = _baseUrl };
            Message(plain, "Awake");
            Check(!UnityEngine.Object.StubKept.Contains(plain.gameObject) && !UnityEngine.Object.StubDestroyed.Contains(plain.gameObject),
                "one without the option belongs to its scene");

            Message(first, "OnDestroy");
            Check(FoilEngineBehaviour.Persistent == null, "forgotten once destroyed");
        }

        private static void ApplicationQuit()
        {
            int baseline = NativeThreads();
            FoilEngineBehaviour component = NewComponent();
            FoilEngineClient client = component.Client;
            Task<Persona[]> pending = client.Personas.ListAsync();
            Message(component, "OnApplicationQuit");
            Check(client.IsDisposed, "OnApplicationQuit disposed the client");
            Check(pending.IsCanceled, "its request ended as cancelled");
            WaitForNativeThreads(n => n == baseline, "OnApplicationQuit freed the native client");
            SetEnabled(component, false); // Unity disables components after quitting: still fine
        }

        private static void QuittingDisposesAll()
        {
            RunStartupMethods("RuntimeInitializeOnLoadMethodAttribute");
            RunStartupMethods("RuntimeInitializeOnLoadMethodAttribute"); // twice: one subscription
            int baseline = NativeThreads();
            var own = new FoilEngineClient(_apiKey, _baseUrl);
            FoilEngineBehaviour component = NewComponent();
            FoilEngineClient fromComponent = component.Client;
            Task<Persona[]> pending = own.Personas.ListAsync();
            UnityEngine.Application.StubQuit();
            Check(own.IsDisposed, "a client made by game code is disposed on Application.quitting");
            Check(fromComponent.IsDisposed, "the component's client too");
            Check(pending.IsCanceled, "requests in flight end as cancelled");
            WaitForNativeThreads(n => n == baseline, "quitting freed both native clients");
            SetEnabled(component, false);
        }

        private static void DomainReload()
        {
            RunStartupMethods("InitializeOnLoadMethodAttribute");
            int baseline = NativeThreads();
            var own = new FoilEngineClient(_apiKey, _baseUrl);
            FoilEngineBehaviour component = NewComponent();
            FoilEngineClient fromComponent = component.Client;
            Task<Persona[]> pending = fromComponent.Personas.ListAsync();
            UnityEditor.AssemblyReloadEvents.StubBeforeAssemblyReload();
            Check(own.IsDisposed, "a client made by game code is disposed before a domain reload");
            Check(fromComponent.IsDisposed, "the component's client too");
            Check(pending.IsCanceled, "requests in flight end as cancelled");
            WaitForNativeThreads(n => n == baseline, "the reload freed both native clients");
            // After the reload the engine enables the component again: a fresh client.
            SetEnabled(component, false);
            SetEnabled(component, true);
            FoilEngineClient fresh = component.Client;
            Task<Persona[]> personas = fresh.Personas.ListAsync();
            RunFrames(component, personas);
            Check(personas.Result.Length > 0, "a client created after the reload works");
            SetEnabled(component, false);
        }

        private static void RefreshToken()
        {
            // As docs/player-tokens-engines.md shows: the component starts on a token about to
            // expire; the handler passes a fresh one through ApiKey; the same client goes on.
            long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            string soon = "pt_" + Base64Url("{\"alg\":\"HS256\"}") + "."
                + Base64Url("{\"iat\":" + now + ",\"exp\":" + (now + 2) + "}") + ".c2ln";
            var component = new FoilEngineBehaviour { ApiKey = soon, BaseUrl = _baseUrl };
            var threads = new List<int>();
            component.ClientCreated += c => c.OnCredentialExpiring += expiresAt =>
            {
                threads.Add(Thread.CurrentThread.ManagedThreadId);
                component.ApiKey = _freshToken;
            };
            Message(component, "OnEnable");
            FoilEngineClient client = component.Client;
            try
            {
                var refreshed = new TaskCompletionSource<bool>();
                client.OnCredentialExpiring += e => refreshed.TrySetResult(true);
                RunFrames(component, refreshed.Task, 10000);
                Check(threads.Count == 1 && threads[0] == _mainThread, "the handler ran once, in Update()");
                Check(component.ApiKey == _freshToken, "the component keeps the new key");
                Task<MachineInfo[]> machines = client.Machines.ListAsync(_personaId, _tokenPlayer);
                RunFrames(component, machines);
                Check(machines.Result.Length > 0, "the same client works with the fresh token");
                Check(ReferenceEquals(client, component.Client), "no new client was made");
            }
            finally
            {
                SetEnabled(component, false);
            }
        }

        private static string Base64Url(string text)
        {
            return Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        }
    }
}
