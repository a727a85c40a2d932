using System;
using FoilEngine.Json;
using FoilEngine.Models;

namespace FoilEngine.Events
{
    /// <summary>The conversation moved to another state (<see cref="FoilEngineClient.OnStateChange"/>).</summary>
    public struct StateChangeEvent
    {
        /// <summary>The session.</summary>
        public string SessionId;
        /// <summary>The state before the turn.</summary>
        public string FromState;
        /// <summary>The state after the turn.</summary>
        public string ToState;
        /// <summary>The evaluator's decision of the turn (pass, fail, ...), or null.</summary>
        public string Decision;

        internal static StateChangeEvent FromJson(string json)
        {
            JsonObject o = MiniJson.ParseObject(json);
            return new StateChangeEvent
            {
                SessionId = o.GetString("session_id"),
                FromState = o.GetString("from_state"),
                ToState = o.GetString("to_state"),
                Decision = o.GetString("decision"),
            };
        }
    }

    /// <summary>The score changed (<see cref="FoilEngineClient.OnScoreChange"/>).</summary>
    public struct ScoreChangeEvent
    {
        /// <summary>The session.</summary>
        public string SessionId;
        /// <summary>The score before the turn.</summary>
        public int OldScore;
        /// <summary>The score after the turn.</summary>
        public int NewScore;
        /// <summary><see cref="NewScore"/> minus <see cref="OldScore"/>.</summary>
        public int Delta;

        internal static ScoreChangeEvent FromJson(string json)
        {
            JsonObject o = MiniJson.ParseObject(json);
            return new ScoreChangeEvent
            {
                SessionId = o.GetString("session_id"),
                OldScore = o.GetInt("old_score"),
                NewScore = o.GetInt("new_score"),
                Delta = o.GetInt("delta"),
            };
        }
    }

    /// <summary>The scenario (machine) finished this turn (<see cref="FoilEngineClient.OnMachineCompleted"/>).</summary>
    public struct MachineCompletedEvent
    {
        /// <summary>ACCEPT, REJECT or KICK_OUT (null if the server gave none).</summary>
        public string Outcome;
        /// <summary>The score at the end.</summary>
        public int FinalScore;
        /// <summary>The session.</summary>
        public string SessionId;

        internal static MachineCompletedEvent FromJson(string json)
        {
            JsonObject o = MiniJson.ParseObject(json);
            return new MachineCompletedEvent
            {
                SessionId = o.GetString("session_id"),
                Outcome = o.GetString("outcome"),
                FinalScore = o.GetInt("final_score"),
            };
        }
    }

    /// <summary>Finishing the scenario unlocked others (<see cref="FoilEngineClient.OnMachinesUnlocked"/>).</summary>
    public struct MachinesUnlockedEvent
    {
        /// <summary>The session.</summary>
        public string SessionId;
        /// <summary>The newly unlocked machines.</summary>
        public UnlockedMachine[] Machines;

        internal static MachinesUnlockedEvent FromJson(string json)
        {
            JsonObject o = MiniJson.ParseObject(json);
            return new MachinesUnlockedEvent
            {
                SessionId = o.GetString("session_id"),
                Machines = UnlockedMachine.ArrayFromJson(o.GetObjects("machines")),
            };
        }
    }

    /// <summary>The session ended and accepts no more messages (<see cref="FoilEngineClient.OnSessionEnded"/>).</summary>
    public struct SessionEndedEvent
    {
        /// <summary>ACCEPT, REJECT or KICK_OUT.</summary>
        public string Outcome;
        /// <summary>The score at the end.</summary>
        public int FinalScore;
        /// <summary>The session.</summary>
        public string SessionId;

        internal static SessionEndedEvent FromJson(string json)
        {
            JsonObject o = MiniJson.ParseObject(json);
            return new SessionEndedEvent
            {
                SessionId = o.GetString("session_id"),
                Outcome = o.GetString("outcome"),
                FinalScore = o.GetInt("final_score"),
            };
        }
    }

    /// <summary>Reads the payload of <see cref="FoilEngineClient.OnCredentialExpiring"/>.</summary>
    internal static class CredentialExpiry
    {
        internal static DateTimeOffset FromJson(string json)
        {
            long? expiresAt = MiniJson.ParseObject(json).GetLong("expires_at");
            if (!expiresAt.HasValue)
            {
                throw new FormatException("expires_at missing from " + json);
            }
            return DateTimeOffset.FromUnixTimeSeconds(expiresAt.Value);
        }
    }
}
