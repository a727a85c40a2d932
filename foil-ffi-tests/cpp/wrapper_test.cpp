// Tests of include/foil.hpp against the real libfoil and a real foil-server, driven by
// foil-ffi-tests/tests/cpp_wrapper.rs (which compiles this file with and without exceptions).
//
//   wrapper_test BASE_URL API_KEY PERSONA_ID MACHINE_KEY OUTCOME SILENT_URL LINE...
//
// BASE_URL/API_KEY: the test server; PERSONA_ID/MACHINE_KEY: the persona and scenario of a
// playthrough whose LINEs reach OUTCOME; SILENT_URL: a listener that never answers.
// Player tokens, in the environment: FOIL_TEST_TOKEN_PLAYER (whom they act for),
// FOIL_TEST_SHORT_TOKEN (expires seconds after the start, at FOIL_TEST_SHORT_EXPIRES) and
// FOIL_TEST_FRESH_TOKEN (lasts an hour).
//
// Each case prints `ok NAME` or `FAIL NAME: why`; the exit status is the number of failures.
// The Rust side checks that every CASE(...) declared here reported `ok`.

#include "foil.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string base_url, api_key, persona_id, machine_key, outcome, silent_url;
  std::vector<std::string> lines;
};
Args args;

// Where the first failed EXPECT of the running case writes why (the case stops there).
std::string* current_failure = nullptr;

#define EXPECT(cond, what)                                                            \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::ostringstream expect_stream_;                                              \
      expect_stream_ << __LINE__ << ": " << #cond << " — " << what;                   \
      *current_failure = expect_stream_.str();                                        \
      return;                                                                         \
    }                                                                                 \
  } while (false)

#define CASE(name) void name()

foil::Client make_client(const std::string& base_url, const std::string& api_key,
                         std::chrono::milliseconds timeout = 0ms) {
  foil::ClientConfig config;
  config.base_url = base_url;
  config.api_key = api_key;
  config.timeout = timeout;
  config.max_retries = 0;
  auto client = foil::Client::create(config);
  if (!client) {
    std::cerr << "cannot create a client: " << client.error().describe() << "\n";
    std::exit(100);
  }
  return std::move(client).value();
}

// Pumps (as a game does each frame) until `done()` or `limit` passes; false on timeout.
bool pump_until(foil::Client& client, const std::function<bool()>& done,
                std::chrono::milliseconds limit = 20s) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    client.pump();
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// --- cases -------------------------------------------------------------------------------------

CASE(version_matches_the_header) {
  EXPECT(foil::version() == foil::kHeaderVersion, foil::version());
  EXPECT(std::string(foil::to_string(foil::Status::InvalidHandle)) == "invalid_handle", "");
  EXPECT(foil::is_finishing(foil::EventKind::StreamDone), "");
  EXPECT(!foil::is_finishing(foil::EventKind::TextDelta), "");
  EXPECT(foil::is_game_event(foil::EventKind::SessionEnded), "");
  EXPECT(!foil::is_game_event(foil::EventKind::Error), "");
}

