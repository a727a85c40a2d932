// Not in WebGL players: browsers cannot load native code (Runtime/Web carries requests there).
#if !UNITY_WEBGL || UNITY_EDITOR
using System;
using System.Collections.Generic;
using System.Threading;
using FoilEngine.Internal;

namespace FoilEngine.Native
{
    /// <summary>The native plugin (<c>libfoil</c>) as a <see cref="IRequestBackend"/>.</summary>
    internal sealed class NativeBackend : IRequestBackend
    {
        private readonly FoilClientHandle _handle;

        /// <summary>Creates the native client. Throws <see cref="ArgumentException"/> for a
        /// rejected configuration and <see cref="DllNotFoundException"/> without the library.</summary>
        internal NativeBackend(FoilEngineClientOptions options)
        {
            _handle = CreateHandle(options);
        }

        public ulong Start(Operation operation, string[] args)
        {
            var ptrs = new IntPtr[args.Length];
            bool added = false;
            try
            {
                for (int i = 0; i < args.Length; i++)
                {
                    ptrs[i] = NativeStrings.ToUtf8(args[i]);
                }
                _handle.DangerousAddRef(ref added);
                ulong id = Call(_handle.DangerousGetHandle(), operation, ptrs);
                if (id == 0)
                {
                    // The calling thread's record: exact even when other threads fail meanwhile.
                    FoilStatus status = FoilNative.foil_last_status(IntPtr.Zero);
                    throw NativeErrors.ToException(status, NativeStrings.LastError(IntPtr.Zero));
                }
                return id;
            }
            finally
            {
                foreach (IntPtr p in ptrs)
                {
                    NativeStrings.Free(p);
                }
                if (added)
                {
                    _handle.DangerousRelease();
                }
            }
        }

        private static ulong Call(IntPtr h, Operation operation, IntPtr[] a)
        {
            switch (operation)
            {
                case Operation.ListPersonas: return FoilNative.foil_list_personas(h);
                case Operation.ListMachines: return FoilNative.foil_list_machines(h, a[0], a[1]);
                case Operation.InitSession: return FoilNative.foil_init_session(h, a[0], a[1], a[2], a[3], a[4]);
                case Operation.SendMessage: return FoilNative.foil_send_message(h, a[0], a[1], a[2], a[3]);
                case Operation.SendMessageStream: return FoilNative.foil_send_message_stream(h, a[0], a[1], a[2], a[3]);
                case Operation.GetSession: return FoilNative.foil_get_session(h, a[0], a[1], a[2]);
                case Operation.GetHistory: return FoilNative.foil_get_history(h, a[0], a[1], a[2]);
                case Operation.ResetSession: return FoilNative.foil_reset_session(h, a[0], a[1], a[2]);
                case Operation.ValidateLlmKey: return FoilNative.foil_validate_llm_key(h, a[0]);
                default: throw new ArgumentOutOfRangeException("operation");
            }
        }

        public void Poll(List<ReceivedEvent> into)
        {
            bool added = false;
            try
            {
                _handle.DangerousAddRef(ref added);
                IntPtr client = _handle.DangerousGetHandle();
                FoilEvent ev;
                while (FoilNative.foil_poll_event(client, out ev))
                {
                    try
                    {
                        into.Add(new ReceivedEvent
                        {
                            RequestId = ev.RequestId,
                            Kind = ev.Kind,
                            HttpStatus = ev.HttpStatus,
                            Payload = NativeStrings.FromUtf8(ev.Payload, ev.PayloadLen),
                        });
                    }
                    finally
                    {
                        FoilNative.foil_event_free(ref ev);
                    }
                }
            }
            catch (ObjectDisposedException)
            {
                // Freed on another thread: nothing more to deliver.
            }
            finally
            {
                if (added)
                {
                    _handle.DangerousRelease();
                }
            }
        }

        public void Cancel(ulong requestId)
        {
            try
            {
                // OK or UNKNOWN_REQUEST (already finished): either way its finishing event decides.
                _handle.Use(h => FoilNative.foil_cancel(h, requestId));
            }
            catch (ObjectDisposedException)
            {
                // Freed meanwhile: the client cancels the task itself.
            }
        }

        public void SetApiKey(string apiKey)
        {
            IntPtr key = NativeStrings.ToUtf8(apiKey);
            try
            {
                FoilStatus status = _handle.Use(h => FoilNative.foil_client_set_api_key(h, key));
                if (status != FoilStatus.Ok)
                {
                    // The calling thread's record: exact even when other threads fail meanwhile.
                    throw NativeErrors.ToException(status, NativeStrings.LastError(IntPtr.Zero));
                }
            }
            finally
            {
                NativeStrings.Free(key);
            }
        }

        public void Free(bool wait)
        {
            // Frees now, or when the native call running on another thread returns.
            if (wait)
            {
                _handle.Dispose();
            }
            else
            {
                FoilClientHandle handle = _handle;
                ThreadPool.QueueUserWorkItem(_ => handle.Dispose());
            }
        }

        private static FoilClientHandle CreateHandle(FoilEngineClientOptions o)
        {
            string[] strings =
            {
                o.BaseUrl, o.ApiKey, o.LlmApiKey, o.LlmModel, o.LlmEvalModel, o.LlmResponseModel,
                o.LlmSummarizationModel, o.LlmEvalApiKey, o.LlmResponseApiKey, o.LlmSummarizationApiKey,
            };
            var ptrs = new IntPtr[strings.Length];
            try
            {
                for (int i = 0; i < strings.Length; i++)
                {
                    ptrs[i] = NativeStrings.ToUtf8(strings[i]);
                }
                var config = new FoilClientConfig();
                FoilNative.foil_client_config_init(ref config);
                config.BaseUrl = ptrs[0];
                config.ApiKey = ptrs[1];
                config.LlmApiKey = ptrs[2];
                config.LlmModel = ptrs[3];
                config.LlmEvalModel = ptrs[4];
                config.LlmResponseModel = ptrs[5];
                config.LlmSummarizationModel = ptrs[6];
                config.LlmEvalApiKey = ptrs[7];
                config.LlmResponseApiKey = ptrs[8];
                config.LlmSummarizationApiKey = ptrs[9];
                config.TimeoutMs = o.TimeoutMs();
                config.StreamTimeoutMs = o.StreamTimeoutMs();
                config.MaxRetries = o.CheckedMaxRetries();
                config.PersonaCacheTtlMs = o.PersonaCacheTtlMs();
                return FoilClientHandle.Create(ref config);
            }
            finally
            {
                foreach (IntPtr p in ptrs)
                {
                    NativeStrings.Free(p);
                }
            }
        }
    }
}
#endif
