// foil_chat: a terminal chat with a Foil Engine NPC, written against include/foil.hpp.
//
// It does what a game does: create a foil::Client, start a session (the NPC greets), then for
// each line the player types stream the reply as its pieces arrive, and show the game events
// (state, score, outcome) — all delivered by Client::pump(), called in a ~60 Hz "frame loop".
// End of input (Ctrl-D) quits cleanly.
//
//   foil_chat --base-url http://127.0.0.1:8000 --api-key pk_live_... --persona "Grumpy Barista"
//
// Options (the environment variables FOIL_BASE_URL and FOIL_API_KEY are the defaults):
//   --base-url URL     the server (default http://127.0.0.1:8000)
//   --api-key KEY      the game's API key (required)
//   --persona NAME|ID  whom to talk to (default: the first persona listed)
//   --machine KEY|ID   which scenario (default: the persona's primary one)
//   --player ID        the player's user_session_id (default: cpp-player)
//   --name NAME        the player's name (default: Alex)
//   --gender G         female, male or non-binary (default: non-binary)
//   --stats            after each reply, also print how many pieces it streamed in
// Commands: /reset starts the session over, /quit quits.
//
// Exit status: 0 on end of input or /quit, 1 when the server refused (e.g. a bad API key),
// 2 on bad usage.

#include "foil.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

struct Options {
  std::string base_url = "http://127.0.0.1:8000";
  std::string api_key;
  std::string persona;
  std::string machine;
  std::string player = "cpp-player";
  std::string name = "Alex";
  std::string gender = "non-binary";
  bool stats = false;
};

constexpr auto kRequestTimeout = 30s;
constexpr auto kFrame = 16ms;

int usage(const char* problem) {
  std::cerr << "foil_chat: " << problem << "\n"
            << "usage: foil_chat --api-key KEY [--base-url URL] [--persona NAME|ID]\n"
            << "                 [--machine KEY|ID] [--player ID] [--name NAME]\n"
            << "                 [--gender female|male|non-binary] [--stats]\n";
  return 2;
}

bool parse_options(int argc, char** argv, Options& options, std::string& problem) {
  if (const char* url = std::getenv("FOIL_BASE_URL")) options.base_url = url;
  if (const char* key = std::getenv("FOIL_API_KEY")) options.api_key = key;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--stats") {
      options.stats = true;
      continue;
    }
    std::string* target = nullptr;
    if (arg == "--base-url") target = &options.base_url;
    if (arg == "--api-key") target = &options.api_key;
    if (arg == "--persona") target = &options.persona;
    if (arg == "--machine") target = &options.machine;
    if (arg == "--player") target = &options.player;
    if (arg == "--name") target = &options.name;
    if (arg == "--gender") target = &options.gender;
    if (target == nullptr) {
      problem = "unknown option " + arg;
      return false;
    }
    if (i + 1 >= argc) {
      problem = arg + " needs a value";
      return false;
    }
    *target = argv[++i];
  }
  if (options.api_key.empty()) {
    problem = "no API key (--api-key or FOIL_API_KEY)";
    return false;
  }
  return true;
}

int fail(const foil::Error& error) {
  std::cerr << "error: " << error.describe() << "\n";
  return 1;
}

std::string status_line(const std::string& state, std::int64_t score) {
  return "[state: " + state + " | score: " + std::to_string(score) + "]";
}

