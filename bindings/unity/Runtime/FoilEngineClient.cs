using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using FoilEngine.Events;
using FoilEngine.Internal;
using FoilEngine.Models;
using FoilEngine.Native;
using FoilEngine.Web;

namespace FoilEngine
{
    /// <summary>
    /// The Foil Engine client for Unity (and any .NET host), backed by the native plugin
    /// (<c>libfoil</c>) — or, in WebGL players, by the browser's <c>fetch</c> through the
    /// package's <c>.jslib</c>, with the same behaviour. Its surface mirrors the official Foil
    /// Engine Unity SDK.
    /// </summary>
    /// <remarks>
    /// <para>Requests never block: each method sends its request at once (on the library's own
    /// threads) and returns a <see cref="Task"/>. Results are delivered by <see cref="Pump"/>,
    /// which the game calls once per frame on its main thread (<c>FoilEngineBehaviour</c> does
    /// it in <c>Update()</c>): tasks complete, stream callbacks run and the game events
    /// (<see cref="OnStateChange"/>, ...) fire on the thread that pumps — never on a library
    /// thread. A task therefore completes only while something pumps.</para>
    /// <para>Within one <see cref="Pump"/> a request's stream callbacks run first, then the
    /// game events its response implies, then its task completes.</para>
    /// <para>Dispose the client when done (<c>FoilEngineBehaviour</c> does on disable, quit and
    /// before a domain reload): the native client is freed, its requests are cancelled and
    /// their tasks end as cancelled.</para>
    /// </remarks>
    /// <example>
    /// <code>
    /// var client = new FoilEngineClient("pk_live_...", baseUrl: "http://127.0.0.1:8000");
    /// // every frame: client.Pump();
    /// Persona[] personas = await client.Personas.ListAsync();
    /// SessionInit session = await client.Chat.InitSessionAsync(personas[0].Id, "player-001", "Alex", "non-binary");
    /// ChatResponse reply = await client.Chat.SendMessageAsync(personas[0].Id, "Hello!", "player-001");
    /// </code>
    /// </example>
    public sealed class FoilEngineClient : IDisposable
    {
        private static readonly List<WeakReference> Live = new List<WeakReference>();

        private readonly IRequestBackend _backend;
        private readonly object _gate = new object();
        private readonly Dictionary<ulong, PendingRequest> _pending = new Dictionary<ulong, PendingRequest>();
        private readonly List<ReceivedEvent> _batch = new List<ReceivedEvent>();
        private readonly List<Action> _completions = new List<Action>();
        private readonly WeakReference _self;
        private volatile bool _disposed;
        private bool _pumping;

        /// <summary>The published personas the API key reaches.</summary>
        public PersonasResource Personas { get; private set; }

        /// <summary>The machines (scenarios) a player can play.</summary>
        public MachinesResource Machines { get; private set; }

        /// <summary>Sessions and messages.</summary>
        public ChatResource Chat { get; private set; }

        /// <summary>The conversation moved to another state (after a message; for the first turn
        /// of a session only if <c>Chat.GetSessionAsync</c> or <c>GetHistoryAsync</c> ran after init).</summary>
        public event Action<StateChangeEvent> OnStateChange;

        /// <summary>The session's score changed.</summary>
        public event Action<ScoreChangeEvent> OnScoreChange;

        /// <summary>A conversation reached a terminal state.</summary>
        public event Action<MachineCompletedEvent> OnMachineCompleted;

        /// <summary>Finishing a machine made new machines available.</summary>
        public event Action<MachinesUnlockedEvent> OnMachinesUnlocked;

        /// <summary>A session received its outcome (ACCEPT, REJECT, KICK_OUT) and accepts no more messages.</summary>
        public event Action<SessionEndedEvent> OnSessionEnded;

        /// <summary>
        /// The player token in use expires at the given time: get a new one from your backend
        /// and pass it to <see cref="SetApiKey"/>. Raised by <see cref="Pump"/> on the main
        /// thread, once per token, <c>min(60 s, lifetime / 10)</c> before it expires (at the next
        /// pump if that moment has passed already); never for an API key.
        /// </summary>
        public event Action<DateTimeOffset> OnCredentialExpiring;