CASE(json_reader) {
  auto v = foil::json::parse(
      R"( {"s":"a\"b\\c\/\n\u00e9\ud83d\ude00","i":-42,"big":9223372036854775807,)"
      R"("d":2.5e1,"t":true,"f":false,"n":null,"arr":[1,[2],{"k":"v"}],"o":{},"dup":1,"dup":2} )");
  EXPECT(v.ok(), v.error().describe());
  const foil::json::Value& j = *v;
  EXPECT(j.is_object() && j.size() == 11, j.size());
  EXPECT(j["s"].as_string() == "a\"b\\c/\n\xc3\xa9\xf0\x9f\x98\x80", j["s"].as_string());
  EXPECT(j["i"].is_integer() && j["i"].as_int() == -42, "");
  EXPECT(j["big"].as_int() == 9223372036854775807LL, "");
  EXPECT(!j["d"].is_integer() && j["d"].as_double() == 25.0, j["d"].as_double());
  EXPECT(j["t"].as_bool() && !j["f"].as_bool(true) && j["n"].is_null(), "");
  EXPECT(j["arr"][1][0].as_int() == 2 && j["arr"][2]["k"].as_string() == "v", "");
  EXPECT(j["arr"][7].is_null() && j["arr"][-1].is_null() && j["missing"]["x"].is_null(), "");
  EXPECT(j["dup"].as_int() == 2, "the last of repeated keys wins");
  EXPECT(j["o"].is_object() && j["o"].size() == 0, "");
  EXPECT(j.keys().front() == "s", "");
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01x", "\"\\q\"", "nul", "1 2",
                          "\"unterminated", "\"a\x01\""}) {
    auto r = foil::json::parse(bad);
    EXPECT(!r.ok() && r.error().code == "decode_error", "accepted: " << bad);
  }
  std::string deep(1000, '[');
  EXPECT(!foil::json::parse(deep).ok(), "depth limit");

  auto score = foil::parse<foil::ScoreChange>(
      R"({"session_id":"s","old_score":1,"new_score":-4,"delta":-5})");
  EXPECT(score.ok() && score->delta == -5 && score->new_score == -4, "");
  auto wrong = foil::parse<foil::ScoreChange>(R"({"session_id":"s","old_score":"1"})");
  EXPECT(!wrong.ok() && wrong.error().code == "decode_error", "");
  EXPECT(wrong.error().message.find("old_score") != std::string::npos, wrong.error().message);
  auto list = foil::parse<std::vector<foil::UnlockedMachine>>(
      R"([{"machine_id":"m","machine_key":"k","name":"N","is_auto_advance":true}])");
  EXPECT(list.ok() && list->size() == 1 && list->front().is_auto_advance, "");
  auto error = foil::parse_error_payload(
      R"({"status":429,"code":"rate_limited","message":"slow down","retry_after":12})", 7);
  EXPECT(error.http_status == 429 && error.is_rate_limited() && error.retry_after == 12 &&
             error.request_id == 7 && !error.is_local(),
         error.describe());
  EXPECT(error.describe() == "429 rate_limited: slow down (retry after 12 s)", error.describe());
}

CASE(create_refuses_bad_configs) {
  foil::ClientConfig config;
  config.base_url = args.base_url;
  auto empty_key = foil::Client::create(config);
  EXPECT(!empty_key && empty_key.error().status == foil::Status::EmptyArgument,
         (empty_key ? "created" : empty_key.error().describe()));
  EXPECT(empty_key.error().is_local() && !empty_key.error().message.empty(), "");

  config.api_key = "pk_live_x";
  config.base_url = "ftp://example.invalid";
  auto bad_url = foil::Client::create(config);
  EXPECT(!bad_url && bad_url.error().status == foil::Status::InvalidArgument, "");
  EXPECT(bad_url.error().code == "invalid_argument", bad_url.error().code);
  EXPECT(bad_url.error().message.find("base_url") != std::string::npos, bad_url.error().message);

  config.base_url = args.base_url;
  config.api_key = std::string("pk_live_x\0y", 11);
  auto nul = foil::Client::create(config);
  EXPECT(!nul && nul.error().status == foil::Status::InvalidArgument, "");
}

CASE(requests_refused_before_sending) {
  foil::Client client = make_client(args.base_url, args.api_key);
  auto not_uuid = client.init_session("not-a-uuid", "p", "Ada", "female");
  EXPECT(!not_uuid && not_uuid.error().status == foil::Status::InvalidArgument,
         (not_uuid ? "sent" : not_uuid.error().describe()));
  EXPECT(not_uuid.error().is_local() && not_uuid.error().http_status == 0, "");
  auto too_long = client.send_message(args.persona_id, "p", std::string(2001, 'a'));
  EXPECT(!too_long && too_long.error().status == foil::Status::ArgumentTooLong, "");
  auto blank = client.send_message(args.persona_id, "p", "   ");
  EXPECT(!blank && blank.error().status == foil::Status::EmptyArgument, "");
  auto nul = client.send_message(args.persona_id, "p", std::string("a\0b", 3));
  EXPECT(!nul && nul.error().status == foil::Status::InvalidArgument, "");
  auto cancel = client.cancel(123456);
  EXPECT(!cancel && cancel.error().status == foil::Status::UnknownRequest, "");
  auto wait = client.wait(123456, 10ms);
  EXPECT(!wait && wait.error().status == foil::Status::UnknownRequest, "");
  auto passed_through = client.wait_for<foil::SessionInit>(not_uuid, 1s);
  EXPECT(!passed_through && passed_through.error().status == foil::Status::InvalidArgument, "");
  EXPECT(client.pump() == 0 && !client.poll_event(), "nothing was queued");
}

