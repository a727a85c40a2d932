// The WebGL transport's bridge for the tests under Mono: Plugins/WebGL/FoilEngine.jslib runs in
// Node (Tests~/WebGL/host.js loads it as Emscripten does) and every FoilWeb_Call crosses a pipe,
// one JSON line each way. So the C# compiled with UNITY_WEBGL drives the very JavaScript a WebGL
// player ships, against a real server. Compiled only into the WebGL test program.

using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using FoilEngine.Web;

namespace FoilEngine.Tests
{
    internal sealed class NodeBridge : IWebBridge
    {
        private static readonly object SharedGate = new object();
        private static NodeBridge _shared;

        private readonly object _gate = new object();
        private readonly Process _node;
        private readonly StringBuilder _stderr = new StringBuilder();

        /// <summary>One Node process for the whole run (FOIL_NODE runs FOIL_WEBGL_HOST).</summary>
        internal static NodeBridge Shared
        {
            get
            {
                lock (SharedGate)
                {
                    return _shared ?? (_shared = new NodeBridge(
                        Environment.GetEnvironmentVariable("FOIL_NODE"),
                        Environment.GetEnvironmentVariable("FOIL_WEBGL_HOST")));
                }
            }
        }

        private NodeBridge(string node, string host)
        {
            if (string.IsNullOrEmpty(node) || string.IsNullOrEmpty(host))
            {
                throw new InvalidOperationException("FOIL_NODE and FOIL_WEBGL_HOST must name node and Tests~/WebGL/host.js");
            }
            var start = new ProcessStartInfo(node, "\"" + host + "\"")
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                StandardOutputEncoding = new UTF8Encoding(false),
            };
            _node = Process.Start(start);
            _node.ErrorDataReceived += (sender, e) =>
            {
                if (e.Data != null)
                {
                    lock (_stderr)
                    {
                        _stderr.AppendLine(e.Data);
                    }
                }
            };
            _node.BeginErrorReadLine();
            AppDomain.CurrentDomain.ProcessExit += (sender, e) => Stop();
        }

        public string Call(string requestJson)
        {
            lock (_gate)
            {
                byte[] line = new UTF8Encoding(false).GetBytes(requestJson + "\n");
                _node.StandardInput.BaseStream.Write(line, 0, line.Length);
                _node.StandardInput.BaseStream.Flush();
                string answer = _node.StandardOutput.ReadLine();
                if (answer == null)
                {
                    lock (_stderr)
                    {
                        throw new IOException("the Node host exited: " + _stderr);
                    }
                }
                return answer;
            }
        }

        private void Stop()
        {
            try
            {
                _node.StandardInput.Close();
                if (!_node.WaitForExit(2000))
                {
                    _node.Kill();
                }
            }
            catch (InvalidOperationException)
            {
                // Exited already.
            }
        }
    }
}
