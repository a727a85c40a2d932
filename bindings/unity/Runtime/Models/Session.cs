using System;
using FoilEngine.Json;

namespace FoilEngine.Models
{
    /// <summary>A new (or restarted) session and the NPC's greeting.</summary>
    [Serializable]
    public class SessionInit
    {
        /// <summary>The session's id (UUID).</summary>
        public string SessionId;
        /// <summary>The caller's name for the player, as given.</summary>
        public string UserSessionId;
        /// <summary>The persona's name.</summary>
        public string PersonaName;
        /// <summary>The persona's description, or null.</summary>
        public string PersonaDescription;
        /// <summary>The player's name.</summary>
        public string PlayerName;
        /// <summary>The player's gender (female, male, non-binary).</summary>
        public string PlayerGender;
        /// <summary>The NPC's greeting.</summary>
        public string Message;
        /// <summary>The machine the session runs.</summary>
        public string MachineId;

        internal static SessionInit FromJson(string json)
        {
            JsonObject o = MiniJson.ParseObject(json);
            return new SessionInit
            {
                SessionId = o.GetString("session_id"),
                UserSessionId = o.GetString("user_session_id"),
                PersonaName = o.GetString("persona_name"),
                PersonaDescription = o.GetString("persona_description"),
                PlayerName = o.GetString("player_name"),
                PlayerGender = o.GetString("player_gender"),
                Message = o.GetString("message"),
                MachineId = o.GetString("machine_id"),
            };
        }
    }

    /// <summary>A session's status.</summary>
    [Serializable]
    public class SessionStatus
    {
        /// <summary>The session's id (UUID).</summary>
        public string SessionId;
        /// <summary>The persona's id.</summary>
        public string PersonaId;
        /// <summary>The machine's id.</summary>
        public string MachineId;
        /// <summary>The state the conversation is in.</summary>
        public string CurrentState;
        /// <summary>The score.</summary>
        public int Score;
        /// <summary>The outcome (ACCEPT, REJECT, KICK_OUT), or null while running.</summary>
        public string Outcome;
        /// <summary>The player's name.</summary>
        public string PlayerName;
        /// <summary>The player's gender.</summary>
        public string PlayerGender;
        /// <summary>When the session started (RFC 3339, UTC).</summary>
        public string StartedAt;
        /// <summary>When the last message was sent (RFC 3339, UTC), or null.</summary>
        public string LastMessageAt;

        internal static SessionStatus FromJson(string json)
        {
            JsonObject o = MiniJson.ParseObject(json);
            return new SessionStatus
            {
                SessionId = o.GetString("session_id"),
                PersonaId = o.GetString("persona_id"),
                MachineId = o.GetString("machine_id"),
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

    /// <summary>The answer to a reset.</summary>
    [Serializable]
    public class ResetResult
    {
        /// <summary>The session's id.</summary>
        public string SessionId;
        /// <summary>A confirmation, e.g. "Conversation reset successfully".</summary>
        public string Message;

        internal static ResetResult FromJson(string json)
        {
            JsonObject o = MiniJson.ParseObject(json);
            return new ResetResult
            {
                SessionId = o.GetString("session_id"),
                Message = o.GetString("message"),
            };
        }
    }
}