CASE(moves_and_empty_clients) {
  foil::Client first = make_client(args.base_url, args.api_key);
  EXPECT(first.valid() && first.native_handle() != nullptr, "");
  foil::Client second = std::move(first);
  EXPECT(!first.valid() && second.valid(), "");  // NOLINT: use after move is the point
  auto dead = first.list_personas();
  EXPECT(!dead && dead.error().status == foil::Status::InvalidHandle, "");
  EXPECT(!first.poll_event() && first.pump() == 0, "");
  auto personas = second.wait_for<std::vector<foil::Persona>>(second.list_personas(), 10s);
  EXPECT(personas.ok() && !personas->empty(), (personas ? "" : personas.error().describe()));

  foil::Client empty;
  EXPECT(!empty && !empty.cancel(1) && !empty.wait(1, 1ms), "");
  empty = std::move(second);
  EXPECT(empty.valid() && !second.valid(), "");
  empty.reset();
  EXPECT(!empty.valid() && !empty.list_personas(), "");

  foil::Event none;
  EXPECT(none.empty() && none.kind() == foil::EventKind::None && none.payload().empty(), "");
  foil::Event moved = std::move(none);
  EXPECT(moved.empty(), "");
}

CASE(bad_api_key_is_a_401) {
  foil::Client client =
      make_client(args.base_url, "pk_live_00000000000000000000000000000000");
  auto personas = client.wait_for<std::vector<foil::Persona>>(client.list_personas(), 10s);
  EXPECT(!personas.ok(), "a bad key listed personas");
  const foil::Error& e = personas.error();
  EXPECT(e.http_status == 401 && e.is_unauthorized() && e.code == "invalid_api_key",
         e.describe());
  EXPECT(!e.is_local() && e.status == foil::Status::Ok && e.request_id != 0, e.describe());

  // The same through a callback and pump().
  bool called = false;
  foil::Error seen;
  auto id = client.init_session(args.persona_id, "p", "Ada", "female", {},
                                [&](foil::Result<foil::SessionInit> r) {
                                  called = true;
                                  if (!r) seen = r.error();
                                });
  EXPECT(id.ok(), "");
  EXPECT(pump_until(client, [&] { return called; }), "no callback");
  EXPECT(seen.http_status == 401 && seen.code == "invalid_api_key" && seen.request_id == *id,
         seen.describe());
}

CASE(raw_events_poll_and_wait) {
  foil::Client client = make_client(args.base_url, args.api_key);
  auto id = client.list_personas();
  EXPECT(id.ok() && *id > 0, "");
  std::optional<foil::Event> event;
  const auto deadline = Clock::now() + 10s;
  while (!(event = client.poll_event())) {
    EXPECT(Clock::now() < deadline, "no event");
    std::this_thread::sleep_for(2ms);
  }
  EXPECT(event->request_id() == *id && event->kind() == foil::EventKind::Response, "");
  EXPECT(event->http_status() == 200 && event->is_finishing() && !event->payload().empty(), "");
  auto personas = event->as<std::vector<foil::Persona>>();
  EXPECT(personas.ok() && !personas->empty(), "");
  auto raw = event->as<foil::json::Value>();
  EXPECT(raw.ok() && raw->is_array() && (*raw)[0]["id"].is_string(), "");
  foil::Event taken = std::move(*event);
  EXPECT(event->empty() && taken.kind() == foil::EventKind::Response, "");
  taken.reset();
  EXPECT(taken.empty() && taken.payload().empty(), "");

  auto waited = client.wait(*client.list_machines(args.persona_id, "raw-player"), 10s);
  EXPECT(waited.ok() && waited->kind() == foil::EventKind::Response, "");
  auto machines = waited->as<std::vector<foil::MachineInfo>>();
  EXPECT(machines.ok() && !machines->empty(), "");
}

