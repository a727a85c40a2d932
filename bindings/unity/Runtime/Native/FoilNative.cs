// Hand-written P/Invoke declarations of the Foil Engine native plugin (include/foil.h).
//
// Kept in step with the header by foil-ffi-tests/tests/unity_pinvoke_matches_header.rs, which
// compares every function (name, return type, parameter names and types), every enum value and
// the fields of FoilClientConfig / FoilEvent with include/foil.h.
//
// Rules that keep Mono and IL2CPP (including iOS, where the library is linked statically and
// reached through "__Internal") behaving the same:
//  - only blittable types cross the boundary: IntPtr for every pointer (char*, void*, the
//    opaque FoilClient*, function pointers), UIntPtr for size_t, fixed-size integers, enums
//    with explicit int values, and structs made only of those;
//  - C's one-byte bool is marshalled explicitly as UnmanagedType.U1;
//  - strings are converted to and from NUL-terminated UTF-8 by hand (NativeStrings), never by
//    the marshaller (whose default string encoding differs between runtimes and platforms);
//  - no delegates or function pointer types in signatures: the binding polls for events
//    (foil_poll_event), so no managed code is ever called from a library thread.

using System;
using System.Runtime.InteropServices;

namespace FoilEngine.Native
{
    /// <summary>
    /// The result of a fallible native call (<c>FoilStatus</c> in foil.h). The numbers are part
    /// of the ABI and never reused.
    /// </summary>
    public enum FoilStatus : int
    {
        /// <summary>Success.</summary>
        Ok = 0,
        /// <summary>A required pointer argument was NULL.</summary>
        NullArgument = 1,
        /// <summary>A string argument was not valid UTF-8.</summary>
        InvalidUtf8 = 2,
        /// <summary>A required string argument was empty or only whitespace.</summary>
        EmptyArgument = 3,
        /// <summary>A string argument was too long (64 KiB; a player message: 2,000 characters).</summary>
        ArgumentTooLong = 4,
        /// <summary>An argument was invalid for another reason (not a UUID, not an http(s) URL, ...).</summary>
        InvalidArgument = 5,
        /// <summary>foil_cancel / foil_wait: no request with this id is in flight.</summary>
        UnknownRequest = 6,
        /// <summary>foil_wait: the timeout passed before the request finished.</summary>
        Timeout = 7,
        /// <summary>The client's runtime or HTTP client could not be created.</summary>
        RuntimeError = 8,
        /// <summary>foil_poll_event / foil_wait while a push callback is set.</summary>
        CallbackMode = 9,
        /// <summary>The library caught a panic (a bug); the call had no effect.</summary>
        Panic = 10,
        /// <summary>The client handle is not a live client (never created, or already freed).</summary>
        InvalidHandle = 11,
    }

    /// <summary>
    /// What a native event reports (<c>FoilEventKind</c> in foil.h). Every request ends with
    /// exactly one finishing event: <see cref="Response"/>, <see cref="StreamDone"/> or
    /// <see cref="Error"/>. Client events (20 and up) belong to no request (request id 0).
    /// </summary>
    public enum FoilEventKind : int
    {
        /// <summary>No event (a freed or zeroed FoilEvent).</summary>
        None = 0,
        /// <summary>The request finished; payload: the server's JSON body. Finishing.</summary>
        Response = 1,
        /// <summary>A stream's metadata: the ChatResponse keys except <c>message</c>, as JSON.</summary>
        StreamMetadata = 2,
        /// <summary>A piece of a streamed reply; payload: the text itself (not JSON).</summary>
        TextDelta = 3,
        /// <summary>The stream finished; payload: the full ChatResponse JSON. Finishing.</summary>
        StreamDone = 4,
        /// <summary>The request failed; payload: <c>{"status","code","message","retry_after"}</c>. Finishing.</summary>
        Error = 5,
        /// <summary>Game event: <c>{"session_id","from_state","to_state","decision"}</c>.</summary>
        StateChange = 10,
        /// <summary>Game event: <c>{"session_id","old_score","new_score","delta"}</c>.</summary>
        ScoreChange = 11,
        /// <summary>Game event: <c>{"session_id","outcome","final_score"}</c>.</summary>
        MachineCompleted = 12,
        /// <summary>Game event: <c>{"session_id","machines":[UnlockedMachine]}</c>.</summary>
        MachinesUnlocked = 13,
        /// <summary>Game event: <c>{"session_id","outcome","final_score"}</c>.</summary>
        SessionEnded = 14,
        /// <summary>
        /// Client event (request id 0): the player token in use expires soon; payload
        /// <c>{"expires_at": unix seconds}</c>. Set a new one with <c>foil_client_set_api_key</c>.
        /// </summary>
        CredentialExpiring = 20,
    }

