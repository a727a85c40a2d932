// Tests of the Unity binding's core (everything in Runtime/ outside the UNITY_* layer), run
// under Mono against the real native library and a real foil-server — and, compiled with
// UNITY_WEBGL (plus NodeBridge.cs), over the WebGL transport in Node against the same server.
//
// Built and run by foil-ffi-tests/tests/unity_mono.rs; by hand:
//   mcs -langversion:7 -out:FoilNativeTests.exe \
//       $(find bindings/unity/Runtime -name '*.cs' ! -path '*/Unity/*') bindings/unity/Tests~/Mono/FoilNativeTests.cs
//   LD_LIBRARY_PATH=target/debug FOIL_BASE_URL=http://127.0.0.1:8000 FOIL_API_KEY=pk_live_... \
//       FOIL_PERSONA_ID=<Grumpy Barista's id> FOIL_UNLOCK_PERSONA_ID=<Corwin's id> \
//       FOIL_EXAMPLES_DIR=examples/personas FOIL_TEST_TOKEN_PLAYER=<a player id> \
//       FOIL_TEST_FRESH_TOKEN=<a player token for it> mono FoilNativeTests.exe
//
// The game's main loop is emulated: a single-threaded SynchronizationContext (like Unity's)
// plus client.Pump() once per "frame", so `await` resumes on the main thread as in a game.
// Prints one line per test and, last, "N passed, N failed"; exits 1 on any failure.

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Net;
using System.Net.Sockets;
using System.Diagnostics;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using FoilEngine;
using FoilEngine.Events;
using FoilEngine.Json;
using FoilEngine.Models;
using FoilEngine.Native;

namespace FoilEngine.Tests
{
    internal static class FoilNativeTests
    {
        private static string _baseUrl;
        private static string _apiKey;
        private static string _personaId;
        private static string _unlockPersonaId;
        private static string _examples;
        private static string _tokenPlayer;
        private static string _freshToken;
        private static int _mainThread;
        private static int _passed;
        private static int _failed;

        private static int Main(string[] args)
        {
            _mainThread = Thread.CurrentThread.ManagedThreadId;
            _baseUrl = Env("FOIL_BASE_URL");
            _apiKey = Env("FOIL_API_KEY");
            _personaId = Env("FOIL_PERSONA_ID");
            _unlockPersonaId = Env("FOIL_UNLOCK_PERSONA_ID");
            _examples = Env("FOIL_EXAMPLES_DIR");
            _tokenPlayer = Env("FOIL_TEST_TOKEN_PLAYER");
            _freshToken = Env("FOIL_TEST_FRESH_TOKEN");
            string only = Environment.GetEnvironmentVariable("FOIL_TEST_FILTER");

            var tests = new List<KeyValuePair<string, Action>>
            {
                Case("json_reader_parses_and_rejects", JsonReader),
                Case("native_version_matches_declarations", NativeVersion),
                Case("argument_errors_throw_before_sending", ArgumentErrors),
                Case("personas_and_machines_are_listed", PersonasAndMachines),
                Case("playthroughs_reach_their_outcomes_with_game_events", Playthroughs),
                Case("unlocking_a_machine_raises_machines_unlocked", Unlocks),
                Case("streamed_reply_deltas_concatenate_to_the_final_message", StreamedReply),
                Case("history_reset_and_not_found", HistoryResetAndNotFound),
                Case("bad_api_key_is_an_authentication_exception", BadKey),
                Case("server_errors_map_to_exceptions_by_status", BadRequest),
                Case("validate_llm_key_reports_validity", ValidateLlmKey),
                Case("an_expiring_token_raises_on_credential_expiring_and_set_api_key_replaces_it", PlayerTokens),
                Case("handler_exception_surfaces_from_pump_without_losing_results", HandlerException),
                Case("cancellation_token_cancels_a_hanging_request", Cancellation),
                Case("timeout_is_reported_with_code_timeout", RequestTimeout),
                Case("dispose_cancels_pending_and_a_new_client_works", DisposeAndRecreate),
                Case("dispose_from_inside_a_handler_is_safe", DisposeInsideHandler),
                NativeCase("dispose_with_requests_in_flight_stops_the_native_client", DisposeInFlight),
                NativeCase("an_abandoned_client_is_freed_by_the_finalizer", FinalizerFreesClient),
            };
            foreach (KeyValuePair<string, Action> test in tests)
            {
                if (test.Value == null || (!string.IsNullOrEmpty(only) && !test.Key.Contains(only)))
                {
                    continue;
                }
                Run(test.Key, test.Value);
            }
            Console.WriteLine("{0} passed, {1} failed", _passed, _failed);
            return _failed == 0 ? 0 : 1;
        }

        // ---- Harness ----

        private static KeyValuePair<string, Action> Case(string name, Action body)
        {
            return new KeyValuePair<string, Action>(name, body);
        }

        /// <summary>A case about the native plugin itself (its threads, its SafeHandle): not
        /// part of the run over the WebGL transport.</summary>
        private static KeyValuePair<string, Action> NativeCase(string name, Action body)
        {
#if UNITY_WEBGL
            return new KeyValuePair<string, Action>(name, null);
#else
            return Case(name, body);
#endif
        }

        private static void Run(string name, Action body)
        {
            try
            {
                body();
                _passed++;
                Console.WriteLine("ok     " + name);
            }
            catch (Exception e)
            {
                _failed++;
                Console.WriteLine("FAILED " + name + ": " + e);
            }
        }

        private static string Env(string name)
        {
            string value = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(value))
            {
                Console.Error.WriteLine("missing environment variable " + name);
                Console.WriteLine("0 passed, 1 failed");
                Environment.Exit(2);
            }
            return value;
        }

        private sealed class AssertionException : Exception
        {
            public AssertionException(string message) : base(message) { }
        }

        private static void Check(bool condition, string what)
        {
            if (!condition)
            {
                throw new AssertionException(what);
            }
        }

