#if UNITY_5_3_OR_NEWER
using System;
using UnityEngine;

namespace FoilEngine.Unity
{
    /// <summary>
    /// Owns a <see cref="FoilEngineClient"/> for a scene: creates it from the inspector settings
    /// when enabled, calls <see cref="FoilEngineClient.Pump"/> every frame in <c>Update()</c> (so
    /// tasks, stream callbacks and game events all arrive on the main thread), and disposes it
    /// on <c>OnDisable</c> (without waiting for native threads), on quit and before a domain
    /// reload (in the editor). With <see cref="KeepAcrossScenes"/> it lives on through scene
    /// loads (<c>DontDestroyOnLoad</c>), one per game.
    /// </summary>
    [AddComponentMenu("Foil Engine/Foil Engine Client")]
    [DisallowMultipleComponent]
    [DefaultExecutionOrder(-100)]
    public class FoilEngineBehaviour : MonoBehaviour
    {
        [Tooltip("The game's API key (pk_live_...) or a player token (pt_...). Prefer setting it from code (a player token from your backend) in shipped builds.")]
        [SerializeField] private string apiKey = "";

        [Tooltip("The Foil Engine server, e.g. http://127.0.0.1:8000 for a local one.")]
        [SerializeField] private string baseUrl = FoilEngineClientOptions.DefaultBaseUrl;

        [Tooltip("Time limit of each attempt of a request, in seconds.")]
        [SerializeField] private int timeout = 30;

        [Tooltip("Time limit of a whole streamed reply, in seconds.")]
        [SerializeField] private int streamTimeout = 120;

        [Tooltip("Retries on 429/5xx and connection failures.")]
        [SerializeField] private int maxRetries = 3;

        [Tooltip("X-LLM-API-Key: your LLM provider key (optional).")]
        [SerializeField] private string llmApiKey = "";

        [Tooltip("X-LLM-Model, e.g. openai/gpt-4o-mini (optional).")]
        [SerializeField] private string llmModel = "";

        [Tooltip("Keep this object (and its client, with its sessions' requests in flight) when another scene loads. Put the component on a GameObject of its own: the whole GameObject is kept, and a second one arriving with a reloaded scene is destroyed.")]
        [SerializeField] private bool keepAcrossScenes;

        private FoilEngineClient _client;

        /// <summary>The component kept across scene loads, if one is (see <see cref="KeepAcrossScenes"/>).</summary>
        public static FoilEngineBehaviour Persistent { get; private set; }

        /// <summary>
        /// Whether the component survives scene loads: set it in the inspector or before
        /// <c>Awake</c> runs. The first such component is kept (<c>DontDestroyOnLoad</c>, its
        /// GameObject moved to the scene root) and reachable as <see cref="Persistent"/>; the
        /// GameObject of any later one is destroyed, so reloading the first scene does not
        /// create a second client.
        /// </summary>
        public bool KeepAcrossScenes
        {
            get { return keepAcrossScenes; }
            set { keepAcrossScenes = value; }
        }

        /// <summary>Raised on the main thread each time a new client is created (subscribe its events here).</summary>
        public event Action<FoilEngineClient> ClientCreated;

        /// <summary>
        /// The client, created on first use while the component is enabled; null when the
        /// component is disabled. A new client is created after each re-enable.
        /// </summary>
        public FoilEngineClient Client
        {
            get
            {
                if ((_client == null || _client.IsDisposed) && isActiveAndEnabled)
                {
                    CreateClient();
                }
                return _client;
            }
        }

        /// <summary>
        /// The API key or player token the client is created with; set it before the component
        /// is enabled. Set while a client exists (a refreshed player token, from a
        /// <see cref="FoilEngineClient.OnCredentialExpiring"/> handler), it is passed on with
        /// <see cref="FoilEngineClient.SetApiKey"/>.
        /// </summary>
        public string ApiKey
        {
            get { return apiKey; }
            set
            {
                if (_client != null && !_client.IsDisposed)
                {
                    _client.SetApiKey(value);
                }
                apiKey = value;
            }
        }