    /// <summary>
    /// How to create a client (<c>FoilClientConfig</c> in foil.h). Initialise with
    /// <see cref="FoilNative.foil_client_config_init"/>, then set fields. Every string is a
    /// NUL-terminated UTF-8 pointer (see <see cref="NativeStrings"/>) or <see cref="IntPtr.Zero"/>,
    /// except <see cref="ApiKey"/>, which is required; the library copies them.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct FoilClientConfig
    {
        /// <summary>The server (default <c>https://api.foilengine.io</c>).</summary>
        public IntPtr BaseUrl;
        /// <summary>The game's API key (<c>pk_live_...</c>) or a player token (<c>pt_...</c>). Required.</summary>
        public IntPtr ApiKey;
        /// <summary><c>X-LLM-API-Key</c>: the provider key for every pipeline step.</summary>
        public IntPtr LlmApiKey;
        /// <summary><c>X-LLM-Model</c>: the model for every step.</summary>
        public IntPtr LlmModel;
        /// <summary><c>X-LLM-Eval-Model</c>.</summary>
        public IntPtr LlmEvalModel;
        /// <summary><c>X-LLM-Response-Model</c>.</summary>
        public IntPtr LlmResponseModel;
        /// <summary><c>X-LLM-Summarization-Model</c>.</summary>
        public IntPtr LlmSummarizationModel;
        /// <summary><c>X-LLM-Eval-API-Key</c>.</summary>
        public IntPtr LlmEvalApiKey;
        /// <summary><c>X-LLM-Response-API-Key</c>.</summary>
        public IntPtr LlmResponseApiKey;
        /// <summary><c>X-LLM-Summarization-API-Key</c>.</summary>
        public IntPtr LlmSummarizationApiKey;
        /// <summary>Time limit of each attempt of an ordinary request, ms (0 = default 30000).</summary>
        public uint TimeoutMs;
        /// <summary>Time limit of a whole streamed reply, ms (0 = default 120000).</summary>
        public uint StreamTimeoutMs;
        /// <summary>Retries on 429/500/502/503/504 and transport errors (&lt; 0 = default 3).</summary>
        public int MaxRetries;
        /// <summary>How long the persona list is cached, ms (0 = default 60000).</summary>
        public uint PersonaCacheTtlMs;
    }

    /// <summary>
    /// One native event (<c>FoilEvent</c> in foil.h), filled by
    /// <see cref="FoilNative.foil_poll_event"/>. Its payload belongs to the library until
    /// <see cref="FoilNative.foil_event_free"/>.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct FoilEvent
    {
        /// <summary>The request the event belongs to.</summary>
        public ulong RequestId;
        /// <summary>What happened.</summary>
        public FoilEventKind Kind;
        /// <summary>The HTTP status of the answer; 0 if none.</summary>
        public ushort HttpStatus;
        /// <summary>NUL-terminated UTF-8 owned by the library.</summary>
        public IntPtr Payload;
        /// <summary>Length of <see cref="Payload"/> in bytes, without the NUL.</summary>
        public UIntPtr PayloadLen;
    }

    /// <summary>
    /// The C functions of the Foil Engine native plugin, one to one. Prefer
    /// <see cref="FoilEngine.FoilEngineClient"/>; these are for advanced use and for the client
    /// itself. Every pointer is an <see cref="IntPtr"/>; strings go through
    /// <see cref="NativeStrings"/>.
    /// </summary>
    public static class FoilNative
    {
        /// <summary>
        /// The native library's name for <see cref="DllImportAttribute"/>: <c>"__Internal"</c> on
        /// iOS, where the plugin is a static library linked into the player; <c>"foil"</c>
        /// (<c>libfoil.so</c>, <c>foil.dll</c>, <c>libfoil.dylib</c>) everywhere else.
        /// </summary>
#if UNITY_IOS && !UNITY_EDITOR
        public const string LibName = "__Internal";
#else
        public const string LibName = "foil";
#endif

        /// <summary>The C API version these declarations were written for (<c>FOIL_VERSION</c>).</summary>
        public const string Version = "0.1.0";

