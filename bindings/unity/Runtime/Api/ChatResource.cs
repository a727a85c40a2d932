using System;
using System.Threading;
using System.Threading.Tasks;
using FoilEngine.Internal;
using FoilEngine.Models;

namespace FoilEngine
{
    /// <summary>
    /// Sessions and messages (<c>client.Chat</c>). A session is one player
    /// (<c>userSessionId</c>, your name for the player, at most 128 characters) × one persona ×
    /// one machine; <c>machineId</c> may be null for the persona's primary machine (init) or the
    /// player's most recently active session of the persona (the other calls).
    /// </summary>
    /// <remarks>
    /// Arguments are checked before anything is sent: null or blank required strings, ids that
    /// are not UUIDs, over-long strings (a message is at most 2,000 characters) and unknown
    /// genders throw <see cref="ArgumentException"/> synchronously. Failures reported by the
    /// server fault the task with a <see cref="FoilEngineException"/> subclass.
    /// </remarks>
    public sealed class ChatResource
    {
        private readonly FoilEngineClient _client;

        internal ChatResource(FoilEngineClient client)
        {
            _client = client;
        }

        /// <summary>
        /// Starts a session (or starts it over, discarding its messages) and gets the NPC's
        /// greeting. <paramref name="playerGender"/> is <c>female</c>, <c>male</c> or <c>non-binary</c>.
        /// </summary>
        public Task<SessionInit> InitSessionAsync(
            string personaId,
            string userSessionId,
            string playerName,
            string playerGender,
            string machineId = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            FoilEngineClient.Require(personaId, "personaId");
            FoilEngineClient.Require(userSessionId, "userSessionId");
            FoilEngineClient.Require(playerName, "playerName");
            FoilEngineClient.Require(playerGender, "playerGender");
            return _client.Submit(
                Operation.InitSession,
                new[] { personaId, userSessionId, playerName, playerGender, machineId },
                new Pending<SessionInit>(SessionInit.FromJson),
                cancellationToken);
        }

        /// <summary>
        /// Sends the player's <paramref name="message"/> and gets the NPC's whole reply. The game
        /// events it implies fire before the task completes. A session that has ended answers
        /// with a <see cref="ConflictException"/> (code <c>session_ended</c>).
        /// </summary>
        public Task<ChatResponse> SendMessageAsync(
            string personaId,
            string message,
            string userSessionId,
            string machineId = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            FoilEngineClient.Require(personaId, "personaId");
            FoilEngineClient.Require(message, "message");
            FoilEngineClient.Require(userSessionId, "userSessionId");
            return _client.Submit(
                Operation.SendMessage,
                new[] { personaId, userSessionId, message, machineId },
                new Pending<ChatResponse>(ChatResponse.FromJson),
                cancellationToken);
        }

        /// <summary>
        /// Sends the player's <paramref name="message"/> and streams the reply:
        /// <paramref name="onMetadata"/> once (state, score, decision — everything but the text),
        /// <paramref name="onTextDelta"/> for each piece of text as it arrives, then
        /// <paramref name="onDone"/> with the full response, followed by the game events. All run
        /// on the thread that calls <see cref="FoilEngineClient.Pump"/>.
        /// </summary>
        /// <returns>
        /// The full response. On failure <paramref name="onError"/> is called and the task
        /// completes with null; without <paramref name="onError"/> the task faults instead.
        /// Cancelling (<paramref name="cancellationToken"/>) closes the stream — the server rolls
        /// the turn back — and cancels the task. Streams are never retried.
        /// </returns>
        public Task<ChatResponse> SendMessageStreamAsync(
            string personaId,
            string message,
            string userSessionId,
            Action<ChatResponse> onMetadata = null,
            Action<string> onTextDelta = null,
            Action<ChatResponse> onDone = null,
            Action<FoilEngineException> onError = null,
            string machineId = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            FoilEngineClient.Require(personaId, "personaId");
            FoilEngineClient.Require(message, "message");
            FoilEngineClient.Require(userSessionId, "userSessionId");
            return _client.Submit(
                Operation.SendMessageStream,
                new[] { personaId, userSessionId, message, machineId },
                new StreamPending(onMetadata, onTextDelta, onDone, onError),
                cancellationToken);
        }

        /// <summary>
        /// Gets the session's status; <see cref="NotFoundException"/> when there is none. Also
        /// lets the client report a <see cref="FoilEngineClient.OnStateChange"/> for the next turn.
        /// </summary>
        public Task<SessionStatus> GetSessionAsync(
            string personaId,
            string userSessionId,
            string machineId = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            FoilEngineClient.Require(personaId, "personaId");
            FoilEngineClient.Require(userSessionId, "userSessionId");
            return _client.Submit(
                Operation.GetSession,
                new[] { personaId, userSessionId, machineId },
                new Pending<SessionStatus>(SessionStatus.FromJson),
                cancellationToken);
        }

        /// <summary>Gets the session with all its messages, the greeting first.</summary>
        public Task<ChatHistory> GetHistoryAsync(
            string personaId,
            string userSessionId,
            string machineId = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            FoilEngineClient.Require(personaId, "personaId");
            FoilEngineClient.Require(userSessionId, "userSessionId");
            return _client.Submit(
                Operation.GetHistory,
                new[] { personaId, userSessionId, machineId },
                new Pending<ChatHistory>(ChatHistory.FromJson),
                cancellationToken);
        }

        /// <summary>Starts the session over in its initial state with an empty history.</summary>
        public Task<ResetResult> ResetAsync(
            string personaId,
            string userSessionId,
            string machineId = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            FoilEngineClient.Require(personaId, "personaId");
            FoilEngineClient.Require(userSessionId, "userSessionId");
            return _client.Submit(
                Operation.ResetSession,
                new[] { personaId, userSessionId, machineId },
                new Pending<ResetResult>(ResetResult.FromJson),
                cancellationToken);
        }
    }
}