CASE(wait_times_out_and_cancel_finishes_with_cancelled) {
  foil::Client client = make_client(args.silent_url, args.api_key, 30s);
  auto id = client.list_personas();
  EXPECT(id.ok(), "");
  const auto started = Clock::now();
  auto timed_out = client.wait(*id, 100ms);
  EXPECT(!timed_out && timed_out.error().status == foil::Status::Timeout, "");
  EXPECT(Clock::now() - started < 5s, "wait overran its timeout");
  EXPECT(client.cancel(*id).ok(), "");
  auto cancelled = client.wait_for<std::vector<foil::Persona>>(*id, 5s);
  EXPECT(!cancelled && cancelled.error().is_cancelled() && !cancelled.error().is_local(),
         (cancelled ? "succeeded" : cancelled.error().describe()));
  auto again = client.cancel(*id);
  EXPECT(!again && again.error().status == foil::Status::UnknownRequest, "");

  // A stream with callbacks: cancelled → on_error(cancelled), never on_done.
  bool done = false, failed = false;
  foil::Error error;
  foil::StreamHandlers handlers;
  handlers.on_done = [&](const foil::ChatResponse&) { done = true; };
  handlers.on_error = [&](const foil::Error& e) {
    failed = true;
    error = e;
  };
  auto stream = client.send_message_stream(args.persona_id, "p", "Hello?", {}, handlers);
  EXPECT(stream.ok() && client.pending_callbacks() == 1, "");
  client.pump();
  EXPECT(!failed && !done, "the silent server answered?");
  EXPECT(client.cancel(*stream).ok(), "");
  EXPECT(pump_until(client, [&] { return failed || done; }, 5s), "no callback");
  EXPECT(failed && !done && error.is_cancelled() && error.request_id == *stream,
         error.describe());
  EXPECT(client.pending_callbacks() == 0, "");
}

CASE(freeing_with_requests_in_flight_drops_their_callbacks) {
  bool called = false;
  {
    foil::Client client = make_client(args.silent_url, args.api_key, 30s);
    for (int i = 0; i < 5; ++i) {
      auto id = client.list_personas([&](foil::Result<std::vector<foil::Persona>>) {
        called = true;
      });
      EXPECT(id.ok(), "");
    }
    EXPECT(client.pending_callbacks() == 5, "");
    const auto started = Clock::now();
    client.reset();
    EXPECT(Clock::now() - started < 4s, "freeing took too long");
    EXPECT(client.pump() == 0, "");
  }
  EXPECT(!called, "a callback ran after the client was freed");
}

CASE(callbacks_run_on_the_pumping_thread) {
  foil::Client client = make_client(args.base_url, args.api_key);
  const auto main_thread = std::this_thread::get_id();
  std::atomic<int> issued{0};
  int called = 0;
  bool wrong_thread = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto id = client.list_personas([&](foil::Result<std::vector<foil::Persona>> r) {
          if (std::this_thread::get_id() != main_thread || !r) wrong_thread = true;
          ++called;  // only the main thread runs callbacks: no race
        });
        if (id) ++issued;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT(issued == 20, issued.load());
  EXPECT(pump_until(client, [&] { return called == 20; }), called);
  EXPECT(!wrong_thread, "a callback ran on another thread or failed");
}