        private static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
            {
                throw new AssertionException(what + ": expected <" + expected + ">, got <" + actual + ">");
            }
        }

        private static void OnMain(string what)
        {
            Equal(_mainThread, Thread.CurrentThread.ManagedThreadId, what + " runs on the main thread");
        }

        private static TException Throws<TException>(Action action, string what) where TException : Exception
        {
            try
            {
                action();
            }
            catch (TException e)
            {
                return e;
            }
            catch (Exception e)
            {
                throw new AssertionException(what + ": expected " + typeof(TException).Name + ", got " + e.GetType().Name + ": " + e.Message);
            }
            throw new AssertionException(what + ": expected " + typeof(TException).Name + ", nothing was thrown");
        }

        private static async Task<TException> ThrowsAsync<TException>(Func<Task> action, string what) where TException : Exception
        {
            try
            {
                await action();
            }
            catch (TException e)
            {
                return e;
            }
            catch (Exception e)
            {
                throw new AssertionException(what + ": expected " + typeof(TException).Name + ", got " + e.GetType().Name + ": " + e.Message);
            }
            throw new AssertionException(what + ": expected " + typeof(TException).Name + ", nothing was thrown");
        }

        /// <summary>
        /// A game's main loop: a single-threaded SynchronizationContext (as Unity's) and the
        /// clients' Pump() every "frame", until the scenario's task ends.
        /// </summary>
        private sealed class MainLoop : SynchronizationContext
        {
            private readonly Queue<KeyValuePair<SendOrPostCallback, object>> _posted = new Queue<KeyValuePair<SendOrPostCallback, object>>();
            private readonly List<FoilEngineClient> _clients = new List<FoilEngineClient>();
            internal int Frames;

            public override void Post(SendOrPostCallback d, object state)
            {
                lock (_posted)
                {
                    _posted.Enqueue(new KeyValuePair<SendOrPostCallback, object>(d, state));
                }
            }

            public override void Send(SendOrPostCallback d, object state)
            {
                throw new NotSupportedException();
            }

            internal FoilEngineClient Track(FoilEngineClient client)
            {
                _clients.Add(client);
                return client;
            }

            /// <summary>One frame: pump every client, then run what was posted to the main thread.</summary>
            internal void Frame()
            {
                Frames++;
                foreach (FoilEngineClient client in _clients.ToArray())
                {
                    client.Pump();
                }
                while (true)
                {
                    KeyValuePair<SendOrPostCallback, object> item;
                    lock (_posted)
                    {
                        if (_posted.Count == 0)
                        {
                            break;
                        }
                        item = _posted.Dequeue();
                    }
                    item.Key(item.Value);
                }
            }

            internal static void Run(Func<MainLoop, Task> scenario, int timeoutMs = 60000)
            {
                var loop = new MainLoop();
                SynchronizationContext previous = Current;
                SetSynchronizationContext(loop);
                try
                {
                    Task task = scenario(loop);
                    DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
                    while (!task.IsCompleted)
                    {
                        if (DateTime.UtcNow > deadline)
                        {
                            throw new AssertionException("scenario did not finish within " + timeoutMs + " ms");
                        }
                        loop.Frame();
                        Thread.Sleep(1);
                    }
                    task.GetAwaiter().GetResult();
                }
                finally
                {
                    SetSynchronizationContext(previous);
                    foreach (FoilEngineClient client in loop._clients)
                    {
                        client.Dispose();
                    }
                }
            }
        }

        private static FoilEngineClient NewClient(MainLoop loop, string apiKey = null, string baseUrl = null, int timeout = 30, int maxRetries = 3)
        {
            return loop.Track(Client(apiKey ?? _apiKey, baseUrl ?? _baseUrl, timeout: timeout, maxRetries: maxRetries));
        }

        /// <summary>A client as a game makes one — over the WebGL transport (in Node, through
        /// <see cref="NodeBridge"/>) when this program is compiled with UNITY_WEBGL.</summary>
        private static FoilEngineClient Client(string apiKey, string baseUrl = FoilEngineClientOptions.DefaultBaseUrl, int timeout = 30, int maxRetries = 3)
        {
#if UNITY_WEBGL
            var options = new FoilEngineClientOptions { ApiKey = apiKey, BaseUrl = baseUrl, Timeout = timeout, MaxRetries = maxRetries };
            return new FoilEngineClient(options, o => new Web.WebBackend(NodeBridge.Shared, o));
#else
            return new FoilEngineClient(apiKey, baseUrl, timeout: timeout, maxRetries: maxRetries);
#endif
        }

        private static string NewPlayer(string tag)
        {
            return "mono-" + tag + "-" + Guid.NewGuid().ToString("N").Substring(0, 12);
        }

        private sealed class Playthrough
        {
            internal string MachineKey;
            internal string Outcome;
            internal List<string> Messages;
            internal List<string> Unlocks;
        }

        private static List<Playthrough> LoadPlaythroughs(string stem)
        {
            string text = File.ReadAllText(Path.Combine(Path.Combine(_examples, "playthroughs"), stem + ".json"));
            var result = new List<Playthrough>();
            foreach (object item in MiniJson.ParseArray(text))
            {
                var o = (JsonObject)item;
                object messages;
                o.TryGetValue("messages", out messages);
                object unlocks;
                o.TryGetValue("unlocks", out unlocks);
                result.Add(new Playthrough
                {
                    MachineKey = o.GetString("machine_key"),
                    Outcome = o.GetString("outcome"),
                    Messages = ((List<object>)messages).Cast<string>().ToList(),
                    Unlocks = unlocks == null ? new List<string>() : ((List<object>)unlocks).Cast<string>().ToList(),
                });
            }
            return result;
        }

        /// <summary>Records every game event of a client, checking each arrives on the main thread.</summary>
        private sealed class EventLog
        {
            internal readonly List<string> Order = new List<string>();
            internal readonly List<StateChangeEvent> States = new List<StateChangeEvent>();
            internal readonly List<ScoreChangeEvent> Scores = new List<ScoreChangeEvent>();
            internal readonly List<MachineCompletedEvent> Completed = new List<MachineCompletedEvent>();
            internal readonly List<MachinesUnlockedEvent> Unlocked = new List<MachinesUnlockedEvent>();
            internal readonly List<SessionEndedEvent> Ended = new List<SessionEndedEvent>();

            internal EventLog(FoilEngineClient client)
            {
                client.OnStateChange += e => { OnMain("OnStateChange"); States.Add(e); Order.Add("state"); };
                client.OnScoreChange += e => { OnMain("OnScoreChange"); Scores.Add(e); Order.Add("score"); };
                client.OnMachineCompleted += e => { OnMain("OnMachineCompleted"); Completed.Add(e); Order.Add("completed"); };
                client.OnMachinesUnlocked += e => { OnMain("OnMachinesUnlocked"); Unlocked.Add(e); Order.Add("unlocked"); };
                client.OnSessionEnded += e => { OnMain("OnSessionEnded"); Ended.Add(e); Order.Add("ended"); };
            }

            internal int Count
            {
                get { return Order.Count; }
            }
        }

        /// <summary>A TCP server that accepts connections and never answers.</summary>
        private sealed class SilentServer : IDisposable
        {
            private readonly TcpListener _listener;
            private readonly List<TcpClient> _accepted = new List<TcpClient>();
            private readonly Thread _thread;

            internal SilentServer()
            {
                _listener = new TcpListener(IPAddress.Loopback, 0);
                _listener.Start();
                _thread = new Thread(() =>
                {
                    try
                    {
                        while (true)
                        {
                            TcpClient c = _listener.AcceptTcpClient();
                            lock (_accepted)
                            {
                                _accepted.Add(c);
                            }
                        }
                    }
                    catch (Exception)
                    {
                        // Stopped.
                    }
                });
                _thread.IsBackground = true;
                _thread.Start();
            }

            internal string Url
            {
                get { return "http://127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port; }
            }

            public void Dispose()
            {
                _listener.Stop();
                lock (_accepted)
                {
                    foreach (TcpClient c in _accepted)
                    {
                        c.Close();
                    }
                }
            }
        }

        // ---- Tests ----

        private static void JsonReader()
        {
            JsonObject o = MiniJson.ParseObject(
                "{\"s\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00/\",\"i\":-42,\"big\":9007199254740993,\"d\":1.5e2,"
                + "\"t\":true,\"f\":false,\"n\":null,\"a\":[1,{\"k\":[]}],\"e\":{}}");
            Equal("a\"b\\c\n\u00e9\U0001F600/", o.GetString("s"), "escaped string");
            Equal(-42, o.GetInt("i"), "negative integer");
            Equal(9007199254740993L, o.GetLong("big").Value, "integer beyond double precision");
            Equal(150.0, (double)o["d"], "exponent number");
            Check(o.GetBool("t") && !o.GetBool("f"), "booleans");
            Check(o.ContainsKey("n") && o["n"] == null && o.GetString("n") == null, "null");
            Equal(2, ((List<object>)o["a"]).Count, "array length");
            Equal(0, o.GetObject("e").Count, "empty object");
            Equal(null, o.GetString("missing"), "missing key");
            Equal("h\u00e9llo", MiniJson.Parse(" \"h\u00e9llo\" ") as string, "raw non-ASCII, surrounding whitespace");
            foreach (string bad in new[] { "", "{", "[1,]", "{\"a\":}", "tru", "01x", "\"abc", "{\"a\" 1}", "[1] 2", "\"\\x\"", "-", "1." })
            {
                Throws<FormatException>(() => MiniJson.Parse(bad), "invalid JSON " + bad);
            }
            Throws<FormatException>(() => MiniJson.ParseObject("{\"s\":1}").GetString("s"), "number read as string");
        }

        private static void NativeVersion()
        {
            Equal(FoilNative.Version, FoilEngineClient.NativeVersion, "foil_version() vs FoilNative.Version");
        }

        private static void ArgumentErrors()
        {
            Throws<ArgumentException>(() => Client(""), "empty API key");
            Throws<ArgumentException>(() => Client(_apiKey, "ftp://example.com"), "base URL that is not http(s)");
            Throws<ArgumentOutOfRangeException>(() => Client(_apiKey, _baseUrl, timeout: 0), "zero timeout");
            using (var client = Client(_apiKey, _baseUrl))
            {
                Throws<ArgumentException>(() => client.Chat.SendMessageAsync("", "hi", "p1"), "empty persona id");
                Throws<ArgumentException>(() => client.Chat.SendMessageAsync(_personaId, "  ", "p1"), "blank message");
                ArgumentException notUuid = Throws<ArgumentException>(
                    () => client.Chat.SendMessageAsync("not-a-uuid", "hi", "p1"), "persona id that is not a UUID");
                Check(notUuid.Message.Contains("persona_id"), "the native message names the argument: " + notUuid.Message);
                Throws<ArgumentException>(
                    () => client.Chat.SendMessageAsync(_personaId, new string('x', 2001), "p1"), "message over 2,000 characters");
                Equal(0, client.PendingRequestCount, "nothing was sent");
                // Accepted: exactly 2,000 characters, non-ASCII included (counted in characters, not bytes).
                client.Chat.SendMessageAsync(_personaId, new string('\u00e9', 2000), NewPlayer("long"));
                Equal(1, client.PendingRequestCount, "a 2,000-character message is sent");
            }
        }

        private static void PersonasAndMachines()
        {
            MainLoop.Run(async loop =>
            {
                FoilEngineClient client = NewClient(loop);
                Persona[] personas = await client.Personas.ListAsync();
                OnMain("await Personas.ListAsync");
                Persona barista = personas.FirstOrDefault(p => p.Id == _personaId);
                Check(barista != null, "the persona list holds FOIL_PERSONA_ID");
                Equal("Grumpy Barista", barista.Name, "persona name");
                Check(!string.IsNullOrEmpty(barista.CreatedAt), "created_at is read");
                Check(personas.Any(p => p.Name == "Duchess Val\u00e9rie"), "non-ASCII names decode from UTF-8");
                MachineInfo[] machines = await client.Machines.ListAsync(_personaId, NewPlayer("machines"));
                Check(machines.Any(m => m.MachineKey == "order_coffee" && !m.HasSession && m.SessionOutcome == null),
                    "the barista's order_coffee machine is listed, without a session");
            });
        }

        private static void Playthroughs()
        {
            List<Playthrough> playthroughs = LoadPlaythroughs("grumpy_barista");
            Check(playthroughs.Count >= 3, "grumpy_barista.json has playthroughs");
            MainLoop.Run(async loop =>
            {
                FoilEngineClient client = NewClient(loop);
                var events = new EventLog(client);
                MachineInfo[] machines = await client.Machines.ListAsync(_personaId, NewPlayer("list"));
                foreach (Playthrough play in playthroughs)
                {
                    string what = play.MachineKey + "/" + play.Outcome + ": ";
                    string machineId = machines.First(m => m.MachineKey == play.MachineKey).MachineId;
                    string player = NewPlayer("play");
                    SessionInit init = await client.Chat.InitSessionAsync(_personaId, player, "Alex", "non-binary", machineId);
                    Check(!string.IsNullOrEmpty(init.Message), what + "greeting");
                    Equal(player, init.UserSessionId, what + "user_session_id");
                    Equal(machineId, init.MachineId, what + "machine_id");
                    // Teaches the client the initial state: the first turn's state change is reported.
                    SessionStatus status = await client.Chat.GetSessionAsync(_personaId, player, machineId);
                    Equal(init.SessionId, status.SessionId, what + "status session id");
                    string state = status.CurrentState;
                    int score = status.Score;
                    int before = events.Count;
                    ChatResponse last = null;
                    foreach (string line in play.Messages)
                    {
                        int turnStart = events.Count;
                        ChatResponse r = await client.Chat.SendMessageAsync(_personaId, line, player, machineId);
                        OnMain("await SendMessageAsync");
                        Equal(init.SessionId, r.SessionId, what + "session id");
                        Check(!string.IsNullOrEmpty(r.Message), what + "reply text");
                        // The turn's game events were delivered before the task completed.
                        List<string> turn = events.Order.Skip(turnStart).ToList();
                        Equal(r.CurrentState != state, turn.Contains("state"), what + "state_change iff the state changed (" + state + " -> " + r.CurrentState + ")");
                        Equal(r.Score != score, turn.Contains("score"), what + "score_change iff the score changed");
                        if (r.CurrentState != state)
                        {
                            StateChangeEvent e = events.States.Last();
                            Equal(state, e.FromState, what + "from_state");
                            Equal(r.CurrentState, e.ToState, what + "to_state");
                            Equal(r.Decision, e.Decision, what + "decision");
                            Equal(init.SessionId, e.SessionId, what + "state event session");
                        }
                        if (r.Score != score)
                        {
                            ScoreChangeEvent e = events.Scores.Last();
                            Equal(score, e.OldScore, what + "old_score");
                            Equal(r.Score, e.NewScore, what + "new_score");
                            Equal(r.Score - score, e.Delta, what + "delta");
                        }
                        state = r.CurrentState;
                        score = r.Score;
                        last = r;
                    }
                    Equal(play.Outcome, last.Outcome, what + "outcome");
                    Check(last.MachineCompleted, what + "machine_completed");
                    SessionEndedEvent ended = events.Ended.Last();
                    Equal(play.Outcome, ended.Outcome, what + "session_ended outcome");
                    Equal(last.Score, ended.FinalScore, what + "final score");
                    Equal(init.SessionId, ended.SessionId, what + "session_ended session");
                    Equal(init.SessionId, events.Completed.Last().SessionId, what + "machine_completed session");
                    Equal(1, events.Order.Skip(before).Count(k => k == "ended"), what + "one session_ended");
                    Equal(1, events.Order.Skip(before).Count(k => k == "completed"), what + "one machine_completed");
                    // The session is over: one more message is a conflict.
                    ConflictException conflict = await ThrowsAsync<ConflictException>(
                        () => client.Chat.SendMessageAsync(_personaId, "Hello again?", player, machineId), what + "message after the end");
                    Equal(409, conflict.StatusCode, what + "409");
                    Equal("session_ended", conflict.Code, what + "code");
                }
                Check(events.States.Count > 0, "some playthrough changed state");
                Check(events.Scores.Count > 0, "some playthrough changed the score");
            });
        }

        private static void Unlocks()
        {
            Playthrough play = LoadPlaythroughs("wandering_merchant").First(p => p.Unlocks.Count > 0);
            MainLoop.Run(async loop =>
            {
                FoilEngineClient client = NewClient(loop);
                var events = new EventLog(client);
                string player = NewPlayer("unlock");
                MachineInfo[] machines = await client.Machines.ListAsync(_unlockPersonaId, player);
                Check(!machines.Any(m => play.Unlocks.Contains(m.MachineKey)), "the locked machine is not listed yet");
                string machineId = machines.First(m => m.MachineKey == play.MachineKey).MachineId;
                await client.Chat.InitSessionAsync(_unlockPersonaId, player, "Alex", "female", machineId);
                ChatResponse last = null;
                foreach (string line in play.Messages)
                {
                    last = await client.Chat.SendMessageAsync(_unlockPersonaId, line, player, machineId);
                }
                Equal(play.Outcome, last.Outcome, "outcome");
                Check(last.UnlockedMachines.Length > 0, "the response lists unlocked machines");
                Equal(1, events.Unlocked.Count, "one machines_unlocked event");
                MachinesUnlockedEvent unlocked = events.Unlocked[0];
                Equal(last.SessionId, unlocked.SessionId, "event session");
                Check(play.Unlocks.All(k => unlocked.Machines.Any(m => m.MachineKey == k && !string.IsNullOrEmpty(m.MachineId))),
                    "the event names the unlocked machines: " + string.Join(",", unlocked.Machines.Select(m => m.MachineKey).ToArray()));
                Check(events.Order.IndexOf("completed") < events.Order.IndexOf("unlocked")
                      && events.Order.IndexOf("unlocked") < events.Order.IndexOf("ended"), "event order " + string.Join(",", events.Order.ToArray()));
                MachineInfo[] after = await client.Machines.ListAsync(_unlockPersonaId, player);
                Check(play.Unlocks.All(k => after.Any(m => m.MachineKey == k)), "the unlocked machine is listed now");
            });
        }

        private static void StreamedReply()
        {
            Playthrough play = LoadPlaythroughs("grumpy_barista").First(p => p.Outcome == "ACCEPT");
            MainLoop.Run(async loop =>
            {
                FoilEngineClient client = NewClient(loop);
                var events = new EventLog(client);
                string player = NewPlayer("stream");
                await client.Chat.InitSessionAsync(_personaId, player, "Sam", "male");
                await client.Chat.GetSessionAsync(_personaId, player);
                ChatResponse result = null;
                int totalDeltas = 0;
                foreach (string line in play.Messages)
                {
                    var order = new List<string>();
                    var text = new StringBuilder();
                    ChatResponse metadata = null;
                    ChatResponse done = null;
                    FoilEngineException error = null;
                    int eventsBefore = events.Count;
                    int eventsAtDone = -1;
                    result = await client.Chat.SendMessageStreamAsync(
                        _personaId,
                        line,
                        player,
                        onMetadata: m => { OnMain("onMetadata"); metadata = m; order.Add("metadata"); },
                        onTextDelta: t =>
                        {
                            OnMain("onTextDelta");
                            text.Append(t);
                            totalDeltas++;
                            if (order.Last() != "delta")
                            {
                                order.Add("delta");
                            }
                        },
                        onDone: r => { OnMain("onDone"); done = r; eventsAtDone = events.Count; order.Add("done"); },
                        onError: e => error = e);
                    OnMain("await SendMessageStreamAsync");
                    string what = "\"" + line + "\": ";
                    Check(error == null, what + "no error: " + error);
                    Equal("metadata,delta,done", string.Join(",", order.ToArray()), what + "callback order");
                    Check(metadata.Message == null, what + "metadata has no message");
                    Check(done != null && ReferenceEquals(done, result), what + "onDone gets the task's result");
                    Check(result.Message.Length > 0, what + "the reply has text");
                    Equal(result.Message, text.ToString(), what + "deltas concatenate to the final message");
                    Equal(result.CurrentState, metadata.CurrentState, what + "metadata state");
                    Equal(result.Score, metadata.Score, what + "metadata score");
                    Equal(result.SessionId, metadata.SessionId, what + "metadata session");
                    Equal(eventsBefore, eventsAtDone, what + "game events come after onDone");
                }
                Check(totalDeltas > play.Messages.Count, "replies arrive in several pieces (" + totalDeltas + " deltas)");
                Equal("ACCEPT", result.Outcome, "the streamed playthrough reaches its outcome");
                Check(events.Ended.Count == 1 && events.Ended[0].Outcome == "ACCEPT", "streamed turns raise game events: " + string.Join(",", events.Order.ToArray()));
                Check(events.States.Count > 0, "state changes reported for streamed turns");
                // The stream's turns are stored like any other.
                ChatHistory history = await client.Chat.GetHistoryAsync(_personaId, player);
                Equal(result.Message, history.Messages.Last().Content, "history ends with the streamed reply");
                Equal(1 + 2 * play.Messages.Count, history.Messages.Length, "greeting + two messages per turn");
                // A stream rejected before it began goes to onError; the task then completes with null.
                FoilEngineException ended = null;
                ChatResponse none = await client.Chat.SendMessageStreamAsync(
                    _personaId, "Hi", NewPlayer("nosession"), onError: e => ended = e);
                Check(none == null, "task completes with null after onError");
                Check(ended is NotFoundException, "404 for a player without a session: " + ended);
                // Without onError the task faults.
                await ThrowsAsync<NotFoundException>(
                    () => client.Chat.SendMessageStreamAsync(_personaId, "Hi", NewPlayer("nosession")), "stream without onError");
            });
        }

        private static void HistoryResetAndNotFound()
        {
            MainLoop.Run(async loop =>
            {
                FoilEngineClient client = NewClient(loop);
                string player = NewPlayer("history");
                NotFoundException missing = await ThrowsAsync<NotFoundException>(
                    () => client.Chat.GetSessionAsync(_personaId, player), "no session yet");
                Equal(404, missing.StatusCode, "404");
                Check(!string.IsNullOrEmpty(missing.Message), "message");
                // Non-ASCII both ways: strings go in and come out as UTF-8.
                SessionInit init = await client.Chat.InitSessionAsync(_personaId, player, "Zo\u00eb", "female");
                const string line = "Morning! What's good here today? Caf\u00e9 cr\u00e8me \u2615";
                ChatResponse r1 = await client.Chat.SendMessageAsync(_personaId, line, player);
                ChatHistory history = await client.Chat.GetHistoryAsync(_personaId, player);
                Equal(init.SessionId, history.SessionId, "history session");
                Equal(_personaId, history.PersonaId, "history persona");
                Equal(3, history.Messages.Length, "greeting, player line, reply");
                Equal("assistant", history.Messages[0].Role, "greeting first");
                Equal(init.Message, history.Messages[0].Content, "greeting text");
                Equal("user", history.Messages[1].Role, "player line");
                Equal(line, history.Messages[1].Content, "player text, non-ASCII intact");
                Equal(r1.Message, history.Messages[2].Content, "reply text");
                Equal("Zo\u00eb", history.PlayerName, "player name");
                ResetResult reset = await client.Chat.ResetAsync(_personaId, player);
                Equal(init.SessionId, reset.SessionId, "reset session");
                Check(!string.IsNullOrEmpty(reset.Message), "reset message");
                SessionStatus status = await client.Chat.GetSessionAsync(_personaId, player);
                Equal(0, status.Score, "score after reset");
                Check(status.Outcome == null, "no outcome after reset");
                ChatHistory empty = await client.Chat.GetHistoryAsync(_personaId, player);
                Check(empty.Messages.Length <= 1, "history emptied (at most a greeting) after reset: " + empty.Messages.Length);
            });
        }

        private static void BadKey()
        {
            MainLoop.Run(async loop =>
            {
                FoilEngineClient client = NewClient(loop, apiKey: "pk_live_" + new string('0', 32));
                AuthenticationException e = await ThrowsAsync<AuthenticationException>(
                    () => client.Personas.ListAsync(), "personas with a bad key");
                Equal(401, e.StatusCode, "status");
                Check(e is FoilEngineException, "an AuthenticationException is a FoilEngineException");
                Check(e.Message.IndexOf("API key", StringComparison.OrdinalIgnoreCase) >= 0, "message: " + e.Message);
                await ThrowsAsync<AuthenticationException>(
                    () => client.Chat.SendMessageAsync(_personaId, "hi", "p1"), "message with a bad key");
                FoilEngineException streamError = null;
                await client.Chat.SendMessageStreamAsync(_personaId, "hi", "p1", onError: err => streamError = err);
                Check(streamError is AuthenticationException, "stream with a bad key: " + streamError);
            });
        }

        private static void BadRequest()
        {
            MainLoop.Run(async loop =>
            {
                FoilEngineClient client = NewClient(loop);
                BadRequestException e = await ThrowsAsync<BadRequestException>(
                    () => client.Chat.InitSessionAsync(_personaId, NewPlayer("gender"), "Alex", "robot"), "unknown gender");
                Equal(400, e.StatusCode, "status");
                Check(!string.IsNullOrEmpty(e.Code), "the server's error code is kept");
                NotFoundException missing = await ThrowsAsync<NotFoundException>(
                    () => client.Machines.ListAsync(Guid.NewGuid().ToString(), "p1"), "unknown persona");
                Equal(404, missing.StatusCode, "status");
            });
        }

        private static void ValidateLlmKey()
        {
            MainLoop.Run(async loop =>
            {
                FoilEngineClient client = NewClient(loop);
                ValidateLlmKeyResult offline = await client.ValidateLlmKeyAsync();
                Check(offline.Valid, "the server's default (offline) model needs no key: " + offline.Error);
                Check(!string.IsNullOrEmpty(offline.Model), "model echoed");
                ValidateLlmKeyResult openai = await client.ValidateLlmKeyAsync("openai/gpt-4o-mini");
                Check(!openai.Valid, "a real provider without a key is not valid");
                Equal("openai/gpt-4o-mini", openai.Model, "model");
                Check(!string.IsNullOrEmpty(openai.Error), "the error says why");
            });
        }

        /// <summary>
        /// A player token with a readable expiry and a made-up signature (the server refuses it;
        /// the library schedules its expiry event all the same).
        /// </summary>
        private static string UnsignedToken(long issuedAt, long expiresAt)
        {
            return "pt_" + Base64Url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "."
                + Base64Url("{\"sub\":\"x\",\"iat\":" + issuedAt + ",\"exp\":" + expiresAt + "}")
                + ".bm90LXNpZ25lZA";
        }

        private static string Base64Url(string text)
        {
            return Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        }

        private static void PlayerTokens()
        {
            MainLoop.Run(async loop =>
            {
                long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                long expiresAt = now + 2;
                FoilEngineClient client = NewClient(loop, apiKey: UnsignedToken(now, expiresAt), maxRetries: 0);
                var expiring = new List<DateTimeOffset>();
                client.OnCredentialExpiring += e => { OnMain("OnCredentialExpiring"); expiring.Add(e); };
                FoilEngineClient keyed = NewClient(loop);
                int keyedEvents = 0;
                keyed.OnCredentialExpiring += e => keyedEvents++;

                await ThrowsAsync<AuthenticationException>(
                    () => client.Machines.ListAsync(_personaId, _tokenPlayer), "the server refuses the unsigned token");
                DateTime deadline = DateTime.UtcNow.AddSeconds(10);
                while (expiring.Count == 0)
                {
                    Check(DateTime.UtcNow < deadline, "OnCredentialExpiring was raised");
                    await Task.Delay(10);
                }
                Equal(DateTimeOffset.FromUnixTimeSeconds(expiresAt), expiring[0], "the token's expiry");

                // Refused keys throw and change nothing.
                Throws<ArgumentException>(() => client.SetApiKey(null), "null key");
                Throws<ArgumentException>(() => client.SetApiKey("  "), "blank key");
                ArgumentException bad = Throws<ArgumentException>(() => client.SetApiKey("pt_a\r\nX-Injected: 1"), "a line break");
                Check(bad.Message.Contains("api_key"), "the native message names the argument: " + bad.Message);

                // The fresh token from the backend: the next requests use it, for its player only.
                client.SetApiKey(_freshToken);
                SessionInit init = await client.Chat.InitSessionAsync(_personaId, _tokenPlayer, "Alex", "non-binary");
                Equal(_tokenPlayer, init.UserSessionId, "the token's player");
                ForbiddenException other = await ThrowsAsync<ForbiddenException>(
                    () => client.Machines.ListAsync(_personaId, NewPlayer("other")), "another player");
                Equal("player_token_scope", other.Code, "code");

                await Task.Delay(300);
                Equal(1, expiring.Count, "once per token, none for the hour-long one");
                Equal(0, keyedEvents, "never for an API key");
                client.Dispose();
                Throws<ObjectDisposedException>(() => client.SetApiKey(_freshToken), "after Dispose");
            });
        }

        private static void HandlerException()
        {
            using (var client = Client(_apiKey, _baseUrl))
            {
                string player = NewPlayer("throw");
                Task<SessionInit> init = client.Chat.InitSessionAsync(_personaId, player, "Alex", "male");
                PumpUntil(client, init);
                int completedSeen = 0;
                client.OnMachineCompleted += e => completedSeen++;
                client.OnSessionEnded += e => { throw new InvalidOperationException("handler failed"); };
                int endedSeen = 0;
                client.OnSessionEnded += e => endedSeen++;
                // A line the offline evaluator treats as an insult ends the session at once.
                Playthrough kick = LoadPlaythroughs("grumpy_barista").First(p => p.Outcome == "KICK_OUT" || p.Outcome == "REJECT");
                Task<ChatResponse> last = null;
                InvalidOperationException thrown = null;
                int completedAtCompletion = -1;
                foreach (string line in kick.Messages)
                {
                    last = client.Chat.SendMessageAsync(_personaId, line, player);
                    // A continuation that runs synchronously (no SynchronizationContext) still
                    // sees the turn's game events: tasks complete after the batch's handlers.
                    last.ContinueWith(t => completedAtCompletion = completedSeen, TaskContinuationOptions.ExecuteSynchronously);
                    DateTime deadline = DateTime.UtcNow.AddSeconds(30);
                    while (!last.IsCompleted && DateTime.UtcNow < deadline)
                    {
                        try
                        {
                            client.Pump();
                        }
                        catch (InvalidOperationException e)
                        {
                            thrown = e;
                        }
                        Thread.Sleep(1);
                    }
                }
                Check(thrown != null && thrown.Message == "handler failed", "the handler's exception comes out of Pump");
                Check(last.Status == TaskStatus.RanToCompletion, "the request still completed: " + last.Status);
                Equal(kick.Outcome, last.Result.Outcome, "outcome");
                Equal(0, endedSeen, "a multicast delegate stops at the throwing handler (as in C#)");
                Equal(1, completedAtCompletion, "machine_completed was raised before the last task completed");
            }
        }

        private static void PumpUntil(FoilEngineClient client, Task task, int timeoutMs = 30000)
        {
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
            while (!task.IsCompleted)
            {
                Check(DateTime.UtcNow < deadline, "task did not complete in time");
                client.Pump();
                Thread.Sleep(1);
            }
        }

        private static void Cancellation()
        {
            using (var silent = new SilentServer())
            {
                MainLoop.Run(async loop =>
                {
                    FoilEngineClient client = NewClient(loop, baseUrl: silent.Url, maxRetries: 0);
                    var cts = new CancellationTokenSource();
                    Task<Persona[]> hanging = client.Personas.ListAsync(cts.Token);
                    var deltas = 0;
                    Task<ChatResponse> stream = client.Chat.SendMessageStreamAsync(
                        _personaId, "Hello?", "p1", onTextDelta: t => deltas++, onError: e => { throw new AssertionException("onError on cancel: " + e); },
                        cancellationToken: cts.Token);
                    for (int i = 0; i < 20; i++)
                    {
                        await Task.Yield();
                    }
                    Check(!hanging.IsCompleted && !stream.IsCompleted, "the silent server keeps them pending");
                    Equal(2, client.PendingRequestCount, "two pending");
                    cts.Cancel();
                    try
                    {
                        await hanging;
                        throw new AssertionException("completed despite cancellation");
                    }
                    catch (OperationCanceledException)
                    {
                    }
                    Check(hanging.IsCanceled, "list task cancelled");
                    await ThrowsAsync<OperationCanceledException>(() => stream, "stream cancelled");
                    Check(stream.IsCanceled, "stream task cancelled");
                    Equal(0, client.PendingRequestCount, "nothing pending after the cancelled requests finished");
                    // An already-cancelled token sends nothing.
                    Task<Persona[]> pre = client.Personas.ListAsync(cts.Token);
                    Check(pre.IsCanceled, "pre-cancelled token");
                    Equal(0, client.PendingRequestCount, "nothing sent for a pre-cancelled token");
                });
            }
        }

        private static void RequestTimeout()
        {
            using (var silent = new SilentServer())
            {
                MainLoop.Run(async loop =>
                {
                    FoilEngineClient client = NewClient(loop, baseUrl: silent.Url, timeout: 1, maxRetries: 0);
                    FoilEngineException e = await ThrowsAsync<FoilEngineException>(
                        () => client.Personas.ListAsync(), "request to a silent server");
                    Equal("timeout", e.Code, "code");
                    Equal(0, e.StatusCode, "no HTTP status");
                });
            }
        }

        private static void DisposeAndRecreate()
        {
            using (var silent = new SilentServer())
            {
                var hanging = Client(_apiKey, silent.Url, maxRetries: 0);
                Task<Persona[]> pending = hanging.Personas.ListAsync();
                Task<ChatResponse> pendingStream = hanging.Chat.SendMessageStreamAsync(_personaId, "hi", "p1");
                Thread.Sleep(50);
                hanging.Pump();
                Check(!pending.IsCompleted, "pending against the silent server");
                DateTime start = DateTime.UtcNow;
                hanging.Dispose();
                double seconds = (DateTime.UtcNow - start).TotalSeconds;
                Check(seconds < 10, "Dispose returns in bounded time (" + seconds + " s)");
                Check(hanging.IsDisposed, "IsDisposed");
                Check(pending.IsCanceled && pendingStream.IsCanceled, "pending tasks are cancelled by Dispose");
                Equal(0, hanging.Pump(), "Pump after Dispose does nothing");
                Throws<ObjectDisposedException>(() => hanging.Personas.ListAsync(), "request after Dispose");
                hanging.Dispose(); // twice is fine
            }
            // Unity enters Play mode many times per editor session: create, use, dispose, again.
            for (int round = 0; round < 4; round++)
            {
                var client = Client(_apiKey, _baseUrl);
                try
                {
                    Task<Persona[]> personas = client.Personas.ListAsync();
                    PumpUntil(client, personas);
                    Check(personas.Result.Any(p => p.Id == _personaId), "round " + round + ": personas listed");
                }
                finally
                {
                    client.Dispose();
                }
            }
            // DisposeAll (used before a domain reload) frees every live client.
            var a = Client(_apiKey, _baseUrl);
            var b = Client(_apiKey, _baseUrl);
            FoilEngineClient.DisposeAll();
            Check(a.IsDisposed && b.IsDisposed, "DisposeAll disposed both");
        }

        private static void DisposeInsideHandler()
        {
            var client = Client(_apiKey, _baseUrl);
            string player = NewPlayer("inside");
            Task<SessionInit> init = client.Chat.InitSessionAsync(_personaId, player, "Alex", "male");
            PumpUntil(client, init);
            int deltas = 0;
            Task<ChatResponse> stream = client.Chat.SendMessageStreamAsync(
                _personaId, "Morning! What's good here today?", player,
                onMetadata: m => client.Dispose(),
                onTextDelta: t => deltas++);
            PumpUntil(client, stream);
            Check(client.IsDisposed, "disposed by the handler");
            Check(stream.IsCanceled, "the stream's task is cancelled: " + stream.Status);
            Equal(0, deltas, "nothing is delivered after Dispose");
            Equal(0, client.Pump(), "Pump after Dispose");
            // The library is still fine: a new client works.
            using (var again = Client(_apiKey, _baseUrl))
            {
                Task<Persona[]> personas = again.Personas.ListAsync();
                PumpUntil(again, personas);
                Check(personas.Result.Length > 0, "a new client works");
            }
        }

        /// <summary>
        /// The native clients' threads alive in this process (<c>foil-worker</c>, two per client;
        /// <c>foil-callback</c>), read from /proc: a freed client leaves none behind.
        /// </summary>
        private static int NativeThreads()
        {
            int count = 0;
            foreach (string task in Directory.GetDirectories("/proc/self/task"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).Trim().StartsWith("foil-", StringComparison.Ordinal))
                    {
                        count++;
                    }
                }
                catch (IOException)
                {
                    // The thread exited meanwhile.
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
            return count;
        }

        /// <summary>Waits until more than <paramref name="baseline"/> native threads run (a new
        /// thread names itself shortly after it starts).</summary>
        private static void WaitForMoreNativeThreads(int baseline, string what, int timeoutMs = 5000)
        {
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
            int now;
            while ((now = NativeThreads()) <= baseline)
            {
                Check(DateTime.UtcNow < deadline, what + ": " + now + " native threads, " + baseline + " before");
                Thread.Sleep(5);
            }
        }

        private static void WaitForNativeThreads(int expected, string what, int timeoutMs = 5000)
        {
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
            int now;
            while ((now = NativeThreads()) != expected)
            {
                Check(DateTime.UtcNow < deadline, what + ": " + now + " native threads, expected " + expected);
                Thread.Sleep(20);
            }
        }

        private static void DisposeInFlight()
        {
            int baseline = NativeThreads();
            var client = Client(_apiKey, _baseUrl);
            try
            {
                WaitForMoreNativeThreads(baseline, "the client runs native worker threads");
            }
            catch (Exception)
            {
                client.Dispose();
                throw;
            }
            string player = NewPlayer("inflight");
            Task<SessionInit> init = client.Chat.InitSessionAsync(_personaId, player, "Alex", "male");
            PumpUntil(client, init);
            int deltas = 0;
            FoilEngineException error = null;
            Task<ChatResponse> stream = client.Chat.SendMessageStreamAsync(
                _personaId, "Morning! What's good here today?", player,
                onTextDelta: t => deltas++, onError: e => error = e);
            Task<ChatHistory> history = client.Chat.GetHistoryAsync(_personaId, player);
            Task<Persona[]> personas = client.Personas.ListAsync();
            Equal(3, client.PendingRequestCount, "three requests in flight");
            Stopwatch watch = Stopwatch.StartNew();
            client.Dispose();
            Check(watch.Elapsed.TotalSeconds < 5, "Dispose returns in bounded time (" + watch.Elapsed.TotalSeconds + " s)");
            Check(stream.IsCanceled && history.IsCanceled && personas.IsCanceled,
                "every request in flight ends as cancelled: " + stream.Status + ", " + history.Status + ", " + personas.Status);
            Equal(0, client.PendingRequestCount, "nothing pending");
            WaitForNativeThreads(baseline, "after Dispose the native client's threads are gone");
            Thread.Sleep(100);
            Equal(0, client.Pump(), "nothing is delivered after Dispose");
            Equal(0, deltas, "no text after Dispose");
            Check(error == null, "no onError for a disposed client: " + error);
            // The server and the session are fine: a new client picks the session up.
            using (var again = Client(_apiKey, _baseUrl))
            {
                Task<SessionStatus> status = again.Chat.GetSessionAsync(_personaId, player);
                PumpUntil(again, status);
                Equal(init.Result.SessionId, status.Result.SessionId, "the session is still there");
            }
            WaitForNativeThreads(baseline, "after the second client's Dispose");
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void StartAndAbandon(string url)
        {
            var client = Client(_apiKey, url, maxRetries: 0);
            client.Personas.ListAsync();
            client.Chat.SendMessageStreamAsync(_personaId, "hi", "p1");
        }

        private static void FinalizerFreesClient()
        {
            int baseline = NativeThreads();
            using (var silent = new SilentServer())
            {
                // Never disposed: the SafeHandle's finalizer frees the native client.
                StartAndAbandon(silent.Url);
                WaitForMoreNativeThreads(baseline, "the abandoned client's threads run");
                DateTime deadline = DateTime.UtcNow.AddSeconds(10);
                while (NativeThreads() != baseline && DateTime.UtcNow < deadline)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    Thread.Sleep(50);
                }
                Equal(baseline, NativeThreads(), "the finalizer freed the abandoned client (its native threads are gone)");
            }
            // The library is still fine afterwards.
            using (var client = Client(_apiKey, _baseUrl))
            {
                Task<Persona[]> personas = client.Personas.ListAsync();
                PumpUntil(client, personas);
                Check(personas.Result.Length > 0, "a new client works");
            }
        }
    }
}
