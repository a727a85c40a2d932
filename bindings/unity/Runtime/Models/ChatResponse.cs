using System;
using System.Collections.Generic;
using FoilEngine.Json;

namespace FoilEngine.Models
{
    /// <summary>A machine unlocked by finishing another.</summary>
    [Serializable]
    public class UnlockedMachine
    {
        /// <summary>The machine's id (UUID).</summary>
        public string MachineId;
        /// <summary>The machine's key.</summary>
        public string MachineKey;
        /// <summary>The machine's display name.</summary>
        public string Name;
        /// <summary>Whether the game should start it right away.</summary>
        public bool IsAutoAdvance;

        internal static UnlockedMachine FromJson(JsonObject o)
        {
            return new UnlockedMachine
            {
                MachineId = o.GetString("machine_id"),
                MachineKey = o.GetString("machine_key"),
                Name = o.GetString("name"),
                IsAutoAdvance = o.GetBool("is_auto_advance"),
            };
        }

        internal static UnlockedMachine[] ArrayFromJson(List<JsonObject> items)
        {
            var result = new UnlockedMachine[items.Count];
            for (int i = 0; i < items.Count; i++)
            {
                result[i] = FromJson(items[i]);
            }
            return result;
        }
    }

    /// <summary>The NPC's answer to one player message (also a stream's metadata, without <see cref="Message"/>).</summary>
    [Serializable]
    public class ChatResponse
    {
        /// <summary>The NPC's reply (null in a stream's metadata).</summary>
        public string Message;
        /// <summary>The state after the turn.</summary>
        public string CurrentState;
        /// <summary>The score after the turn.</summary>
        public int Score;
        /// <summary>The outcome (ACCEPT, REJECT, KICK_OUT) once the session ended, else null.</summary>
        public string Outcome;
        /// <summary>The evaluator's decision (pass, fail, ...), or null.</summary>
        public string Decision;
        /// <summary>Whether the NPC asked a follow-up question instead of moving on.</summary>
        public bool FollowUp;
        /// <summary>The session's id.</summary>
        public string SessionId;
        /// <summary>How the machine scores.</summary>
        public string ScoringMode;
        /// <summary>How many times the player was redirected in this state, or null.</summary>
        public int? RedirectCount;
        /// <summary>Whether the machine finished this turn.</summary>
        public bool MachineCompleted;
        /// <summary>The machines this turn unlocked (empty when none).</summary>
        public UnlockedMachine[] UnlockedMachines;

        internal static ChatResponse FromJson(string json)
        {
            return FromJson(MiniJson.ParseObject(json));
        }

        internal static ChatResponse FromJson(JsonObject o)
        {
            return new ChatResponse
            {
                Message = o.GetString("message"),
                CurrentState = o.GetString("current_state"),
                Score = o.GetInt("score"),
                Outcome = o.GetString("outcome"),
                Decision = o.GetString("decision"),
                FollowUp = o.GetBool("follow_up"),
                SessionId = o.GetString("session_id"),
                ScoringMode = o.GetString("scoring_mode"),
                RedirectCount = o.GetNullableInt("redirect_count"),
                MachineCompleted = o.GetBool("machine_completed"),
                UnlockedMachines = UnlockedMachine.ArrayFromJson(o.GetObjects("unlocked_machines")),
            };
        }
    }

    /// <summary>One message of a session's history.</summary>
    [Serializable]
    public class ChatMessage
    {
        /// <summary>The message's id.</summary>
        public string Id;
        /// <summary>"assistant" (the NPC) or "user" (the player).</summary>
        public string Role;
        /// <summary>The text.</summary>
        public string Content;
        /// <summary>The state when it was sent, or null.</summary>
        public string StateKeyAtTime;
        /// <summary>The score when it was sent, or null.</summary>
        public int? ScoreAtTime;
        /// <summary>The evaluator's decision, or null.</summary>
        public string Decision;
        /// <summary>Whether it was a follow-up question.</summary>
        public bool FollowUpTriggered;
        /// <summary>When it was sent (RFC 3339, UTC).</summary>
        public string CreatedAt;

        internal static ChatMessage FromJson(JsonObject o)
        {
            return new ChatMessage
            {
                Id = o.GetString("id"),
                Role = o.GetString("role"),
                Content = o.GetString("content"),
                StateKeyAtTime = o.GetString("state_key_at_time"),
                ScoreAtTime = o.GetNullableInt("score_at_time"),
                Decision = o.GetString("decision"),
                FollowUpTriggered = o.GetBool("follow_up_triggered"),
                CreatedAt = o.GetString("created_at"),
            };
        }
    }

    /// <summary>A session with all its messages, the greeting first.</summary>
    [Serializable]
    public class ChatHistory
    {
        /// <summary>The session's id.</summary>
        public string SessionId;
        /// <summary>The persona's id.</summary>
        public string PersonaId;
        /// <summary>The messages, oldest first.</summary>
        public ChatMessage[] Messages;
        /// <summary>The state the conversation is in.</summary>
        public string CurrentState;
        /// <summary>The score.</summary>
        public int Score;
        /// <summary>The outcome, or null while running.</summary>
        public string Outcome;
        /// <summary>The player's name.</summary>
        public string PlayerName;
        /// <summary>The player's gender.</summary>
        public string PlayerGender;
        /// <summary>When the session started.</summary>
        public string StartedAt;
        /// <summary>When the last message was sent, or null.</summary>
        public string LastMessageAt;

        internal static ChatHistory FromJson(string json)
        {
            JsonObject o = MiniJson.ParseObject(json);
            List<JsonObject> items = o.GetObjects("messages");
            var messages = new ChatMessage[items.Count];
            for (int i = 0; i < items.Count; i++)
            {
                messages[i] = ChatMessage.FromJson(items[i]);
            }
            return new ChatHistory
            {
                SessionId = o.GetString("session_id"),
                PersonaId = o.GetString("persona_id"),
                Messages = messages,
                CurrentState = o.GetString("current_state"),
                Score = o.GetInt("score"),
                Outcome = o.GetString("outcome"),
                PlayerName = o.GetString("player_name"),
                PlayerGender = o.GetString("player_gender"),
                StartedAt = o.GetString("started_at"),
                LastMessageAt = o.GetString("last_message_at"),
            };
        }
    }
}
