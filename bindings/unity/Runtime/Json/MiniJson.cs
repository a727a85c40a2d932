using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace FoilEngine.Json
{
    /// <summary>
    /// A small, self-contained JSON reader (RFC 8259) for the server's responses, so the core
    /// needs neither System.Text.Json nor UnityEngine.JsonUtility. Objects become
    /// <see cref="JsonObject"/>, arrays <see cref="List{T}"/> of values, strings
    /// <see cref="string"/>, integers <see cref="long"/> (other numbers <see cref="double"/>),
    /// <c>true</c>/<c>false</c> <see cref="bool"/> and <c>null</c> null.
    /// </summary>
    public static class MiniJson
    {
        /// <summary>Parses one JSON document. Throws <see cref="FormatException"/> on bad input.</summary>
        public static object Parse(string text)
        {
            if (text == null)
            {
                throw new ArgumentNullException("text");
            }
            var reader = new Reader(text);
            reader.SkipWhitespace();
            object value = reader.ReadValue(0);
            reader.SkipWhitespace();
            if (!reader.AtEnd)
            {
                throw reader.Error("unexpected data after the JSON value");
            }
            return value;
        }

        /// <summary>Parses a document that must be an object.</summary>
        public static JsonObject ParseObject(string text)
        {
            var obj = Parse(text) as JsonObject;
            if (obj == null)
            {
                throw new FormatException("expected a JSON object");
            }
            return obj;
        }

        /// <summary>Parses a document that must be an array.</summary>
        public static List<object> ParseArray(string text)
        {
            var list = Parse(text) as List<object>;
            if (list == null)
            {
                throw new FormatException("expected a JSON array");
            }
            return list;
        }

        private sealed class Reader
        {
            private const int MaxDepth = 128;
            private readonly string _s;
            private int _i;

            internal Reader(string s)
            {
                _s = s;
            }

            internal bool AtEnd
            {
                get { return _i >= _s.Length; }
            }

            internal FormatException Error(string what)
            {
                return new FormatException("invalid JSON at offset " + _i + ": " + what);
            }

            internal void SkipWhitespace()
            {
                while (_i < _s.Length)
                {
                    char c = _s[_i];
                    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
                    {
                        _i++;
                    }
                    else
                    {
                        break;
                    }
                }
            }

            internal object ReadValue(int depth)
            {
                if (depth > MaxDepth)
                {
                    throw Error("nested too deeply");
                }
                if (AtEnd)
                {
                    throw Error("unexpected end");
                }
                char c = _s[_i];
                switch (c)
                {
                    case '{':
                        return ReadObject(depth);
                    case '[':
                        return ReadArray(depth);
                    case '"':
                        return ReadString();
                    case 't':
                        Expect("true");
                        return true;
                    case 'f':
                        Expect("false");
                        return false;
                    case 'n':
                        Expect("null");
                        return null;
                    default:
                        if (c == '-' || (c >= '0' && c <= '9'))
                        {
                            return ReadNumber();
                        }
                        throw Error("unexpected character '" + c + "'");
                }
            }

            private void Expect(string word)
            {
                if (string.CompareOrdinal(_s, _i, word, 0, word.Length) != 0)
                {
                    throw Error("expected " + word);
                }
                _i += word.Length;
            }

            private JsonObject ReadObject(int depth)
            {
                var obj = new JsonObject();
                _i++; // {
                SkipWhitespace();
                if (!AtEnd && _s[_i] == '}')
                {
                    _i++;
                    return obj;
                }
                while (true)
                {
                    SkipWhitespace();
                    if (AtEnd || _s[_i] != '"')
                    {
                        throw Error("expected a key");
                    }
                    string key = ReadString();
                    SkipWhitespace();
                    if (AtEnd || _s[_i] != ':')
                    {
                        throw Error("expected ':'");
                    }
                    _i++;
                    SkipWhitespace();
                    obj[key] = ReadValue(depth + 1);
                    SkipWhitespace();
                    if (AtEnd)
                    {
                        throw Error("unterminated object");
                    }
                    char c = _s[_i++];
                    if (c == '}')
                    {
                        return obj;
                    }
                    if (c != ',')
                    {
                        throw Error("expected ',' or '}'");
                    }
                }
            }

            private List<object> ReadArray(int depth)
            {
                var list = new List<object>();
                _i++; // [
                SkipWhitespace();
                if (!AtEnd && _s[_i] == ']')
                {
                    _i++;
                    return list;
                }
                while (true)
                {
                    SkipWhitespace();
                    list.Add(ReadValue(depth + 1));
                    SkipWhitespace();
                    if (AtEnd)
                    {
                        throw Error("unterminated array");
                    }
                    char c = _s[_i++];
                    if (c == ']')
                    {
                        return list;
                    }
                    if (c != ',')
                    {
                        throw Error("expected ',' or ']'");
                    }
                }
            }

            private string ReadString()
            {
                _i++; // opening quote
                StringBuilder sb = null;
                int runStart = _i;
                while (true)
                {
                    if (AtEnd)
                    {
                        throw Error("unterminated string");
                    }
                    char c = _s[_i];
                    if (c == '"')
                    {
                        string tail = _s.Substring(runStart, _i - runStart);
                        _i++;
                        if (sb == null)
                        {
                            return tail;
                        }
                        sb.Append(tail);
                        return sb.ToString();
                    }
                    if (c < ' ')
                    {
                        throw Error("control character in string");
                    }
                    if (c != '\\')
                    {
                        _i++;
                        continue;
                    }
                    if (sb == null)
                    {
                        sb = new StringBuilder();
                    }
                    sb.Append(_s, runStart, _i - runStart);
                    _i++; // backslash
                    if (AtEnd)
                    {
                        throw Error("unterminated escape");
                    }
                    char e = _s[_i++];
                    switch (e)
                    {
                        case '"': sb.Append('"'); break;
                        case '\\': sb.Append('\\'); break;
                        case '/': sb.Append('/'); break;
                        case 'b': sb.Append('\b'); break;
                        case 'f': sb.Append('\f'); break;
                        case 'n': sb.Append('\n'); break;
                        case 'r': sb.Append('\r'); break;
                        case 't': sb.Append('\t'); break;
                        case 'u':
                            // UTF-16 code units; surrogate pairs arrive as two escapes and
                            // combine naturally in the string.
                            if (_i + 4 > _s.Length)
                            {
                                throw Error("short \\u escape");
                            }
                            int code;
                            if (!int.TryParse(_s.Substring(_i, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out code))
                            {
                                throw Error("bad \\u escape");
                            }
                            sb.Append((char)code);
                            _i += 4;
                            break;
                        default:
                            throw Error("bad escape '\\" + e + "'");
                    }
                    runStart = _i;
                }
            }

            private object ReadNumber()
            {
                int start = _i;
                if (_s[_i] == '-')
                {
                    _i++;
                }
                bool integer = true;
                int digits = 0;
                while (!AtEnd && _s[_i] >= '0' && _s[_i] <= '9')
                {
                    _i++;
                    digits++;
                }
                if (digits == 0)
                {
                    throw Error("expected a digit");
                }
                if (!AtEnd && _s[_i] == '.')
                {
                    integer = false;
                    _i++;
                    int frac = 0;
                    while (!AtEnd && _s[_i] >= '0' && _s[_i] <= '9')
                    {
                        _i++;
                        frac++;
                    }
                    if (frac == 0)
                    {
                        throw Error("expected a digit after '.'");
                    }
                }
                if (!AtEnd && (_s[_i] == 'e' || _s[_i] == 'E'))
                {
                    integer = false;
                    _i++;
                    if (!AtEnd && (_s[_i] == '+' || _s[_i] == '-'))
                    {
                        _i++;
                    }
                    int exp = 0;
                    while (!AtEnd && _s[_i] >= '0' && _s[_i] <= '9')
                    {
                        _i++;
                        exp++;
                    }
                    if (exp == 0)
                    {
                        throw Error("expected an exponent");
                    }
                }
                string token = _s.Substring(start, _i - start);
                long l;
                if (integer && long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l))
                {
                    return l;
                }
                return double.Parse(token, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }
    }

    /// <summary>A JSON object with typed, lenient getters (missing or null keys give defaults).</summary>
    public sealed class JsonObject : Dictionary<string, object>
    {
        /// <summary>An empty object.</summary>
        public JsonObject()
            : base(StringComparer.Ordinal)
        {
        }

        /// <summary>The string at <paramref name="key"/>, or null when missing/null.</summary>
        public string GetString(string key)
        {
            object v;
            if (!TryGetValue(key, out v) || v == null)
            {
                return null;
            }
            var s = v as string;
            if (s == null)
            {
                throw new FormatException("\"" + key + "\" is not a string");
            }
            return s;
        }

        /// <summary>The integer at <paramref name="key"/>, or null when missing/null.</summary>
        public long? GetLong(string key)
        {
            object v;
            if (!TryGetValue(key, out v) || v == null)
            {
                return null;
            }
            if (v is long)
            {
                return (long)v;
            }
            if (v is double)
            {
                return (long)(double)v;
            }
            throw new FormatException("\"" + key + "\" is not a number");
        }

        /// <summary>The integer at <paramref name="key"/> as an int (0 when missing/null).</summary>
        public int GetInt(string key)
        {
            return GetNullableInt(key) ?? 0;
        }

        /// <summary>The integer at <paramref name="key"/> as an int, or null when missing/null.</summary>
        public int? GetNullableInt(string key)
        {
            long? v = GetLong(key);
            if (!v.HasValue)
            {
                return null;
            }
            return (int)Math.Max(int.MinValue, Math.Min(int.MaxValue, v.Value));
        }

        /// <summary>The boolean at <paramref name="key"/> (false when missing/null).</summary>
        public bool GetBool(string key)
        {
            object v;
            if (!TryGetValue(key, out v) || v == null)
            {
                return false;
            }
            if (v is bool)
            {
                return (bool)v;
            }
            throw new FormatException("\"" + key + "\" is not a boolean");
        }

        /// <summary>The object at <paramref name="key"/>, or null.</summary>
        public JsonObject GetObject(string key)
        {
            object v;
            if (!TryGetValue(key, out v))
            {
                return null;
            }
            return v as JsonObject;
        }

        /// <summary>The objects of the array at <paramref name="key"/> (empty when missing/null).</summary>
        public List<JsonObject> GetObjects(string key)
        {
            var result = new List<JsonObject>();
            object v;
            if (!TryGetValue(key, out v) || v == null)
            {
                return result;
            }
            var list = v as List<object>;
            if (list == null)
            {
                throw new FormatException("\"" + key + "\" is not an array");
            }
            foreach (object item in list)
            {
                var obj = item as JsonObject;
                if (obj == null)
                {
                    throw new FormatException("\"" + key + "\" holds a non-object");
                }
                result.Add(obj);
            }
            return result;
        }
    }
}