        /// <summary>The inspector's server URL; set it before the component is enabled.</summary>
        public string BaseUrl
        {
            get { return baseUrl; }
            set { baseUrl = value; }
        }

        /// <summary>The options the client is created with (override to add LLM settings).</summary>
        protected virtual FoilEngineClientOptions BuildOptions()
        {
            return new FoilEngineClientOptions
            {
                ApiKey = apiKey,
                BaseUrl = string.IsNullOrWhiteSpace(baseUrl) ? FoilEngineClientOptions.DefaultBaseUrl : baseUrl.Trim(),
                Timeout = timeout,
                StreamTimeout = streamTimeout,
                MaxRetries = maxRetries,
                LlmApiKey = string.IsNullOrEmpty(llmApiKey) ? null : llmApiKey,
                LlmModel = string.IsNullOrEmpty(llmModel) ? null : llmModel,
            };
        }

        /// <summary>Keeps the first component that asks for it across scene loads.</summary>
        protected virtual void Awake()
        {
            if (!keepAcrossScenes)
            {
                return;
            }
            if (Persistent != null && !ReferenceEquals(Persistent, this))
            {
                Destroy(gameObject);
                return;
            }
            Persistent = this;
            if (transform.parent != null)
            {
                transform.SetParent(null, false); // DontDestroyOnLoad keeps root objects only
            }
            DontDestroyOnLoad(gameObject);
        }

        /// <summary>Forgets the kept component when it is destroyed.</summary>
        protected virtual void OnDestroy()
        {
            if (ReferenceEquals(Persistent, this))
            {
                Persistent = null;
            }
        }

        /// <summary>Creates the client when the API key is already known.</summary>
        protected virtual void OnEnable()
        {
#if UNITY_EDITOR
            UnityEditor.AssemblyReloadEvents.beforeAssemblyReload += DisposeClient;
#endif
            if (!string.IsNullOrWhiteSpace(apiKey) && _client == null)
            {
                CreateClient();
            }
        }

        /// <summary>Delivers the client's results on the main thread.</summary>
        protected virtual void Update()
        {
            if (_client != null)
            {
                _client.Pump();
            }
        }

        /// <summary>Frees the native client without waiting for its threads (a scene change
        /// must not stall a frame); pending tasks end as cancelled.</summary>
        protected virtual void OnDisable()
        {
#if UNITY_EDITOR
            UnityEditor.AssemblyReloadEvents.beforeAssemblyReload -= DisposeClient;
#endif
            if (_client != null)
            {
                _client.DisposeWithoutWaiting();
                _client = null;
            }
        }

        /// <summary>Frees the native client before the player quits.</summary>
        protected virtual void OnApplicationQuit()
        {
            DisposeClient();
        }

        private void CreateClient()
        {
            _client = new FoilEngineClient(BuildOptions());
            Action<FoilEngineClient> created = ClientCreated;
            if (created != null)
            {
                created(_client);
            }
        }

        private void DisposeClient()
        {
            if (_client != null)
            {
                _client.Dispose();
                _client = null;
            }
        }
    }

    /// <summary>
    /// Frees every <see cref="FoilEngineClient"/> (including ones created outside a
    /// <see cref="FoilEngineBehaviour"/>) when the application quits — in the editor, when Play
    /// mode ends — and before a domain reload, so no native client outlives its scripts.
    /// </summary>
    internal static class FoilEngineLifecycle
    {
        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.SubsystemRegistration)]
        private static void OnRuntimeStart()
        {
            Application.quitting -= FoilEngineClient.DisposeAll;
            Application.quitting += FoilEngineClient.DisposeAll;
        }

#if UNITY_EDITOR
        [UnityEditor.InitializeOnLoadMethod]
        private static void OnEditorLoad()
        {
            UnityEditor.AssemblyReloadEvents.beforeAssemblyReload -= FoilEngineClient.DisposeAll;
            UnityEditor.AssemblyReloadEvents.beforeAssemblyReload += FoilEngineClient.DisposeAll;
        }
#endif
    }
}
#endif