        /// <summary>
        /// Creates a client. Parameters as in the official SDK: <paramref name="timeout"/> and
        /// <paramref name="cacheTtl"/> in seconds. Throws <see cref="ArgumentException"/> for an
        /// empty <paramref name="apiKey"/> or a base URL that is not http(s), and
        /// <see cref="DllNotFoundException"/> when the native library is not installed (never in
        /// a WebGL player, which needs none).
        /// </summary>
        public FoilEngineClient(
            string apiKey,
            string baseUrl = FoilEngineClientOptions.DefaultBaseUrl,
            int timeout = 30,
            int maxRetries = 3,
            string llmApiKey = null,
            string llmModel = null,
            string llmEvalModel = null,
            string llmResponseModel = null,
            string llmSummarizationModel = null,
            string llmEvalApiKey = null,
            string llmResponseApiKey = null,
            string llmSummarizationApiKey = null,
            float cacheTtl = 60f,
            int streamTimeout = 120)
            : this(new FoilEngineClientOptions
            {
                ApiKey = apiKey,
                BaseUrl = baseUrl,
                Timeout = timeout,
                MaxRetries = maxRetries,
                LlmApiKey = llmApiKey,
                LlmModel = llmModel,
                LlmEvalModel = llmEvalModel,
                LlmResponseModel = llmResponseModel,
                LlmSummarizationModel = llmSummarizationModel,
                LlmEvalApiKey = llmEvalApiKey,
                LlmResponseApiKey = llmResponseApiKey,
                LlmSummarizationApiKey = llmSummarizationApiKey,
                CacheTtl = cacheTtl,
                StreamTimeout = streamTimeout,
            })
        {
        }

        /// <summary>Creates a client from <paramref name="options"/> (see the other constructor).</summary>
        public FoilEngineClient(FoilEngineClientOptions options)
            : this(options, DefaultBackend)
        {
        }

        /// <summary>A client over the backend <paramref name="createBackend"/> makes (tests run
        /// the WebGL transport under Mono through this).</summary>
        internal FoilEngineClient(FoilEngineClientOptions options, Func<FoilEngineClientOptions, IRequestBackend> createBackend)
        {
            if (options == null)
            {
                throw new ArgumentNullException("options");
            }
            if (string.IsNullOrWhiteSpace(options.ApiKey))
            {
                throw new ArgumentException("apiKey must be a non-empty string", "apiKey");
            }
            _backend = createBackend(options);
            _self = new WeakReference(this);
            Personas = new PersonasResource(this);
            Machines = new MachinesResource(this);
            Chat = new ChatResource(this);
            lock (Live)
            {
                Live.RemoveAll(w => !w.IsAlive);
                Live.Add(_self);
            }
        }

        /// <summary>The native library's version (e.g. "0.1.0"). Loads the library. In a WebGL
        /// player: the C API version the WebGL transport implements.</summary>
        public static string NativeVersion
        {
#if UNITY_WEBGL && !UNITY_EDITOR
            get { return FoilNative.Version; }
#else
            get { return NativeStrings.FromUtf8(FoilNative.foil_version()); }
#endif
        }

        /// <summary>The backend of this platform: the WebGL transport in WebGL players, the
        /// native plugin everywhere else.</summary>
        private static IRequestBackend DefaultBackend(FoilEngineClientOptions options)
        {
#if UNITY_WEBGL && !UNITY_EDITOR
            return new WebBackend(new JsBridge(), options);
#else
            return new NativeBackend(options);
#endif
        }

        /// <summary>Whether <see cref="Dispose"/> has run.</summary>
        public bool IsDisposed
        {
            get { return _disposed; }
        }

        /// <summary>How many requests have not finished (delivered by <see cref="Pump"/>) yet.</summary>
        public int PendingRequestCount
        {
            get
            {
                lock (_gate)
                {
                    return _pending.Count;
                }
            }
        }

        /// <summary>
        /// Replaces the credential sent as <c>X-API-Key</c>: a fresh player token from your
        /// backend (after <see cref="OnCredentialExpiring"/>), or an API key. Requests sent from
        /// now on use it (those in flight keep the old one), and the new token's expiry is
        /// watched instead of the old one's. Throws <see cref="ArgumentException"/> for an empty
        /// key or one with characters not allowed in an HTTP header (nothing changes then), and
        /// <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>. Any thread.
        /// </summary>
        public void SetApiKey(string apiKey)
        {
            if (_disposed)
            {
                throw new ObjectDisposedException("FoilEngineClient");
            }
            Require(apiKey, "apiKey");
            _backend.SetApiKey(apiKey);
        }

