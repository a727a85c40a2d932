// Not in WebGL players: browsers cannot load native code.
#if !UNITY_WEBGL || UNITY_EDITOR
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace FoilEngine.Native
{
    /// <summary>
    /// UTF-8 string conversion done by hand, so Mono, IL2CPP and every platform behave the same
    /// (the marshaller's default string encoding is not UTF-8 everywhere).
    /// </summary>
    public static class NativeStrings
    {
        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, false);

        /// <summary>
        /// Copies <paramref name="value"/> into unmanaged memory as NUL-terminated UTF-8.
        /// Returns <see cref="IntPtr.Zero"/> for null. Release with <see cref="Free"/>.
        /// </summary>
        public static IntPtr ToUtf8(string value)
        {
            if (value == null)
            {
                return IntPtr.Zero;
            }
            byte[] bytes = Utf8.GetBytes(value);
            IntPtr ptr = Marshal.AllocHGlobal(bytes.Length + 1);
            Marshal.Copy(bytes, 0, ptr, bytes.Length);
            Marshal.WriteByte(ptr, bytes.Length, 0);
            return ptr;
        }

        /// <summary>Frees memory from <see cref="ToUtf8"/>; <see cref="IntPtr.Zero"/> is ignored.</summary>
        public static void Free(IntPtr ptr)
        {
            if (ptr != IntPtr.Zero)
            {
                Marshal.FreeHGlobal(ptr);
            }
        }

        /// <summary>Reads <paramref name="length"/> bytes of UTF-8 at <paramref name="ptr"/>; null for NULL.</summary>
        public static string FromUtf8(IntPtr ptr, UIntPtr length)
        {
            if (ptr == IntPtr.Zero)
            {
                return null;
            }
            ulong len = length.ToUInt64();
            if (len > int.MaxValue)
            {
                throw new OverflowException("native string longer than 2 GiB");
            }
            if (len == 0)
            {
                return string.Empty;
            }
            var bytes = new byte[(int)len];
            Marshal.Copy(ptr, bytes, 0, bytes.Length);
            return Utf8.GetString(bytes);
        }

        /// <summary>Reads a NUL-terminated UTF-8 string at <paramref name="ptr"/>; null for NULL.</summary>
        public static string FromUtf8(IntPtr ptr)
        {
            if (ptr == IntPtr.Zero)
            {
                return null;
            }
            int len = 0;
            while (Marshal.ReadByte(ptr, len) != 0)
            {
                len++;
            }
            return FromUtf8(ptr, new UIntPtr((uint)len));
        }

        /// <summary>
        /// The message of the last native failure on <paramref name="client"/> (or of the calling
        /// thread when <paramref name="client"/> is <see cref="IntPtr.Zero"/>); empty if none.
        /// </summary>
        public static string LastError(IntPtr client)
        {
            ulong needed = FoilNative.foil_last_error(client, IntPtr.Zero, UIntPtr.Zero).ToUInt64();
            if (needed == 0)
            {
                return string.Empty;
            }
            int size = (int)Math.Min(needed + 1, 1 << 20);
            IntPtr buf = Marshal.AllocHGlobal(size);
            try
            {
                FoilNative.foil_last_error(client, buf, new UIntPtr((uint)size));
                return FromUtf8(buf);
            }
            finally
            {
                Marshal.FreeHGlobal(buf);
            }
        }
    }
}
#endif
