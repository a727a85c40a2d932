using System;
using System.Threading;
using System.Threading.Tasks;
using FoilEngine.Json;
using FoilEngine.Models;
using FoilEngine.Native;

namespace FoilEngine.Internal
{
    /// <summary>A request in flight: what to do with its events. Used on the pumping thread only
    /// (except <see cref="Cancel"/>, which completes the task and may run on any thread).</summary>
    internal abstract class PendingRequest
    {
        internal ulong Id;
        internal CancellationToken Token;
        internal CancellationTokenRegistration Registration;

        /// <summary>A non-finishing event of this request (stream metadata, text delta).</summary>
        internal virtual void OnPartial(FoilEventKind kind, string payload)
        {
        }

        /// <summary>
        /// The finishing event. Returns the action that completes the task (run after the game
        /// events of the same batch, so handlers see them before <c>await</c> resumes);
        /// <paramref name="callbackError"/> receives an exception thrown by a user callback.
        /// </summary>
        internal abstract Action Finish(FoilEventKind kind, int httpStatus, string payload, out Exception callbackError);

        /// <summary>Abandons the request: its task is cancelled.</summary>
        internal abstract void Cancel();
    }

    /// <summary>An ordinary request answered by one RESPONSE (or ERROR).</summary>
    internal class Pending<T> : PendingRequest
    {
        protected readonly TaskCompletionSource<T> Tcs = new TaskCompletionSource<T>();
        private readonly Func<string, T> _parse;

        internal Pending(Func<string, T> parse)
        {
            _parse = parse;
        }

        internal Task<T> Task
        {
            get { return Tcs.Task; }
        }

        internal override Action Finish(FoilEventKind kind, int httpStatus, string payload, out Exception callbackError)
        {
            callbackError = null;
            if (kind == FoilEventKind.Error)
            {
                return Fail(ErrorMapping.FromPayload(httpStatus, payload), out callbackError);
            }
            T value;
            try
            {
                value = _parse(payload);
            }
            catch (Exception e)
            {
                return Fail(new FoilEngineException("unexpected response: " + e.Message, httpStatus, "decode_error"), out callbackError);
            }
            return Succeed(value, out callbackError);
        }

        protected virtual Action Succeed(T value, out Exception callbackError)
        {
            callbackError = null;
            return () => Tcs.TrySetResult(value);
        }

        protected virtual Action Fail(Exception error, out Exception callbackError)
        {
            callbackError = null;
            if (error is OperationCanceledException)
            {
                return () => SetCanceled();
            }
            return () => Tcs.TrySetException(error);
        }

        internal override void Cancel()
        {
            SetCanceled();
        }

        private void SetCanceled()
        {
            if (Token.IsCancellationRequested)
            {
                Tcs.TrySetCanceled(Token);
            }
            else
            {
                Tcs.TrySetCanceled();
            }
        }
    }

    /// <summary>A streamed reply: metadata, text deltas, then STREAM_DONE (or ERROR).</summary>
    internal sealed class StreamPending : Pending<ChatResponse>
    {
        private readonly Action<ChatResponse> _onMetadata;
        private readonly Action<string> _onTextDelta;
        private readonly Action<ChatResponse> _onDone;
        private readonly Action<FoilEngineException> _onError;

        internal StreamPending(
            Action<ChatResponse> onMetadata,
            Action<string> onTextDelta,
            Action<ChatResponse> onDone,
            Action<FoilEngineException> onError)
            : base(ChatResponse.FromJson)
        {
            _onMetadata = onMetadata;
            _onTextDelta = onTextDelta;
            _onDone = onDone;
            _onError = onError;
        }

        internal override void OnPartial(FoilEventKind kind, string payload)
        {
            if (kind == FoilEventKind.StreamMetadata)
            {
                if (_onMetadata != null)
                {
                    _onMetadata(ChatResponse.FromJson(payload));
                }
            }
            else if (kind == FoilEventKind.TextDelta)
            {
                if (_onTextDelta != null)
                {
                    _onTextDelta(payload);
                }
            }
        }

        protected override Action Succeed(ChatResponse value, out Exception callbackError)
        {
            callbackError = null;
            if (_onDone != null)
            {
                try
                {
                    _onDone(value);
                }
                catch (Exception e)
                {
                    callbackError = e;
                }
            }
            return () => Tcs.TrySetResult(value);
        }

        protected override Action Fail(Exception error, out Exception callbackError)
        {
            callbackError = null;
            var failure = error as FoilEngineException;
            if (failure == null || _onError == null)
            {
                // Cancellation always cancels the task; without onError the task faults.
                return base.Fail(error, out callbackError);
            }
            try
            {
                _onError(failure);
            }
            catch (Exception e)
            {
                callbackError = e;
            }
            // Reported through onError: the task completes without a response.
            return () => Tcs.TrySetResult(null);
        }
    }

    /// <summary>Maps the native ERROR payload to the exception of its HTTP status.</summary>
    internal static class ErrorMapping
    {
        /// <summary>
        /// The exception for <c>{"status","code","message","retry_after"}</c>; an
        /// <see cref="OperationCanceledException"/> for code <c>cancelled</c>.
        /// </summary>
        internal static Exception FromPayload(int httpStatus, string payload)
        {
            int status = httpStatus;
            string code = null;
            string message = null;
            float? retryAfter = null;
            try
            {
                JsonObject o = MiniJson.ParseObject(payload);
                long? s = o.GetLong("status");
                if (s.HasValue && s.Value != 0)
                {
                    status = (int)s.Value;
                }
                code = o.GetString("code");
                message = o.GetString("message");
                long? retry = o.GetLong("retry_after");
                if (retry.HasValue)
                {
                    retryAfter = retry.Value;
                }
            }
            catch (FormatException)
            {
                message = payload;
            }
            if (string.IsNullOrEmpty(message))
            {
                message = status != 0 ? "HTTP " + status : "request failed";
            }
            return Create(status, code, message, retryAfter);
        }

        internal static Exception Create(int status, string code, string message, float? retryAfter)
        {
            if (status == 0 && code == "cancelled")
            {
                return new OperationCanceledException(message);
            }
            switch (status)
            {
                case 400: return new BadRequestException(message, code);
                case 401: return new AuthenticationException(message, code);
                case 403: return new ForbiddenException(message, code);
                case 404: return new NotFoundException(message, code);
                case 409: return new ConflictException(message, code);
                case 429: return new RateLimitException(message, retryAfter, code);
            }
            if (status >= 500 && status <= 599)
            {
                return new ServerException(message, status, code);
            }
            return new FoilEngineException(message, status, code);
        }
    }
}