        /// <summary>Checks that the configured LLM key works, optionally for <paramref name="model"/>.</summary>
        public Task<ValidateLlmKeyResult> ValidateLlmKeyAsync(string model = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return Submit(
                Operation.ValidateLlmKey,
                new[] { model },
                new Pending<ValidateLlmKeyResult>(ValidateLlmKeyResult.FromJson),
                cancellationToken);
        }

        /// <summary>
        /// Delivers everything that arrived since the last call: completes tasks, runs stream
        /// callbacks and raises the game events, all on the calling thread. Call it once per
        /// frame from the main thread; it never blocks. Returns the number of native events
        /// handled (0 after <see cref="Dispose"/>, or when called re-entrantly from a handler).
        /// </summary>
        /// <remarks>An exception thrown by a handler or callback does not stop the delivery of
        /// the other events; it is rethrown at the end (several as an <see cref="AggregateException"/>).</remarks>
        public int Pump()
        {
            if (_disposed || _pumping)
            {
                return 0;
            }
            _pumping = true;
            try
            {
                Drain();
                if (_batch.Count == 0)
                {
                    return 0;
                }
                Dispatch();
                return _batch.Count;
            }
            finally
            {
                _batch.Clear();
                _completions.Clear();
                _pumping = false;
            }
        }

        /// <summary>
        /// Frees the native client: in-flight requests are cancelled and their tasks end as
        /// cancelled; nothing is delivered afterwards. Safe to call more than once, from any
        /// thread, and from inside a handler. Waits for the native threads to stop (usually a
        /// few milliseconds; at most about 2 s when a host name lookup is under way): use
        /// <see cref="DisposeWithoutWaiting"/> on the main thread during play.
        /// </summary>
        public void Dispose()
        {
            Dispose(true);
        }

        /// <summary>
        /// Like <see cref="Dispose()"/> — tasks end as cancelled before it returns, nothing is
        /// delivered afterwards — but the native client is freed on a thread-pool thread, so the
        /// caller (the main thread, in the middle of a frame) never waits for native threads.
        /// Not for quitting or a domain reload, where the scripts may be gone before that
        /// thread runs: <see cref="DisposeAll"/> frees synchronously.
        /// </summary>
        public void DisposeWithoutWaiting()
        {
            Dispose(false);
        }

