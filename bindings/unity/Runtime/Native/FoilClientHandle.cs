// Not in WebGL players: browsers cannot load native code.
#if !UNITY_WEBGL || UNITY_EDITOR
using System;
using System.Runtime.InteropServices;

namespace FoilEngine.Native
{
    /// <summary>
    /// Owns a native <c>FoilClient*</c> and frees it with <c>foil_client_free</c> exactly once:
    /// on <see cref="SafeHandle.Dispose()"/>, or by the finalizer if the owner forgot.
    /// </summary>
    /// <remarks>
    /// Callers that pass the raw pointer to native code bracket the call with
    /// <see cref="SafeHandle.DangerousAddRef"/> / <see cref="SafeHandle.DangerousRelease"/>
    /// (see <see cref="Use{T}"/>), so a <c>Dispose</c> on another thread — or from inside an event
    /// handler — never frees the client while a native call on it is running: the free is
    /// deferred until the last such call returns, as foil_client_free requires.
    /// </remarks>
    public sealed class FoilClientHandle : SafeHandle
    {
        /// <summary>An invalid (NULL) handle.</summary>
        public FoilClientHandle()
            : base(IntPtr.Zero, true)
        {
        }

        /// <summary>Whether the handle is NULL.</summary>
        public override bool IsInvalid
        {
            get { return handle == IntPtr.Zero; }
        }

        /// <summary>
        /// Creates a native client from <paramref name="config"/>. Throws
        /// <see cref="ArgumentException"/> for a rejected configuration and
        /// <see cref="FoilEngineException"/> when the client's runtime could not start.
        /// </summary>
        public static FoilClientHandle Create(ref FoilClientConfig config)
        {
            var result = new FoilClientHandle();
            IntPtr client;
            FoilStatus status = FoilNative.foil_client_new(ref config, out client);
            if (status != FoilStatus.Ok)
            {
                string message = NativeStrings.LastError(IntPtr.Zero);
                throw NativeErrors.ToException(status, message);
            }
            result.SetHandle(client);
            return result;
        }

        /// <summary>
        /// Runs <paramref name="call"/> with the raw pointer while holding a reference, so the
        /// client cannot be freed meanwhile. Throws <see cref="ObjectDisposedException"/> when
        /// the handle is already closed.
        /// </summary>
        public T Use<T>(Func<IntPtr, T> call)
        {
            bool added = false;
            try
            {
                DangerousAddRef(ref added);
                return call(handle);
            }
            finally
            {
                if (added)
                {
                    DangerousRelease();
                }
            }
        }

        /// <summary>Frees the native client (cancels its requests, drops its queued events).</summary>
        protected override bool ReleaseHandle()
        {
            FoilNative.foil_client_free(handle);
            handle = IntPtr.Zero;
            return true;
        }
    }

    /// <summary>Turns native statuses into .NET exceptions.</summary>
    internal static class NativeErrors
    {
        internal static Exception ToException(FoilStatus status, string message)
        {
            if (string.IsNullOrEmpty(message))
            {
                message = "native call failed: " + status;
            }
            switch (status)
            {
                case FoilStatus.NullArgument:
                case FoilStatus.InvalidUtf8:
                case FoilStatus.EmptyArgument:
                case FoilStatus.ArgumentTooLong:
                case FoilStatus.InvalidArgument:
                    return new ArgumentException(message);
                case FoilStatus.InvalidHandle:
                    return new ObjectDisposedException("FoilEngineClient", message);
                default:
                    return new FoilEngineException(message, 0, "native_" + status.ToString().ToLowerInvariant());
            }
        }
    }
}
#endif
