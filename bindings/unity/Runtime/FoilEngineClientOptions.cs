using System;

namespace FoilEngine
{
    /// <summary>
    /// Settings of a <see cref="FoilEngineClient"/>. Only <see cref="ApiKey"/> is required;
    /// every LLM setting is sent as the matching <c>X-LLM-*</c> header when set.
    /// </summary>
    [Serializable]
    public class FoilEngineClientOptions
    {
        /// <summary>The hosted service; point <see cref="BaseUrl"/> at your own server instead.</summary>
        public const string DefaultBaseUrl = "https://api.foilengine.io";

        /// <summary>The game's API key (<c>pk_live_...</c>). Required.</summary>
        public string ApiKey;
        /// <summary>The server, e.g. <c>http://127.0.0.1:8000</c> (default: the hosted service).</summary>
        public string BaseUrl = DefaultBaseUrl;
        /// <summary>Time limit of each attempt of an ordinary request, in seconds (default 30).</summary>
        public int Timeout = 30;
        /// <summary>Time limit of a whole streamed reply, in seconds (default 120).</summary>
        public int StreamTimeout = 120;
        /// <summary>Retries on 429/500/502/503/504 and connection failures (default 3; 0 = none).</summary>
        public int MaxRetries = 3;
        /// <summary>How long <c>Personas.ListAsync()</c> answers from its cache, in seconds (default 60).</summary>
        public float CacheTtl = 60f;
        /// <summary><c>X-LLM-API-Key</c>: the provider key for every pipeline step.</summary>
        public string LlmApiKey;
        /// <summary><c>X-LLM-Model</c>: the model for every step (e.g. <c>openai/gpt-4o-mini</c>).</summary>
        public string LlmModel;
        /// <summary><c>X-LLM-Eval-Model</c>: the evaluator's model.</summary>
        public string LlmEvalModel;
        /// <summary><c>X-LLM-Response-Model</c>: the reply's model.</summary>
        public string LlmResponseModel;
        /// <summary><c>X-LLM-Summarization-Model</c>: the summariser's model.</summary>
        public string LlmSummarizationModel;
        /// <summary><c>X-LLM-Eval-API-Key</c>.</summary>
        public string LlmEvalApiKey;
        /// <summary><c>X-LLM-Response-API-Key</c>.</summary>
        public string LlmResponseApiKey;
        /// <summary><c>X-LLM-Summarization-API-Key</c>.</summary>
        public string LlmSummarizationApiKey;

        // ---- Checked values, as every backend passes them on ----

        internal uint TimeoutMs()
        {
            return Millis(Timeout, "timeout");
        }

        internal uint StreamTimeoutMs()
        {
            return Millis(StreamTimeout, "streamTimeout");
        }

        internal int CheckedMaxRetries()
        {
            if (MaxRetries < 0)
            {
                throw new ArgumentOutOfRangeException("maxRetries", "maxRetries must not be negative");
            }
            return MaxRetries;
        }

        /// <summary>The persona cache's lifetime; at least 1 ms (0 means "the default" to the
        /// native library).</summary>
        internal uint PersonaCacheTtlMs()
        {
            if (CacheTtl < 0 || float.IsNaN(CacheTtl))
            {
                throw new ArgumentOutOfRangeException("cacheTtl", "cacheTtl must not be negative");
            }
            return (uint)Math.Max(1.0, Math.Min(uint.MaxValue, Math.Round(CacheTtl * 1000.0)));
        }

        private static uint Millis(int seconds, string name)
        {
            if (seconds <= 0)
            {
                throw new ArgumentOutOfRangeException(name, name + " must be positive (seconds)");
            }
            return (uint)Math.Min(uint.MaxValue, seconds * 1000L);
        }
    }
}