        private void Dispose(bool waitForNative)
        {
            List<PendingRequest> abandoned;
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }
                _disposed = true;
                abandoned = new List<PendingRequest>(_pending.Values);
                _pending.Clear();
            }
            lock (Live)
            {
                Live.Remove(_self);
            }
            _backend.Free(waitForNative);
            foreach (PendingRequest request in abandoned)
            {
                request.Registration.Dispose();
                request.Cancel();
            }
        }

        /// <summary>
        /// Disposes every client not disposed yet (the Unity layer calls it before a domain
        /// reload and on quit, so no native client outlives the scripts that created it).
        /// </summary>
        public static void DisposeAll()
        {
            var clients = new List<FoilEngineClient>();
            lock (Live)
            {
                foreach (WeakReference w in Live)
                {
                    var client = w.Target as FoilEngineClient;
                    if (client != null)
                    {
                        clients.Add(client);
                    }
                }
                Live.Clear();
            }
            foreach (FoilEngineClient client in clients)
            {
                client.Dispose();
            }
        }

        // ---- Requests ----

        internal static void Require(string value, string name)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new ArgumentException(name + " must be a non-empty string", name);
            }
        }

        /// <summary>
        /// Sends a request: starts <paramref name="operation"/> with <paramref name="args"/> on
        /// the backend and registers <paramref name="pending"/> under the returned id. Argument
        /// errors found by the backend throw synchronously.
        /// </summary>
        internal Task<T> Submit<T>(Operation operation, string[] args, Pending<T> pending, CancellationToken cancellationToken)
        {
            if (_disposed)
            {
                throw new ObjectDisposedException("FoilEngineClient");
            }
            if (cancellationToken.IsCancellationRequested)
            {
                var canceled = new TaskCompletionSource<T>();
                canceled.SetCanceled();
                return canceled.Task;
            }
            pending.Token = cancellationToken;
            ulong id;
            // Registered under the same lock Pump takes to look requests up, so a finishing
            // event polled on another thread cannot miss its request.
            lock (_gate)
            {
                if (_disposed)
                {
                    throw new ObjectDisposedException("FoilEngineClient");
                }
                id = _backend.Start(operation, args);
                pending.Id = id;
                _pending.Add(id, pending);
            }
            if (cancellationToken.CanBeCanceled)
            {
                pending.Registration = cancellationToken.Register(CancelRequest, pending);
                lock (_gate)
                {
                    if (!_pending.ContainsKey(id))
                    {
                        // Finished (on a thread pumping meanwhile) before the registration existed.
                        pending.Registration.Dispose();
                    }
                }
            }
            return pending.Task;
        }

        private void CancelRequest(object state)
        {
            var pending = (PendingRequest)state;
            if (_disposed)
            {
                return;
            }
            _backend.Cancel(pending.Id);
        }

        // ---- Delivery ----

        /// <summary>Moves every queued event into <see cref="_batch"/>.</summary>
        private void Drain()
        {
            try
            {
                _backend.Poll(_batch);
            }
            catch (ObjectDisposedException)
            {
                // Disposed on another thread: nothing more to deliver.
            }
        }

        private void Dispatch()
        {
            List<Exception> errors = null;
            foreach (ReceivedEvent ev in _batch)
            {
                if (_disposed)
                {
                    break;
                }
                try
                {
                    DispatchOne(ev);
                }
                catch (Exception e)
                {
                    (errors ?? (errors = new List<Exception>())).Add(e);
                }
            }
            // Tasks complete last: awaiting code resumes after the batch's handlers ran.
            foreach (Action complete in _completions)
            {
                try
                {
                    complete();
                }
                catch (Exception e)
                {
                    (errors ?? (errors = new List<Exception>())).Add(e);
                }
            }
            if (errors != null)
            {
                if (errors.Count == 1)
                {
                    ExceptionDispatchInfo.Capture(errors[0]).Throw();
                }
                throw new AggregateException("Foil Engine event handlers threw", errors);
            }
        }

        private void DispatchOne(ReceivedEvent ev)
        {
            PendingRequest pending;
            switch (ev.Kind)
            {
                case FoilEventKind.Response:
                case FoilEventKind.StreamDone:
                case FoilEventKind.Error:
                    lock (_gate)
                    {
                        if (_pending.TryGetValue(ev.RequestId, out pending))
                        {
                            _pending.Remove(ev.RequestId);
                        }
                    }
                    if (pending != null)
                    {
                        pending.Registration.Dispose();
                        Exception callbackError;
                        _completions.Add(pending.Finish(ev.Kind, ev.HttpStatus, ev.Payload, out callbackError));
                        if (callbackError != null)
                        {
                            ExceptionDispatchInfo.Capture(callbackError).Throw();
                        }
                    }
                    break;
                case FoilEventKind.StreamMetadata:
                case FoilEventKind.TextDelta:
                    lock (_gate)
                    {
                        _pending.TryGetValue(ev.RequestId, out pending);
                    }
                    if (pending != null)
                    {
                        pending.OnPartial(ev.Kind, ev.Payload);
                    }
                    break;
                case FoilEventKind.StateChange:
                    Raise(OnStateChange, ev.Payload, StateChangeEvent.FromJson);
                    break;
                case FoilEventKind.ScoreChange:
                    Raise(OnScoreChange, ev.Payload, ScoreChangeEvent.FromJson);
                    break;
                case FoilEventKind.MachineCompleted:
                    Raise(OnMachineCompleted, ev.Payload, MachineCompletedEvent.FromJson);
                    break;
                case FoilEventKind.MachinesUnlocked:
                    Raise(OnMachinesUnlocked, ev.Payload, MachinesUnlockedEvent.FromJson);
                    break;
                case FoilEventKind.SessionEnded:
                    Raise(OnSessionEnded, ev.Payload, SessionEndedEvent.FromJson);
                    break;
                case FoilEventKind.CredentialExpiring:
                    Raise(OnCredentialExpiring, ev.Payload, CredentialExpiry.FromJson);
                    break;
                default:
                    // A kind newer than this binding: ignored.
                    break;
            }
        }

        private static void Raise<TEvent>(Action<TEvent> handler, string payload, Func<string, TEvent> parse)
        {
            if (handler != null)
            {
                handler(parse(payload));
            }
        }
    }
}