// Runs the "frame loop" until `done` is set by a callback: one pump() per frame.
void run_frames_until(foil::Client& client, const bool& done) {
  while (!done) {
    client.pump();
    if (!done) std::this_thread::sleep_for(kFrame);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string problem;
  if (!parse_options(argc, argv, options, problem)) return usage(problem.c_str());

  foil::ClientConfig config;
  config.base_url = options.base_url;
  config.api_key = options.api_key;
  foil::Result<foil::Client> created = foil::Client::create(config);
  if (!created) return fail(created.error());
  foil::Client client = std::move(created).value();

  // Whom to talk to. (Blocking waits are fine in a tool like this one; a game would use the
  // callback overloads and pump() instead, as the chat loop below does.)
  auto personas = client.wait_for<std::vector<foil::Persona>>(client.list_personas(),
                                                             kRequestTimeout);
  if (!personas) return fail(personas.error());
  const foil::Persona* persona = nullptr;
  for (const foil::Persona& p : *personas) {
    if (options.persona.empty() || p.name == options.persona || p.id == options.persona) {
      persona = &p;
      break;
    }
  }
  if (persona == nullptr) {
    std::cerr << "error: no persona " << options.persona << " (this key reaches "
              << personas->size() << ")\n";
    return 1;
  }

  std::string machine_id;
  if (!options.machine.empty()) {
    auto machines = client.wait_for<std::vector<foil::MachineInfo>>(
        client.list_machines(persona->id, options.player), kRequestTimeout);
    if (!machines) return fail(machines.error());
    for (const foil::MachineInfo& m : *machines) {
      if (m.machine_key == options.machine || m.machine_id == options.machine) {
        machine_id = m.machine_id;
      }
    }
    if (machine_id.empty()) {
      std::cerr << "error: no machine " << options.machine << " for this player\n";
      return 1;
    }
  }

  auto session = client.wait_for<foil::SessionInit>(
      client.init_session(persona->id, options.player, options.name, options.gender, machine_id),
      kRequestTimeout);
  if (!session) return fail(session.error());
  const std::string npc = session->persona_name;
  machine_id = session->machine_id;
  std::cout << "Talking to " << npc << " as " << options.name << " (type /quit or Ctrl-D to leave)\n";
  std::cout << npc << ": " << session->message << "\n";

  // Fetching the status once teaches the client the initial state, so the first turn reports
  // a state change too.
  auto status = client.wait_for<foil::SessionStatus>(
      client.get_session(persona->id, options.player, machine_id), kRequestTimeout);
  if (!status) return fail(status.error());
  std::cout << status_line(status->current_state, status->score) << "\n";

  foil::GameEventHandlers events;
  events.on_state_change = [](const foil::StateChange& e) {
    std::cout << "* state: " << e.from_state << " -> " << e.to_state;
    if (e.decision) std::cout << " (" << *e.decision << ")";
    std::cout << "\n";
  };
  events.on_score_change = [](const foil::ScoreChange& e) {
    std::cout << "* score: " << e.old_score << " -> " << e.new_score << " ("
              << (e.delta >= 0 ? "+" : "") << e.delta << ")\n";
  };
  events.on_machine_completed = [](const foil::MachineCompleted& e) {
    std::cout << "* scenario complete: " << e.outcome.value_or("-") << "\n";
  };
  events.on_machines_unlocked = [](const foil::MachinesUnlocked& e) {
    std::cout << "* unlocked:";
    for (const foil::UnlockedMachine& m : e.machines) std::cout << " " << m.name;
    std::cout << "\n";
  };
  events.on_session_ended = [](const foil::SessionEnded& e) {
    std::cout << "* outcome: " << e.outcome << " (final score " << e.final_score << ")\n"
              << "The conversation is over: /reset to start again, Ctrl-D to leave.\n";
  };
  client.set_handlers(std::move(events));

  std::string line;
  for (;;) {
    std::cout << "you> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/quit") break;

    bool done = false;
    if (line == "/reset") {
      auto reset = client.reset_session(
          persona->id, options.player, machine_id, [&](foil::Result<foil::ResetResult> r) {
            if (r) {
              std::cout << "(session reset)\n";
            } else {
              std::cerr << "error: " << r.error().describe() << "\n";
            }
            done = true;
          });
      if (!reset) {
        std::cerr << "error: " << reset.error().describe() << "\n";
        continue;
      }
      run_frames_until(client, done);
      continue;
    }

    int pieces = 0;
    bool started = false;
    foil::StreamHandlers stream;
    stream.on_metadata = [&](const foil::ChatResponse&) {
      started = true;
      std::cout << npc << ": " << std::flush;
    };
    stream.on_text_delta = [&](std::string_view text) {
      ++pieces;
      std::cout << text << std::flush;  // show each piece as it arrives
    };
    stream.on_done = [&](const foil::ChatResponse& reply) {
      std::cout << "\n" << status_line(reply.current_state, reply.score) << "\n";
      if (options.stats) std::cout << "(streamed in " << pieces << " pieces)\n";
      done = true;
    };
    stream.on_error = [&](const foil::Error& error) {
      if (started) std::cout << "\n";
      std::cerr << "error: " << error.describe() << "\n";
      done = true;
    };
    auto sent = client.send_message_stream(persona->id, options.player, line, machine_id,
                                           std::move(stream));
    if (!sent) {  // refused before sending (e.g. a message over 2,000 characters)
      std::cerr << "error: " << sent.error().describe() << "\n";
      continue;
    }
    run_frames_until(client, done);
  }
  std::cout << "\nbye\n";
  return 0;  // ~Client frees the client (cancelling anything still in flight)
}