CASE(a_whole_conversation_with_callbacks) {
  foil::Client client = make_client(args.base_url, args.api_key);
  const std::string player = "cpp-wrapper-player";

  // Find the machine of the playthrough.
  auto machines = client.wait_for<std::vector<foil::MachineInfo>>(
      client.list_machines(args.persona_id, player), 10s);
  EXPECT(machines.ok(), machines.error().describe());
  std::string machine_id;
  for (const auto& m : *machines) {
    if (m.machine_key == args.machine_key) machine_id = m.machine_id;
  }
  EXPECT(!machine_id.empty(), "no machine " << args.machine_key);

  std::vector<std::string> log;  // game events, in order
  foil::GameEventHandlers handlers;
  handlers.on_state_change = [&](const foil::StateChange& e) {
    log.push_back("state " + e.from_state + ">" + e.to_state);
  };
  handlers.on_score_change = [&](const foil::ScoreChange& e) {
    log.push_back("score " + std::to_string(e.old_score) + ">" + std::to_string(e.new_score));
    if (e.new_score - e.old_score != e.delta) log.push_back("bad delta");
  };
  handlers.on_machine_completed = [&](const foil::MachineCompleted& e) {
    log.push_back("completed " + e.outcome.value_or("?"));
  };
  handlers.on_machines_unlocked = [&](const foil::MachinesUnlocked& e) {
    log.push_back("unlocked " + std::to_string(e.machines.size()));
  };
  handlers.on_session_ended = [&](const foil::SessionEnded& e) {
    log.push_back("ended " + e.outcome);
  };
  int unclaimed = 0;
  handlers.on_unclaimed_event = [&](const foil::Event&) { ++unclaimed; };
  client.set_handlers(handlers);

  std::optional<foil::Result<foil::SessionInit>> init;
  auto init_id = client.init_session(args.persona_id, player, "Ada", "female", machine_id,
                                     [&](foil::Result<foil::SessionInit> r) { init = r; });
  EXPECT(init_id.ok(), "");
  EXPECT(pump_until(client, [&] { return init.has_value(); }), "no greeting");
  EXPECT(init->ok(), init->error().describe());
  const foil::SessionInit& session = init->value();
  EXPECT(!session.message.empty() && session.machine_id == machine_id, session.machine_id);
  EXPECT(session.player_name == "Ada" && session.user_session_id == player, "");

  // Seed the state so the first turn reports a state change.
  auto status = client.wait_for<foil::SessionStatus>(
      client.get_session(args.persona_id, player, machine_id), 10s);
  EXPECT(status.ok() && status->score == 0 && !status->current_state.empty(), "");
  EXPECT(!status->outcome.has_value(), "");

  // All lines but the last as whole replies, the last one streamed.
  std::int64_t last_score = 0;
  for (std::size_t i = 0; i + 1 < args.lines.size(); ++i) {
    std::optional<foil::Result<foil::ChatResponse>> reply;
    auto id = client.send_message(args.persona_id, player, args.lines[i], machine_id,
                                  [&](foil::Result<foil::ChatResponse> r) { reply = r; });
    EXPECT(id.ok(), id.error().describe());
    EXPECT(pump_until(client, [&] { return reply.has_value(); }), "no reply to " << i);
    EXPECT(reply->ok(), reply->error().describe());
    EXPECT(!(*reply)->message.empty() && !(*reply)->outcome, "turn " << i);
    last_score = (*reply)->score;
  }

  std::vector<std::string> order;
  std::string streamed;
  std::optional<foil::ChatResponse> metadata, done;
  std::optional<foil::Error> stream_error;
  foil::StreamHandlers stream;
  stream.on_metadata = [&](const foil::ChatResponse& m) {
    order.push_back("metadata");
    metadata = m;
  };
  stream.on_text_delta = [&](std::string_view text) {
    if (order.empty() || order.back() != "delta") order.push_back("delta");
    streamed += text;
  };
  stream.on_done = [&](const foil::ChatResponse& r) {
    order.push_back("done");
    done = r;
  };
  stream.on_error = [&](const foil::Error& e) { stream_error = e; };
  auto stream_id = client.send_message_stream(args.persona_id, player, args.lines.back(),
                                              machine_id, stream);
  EXPECT(stream_id.ok(), stream_id.error().describe());
  EXPECT(pump_until(client, [&] { return done || stream_error; }), "stream did not finish");
  client.pump();  // game events are queued with the finishing event; this is belt and braces
  EXPECT(!stream_error, stream_error->describe());
  EXPECT((order == std::vector<std::string>{"metadata", "delta", "done"}), order.size());
  EXPECT(!streamed.empty() && streamed == done->message, streamed << " vs " << done->message);
  EXPECT(metadata->message.empty() && metadata->current_state == done->current_state &&
             metadata->score == done->score && metadata->outcome == done->outcome,
         "");
  EXPECT(done->outcome == args.outcome, done->outcome.value_or("(none)"));
  EXPECT(done->machine_completed && done->session_id == session.session_id, "");

  // Game events: state and score changes along the way, then the ending.
  bool state_seen = false, score_seen = false;
  for (const auto& entry : log) {
    state_seen = state_seen || entry.rfind("state ", 0) == 0;
    score_seen = score_seen || entry.rfind("score ", 0) == 0;
  }
  EXPECT(!log.empty() && state_seen, "no state change");
  EXPECT(score_seen || (last_score == 0 && done->score == 0), "no score change");
  EXPECT(std::find(log.begin(), log.end(), "bad delta") == log.end(), "");
  EXPECT(std::find(log.begin(), log.end(), "completed " + args.outcome) != log.end(), "");
  EXPECT(log.back() == "ended " + args.outcome, log.back());
  EXPECT(unclaimed == 0, unclaimed);

  // The ended session refuses more: 409 session_ended, through the callback.
  std::optional<foil::Result<foil::ChatResponse>> refused;
  auto more = client.send_message(args.persona_id, player, "One more thing...", machine_id,
                                  [&](foil::Result<foil::ChatResponse> r) { refused = r; });
  EXPECT(more.ok(), "");
  EXPECT(pump_until(client, [&] { return refused.has_value(); }), "");
  EXPECT(!refused->ok() && refused->error().http_status == 409 &&
             refused->error().code == "session_ended",
         (refused->ok() ? "accepted" : refused->error().describe()));

  // History: greeting + two messages per turn.
  auto history = client.wait_for<foil::ChatHistory>(
      client.get_history(args.persona_id, player, machine_id), 10s);
  EXPECT(history.ok(), history.error().describe());
  const auto user_messages =
      std::count_if(history->messages.begin(), history->messages.end(),
                    [](const foil::HistoryMessage& m) { return m.role == "user"; });
  EXPECT(static_cast<std::size_t>(user_messages) == args.lines.size(), user_messages);
  EXPECT(history->messages.size() >= 1 + 2 * args.lines.size(), history->messages.size());
  EXPECT(history->messages.front().role == "assistant" &&
             history->messages.front().content == session.message,
         "");
  EXPECT(history->outcome == args.outcome, "");

  // Reset: the session takes messages again.
  std::optional<foil::Result<foil::ResetResult>> reset;
  auto reset_id = client.reset_session(args.persona_id, player, machine_id,
                                       [&](foil::Result<foil::ResetResult> r) { reset = r; });
  EXPECT(reset_id.ok(), "");
  EXPECT(pump_until(client, [&] { return reset.has_value(); }), "");
  EXPECT(reset->ok() && (*reset)->session_id == session.session_id, "");
  auto again = client.wait_for<foil::ChatResponse>(
      client.send_message(args.persona_id, player, args.lines.front(), machine_id), 10s);
  EXPECT(again.ok() && !again->outcome, (again ? "" : again.error().describe()));
  client.pump();  // its game events go to the handlers
}