        // WebGL players link no native library: only the constants above exist there.
#if !UNITY_WEBGL || UNITY_EDITOR

        /// <summary>The library's version, e.g. "0.1.0". Static: never freed.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr foil_version();

        /// <summary>Fills <paramref name="config"/> with the defaults.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern void foil_client_config_init(ref FoilClientConfig config);

        /// <summary>Creates a client; writes it to <paramref name="outClient"/> only on success.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern FoilStatus foil_client_new(ref FoilClientConfig config, out IntPtr outClient);

        /// <summary>Frees a client, cancelling its requests; NULL and freed handles are ignored.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern void foil_client_free(IntPtr client);

        /// <summary>
        /// Replaces the credential sent as <c>X-API-Key</c> (a fresh player token, or an API key)
        /// and watches the new token's expiry. On failure nothing changes.
        /// </summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern FoilStatus foil_client_set_api_key(IntPtr client, IntPtr apiKey);

        /// <summary>Requests the published personas. Returns a request id, or 0 on failure.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern ulong foil_list_personas(IntPtr client);

        /// <summary>Requests the machines the player can play. Returns a request id, or 0.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern ulong foil_list_machines(IntPtr client, IntPtr personaId, IntPtr userSessionId);

        /// <summary>Starts (or starts over) a session. Returns a request id, or 0.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern ulong foil_init_session(
            IntPtr client,
            IntPtr personaId,
            IntPtr userSessionId,
            IntPtr playerName,
            IntPtr playerGender,
            IntPtr machineId);

        /// <summary>Sends a message and gets the whole reply. Returns a request id, or 0.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern ulong foil_send_message(
            IntPtr client,
            IntPtr personaId,
            IntPtr userSessionId,
            IntPtr message,
            IntPtr machineId);

        /// <summary>Sends a message and streams the reply. Returns a request id, or 0.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern ulong foil_send_message_stream(
            IntPtr client,
            IntPtr personaId,
            IntPtr userSessionId,
            IntPtr message,
            IntPtr machineId);

        /// <summary>Requests the session's status. Returns a request id, or 0.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern ulong foil_get_session(IntPtr client, IntPtr personaId, IntPtr userSessionId, IntPtr machineId);

        /// <summary>Requests the session with all its messages. Returns a request id, or 0.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern ulong foil_get_history(IntPtr client, IntPtr personaId, IntPtr userSessionId, IntPtr machineId);

        /// <summary>Starts the session over. Returns a request id, or 0.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern ulong foil_reset_session(IntPtr client, IntPtr personaId, IntPtr userSessionId, IntPtr machineId);

        /// <summary>Checks the configured LLM key; <paramref name="model"/> may be NULL. Returns a request id, or 0.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern ulong foil_validate_llm_key(IntPtr client, IntPtr model);

        /// <summary>Cancels a request in flight (it then finishes with an ERROR, code "cancelled").</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern FoilStatus foil_cancel(IntPtr client, ulong requestId);

        /// <summary>Takes the oldest queued event; false when the queue is empty. Never blocks.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        [return: MarshalAs(UnmanagedType.U1)]
        public static extern bool foil_poll_event(IntPtr client, out FoilEvent outEvent);

        /// <summary>Frees an event's payload and resets the event.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern void foil_event_free(ref FoilEvent @event);

        /// <summary>Blocks until a request finishes and takes its finishing event (tools and tests only).</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern FoilStatus foil_wait(IntPtr client, ulong requestId, uint timeoutMs, out FoilEvent outEvent);

        /// <summary>
        /// Switches the client to push delivery on a library thread. Not used by this binding
        /// (it polls); a callback passed here must be a static method marked
        /// <c>[AOT.MonoPInvokeCallback]</c>, kept alive, converted with
        /// <see cref="Marshal.GetFunctionPointerForDelegate(Delegate)"/>.
        /// </summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern FoilStatus foil_set_event_callback(IntPtr client, IntPtr callback, IntPtr userData);

        /// <summary>The status of the last failed call on the client (or of the calling thread when NULL).</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern FoilStatus foil_last_status(IntPtr client);

        /// <summary>Copies the last failure's message into <paramref name="buf"/>; returns its full length in bytes.</summary>
        [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]
        public static extern UIntPtr foil_last_error(IntPtr client, IntPtr buf, UIntPtr bufLen);
#endif
    }
}
