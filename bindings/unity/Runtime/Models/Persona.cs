using System;
using System.Collections.Generic;
using FoilEngine.Json;

namespace FoilEngine.Models
{
    /// <summary>A published persona (NPC) the API key reaches.</summary>
    [Serializable]
    public class Persona
    {
        /// <summary>The persona's id (UUID).</summary>
        public string Id;
        /// <summary>The persona's name, e.g. "Grumpy Barista".</summary>
        public string Name;
        /// <summary>A short description, or null.</summary>
        public string Description;
        /// <summary>When it was created (RFC 3339, UTC).</summary>
        public string CreatedAt;
        /// <summary>When it was last changed (RFC 3339, UTC).</summary>
        public string UpdatedAt;

        internal static Persona FromJson(JsonObject o)
        {
            return new Persona
            {
                Id = o.GetString("id"),
                Name = o.GetString("name"),
                Description = o.GetString("description"),
                CreatedAt = o.GetString("created_at"),
                UpdatedAt = o.GetString("updated_at"),
            };
        }

        internal static Persona[] ListFromJson(string json)
        {
            var items = MiniJson.ParseArray(json);
            var result = new Persona[items.Count];
            for (int i = 0; i < items.Count; i++)
            {
                result[i] = FromJson(AsObject(items[i]));
            }
            return result;
        }

        internal static JsonObject AsObject(object value)
        {
            var o = value as JsonObject;
            if (o == null)
            {
                throw new FormatException("expected a JSON object");
            }
            return o;
        }
    }

    /// <summary>A machine (scenario) of a persona that the player can play now.</summary>
    [Serializable]
    public class MachineInfo
    {
        /// <summary>The machine's id (UUID).</summary>
        public string MachineId;
        /// <summary>The machine's key, e.g. "order_coffee".</summary>
        public string MachineKey;
        /// <summary>The machine's display name.</summary>
        public string Name;
        /// <summary>A short description, or null.</summary>
        public string Description;
        /// <summary>Whether the player has a session on it.</summary>
        public bool HasSession;
        /// <summary>The outcome of the player's session on it (ACCEPT, REJECT, KICK_OUT), or null.</summary>
        public string SessionOutcome;
        /// <summary>Whether another machine links to it (it is unlocked by finishing one).</summary>
        public bool IsLinked;

        internal static MachineInfo FromJson(JsonObject o)
        {
            return new MachineInfo
            {
                MachineId = o.GetString("machine_id"),
                MachineKey = o.GetString("machine_key"),
                Name = o.GetString("name"),
                Description = o.GetString("description"),
                HasSession = o.GetBool("has_session"),
                SessionOutcome = o.GetString("session_outcome"),
                IsLinked = o.GetBool("is_linked"),
            };
        }

        internal static MachineInfo[] ListFromJson(string json)
        {
            List<object> items = MiniJson.ParseArray(json);
            var result = new MachineInfo[items.Count];
            for (int i = 0; i < items.Count; i++)
            {
                result[i] = FromJson(Persona.AsObject(items[i]));
            }
            return result;
        }
    }

    /// <summary>The result of <c>ValidateLlmKeyAsync</c>.</summary>
    [Serializable]
    public class ValidateLlmKeyResult
    {
        /// <summary>Whether the provider accepted the key.</summary>
        public bool Valid;
        /// <summary>The model that was checked.</summary>
        public string Model;
        /// <summary>Why the key was refused, or null.</summary>
        public string Error;

        internal static ValidateLlmKeyResult FromJson(string json)
        {
            JsonObject o = MiniJson.ParseObject(json);
            return new ValidateLlmKeyResult
            {
                Valid = o.GetBool("valid"),
                Model = o.GetString("model"),
                Error = o.GetString("error"),
            };
        }
    }
}
