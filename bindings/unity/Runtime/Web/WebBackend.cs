using System;
using System.Collections.Generic;
using System.Text;
using FoilEngine.Internal;
using FoilEngine.Json;
using FoilEngine.Native;

namespace FoilEngine.Web
{
    /// <summary>
    /// The one call into the WebGL transport (<c>Plugins/WebGL/FoilEngine.jslib</c>): a JSON
    /// request in, a JSON answer out (<c>{"ok": value}</c> or <c>{"error": {"kind", "message"}}</c>).
    /// </summary>
    internal interface IWebBridge
    {
        string Call(string requestJson);
    }

    /// <summary>
    /// Requests carried by the browser's <c>fetch</c> through the WebGL transport: the same
    /// request ids, events and guarantees as the native plugin (the transport implements them
    /// in JavaScript; the C# above it does not change). WebGL players have one thread, so the
    /// transport queues events between frames and <see cref="Poll"/> collects them once per
    /// <see cref="FoilEngineClient.Pump"/>.
    /// </summary>
    internal sealed class WebBackend : IRequestBackend
    {
        private readonly IWebBridge _bridge;
        private readonly long _client;

        internal WebBackend(IWebBridge bridge, FoilEngineClientOptions o)
        {
            _bridge = bridge;
            var config = new StringBuilder("{");
            config.Member("base_url").String(o.BaseUrl);
            config.Member("api_key").String(o.ApiKey);
            config.Member("llm_api_key").String(o.LlmApiKey);
            config.Member("llm_model").String(o.LlmModel);
            config.Member("llm_eval_model").String(o.LlmEvalModel);
            config.Member("llm_response_model").String(o.LlmResponseModel);
            config.Member("llm_summarization_model").String(o.LlmSummarizationModel);
            config.Member("llm_eval_api_key").String(o.LlmEvalApiKey);
            config.Member("llm_response_api_key").String(o.LlmResponseApiKey);
            config.Member("llm_summarization_api_key").String(o.LlmSummarizationApiKey);
            config.Member("timeout_ms").Number(o.TimeoutMs());
            config.Member("stream_timeout_ms").Number(o.StreamTimeoutMs());
            config.Member("max_retries").Number(o.CheckedMaxRetries());
            config.Member("persona_cache_ttl_ms").Number(o.PersonaCacheTtlMs());
            config.Append('}');
            var request = new StringBuilder("{");
            request.Member("fn").String("create").Member("config").Append(config.ToString()).Append('}');
            _client = (long)Call(request);
        }

        public ulong Start(Operation operation, string[] args)
        {
            StringBuilder request = Request("start");
            request.Member("op").String(Operations.WireName(operation)).Member("args").Strings(args).Append('}');
            return (ulong)(long)Call(request);
        }

        public void Poll(List<ReceivedEvent> into)
        {
            var events = (List<object>)Call(Request("poll").Append('}'));
            foreach (object item in events)
            {
                var ev = (JsonObject)item;
                into.Add(new ReceivedEvent
                {
                    RequestId = (ulong)ev.GetLong("id").GetValueOrDefault(),
                    Kind = (FoilEventKind)ev.GetLong("kind").GetValueOrDefault(),
                    HttpStatus = (int)ev.GetLong("status").GetValueOrDefault(),
                    Payload = ev.GetString("payload"),
                });
            }
        }

        public void Cancel(ulong requestId)
        {
            StringBuilder request = Request("cancel");
            request.Member("id").Number((long)requestId).Append('}');
            try
            {
                Call(request);
            }
            catch (ObjectDisposedException)
            {
                // Freed meanwhile: the client cancels the task itself.
            }
        }

        public void SetApiKey(string apiKey)
        {
            StringBuilder request = Request("set_api_key");
            request.Member("api_key").String(apiKey).Append('}');
            Call(request);
        }

        public void Free(bool wait)
        {
            // Nothing runs in the background to wait for: the transport aborts its fetches.
            Call(Request("free").Append('}'));
        }

        private StringBuilder Request(string fn)
        {
            var request = new StringBuilder("{");
            return request.Member("fn").String(fn).Member("client").Number(_client);
        }

        /// <summary>Makes the call and returns its <c>ok</c> value, or throws its refusal.</summary>
        private object Call(StringBuilder request)
        {
            JsonObject answer = MiniJson.ParseObject(_bridge.Call(request.ToString()));
            object ok;
            if (answer.TryGetValue("ok", out ok))
            {
                return ok;
            }
            var error = answer.ContainsKey("error") ? answer["error"] as JsonObject : null;
            string kind = error != null ? error.GetString("kind") : null;
            string message = error != null ? error.GetString("message") : "the WebGL transport gave no answer";
            switch (kind)
            {
                case "argument":
                    throw new ArgumentException(message);
                case "disposed":
                    throw new ObjectDisposedException("FoilEngineClient", message);
                default:
                    throw new FoilEngineException("WebGL transport: " + message, 0, "internal_error");
            }
        }
    }

#if UNITY_WEBGL && !UNITY_EDITOR
    /// <summary>The bridge of a WebGL player: <c>FoilWeb_Call</c> of the package's <c>.jslib</c>,
    /// linked into the build by Emscripten (strings cross as UTF-8; the answer's buffer is
    /// freed by the marshaller).</summary>
    internal sealed class JsBridge : IWebBridge
    {
        [System.Runtime.InteropServices.DllImport("__Internal")]
        private static extern string FoilWeb_Call(string requestJson);

        public string Call(string requestJson)
        {
            return FoilWeb_Call(requestJson);
        }
    }
#endif
}