CASE(requests_without_callbacks_reach_the_unclaimed_handler) {
  foil::Client client = make_client(args.base_url, args.api_key);
  std::vector<foil::EventKind> kinds;
  foil::GameEventHandlers handlers;
  handlers.on_unclaimed_event = [&](const foil::Event& e) { kinds.push_back(e.kind()); };
  client.set_handlers(handlers);
  auto id = client.list_personas();
  EXPECT(id.ok(), "");
  EXPECT(pump_until(client, [&] { return !kinds.empty(); }), "");
  EXPECT(kinds.size() == 1 && kinds[0] == foil::EventKind::Response, "");
}

CASE(an_expiring_token_is_reported_and_replaced) {
  const char* player = std::getenv("FOIL_TEST_TOKEN_PLAYER");
  const char* short_token = std::getenv("FOIL_TEST_SHORT_TOKEN");
  const char* short_expires = std::getenv("FOIL_TEST_SHORT_EXPIRES");
  const char* fresh_token = std::getenv("FOIL_TEST_FRESH_TOKEN");
  EXPECT(player && short_token && short_expires && fresh_token, "FOIL_TEST_* variables");
  EXPECT(std::string(foil::to_string(foil::EventKind::CredentialExpiring)) ==
             "credential_expiring",
         "");
  EXPECT(!foil::is_game_event(foil::EventKind::CredentialExpiring), "");
  auto parsed = foil::parse<foil::CredentialExpiring>(R"({"expires_at":1796572800})");
  EXPECT(parsed.ok() && parsed->expires_at == 1796572800, "");

  foil::Client client = make_client(args.base_url, short_token);
  std::vector<std::int64_t> expiring;
  std::thread::id handler_thread;
  foil::GameEventHandlers handlers;
  handlers.on_credential_expiring = [&](const foil::CredentialExpiring& e) {
    expiring.push_back(e.expires_at);
    handler_thread = std::this_thread::get_id();
  };
  client.set_handlers(handlers);
  EXPECT(pump_until(client, [&] { return !expiring.empty(); }, 30s), "no CredentialExpiring");
  EXPECT(expiring.size() == 1 && expiring[0] == std::atoll(short_expires), expiring.size());
  EXPECT(handler_thread == std::this_thread::get_id(), "handlers run on the pumping thread");

  // Refused keys change nothing; the fresh token is used from the next request on.
  EXPECT(client.set_api_key("  ").error().status == foil::Status::EmptyArgument, "");
  EXPECT(client.set_api_key(std::string("pt_a\0b", 5)).error().status ==
             foil::Status::InvalidArgument,
         "an embedded NUL");
  EXPECT(client.set_api_key("pt_a\nb").error().status == foil::Status::InvalidArgument, "");
  auto set = client.set_api_key(fresh_token);
  EXPECT(set.ok(), set.error().describe());
  auto session = client.wait_for<foil::SessionInit>(
      client.init_session(args.persona_id, player, "Ada", "female"), 10s);
  EXPECT(session.ok(), session.error().describe());
  EXPECT(session->user_session_id == player, session->user_session_id);
  client.pump();
  EXPECT(expiring.size() == 1, "once per token; none for the hour-long one");

  foil::Client empty;
  EXPECT(empty.set_api_key("pk_live_x").error().status == foil::Status::InvalidHandle, "");
}

