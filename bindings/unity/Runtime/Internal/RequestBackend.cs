using System;
using System.Collections.Generic;
using FoilEngine.Native;

namespace FoilEngine.Internal
{
    /// <summary>The requests a client can start; the names (snake_case) are the native
    /// functions' without <c>foil_</c>, and the WebGL transport's operation names.</summary>
    internal enum Operation
    {
        ListPersonas,
        ListMachines,
        InitSession,
        SendMessage,
        SendMessageStream,
        GetSession,
        GetHistory,
        ResetSession,
        ValidateLlmKey,
    }

    /// <summary>One event of a request (or of the client, id 0), copied out of the backend.</summary>
    internal struct ReceivedEvent
    {
        internal ulong RequestId;
        internal FoilEventKind Kind;
        internal int HttpStatus;
        internal string Payload;
    }

    /// <summary>
    /// What carries a <see cref="FoilEngineClient"/>'s requests: the native plugin everywhere
    /// (<c>NativeBackend</c>), the browser's <c>fetch</c> in WebGL players (<c>WebBackend</c>).
    /// Both speak the native plugin's model — a request id per request, events pulled by
    /// <see cref="Poll"/>, exactly one finishing event per request — so the client above them
    /// is one piece of code.
    /// </summary>
    internal interface IRequestBackend
    {
        /// <summary>Starts <paramref name="operation"/> with its string arguments (null for an
        /// optional one left out) and returns its id. Throws <see cref="ArgumentException"/>
        /// for arguments the backend refuses (nothing is sent then).</summary>
        ulong Start(Operation operation, string[] args);

        /// <summary>Appends every queued event to <paramref name="into"/>; never blocks.</summary>
        void Poll(List<ReceivedEvent> into);

        /// <summary>Cancels a request (its ERROR with code <c>cancelled</c> follows at once);
        /// nothing happens for a request that has finished.</summary>
        void Cancel(ulong requestId);

        /// <summary>Replaces the credential; throws <see cref="ArgumentException"/> for a refused one.</summary>
        void SetApiKey(string apiKey);

        /// <summary>Frees the backend: requests in flight are dropped, nothing is queued after.
        /// <paramref name="wait"/>: wait for background threads to stop, if it has any.</summary>
        void Free(bool wait);
    }

    /// <summary>Operation names as the WebGL transport and the C API spell them.</summary>
    internal static class Operations
    {
        internal static string WireName(Operation operation)
        {
            switch (operation)
            {
                case Operation.ListPersonas: return "list_personas";
                case Operation.ListMachines: return "list_machines";
                case Operation.InitSession: return "init_session";
                case Operation.SendMessage: return "send_message";
                case Operation.SendMessageStream: return "send_message_stream";
                case Operation.GetSession: return "get_session";
                case Operation.GetHistory: return "get_history";
                case Operation.ResetSession: return "reset_session";
                case Operation.ValidateLlmKey: return "validate_llm_key";
                default: throw new ArgumentOutOfRangeException("operation");
            }
        }
    }
}
