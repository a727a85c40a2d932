using System.Globalization;
using System.Text;

namespace FoilEngine.Json
{
    /// <summary>Writes the few JSON values the client sends (strings, numbers, arrays of
    /// strings) without a serializer, so IL2CPP's stripping has nothing to keep.</summary>
    internal static class JsonWriter
    {
        /// <summary>Appends <paramref name="value"/> as a JSON string (null as <c>null</c>).</summary>
        internal static StringBuilder String(this StringBuilder sb, string value)
        {
            if (value == null)
            {
                return sb.Append("null");
            }
            sb.Append('"');
            foreach (char c in value)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20 || c == '\u2028' || c == '\u2029')
                        {
                            sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            // Lone surrogates pass through as they are (UTF-8 conversion decides).
                            sb.Append(c);
                        }
                        break;
                }
            }
            return sb.Append('"');
        }

        /// <summary>Appends <c>"name":</c>, preceded by a comma unless it is the first member.</summary>
        internal static StringBuilder Member(this StringBuilder sb, string name)
        {
            char last = sb.Length > 0 ? sb[sb.Length - 1] : '{';
            if (last != '{')
            {
                sb.Append(',');
            }
            return sb.String(name).Append(':');
        }

        /// <summary>Appends an integer.</summary>
        internal static StringBuilder Number(this StringBuilder sb, long value)
        {
            return sb.Append(value.ToString(CultureInfo.InvariantCulture));
        }

        /// <summary>Appends an array of strings.</summary>
        internal static StringBuilder Strings(this StringBuilder sb, string[] values)
        {
            sb.Append('[');
            for (int i = 0; i < values.Length; i++)
            {
                if (i > 0)
                {
                    sb.Append(',');
                }
                sb.String(values[i]);
            }
            return sb.Append(']');
        }
    }
}