#if FOIL_HPP_EXCEPTIONS
CASE(value_or_throw_throws_foil_exception) {
  foil::ClientConfig config;
  config.base_url = "ftp://example.invalid";
  config.api_key = "pk_live_x";
  bool thrown = false;
  try {
    foil::Client client = foil::Client::create(config).value_or_throw();
  } catch (const foil::Exception& e) {
    thrown = e.error().status == foil::Status::InvalidArgument &&
             std::string(e.what()).find("base_url") != std::string::npos;
  }
  EXPECT(thrown, "no foil::Exception");
  config.base_url = args.base_url;
  foil::Client client = foil::Client::create(config).value_or_throw();
  thrown = false;
  try {
    client.cancel(424242).value_or_throw();
  } catch (const foil::Exception& e) {
    thrown = e.error().status == foil::Status::UnknownRequest;
  }
  EXPECT(thrown, "");
}
#else
CASE(builds_without_exceptions) {
  // Compiled with -fno-exceptions: the throwing helpers are absent, everything else works.
  EXPECT(FOIL_HPP_EXCEPTIONS == 0, "");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::cerr << "usage: wrapper_test BASE_URL API_KEY PERSONA_ID MACHINE_KEY OUTCOME "
                 "SILENT_URL LINE...\n";
    return 100;
  }
  args.base_url = argv[1];
  args.api_key = argv[2];
  args.persona_id = argv[3];
  args.machine_key = argv[4];
  args.outcome = argv[5];
  args.silent_url = argv[6];
  for (int i = 7; i < argc; ++i) args.lines.emplace_back(argv[i]);

  struct Named {
    const char* name;
    void (*run)();
  };
#define ENTRY(name) Named{#name, &name}
  const Named cases[] = {
      ENTRY(version_matches_the_header),
      ENTRY(json_reader),
      ENTRY(create_refuses_bad_configs),
      ENTRY(requests_refused_before_sending),
      ENTRY(moves_and_empty_clients),
      ENTRY(bad_api_key_is_a_401),
      ENTRY(raw_events_poll_and_wait),
      ENTRY(wait_times_out_and_cancel_finishes_with_cancelled),
      ENTRY(freeing_with_requests_in_flight_drops_their_callbacks),
      ENTRY(callbacks_run_on_the_pumping_thread),
      ENTRY(a_whole_conversation_with_callbacks),
      ENTRY(requests_without_callbacks_reach_the_unclaimed_handler),
      ENTRY(an_expiring_token_is_reported_and_replaced),
#if FOIL_HPP_EXCEPTIONS
      ENTRY(value_or_throw_throws_foil_exception),
#else
      ENTRY(builds_without_exceptions),
#endif
  };
  int failures = 0;
  for (const Named& c : cases) {
    std::string failure;
    current_failure = &failure;
    const auto started = Clock::now();
    c.run();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    if (failure.empty()) {
      std::cout << "ok " << c.name << " (" << ms << " ms)\n";
    } else {
      ++failures;
      std::cout << "FAIL " << c.name << ": " << failure << "\n";
    }
    std::cout.flush();
  }
  return failures;
}
