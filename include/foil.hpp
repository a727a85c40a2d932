/*
 * foil.hpp: a header-only C++17 wrapper over foil.h, the C API of the Foil Engine native
 * plugin (libfoil). Hand-written (not generated); docs/cpp.md is its guide.
 *
 * What it adds over foil.h:
 *  - foil::Client: an RAII, move-only owner of a FoilClient (freed on destruction).
 *  - foil::Event: an RAII, move-only owner of one event's payload.
 *  - std::string / std::string_view arguments (an embedded NUL is refused before sending).
 *  - foil::Result<T>: the error model. Every fallible call returns a Result holding either a
 *    value or a foil::Error; nothing in this header throws (so it works in builds without
 *    exceptions, such as Unreal's). When exceptions are enabled, Result<T>::value_or_throw()
 *    throws foil::Exception instead (define FOIL_HPP_NO_EXCEPTIONS to remove it).
 *  - Typed responses (foil::ChatResponse, foil::SessionInit, ...) parsed from the JSON payloads
 *    by a small built-in JSON reader (foil::json), with no other dependency.
 *  - Callbacks (std::function) per request and for the game events (and the player token's
 *    expiry), run by Client::pump() on the thread that calls it (once per frame, on the
 *    game's thread).
 *
 * Threads: a Client may be used from any thread (like the C API); callbacks run only inside
 * pump(), on the calling thread. Memory: everything this header hands out is an owning C++
 * value; nothing needs freeing by hand.
 */

#ifndef FOIL_HPP
#define FOIL_HPP

#include "foil.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

/*
 * FOIL_HPP_EXCEPTIONS is 1 when the throwing helpers (foil::Exception,
 * Result<T>::value_or_throw()) are available: when the compiler has exceptions enabled and
 * FOIL_HPP_NO_EXCEPTIONS is not defined. Define it to 0 or 1 yourself to override.
 */
#if !defined(FOIL_HPP_EXCEPTIONS)
#if defined(FOIL_HPP_NO_EXCEPTIONS)
#define FOIL_HPP_EXCEPTIONS 0
#elif defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define FOIL_HPP_EXCEPTIONS 1
#else
#define FOIL_HPP_EXCEPTIONS 0
#endif
#endif

#if FOIL_HPP_EXCEPTIONS
#include <stdexcept>
#endif

/*
 * FOIL_HPP_ASSERT(cond) checks the preconditions of Result accessors (value() on an error,
 * error() on a value). Defaults to assert(); define it before including this header to use
 * your engine's check (e.g. `#define FOIL_HPP_ASSERT(c) check(c)` in Unreal).
 */
#if !defined(FOIL_HPP_ASSERT)
#include <cassert>
#define FOIL_HPP_ASSERT(cond) assert(cond)
#endif

/** Everything of the C++ wrapper. */
namespace foil {

/** The version of the header this code was compiled with (FOIL_VERSION), e.g. "0.1.0". */
inline constexpr std::string_view kHeaderVersion = FOIL_VERSION;

/** The version of the loaded library, e.g. "0.1.0" (should equal kHeaderVersion). */
inline std::string_view version() noexcept {
  const char* v = foil_version();
  return v != nullptr ? std::string_view(v) : std::string_view();
}

/** Identifies one request of a Client; never 0. */
using RequestId = std::uint64_t;

/** The status of a fallible C call (FoilStatus), as a scoped enum. */
enum class Status : int {
  /** Success. */
  Ok = FOIL_STATUS_OK,
  /** A required pointer argument was NULL. */
  NullArgument = FOIL_STATUS_NULL_ARGUMENT,
  /** A string argument was not valid UTF-8. */
  InvalidUtf8 = FOIL_STATUS_INVALID_UTF8,
  /** A required string argument was empty or only whitespace. */
  EmptyArgument = FOIL_STATUS_EMPTY_ARGUMENT,
  /** A string argument was too long (64 KiB; a player message: 2,000 characters). */
  ArgumentTooLong = FOIL_STATUS_ARGUMENT_TOO_LONG,
  /** An argument was invalid otherwise (not a UUID, not http(s), an embedded NUL, ...). */
  InvalidArgument = FOIL_STATUS_INVALID_ARGUMENT,
  /** cancel() / wait(): no such request in flight. */
  UnknownRequest = FOIL_STATUS_UNKNOWN_REQUEST,
  /** wait(): the timeout passed first. */
  Timeout = FOIL_STATUS_TIMEOUT,
  /** The client's runtime or HTTP client could not be created. */
  RuntimeError = FOIL_STATUS_RUNTIME_ERROR,
  /** Polling while a push callback is set on the native handle. */
  CallbackMode = FOIL_STATUS_CALLBACK_MODE,
  /** The library caught a panic (a bug); the call had no effect. */
  Panic = FOIL_STATUS_PANIC,
  /** The client is not live (freed, moved from, or never created). */
  InvalidHandle = FOIL_STATUS_INVALID_HANDLE,
};

/** A stable snake_case name of `status` (`"ok"`, `"invalid_argument"`, ...). */
inline const char* to_string(Status status) noexcept {
  switch (status) {
    case Status::Ok: return "ok";
    case Status::NullArgument: return "null_argument";
    case Status::InvalidUtf8: return "invalid_utf8";
    case Status::EmptyArgument: return "empty_argument";
    case Status::ArgumentTooLong: return "argument_too_long";
    case Status::InvalidArgument: return "invalid_argument";
    case Status::UnknownRequest: return "unknown_request";
    case Status::Timeout: return "timeout";
    case Status::RuntimeError: return "runtime_error";
    case Status::CallbackMode: return "callback_mode";
    case Status::Panic: return "panic";
    case Status::InvalidHandle: return "invalid_handle";
  }
  return "unknown_status";
}

/** What an event reports (FoilEventKind), as a scoped enum. */
enum class EventKind : int {
  /** No event (an empty or moved-from Event). */
  None = FOIL_EVENT_NONE,
  /** The request finished; payload: the response JSON. Finishing. */
  Response = FOIL_EVENT_RESPONSE,
  /** A stream's metadata: the ChatResponse keys except `message`. */
  StreamMetadata = FOIL_EVENT_STREAM_METADATA,
  /** A piece of a streamed reply; payload: the text itself. */
  TextDelta = FOIL_EVENT_TEXT_DELTA,
  /** The stream finished; payload: the full ChatResponse JSON. Finishing. */
  StreamDone = FOIL_EVENT_STREAM_DONE,
  /** The request failed; payload: `{"status","code","message","retry_after"}`. Finishing. */
  Error = FOIL_EVENT_ERROR,
  /** Game event: `{"session_id","from_state","to_state","decision"}`. */
  StateChange = FOIL_EVENT_STATE_CHANGE,
  /** Game event: `{"session_id","old_score","new_score","delta"}`. */
  ScoreChange = FOIL_EVENT_SCORE_CHANGE,
  /** Game event: `{"session_id","outcome","final_score"}`. */
  MachineCompleted = FOIL_EVENT_MACHINE_COMPLETED,
  /** Game event: `{"session_id","machines":[UnlockedMachine]}`. */
  MachinesUnlocked = FOIL_EVENT_MACHINES_UNLOCKED,
  /** Game event: `{"session_id","outcome","final_score"}`. */
  SessionEnded = FOIL_EVENT_SESSION_ENDED,
  /**
   * Client event (request id 0): the player token in use expires soon; payload
   * `{"expires_at": <unix seconds>}`. Get a new token and pass it to Client::set_api_key().
   */
  CredentialExpiring = FOIL_EVENT_CREDENTIAL_EXPIRING,
};

/** A stable snake_case name of `kind` (`"text_delta"`, `"session_ended"`, ...). */
inline const char* to_string(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::None: return "none";
    case EventKind::Response: return "response";
    case EventKind::StreamMetadata: return "stream_metadata";
    case EventKind::TextDelta: return "text_delta";
    case EventKind::StreamDone: return "stream_done";
    case EventKind::Error: return "error";
    case EventKind::StateChange: return "state_change";
    case EventKind::ScoreChange: return "score_change";
    case EventKind::MachineCompleted: return "machine_completed";
    case EventKind::MachinesUnlocked: return "machines_unlocked";
    case EventKind::SessionEnded: return "session_ended";
    case EventKind::CredentialExpiring: return "credential_expiring";
  }
  return "unknown_event";
}

/** Whether `kind` ends its request (Response, StreamDone or Error). */
inline constexpr bool is_finishing(EventKind kind) noexcept {
  return kind == EventKind::Response || kind == EventKind::StreamDone || kind == EventKind::Error;
}

/** Whether `kind` is a game event (StateChange ... SessionEnded). */
inline constexpr bool is_game_event(EventKind kind) noexcept {
  return static_cast<int>(kind) >= FOIL_EVENT_STATE_CHANGE &&
         static_cast<int>(kind) <= FOIL_EVENT_SESSION_ENDED;
}

// ---------------------------------------------------------------------------------------------
// Errors and results
// ---------------------------------------------------------------------------------------------

/**
 * Why something failed. Two sources, told apart by is_local():
 *  - a call refused before anything was sent (bad argument, dead client, wait timeout, a
 *    malformed payload): `status` is not Status::Ok, `http_status` is 0, `code` is
 *    to_string(status) (or `decode_error` for a payload that did not parse);
 *  - a request that failed (an ERROR event): `status` is Status::Ok and `http_status`,
 *    `code`, `message`, `retry_after` come from the event (`http_status` 0 when there was no
 *    HTTP answer, e.g. code `transport_error`, `timeout` or `cancelled`).
 */
struct Error {
  /** The status of the refused call; Status::Ok for an error reported by the server/network. */
  Status status = Status::Ok;
  /** The HTTP status (401, 404, 429, ...), or 0 when there was no HTTP answer. */
  int http_status = 0;
  /** A stable snake_case code: the server's `error.code` (docs/errors.md) or the library's. */
  std::string code;
  /** A sentence for people (may change; do not match on it). */
  std::string message;
  /** Seconds the server asked to wait before retrying (429/503), when it said. */
  std::optional<std::int64_t> retry_after;
  /** The request that failed (0 for refused calls). */
  RequestId request_id = 0;

  /** True when the call was refused locally (nothing was sent). */
  bool is_local() const noexcept { return status != Status::Ok; }
  /** True when the request was cancelled (Client::cancel() or the client freed). */
  bool is_cancelled() const noexcept { return code == "cancelled"; }
  /** True for a 401 (bad API key, bad LLM key). */
  bool is_unauthorized() const noexcept { return http_status == 401; }
  /** True for a 429 (rate limited; see retry_after). */
  bool is_rate_limited() const noexcept { return http_status == 429; }

  /** One line for logs: `401 invalid_api_key: Invalid API key`. */
  std::string describe() const {
    std::string out;
    if (http_status != 0) {
      out += std::to_string(http_status);
      out += ' ';
    }
    out += code.empty() ? std::string("error") : code;
    if (!message.empty()) {
      out += ": ";
      out += message;
    }
    if (retry_after) {
      out += " (retry after ";
      out += std::to_string(*retry_after);
      out += " s)";
    }
    return out;
  }
};

/** An Error for a locally refused call with `status` and `message`. */
inline Error make_error(Status status, std::string message) {
  Error error;
  error.status = status;
  error.code = to_string(status);
  error.message = std::move(message);
  return error;
}

#if FOIL_HPP_EXCEPTIONS
/** What Result<T>::value_or_throw() throws (only when exceptions are enabled). */
class Exception : public std::runtime_error {
 public:
  /** Wraps `e`; what() is e.describe(). */
  explicit Exception(Error e) : std::runtime_error(e.describe()), error_(std::move(e)) {}
  /** The error. */
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};
#endif

/**
 * Either a value of type T or an Error: the return type of every fallible call. Test it with
 * ok() / `if (result)`, then read value() (or `*result`, `result->`) or error(). Accessing the
 * wrong side is a precondition violation (FOIL_HPP_ASSERT).
 */
template <class T>
class [[nodiscard]] Result {
 public:
  /** A success holding `value`. */
  Result(T v) : value_(std::move(v)) {}  // NOLINT: implicit on purpose
  /** A failure holding `e`. */
  Result(Error e) : error_(std::move(e)) {}  // NOLINT: implicit on purpose

  /** True on success. */
  bool ok() const noexcept { return value_.has_value(); }
  /** True on success. */
  explicit operator bool() const noexcept { return ok(); }

  /** The value; requires ok(). */
  T& value() & {
    FOIL_HPP_ASSERT(ok());
    return *value_;
  }
  /** The value; requires ok(). */
  const T& value() const& {
    FOIL_HPP_ASSERT(ok());
    return *value_;
  }
  /** The value, moved out; requires ok(). */
  T&& value() && {
    FOIL_HPP_ASSERT(ok());
    return std::move(*value_);
  }
  /** The value; requires ok(). */
  T& operator*() & { return value(); }
  /** The value; requires ok(). */
  const T& operator*() const& { return value(); }
  /** The value, moved out; requires ok(). */
  T&& operator*() && { return std::move(*this).value(); }
  /** Member access to the value; requires ok(). */
  T* operator->() { return &value(); }
  /** Member access to the value; requires ok(). */
  const T* operator->() const { return &value(); }

  /** The value on success, else `fallback`. */
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }
  /** The value on success, else `fallback`. */
  T value_or(T fallback) && { return ok() ? std::move(*value_) : std::move(fallback); }

  /** The error; requires !ok(). */
  const Error& error() const& {
    FOIL_HPP_ASSERT(!ok());
    return error_;
  }

#if FOIL_HPP_EXCEPTIONS
  /** The value, or throws foil::Exception with the error (exceptions builds only). */
  T& value_or_throw() & {
    if (!ok()) throw Exception(error_);
    return *value_;
  }
  /** The value moved out, or throws foil::Exception with the error (exceptions builds only). */
  T value_or_throw() && {
    if (!ok()) throw Exception(std::move(error_));
    return std::move(*value_);
  }
#endif

 private:
  std::optional<T> value_;
  Error error_;
};

/** A Result with no value: success, or an Error. */
template <>
class [[nodiscard]] Result<void> {
 public:
  /** A success. */
  Result() = default;
  /** A failure holding `e`. */
  Result(Error e) : failed_(true), error_(std::move(e)) {}  // NOLINT: implicit

  /** True on success. */
  bool ok() const noexcept { return !failed_; }
  /** True on success. */
  explicit operator bool() const noexcept { return ok(); }
  /** The error; requires !ok(). */
  const Error& error() const& {
    FOIL_HPP_ASSERT(!ok());
    return error_;
  }
#if FOIL_HPP_EXCEPTIONS
  /** Throws foil::Exception on failure (exceptions builds only). */
  void value_or_throw() const {
    if (failed_) throw Exception(error_);
  }
#endif

 private:
  bool failed_ = false;
  Error error_;
};

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/** A small JSON reader for the payloads (RFC 8259; numbers as int64 or double). */
namespace json {

/** The type of a Value. */
enum class Type { Null, Bool, Number, String, Array, Object };

/**
 * A parsed JSON value. Lookups never fail: a missing key, an out-of-range index or a
 * wrong-typed access gives null / the fallback, so `v["a"]["b"].as_string()` is always safe.
 */
class Value {
 public:
  /** null. */
  Value() = default;

  /** The type. */
  Type type() const noexcept { return type_; }
  /** True for null (also what missing keys give). */
  bool is_null() const noexcept { return type_ == Type::Null; }
  /** True for true/false. */
  bool is_bool() const noexcept { return type_ == Type::Bool; }
  /** True for any number. */
  bool is_number() const noexcept { return type_ == Type::Number; }
  /** True for a number written without fraction or exponent that fits in int64. */
  bool is_integer() const noexcept { return type_ == Type::Number && integral_; }
  /** True for a string. */
  bool is_string() const noexcept { return type_ == Type::String; }
  /** True for an array. */
  bool is_array() const noexcept { return type_ == Type::Array; }
  /** True for an object. */
  bool is_object() const noexcept { return type_ == Type::Object; }

  /** The boolean, or `fallback` if this is not one. */
  bool as_bool(bool fallback = false) const noexcept { return is_bool() ? bool_ : fallback; }
  /** The number as int64 (doubles truncated), or `fallback` if this is not a number. */
  std::int64_t as_int(std::int64_t fallback = 0) const noexcept {
    if (!is_number()) return fallback;
    if (integral_) return int_;
    if (!(std::fabs(double_) < 9.2e18)) return fallback;
    return static_cast<std::int64_t>(double_);
  }
  /** The number as double, or `fallback` if this is not a number. */
  double as_double(double fallback = 0.0) const noexcept {
    if (!is_number()) return fallback;
    return integral_ ? static_cast<double>(int_) : double_;
  }
  /** The string (UTF-8), or an empty string if this is not one. */
  const std::string& as_string() const noexcept { return is_string() ? string_ : empty_string(); }
  /** The string, or nullopt if this is not one (e.g. null). */
  std::optional<std::string> as_optional_string() const {
    if (!is_string()) return std::nullopt;
    return string_;
  }

  /** Number of elements (array) or members (object); 0 otherwise. */
  std::size_t size() const noexcept {
    return is_array() ? items_.size() : is_object() ? keys_.size() : 0;
  }
  /** The array's elements (empty if this is not an array). */
  const std::vector<Value>& items() const noexcept {
    return is_array() ? items_ : empty_items();
  }
  /** The object's keys in document order (empty if this is not an object). */
  const std::vector<std::string>& keys() const noexcept {
    return is_object() ? keys_ : empty_keys();
  }
  /** Element `index` of an array, or null (also for a negative or too large index). */
  template <class I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
  const Value& operator[](I index) const noexcept {
    if constexpr (std::is_signed_v<I>) {
      if (index < 0) return null_value();
    }
    if (!is_array()) return null_value();
    const auto i = static_cast<std::size_t>(index);
    return i < items_.size() ? items_[i] : null_value();
  }
  /** The member `key` of an object (the last one if repeated), or nullptr. */
  const Value* find(std::string_view key) const noexcept {
    if (!is_object()) return nullptr;
    for (std::size_t i = keys_.size(); i > 0; --i) {
      if (keys_[i - 1] == key) return &items_[i - 1];
    }
    return nullptr;
  }
  /** True if this is an object with member `key`. */
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }
  /** The member `key` of an object, or null. */
  const Value& operator[](std::string_view key) const noexcept {
    const Value* v = find(key);
    return v != nullptr ? *v : null_value();
  }
  /** The member `key` of an object, or null. */
  const Value& operator[](const char* key) const noexcept {
    return (*this)[std::string_view(key)];
  }

  /** A shared null value (what failed lookups return). */
  static const Value& null_value() noexcept {
    static const Value null;
    return null;
  }

 private:
  friend class Parser;
  static const std::string& empty_string() noexcept {
    static const std::string empty;
    return empty;
  }
  static const std::vector<Value>& empty_items() noexcept {
    static const std::vector<Value> empty;
    return empty;
  }
  static const std::vector<std::string>& empty_keys() noexcept {
    static const std::vector<std::string> empty;
    return empty;
  }

  Type type_ = Type::Null;
  bool bool_ = false;
  bool integral_ = false;
  std::int64_t int_ = 0;
  double double_ = 0.0;
  std::string string_;
  std::vector<Value> items_;        // array elements, or object values
  std::vector<std::string> keys_;   // object keys (parallel to items_)
};

/** The parser behind json::parse(); not meant to be used directly. */
class Parser {
 public:
  /** Prepares to parse `text`. */
  explicit Parser(std::string_view text) noexcept : text_(text) {}

  /** Parses the whole text as one value; false (with error()) on malformed input. */
  bool run(Value& out) {
    skip_space();
    if (!value(out, 0)) return false;
    skip_space();
    if (pos_ != text_.size()) return fail("unexpected data after the value");
    return true;
  }
  /** What went wrong, with the byte offset. */
  const std::string& error() const noexcept { return error_; }

 private:
  static constexpr int kMaxDepth = 128;

  bool fail(const char* what) {
    if (error_.empty()) {
      error_ = std::string("invalid JSON at byte ") + std::to_string(pos_) + ": " + what;
    }
    return false;
  }
  bool at_end() const noexcept { return pos_ >= text_.size(); }
  char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
  void skip_space() noexcept {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                         text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return fail("unknown literal");
    pos_ += word.size();
    return true;
  }

  bool value(Value& out, int depth) {
    if (depth > kMaxDepth) return fail("nested too deeply");
    switch (peek()) {
      case 'n':
        out.type_ = Type::Null;
        return literal("null");
      case 't':
        out.type_ = Type::Bool;
        out.bool_ = true;
        return literal("true");
      case 'f':
        out.type_ = Type::Bool;
        out.bool_ = false;
        return literal("false");
      case '"':
        out.type_ = Type::String;
        return string(out.string_);
      case '[':
        return array(out, depth);
      case '{':
        return object(out, depth);
      default:
        return number(out);
    }
  }

  bool array(Value& out, int depth) {
    out.type_ = Type::Array;
    ++pos_;  // '['
    skip_space();
    if (peek() == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_space();
      out.items_.emplace_back();
      if (!value(out.items_.back(), depth + 1)) return false;
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool object(Value& out, int depth) {
    out.type_ = Type::Object;
    ++pos_;  // '{'
    skip_space();
    if (peek() == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_space();
      if (peek() != '"') return fail("expected a key");
      out.keys_.emplace_back();
      if (!string(out.keys_.back())) return false;
      skip_space();
      if (peek() != ':') return fail("expected ':'");
      ++pos_;
      skip_space();
      out.items_.emplace_back();
      if (!value(out.items_.back(), depth + 1)) return false;
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(std::uint32_t& out) {
    if (text_.size() - pos_ < 4) return fail("short \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return fail("bad \\u escape");
      }
    }
    return true;
  }

  bool string(std::string& out) {
    ++pos_;  // opening quote
    for (;;) {
      if (at_end()) return fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) return fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (text_.substr(pos_, 2) == "\\u") {
              pos_ += 2;
              if (!hex4(low)) return false;
            }
            if (low >= 0xDC00 && low <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              cp = 0xFFFD;  // lone high surrogate
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;  // lone low surrogate
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return fail("unknown escape");
      }
    }
  }

  static bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

  // Locale-independent (unlike strtod): integers exactly, other numbers closely enough for
  // the payloads (which only carry integers).
  bool number(Value& out) {
    out.type_ = Type::Number;
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      ++pos_;
    }
    if (!digit(peek())) return fail("unexpected character");
    double mantissa = 0.0;
    std::uint64_t integer = 0;
    bool fits = true;
    if (peek() == '0') {
      ++pos_;
    } else {
      while (digit(peek())) {
        const auto d = static_cast<std::uint64_t>(peek() - '0');
        mantissa = mantissa * 10.0 + static_cast<double>(d);
        if (integer > (std::numeric_limits<std::uint64_t>::max)() / 10 - 1) fits = false;
        integer = integer * 10 + d;
        ++pos_;
      }
    }
    bool integral = true;
    int exponent = 0;
    if (peek() == '.') {
      integral = false;
      ++pos_;
      if (!digit(peek())) return fail("expected a digit after '.'");
      while (digit(peek())) {
        mantissa = mantissa * 10.0 + static_cast<double>(peek() - '0');
        --exponent;
        ++pos_;
      }
    }
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      ++pos_;
      bool negative_exp = false;
      if (peek() == '+' || peek() == '-') {
        negative_exp = peek() == '-';
        ++pos_;
      }
      if (!digit(peek())) return fail("expected a digit in the exponent");
      int e = 0;
      while (digit(peek())) {
        if (e < 100000) e = e * 10 + (peek() - '0');
        ++pos_;
      }
      exponent += negative_exp ? -e : e;
    }
    const std::uint64_t limit =
        static_cast<std::uint64_t>((std::numeric_limits<std::int64_t>::max)()) + (negative ? 1 : 0);
    if (integral && fits && integer <= limit) {
      out.integral_ = true;
      out.int_ = negative ? static_cast<std::int64_t>(0 - integer) : static_cast<std::int64_t>(integer);
      return true;
    }
    out.integral_ = false;
    out.double_ = (negative ? -mantissa : mantissa) * std::pow(10.0, exponent);
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
};

/** Parses `text` as one JSON value; a `decode_error` Error on malformed input. */
inline Result<Value> parse(std::string_view text) {
  Value value;
  Parser parser(text);
  if (!parser.run(value)) {
    Error error = make_error(Status::InvalidArgument, parser.error());
    error.code = "decode_error";
    return error;
  }
  return value;
}

}  // namespace json

// ---------------------------------------------------------------------------------------------
// Typed payloads (api.md §4.2 and the game events)
// ---------------------------------------------------------------------------------------------

/** A published persona (`list_personas`). */
struct Persona {
  /** UUID. */
  std::string id;
  /** Display name. */
  std::string name;
  /** Description, if any. */
  std::optional<std::string> description;
  /** RFC 3339 timestamp. */
  std::string created_at;
  /** RFC 3339 timestamp. */
  std::string updated_at;
};

/** A machine (scenario) the player can play now (`list_machines`). */
struct MachineInfo {
  /** UUID. */
  std::string machine_id;
  /** Stable key from the persona document (e.g. `order_coffee`). */
  std::string machine_key;
  /** Display name. */
  std::string name;
  /** Description, if any. */
  std::optional<std::string> description;
  /** Whether this player has a session on it. */
  bool has_session = false;
  /** The outcome of that session, if it ended. */
  std::optional<std::string> session_outcome;
  /** Whether the machine is the target of a link (unlocked by another). */
  bool is_linked = false;
};

/** The answer to `init_session`: the session and the NPC's greeting. */
struct SessionInit {
  /** UUID of the session. */
  std::string session_id;
  /** The game's player id, as sent. */
  std::string user_session_id;
  /** The persona's name. */
  std::string persona_name;
  /** The persona's description, if any. */
  std::optional<std::string> persona_description;
  /** The player's name, as sent. */
  std::string player_name;
  /** The player's gender, as sent. */
  std::string player_gender;
  /** The greeting. */
  std::string message;
  /** UUID of the machine the session plays. */
  std::string machine_id;
};

/** A machine unlocked by finishing another one. */
struct UnlockedMachine {
  /** UUID. */
  std::string machine_id;
  /** Stable key. */
  std::string machine_key;
  /** Display name. */
  std::string name;
  /** Whether the game should start it at once. */
  bool is_auto_advance = false;
};

/**
 * The NPC's answer to a message (`send_message`, a stream's done event). A stream's metadata
 * has the same shape with `message` empty.
 */
struct ChatResponse {
  /** The reply text (empty in stream metadata). */
  std::string message;
  /** The state after this turn. */
  std::string current_state;
  /** The score after this turn. */
  std::int64_t score = 0;
  /** `ACCEPT`, `REJECT`, `KICK_OUT` once the session ended; nullopt while it goes on. */
  std::optional<std::string> outcome;
  /** The evaluator's decision for this turn, if any. */
  std::optional<std::string> decision;
  /** Whether the NPC asked a follow-up question. */
  bool follow_up = false;
  /** UUID of the session. */
  std::string session_id;
  /** The persona's scoring mode. */
  std::string scoring_mode;
  /** How many times the conversation was redirected, if tracked. */
  std::optional<std::int64_t> redirect_count;
  /** Whether the machine finished this turn. */
  bool machine_completed = false;
  /** Machines unlocked by finishing this one. */
  std::vector<UnlockedMachine> unlocked_machines;
};

/** A session's status (`get_session`). */
struct SessionStatus {
  /** UUID of the session. */
  std::string session_id;
  /** UUID of the persona. */
  std::string persona_id;
  /** UUID of the machine. */
  std::string machine_id;
  /** The current state. */
  std::string current_state;
  /** The current score. */
  std::int64_t score = 0;
  /** The outcome, once ended. */
  std::optional<std::string> outcome;
  /** The player's name. */
  std::string player_name;
  /** The player's gender. */
  std::string player_gender;
  /** RFC 3339 timestamp. */
  std::string started_at;
  /** RFC 3339 timestamp. */
  std::string last_message_at;
};

/** One message of a history, the greeting first. */
struct HistoryMessage {
  /** UUID. */
  std::string id;
  /** `assistant` or `user`. */
  std::string role;
  /** The text. */
  std::string content;
  /** The state when the message was stored, if recorded. */
  std::optional<std::string> state_key_at_time;
  /** The score when the message was stored, if recorded. */
  std::optional<std::int64_t> score_at_time;
  /** The decision of that turn, if any. */
  std::optional<std::string> decision;
  /** Whether it triggered a follow-up. */
  bool follow_up_triggered = false;
  /** RFC 3339 timestamp. */
  std::string created_at;
};

/** A session with its messages (`get_history`). */
struct ChatHistory {
  /** UUID of the session. */
  std::string session_id;
  /** UUID of the persona. */
  std::string persona_id;
  /** The messages, in order, the greeting first. */
  std::vector<HistoryMessage> messages;
  /** The current state. */
  std::string current_state;
  /** The current score. */
  std::int64_t score = 0;
  /** The outcome, once ended. */
  std::optional<std::string> outcome;
  /** The player's name. */
  std::string player_name;
  /** The player's gender. */
  std::string player_gender;
  /** RFC 3339 timestamp. */
  std::string started_at;
  /** RFC 3339 timestamp. */
  std::string last_message_at;
};

/** The answer to `reset_session`. */
struct ResetResult {
  /** UUID of the session. */
  std::string session_id;
  /** A confirmation sentence. */
  std::string message;
};

/** The answer to `validate_llm_key`. */
struct LlmKeyValidation {
  /** Whether the key works. */
  bool valid = false;
  /** The model it was checked against. */
  std::string model;
  /** Why not, if not. */
  std::optional<std::string> error;
};

/** Game event: the conversation moved to another state. */
struct StateChange {
  /** The session. */
  std::string session_id;
  /** The state before the turn. */
  std::string from_state;
  /** The state after the turn. */
  std::string to_state;
  /** The turn's decision, if any. */
  std::optional<std::string> decision;
};

/** Game event: the score changed. */
struct ScoreChange {
  /** The session. */
  std::string session_id;
  /** The score before the turn. */
  std::int64_t old_score = 0;
  /** The score after the turn. */
  std::int64_t new_score = 0;
  /** new_score - old_score. */
  std::int64_t delta = 0;
};

/** Game event: the machine (scenario) finished this turn. */
struct MachineCompleted {
  /** The session. */
  std::string session_id;
  /** `ACCEPT`, `REJECT`, `KICK_OUT`, or nullopt if the server gave none. */
  std::optional<std::string> outcome;
  /** The score at the end. */
  std::int64_t final_score = 0;
};

/** Game event: finishing the machine unlocked others (each reported once per session). */
struct MachinesUnlocked {
  /** The session. */
  std::string session_id;
  /** The newly unlocked machines. */
  std::vector<UnlockedMachine> machines;
};

/** Game event: the session ended (it takes no more messages). */
struct SessionEnded {
  /** The session. */
  std::string session_id;
  /** `ACCEPT`, `REJECT` or `KICK_OUT`. */
  std::string outcome;
  /** The score at the end. */
  std::int64_t final_score = 0;
};

/** Client event: the player token in use expires soon (EventKind::CredentialExpiring). */
struct CredentialExpiring {
  /** When the token expires, in seconds since the Unix epoch. */
  std::int64_t expires_at = 0;
};

/** Helpers of the typed readers; not part of the API. */
namespace detail {

/** Reads members of one JSON object, remembering the first problem. */
class ObjectReader {
 public:
  ObjectReader(const json::Value& object, const char* type, std::string& error)
      : object_(object), type_(type), error_(error) {
    if (!object.is_object()) problem("", "an object");
  }
  bool ok() const noexcept { return error_.empty(); }

  void text(const char* key, std::string& out) {
    const json::Value* v = object_.find(key);
    if (v == nullptr || !v->is_string()) return problem(key, "a string");
    out = v->as_string();
  }
  void optional_text(const char* key, std::optional<std::string>& out) {
    const json::Value* v = object_.find(key);
    if (v == nullptr || v->is_null()) return out.reset();
    if (!v->is_string()) return problem(key, "a string or null");
    out = v->as_string();
  }
  void integer(const char* key, std::int64_t& out) {
    const json::Value* v = object_.find(key);
    if (v == nullptr || !v->is_integer()) return problem(key, "an integer");
    out = v->as_int();
  }
  void optional_integer(const char* key, std::optional<std::int64_t>& out) {
    const json::Value* v = object_.find(key);
    if (v == nullptr || v->is_null()) return out.reset();
    if (!v->is_integer()) return problem(key, "an integer or null");
    out = v->as_int();
  }
  void boolean(const char* key, bool& out) {
    const json::Value* v = object_.find(key);
    if (v == nullptr || !v->is_bool()) return problem(key, "a boolean");
    out = v->as_bool();
  }
  /** An optional boolean member: missing or null leave `out` as it is. */
  void boolean_or_keep(const char* key, bool& out) {
    const json::Value* v = object_.find(key);
    if (v == nullptr || v->is_null()) return;
    if (!v->is_bool()) return problem(key, "a boolean");
    out = v->as_bool();
  }
  template <class T, class ReadOne>
  void list(const char* key, std::vector<T>& out, ReadOne read_one) {
    const json::Value* v = object_.find(key);
    if (v == nullptr || !v->is_array()) return problem(key, "an array");
    out.clear();
    out.reserve(v->size());
    for (const json::Value& item : v->items()) {
      out.emplace_back();
      if (!read_one(item, out.back(), error_)) return;
    }
  }

 private:
  void problem(const char* key, const char* expected) {
    if (!error_.empty()) return;
    error_ = std::string(type_) + (key[0] != '\0' ? std::string(".") + key : std::string()) +
             ": expected " + expected;
  }

  const json::Value& object_;
  const char* type_;
  std::string& error_;
};

}  // namespace detail

/**
 * Fills `out` from `value`; false (with a description in `error`) when a required member is
 * missing or has the wrong type. One overload per payload type; also for std::vector of them.
 */
inline bool from_json(const json::Value& value, Persona& out, std::string& error) {
  detail::ObjectReader r(value, "Persona", error);
  r.text("id", out.id);
  r.text("name", out.name);
  r.optional_text("description", out.description);
  r.text("created_at", out.created_at);
  r.text("updated_at", out.updated_at);
  return r.ok();
}

/** Fills a MachineInfo (see the Persona overload). */
inline bool from_json(const json::Value& value, MachineInfo& out, std::string& error) {
  detail::ObjectReader r(value, "MachineInfo", error);
  r.text("machine_id", out.machine_id);
  r.text("machine_key", out.machine_key);
  r.text("name", out.name);
  r.optional_text("description", out.description);
  r.boolean("has_session", out.has_session);
  r.optional_text("session_outcome", out.session_outcome);
  r.boolean("is_linked", out.is_linked);
  return r.ok();
}

/** Fills a SessionInit (see the Persona overload). */
inline bool from_json(const json::Value& value, SessionInit& out, std::string& error) {
  detail::ObjectReader r(value, "SessionInit", error);
  r.text("session_id", out.session_id);
  r.text("user_session_id", out.user_session_id);
  r.text("persona_name", out.persona_name);
  r.optional_text("persona_description", out.persona_description);
  r.text("player_name", out.player_name);
  r.text("player_gender", out.player_gender);
  r.text("message", out.message);
  r.text("machine_id", out.machine_id);
  return r.ok();
}

/** Fills an UnlockedMachine (see the Persona overload). */
inline bool from_json(const json::Value& value, UnlockedMachine& out, std::string& error) {
  detail::ObjectReader r(value, "UnlockedMachine", error);
  r.text("machine_id", out.machine_id);
  r.text("machine_key", out.machine_key);
  r.text("name", out.name);
  r.boolean("is_auto_advance", out.is_auto_advance);
  return r.ok();
}

/**
 * Fills a ChatResponse (see the Persona overload). `message` is optional, so the same reader
 * takes a stream's metadata.
 */
inline bool from_json(const json::Value& value, ChatResponse& out, std::string& error) {
  detail::ObjectReader r(value, "ChatResponse", error);
  std::optional<std::string> message;
  r.optional_text("message", message);
  out.message = message.value_or(std::string());
  r.text("current_state", out.current_state);
  r.integer("score", out.score);
  r.optional_text("outcome", out.outcome);
  r.optional_text("decision", out.decision);
  r.boolean("follow_up", out.follow_up);
  r.text("session_id", out.session_id);
  r.text("scoring_mode", out.scoring_mode);
  r.optional_integer("redirect_count", out.redirect_count);
  r.boolean("machine_completed", out.machine_completed);
  r.list("unlocked_machines", out.unlocked_machines,
         [](const json::Value& v, UnlockedMachine& m, std::string& e) { return from_json(v, m, e); });
  return r.ok();
}

/** Fills a SessionStatus (see the Persona overload). */
inline bool from_json(const json::Value& value, SessionStatus& out, std::string& error) {
  detail::ObjectReader r(value, "SessionStatus", error);
  r.text("session_id", out.session_id);
  r.text("persona_id", out.persona_id);
  r.text("machine_id", out.machine_id);
  r.text("current_state", out.current_state);
  r.integer("score", out.score);
  r.optional_text("outcome", out.outcome);
  r.text("player_name", out.player_name);
  r.text("player_gender", out.player_gender);
  r.text("started_at", out.started_at);
  r.text("last_message_at", out.last_message_at);
  return r.ok();
}

/** Fills a HistoryMessage (see the Persona overload). */
inline bool from_json(const json::Value& value, HistoryMessage& out, std::string& error) {
  detail::ObjectReader r(value, "Message", error);
  r.text("id", out.id);
  r.text("role", out.role);
  r.text("content", out.content);
  r.optional_text("state_key_at_time", out.state_key_at_time);
  r.optional_integer("score_at_time", out.score_at_time);
  r.optional_text("decision", out.decision);
  r.boolean_or_keep("follow_up_triggered", out.follow_up_triggered);
  r.text("created_at", out.created_at);
  return r.ok();
}

/** Fills a ChatHistory (see the Persona overload). */
inline bool from_json(const json::Value& value, ChatHistory& out, std::string& error) {
  detail::ObjectReader r(value, "ChatHistory", error);
  r.text("session_id", out.session_id);
  r.text("persona_id", out.persona_id);
  r.list("messages", out.messages,
         [](const json::Value& v, HistoryMessage& m, std::string& e) { return from_json(v, m, e); });
  r.text("current_state", out.current_state);
  r.integer("score", out.score);
  r.optional_text("outcome", out.outcome);
  r.text("player_name", out.player_name);
  r.text("player_gender", out.player_gender);
  r.text("started_at", out.started_at);
  r.text("last_message_at", out.last_message_at);
  return r.ok();
}

/** Fills a ResetResult (see the Persona overload). */
inline bool from_json(const json::Value& value, ResetResult& out, std::string& error) {
  detail::ObjectReader r(value, "ResetResult", error);
  r.text("session_id", out.session_id);
  r.text("message", out.message);
  return r.ok();
}

/** Fills an LlmKeyValidation (see the Persona overload). */
inline bool from_json(const json::Value& value, LlmKeyValidation& out, std::string& error) {
  detail::ObjectReader r(value, "LlmKeyValidation", error);
  r.boolean("valid", out.valid);
  r.text("model", out.model);
  r.optional_text("error", out.error);
  return r.ok();
}

/** Fills a StateChange (see the Persona overload). */
inline bool from_json(const json::Value& value, StateChange& out, std::string& error) {
  detail::ObjectReader r(value, "StateChange", error);
  r.text("session_id", out.session_id);
  r.text("from_state", out.from_state);
  r.text("to_state", out.to_state);
  r.optional_text("decision", out.decision);
  return r.ok();
}

/** Fills a ScoreChange (see the Persona overload). */
inline bool from_json(const json::Value& value, ScoreChange& out, std::string& error) {
  detail::ObjectReader r(value, "ScoreChange", error);
  r.text("session_id", out.session_id);
  r.integer("old_score", out.old_score);
  r.integer("new_score", out.new_score);
  r.integer("delta", out.delta);
  return r.ok();
}

/** Fills a MachineCompleted (see the Persona overload). */
inline bool from_json(const json::Value& value, MachineCompleted& out, std::string& error) {
  detail::ObjectReader r(value, "MachineCompleted", error);
  r.text("session_id", out.session_id);
  r.optional_text("outcome", out.outcome);
  r.integer("final_score", out.final_score);
  return r.ok();
}

/** Fills a MachinesUnlocked (see the Persona overload). */
inline bool from_json(const json::Value& value, MachinesUnlocked& out, std::string& error) {
  detail::ObjectReader r(value, "MachinesUnlocked", error);
  r.text("session_id", out.session_id);
  r.list("machines", out.machines,
         [](const json::Value& v, UnlockedMachine& m, std::string& e) { return from_json(v, m, e); });
  return r.ok();
}

/** Fills a SessionEnded (see the Persona overload). */
inline bool from_json(const json::Value& value, SessionEnded& out, std::string& error) {
  detail::ObjectReader r(value, "SessionEnded", error);
  r.text("session_id", out.session_id);
  r.text("outcome", out.outcome);
  r.integer("final_score", out.final_score);
  return r.ok();
}

/** Fills a CredentialExpiring (see the Persona overload). */
inline bool from_json(const json::Value& value, CredentialExpiring& out, std::string& error) {
  detail::ObjectReader r(value, "CredentialExpiring", error);
  r.integer("expires_at", out.expires_at);
  return r.ok();
}

/** Fills a json::Value (a copy: for payloads read without a typed struct). */
inline bool from_json(const json::Value& value, json::Value& out, std::string& /*error*/) {
  out = value;
  return true;
}

/** Fills a list of any of the payload types from a JSON array. */
template <class T>
bool from_json(const json::Value& value, std::vector<T>& out, std::string& error) {
  if (!value.is_array()) {
    error = "expected an array";
    return false;
  }
  out.clear();
  out.reserve(value.size());
  for (const json::Value& item : value.items()) {
    out.emplace_back();
    if (!from_json(item, out.back(), error)) return false;
  }
  return true;
}

/**
 * Parses a payload into T (Persona, std::vector<Persona>, ChatResponse, ..., or json::Value);
 * on failure an Error with code `decode_error`.
 */
template <class T>
Result<T> parse(std::string_view payload) {
  Result<json::Value> value = json::parse(payload);
  if (!value) return value.error();
  T out{};
  std::string problem;
  if (!from_json(*value, out, problem)) {
    Error error = make_error(Status::InvalidArgument, "unexpected payload: " + problem);
    error.code = "decode_error";
    return error;
  }
  return out;
}

/** Reads an ERROR event's payload (`{"status","code","message","retry_after"}`). */
inline Error parse_error_payload(std::string_view payload, RequestId request_id = 0) {
  Error error;
  error.request_id = request_id;
  Result<json::Value> value = json::parse(payload);
  if (!value || !value->is_object()) {
    error.code = "decode_error";
    error.message = std::string(payload);
    return error;
  }
  const json::Value& v = *value;
  error.http_status = static_cast<int>(v["status"].as_int(0));
  error.code = v["code"].as_string();
  error.message = v["message"].as_string();
  if (v["retry_after"].is_number()) error.retry_after = v["retry_after"].as_int();
  if (error.code.empty()) error.code = "http_error";
  return error;
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/**
 * One event taken from a client's queue: owns its payload and frees it (foil_event_free) when
 * destroyed. Move-only; a moved-from or default Event is empty (kind None).
 */
class Event {
 public:
  /** An empty event. */
  Event() noexcept : raw_{} {}
  /** Takes ownership of `raw` (filled by foil_poll_event / foil_wait). */
  explicit Event(const FoilEvent& raw) noexcept : raw_(raw) {}
  /** Frees the payload. */
  ~Event() { reset(); }
  /** Takes the other event's payload, leaving it empty. */
  Event(Event&& other) noexcept : raw_(other.raw_) { other.raw_ = FoilEvent{}; }
  /** Frees this payload, then takes the other's. */
  Event& operator=(Event&& other) noexcept {
    if (this != &other) {
      reset();
      raw_ = other.raw_;
      other.raw_ = FoilEvent{};
    }
    return *this;
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  /** The request it belongs to (game events: the request whose response they came from). */
  RequestId request_id() const noexcept { return raw_.request_id; }
  /** What happened. */
  EventKind kind() const noexcept { return static_cast<EventKind>(raw_.kind); }
  /** The HTTP status (200 on success kinds, the error status on Error, 0 if none). */
  int http_status() const noexcept { return raw_.http_status; }
  /** The payload (JSON, or the text of a TextDelta); valid while this Event lives. */
  std::string_view payload() const noexcept {
    return raw_.payload != nullptr ? std::string_view(raw_.payload, raw_.payload_len)
                                   : std::string_view();
  }
  /** True for None (empty / moved from). */
  bool empty() const noexcept { return raw_.kind == FOIL_EVENT_NONE; }
  /** Whether it ends its request (Response, StreamDone, Error). */
  bool is_finishing() const noexcept { return foil::is_finishing(kind()); }
  /** Whether it is a game event. */
  bool is_game_event() const noexcept { return foil::is_game_event(kind()); }

  /** For an Error event: the error it reports. Otherwise a default Error. */
  Error error() const {
    if (kind() != EventKind::Error) return Error{};
    return parse_error_payload(payload(), request_id());
  }

  /**
   * The payload as T: an Error event gives its error; any other kind is parsed with
   * foil::parse<T>() (so `as<ChatResponse>()` on a StreamDone, `as<ScoreChange>()` on a
   * ScoreChange, `as<json::Value>()` on anything JSON).
   */
  template <class T>
  Result<T> as() const {
    if (kind() == EventKind::Error) return error();
    return parse<T>(payload());
  }

  /** The underlying C event (still owned by this object). */
  const FoilEvent& raw() const noexcept { return raw_; }

  /** Frees the payload now; the event becomes empty. */
  void reset() noexcept {
    if (raw_.payload != nullptr || raw_.kind != FOIL_EVENT_NONE) foil_event_free(&raw_);
    raw_ = FoilEvent{};
  }

 private:
  FoilEvent raw_;
};

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

/**
 * How to create a Client (FoilClientConfig). Empty strings mean "not set"; only `api_key` is
 * required. Zero numbers mean the library's default.
 */
struct ClientConfig {
  /** The server (default `https://api.foilengine.io`). */
  std::string base_url;
  /**
   * The game's API key (`pk_live_...`) or a player token (`pt_...`) from the game's backend.
   * Required; replace it later with Client::set_api_key().
   */
  std::string api_key;
  /** `X-LLM-API-Key`: the provider key for every pipeline step. */
  std::string llm_api_key;
  /** `X-LLM-Model`: the model for every step (e.g. `openai/gpt-4o-mini`). */
  std::string llm_model;
  /** `X-LLM-Eval-Model`. */
  std::string llm_eval_model;
  /** `X-LLM-Response-Model`. */
  std::string llm_response_model;
  /** `X-LLM-Summarization-Model`. */
  std::string llm_summarization_model;
  /** `X-LLM-Eval-API-Key`. */
  std::string llm_eval_api_key;
  /** `X-LLM-Response-API-Key`. */
  std::string llm_response_api_key;
  /** `X-LLM-Summarization-API-Key`. */
  std::string llm_summarization_api_key;
  /** Time limit of each attempt of an ordinary request (0: 30 s). */
  std::chrono::milliseconds timeout{0};
  /** Time limit of a whole streamed reply (0: 120 s). */
  std::chrono::milliseconds stream_timeout{0};
  /** Retries on 429/5xx/transport errors (negative: the default, 3; 0: none). */
  int max_retries = -1;
  /** How long list_personas() answers from its cache (0: 60 s). */
  std::chrono::milliseconds persona_cache_ttl{0};
};

/** Callback of a request's typed result (called once, from Client::pump()). */
template <class T>
using ResultCallback = std::function<void(Result<T>)>;

/** Callbacks of one streamed reply (each optional; called from Client::pump()). */
struct StreamHandlers {
  /** The metadata (state, score, outcome of the turn; `message` empty), before any text. */
  std::function<void(const ChatResponse& metadata)> on_metadata;
  /** A piece of the reply text, as it arrives. */
  std::function<void(std::string_view text)> on_text_delta;
  /** The whole reply; the stream finished. */
  std::function<void(const ChatResponse& reply)> on_done;
  /** The stream failed (before or after it began) or was cancelled; it finished. */
  std::function<void(const Error& error)> on_error;
};

/**
 * Client-wide handlers for the game events, the credential's expiry (and, optionally, for
 * events no per-request callback claimed). Each optional; called from Client::pump().
 */
struct GameEventHandlers {
  /** The conversation moved to another state. */
  std::function<void(const StateChange&)> on_state_change;
  /** The score changed. */
  std::function<void(const ScoreChange&)> on_score_change;
  /** The machine finished this turn. */
  std::function<void(const MachineCompleted&)> on_machine_completed;
  /** Other machines were unlocked. */
  std::function<void(const MachinesUnlocked&)> on_machines_unlocked;
  /** The session ended. */
  std::function<void(const SessionEnded&)> on_session_ended;
  /**
   * The player token in use expires soon: get a new one from your backend and pass it to
   * Client::set_api_key() (once per token; never for an API key).
   */
  std::function<void(const CredentialExpiring&)> on_credential_expiring;
  /** Any other event of a request issued without callbacks (e.g. its Response). */
  std::function<void(const Event&)> on_unclaimed_event;
};

/** Helpers of Client; not part of the API. */
namespace detail {

/** The calling thread's last failure record of the C API, as an Error. */
inline Error last_error() {
  const auto status = static_cast<Status>(foil_last_status(nullptr));
  const std::size_t length = foil_last_error(nullptr, nullptr, 0);
  std::string message(length + 1, '\0');
  const std::size_t written = foil_last_error(nullptr, &message[0], message.size());
  message.resize((std::min)(written, length));
  message.resize(std::strlen(message.c_str()));
  return make_error(status == Status::Ok ? Status::InvalidArgument : status, std::move(message));
}

/** An Error if any of `args` contains a NUL byte (it would silently cut the C string). */
inline std::optional<Error> reject_nul(std::initializer_list<std::string_view> args) {
  for (std::string_view arg : args) {
    if (arg.find('\0') != std::string_view::npos) {
      return make_error(Status::InvalidArgument, "a string argument contains a NUL byte");
    }
  }
  return std::nullopt;
}

/** NULL for an empty optional string, else its C string. */
inline const char* optional_c(const std::string& s) noexcept {
  return s.empty() ? nullptr : s.c_str();
}

/** Milliseconds clamped to the uint32 range of the C API. */
inline std::uint32_t clamp_ms(std::chrono::milliseconds ms) noexcept {
  const auto count = ms.count();
  if (count <= 0) return 0;
  if (static_cast<unsigned long long>(count) > (std::numeric_limits<std::uint32_t>::max)()) {
    return (std::numeric_limits<std::uint32_t>::max)();
  }
  return static_cast<std::uint32_t>(count);
}

/** The per-request callback of a tracked request. */
using EventHandler = std::function<void(Event&)>;

/** The callback state of a Client (heap-allocated so the Client can move). */
struct Dispatch {
  std::mutex mutex;
  std::unordered_map<RequestId, std::shared_ptr<EventHandler>> pending;
  std::shared_ptr<const GameEventHandlers> handlers;
};

template <class T>
void call_game_handler(const std::function<void(const T&)>& handler, const Event& event) {
  if (!handler) return;
  Result<T> value = event.as<T>();
  if (value) handler(*value);
}

}  // namespace detail

/**
 * A connection to a Foil Engine server: owns a FoilClient (its worker threads, HTTP connections
 * and event queue) and frees it on destruction, which cancels every request in flight (their
 * callbacks are dropped, not called) and returns within a bounded time (~2 s). Move-only.
 *
 * Requests return a RequestId at once and never block on the network. Their results come back
 * as events, read in one of two ways (do not mix them for the same request):
 *  - poll_event() / wait(): raw Events (wait_for<T>() parses the finishing one);
 *  - the overloads taking callbacks, plus set_handlers() for the game events, dispatched by
 *    pump(), which the game calls once per frame on its own thread.
 *
 * Threads: every member may be called from any thread, concurrently, except that the Client
 * must not be destroyed or moved while another thread uses it. Callbacks run only inside
 * pump(), on the thread that calls it; they may issue requests, but must not destroy the Client.
 */
class Client {
 public:
  /** An empty client (valid() is false; every request fails with Status::InvalidHandle). */
  Client() noexcept = default;

  /** Creates a client from `config` (no request is made). */
  static Result<Client> create(const ClientConfig& config) {
    if (auto nul = detail::reject_nul(
            {config.base_url, config.api_key, config.llm_api_key, config.llm_model,
             config.llm_eval_model, config.llm_response_model, config.llm_summarization_model,
             config.llm_eval_api_key, config.llm_response_api_key,
             config.llm_summarization_api_key})) {
      return *nul;
    }
    FoilClientConfig raw;
    foil_client_config_init(&raw);
    raw.base_url = detail::optional_c(config.base_url);
    raw.api_key = config.api_key.c_str();
    raw.llm_api_key = detail::optional_c(config.llm_api_key);
    raw.llm_model = detail::optional_c(config.llm_model);
    raw.llm_eval_model = detail::optional_c(config.llm_eval_model);
    raw.llm_response_model = detail::optional_c(config.llm_response_model);
    raw.llm_summarization_model = detail::optional_c(config.llm_summarization_model);
    raw.llm_eval_api_key = detail::optional_c(config.llm_eval_api_key);
    raw.llm_response_api_key = detail::optional_c(config.llm_response_api_key);
    raw.llm_summarization_api_key = detail::optional_c(config.llm_summarization_api_key);
    if (config.timeout.count() > 0) raw.timeout_ms = detail::clamp_ms(config.timeout);
    if (config.stream_timeout.count() > 0) {
      raw.stream_timeout_ms = detail::clamp_ms(config.stream_timeout);
    }
    if (config.max_retries >= 0) raw.max_retries = config.max_retries;
    if (config.persona_cache_ttl.count() > 0) {
      raw.persona_cache_ttl_ms = detail::clamp_ms(config.persona_cache_ttl);
    }
    FoilClient* handle = nullptr;
    if (foil_client_new(&raw, &handle) != FOIL_STATUS_OK || handle == nullptr) {
      return detail::last_error();
    }
    return Client(handle);
  }

  /** Frees the client (see the class comment). */
  ~Client() { reset(); }
  /** Takes the other client; it becomes empty. */
  Client(Client&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)), dispatch_(std::move(other.dispatch_)) {}
  /** Frees this client, then takes the other; it becomes empty. */
  Client& operator=(Client&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, nullptr);
      dispatch_ = std::move(other.dispatch_);
    }
    return *this;
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /** True if this holds a client (not default-constructed, moved from or reset). */
  bool valid() const noexcept { return handle_ != nullptr; }
  /** True if this holds a client. */
  explicit operator bool() const noexcept { return valid(); }
  /** The C handle, for calls this wrapper does not cover (still owned by this object). */
  FoilClient* native_handle() const noexcept { return handle_; }

  /**
   * Frees the client now (foil_client_free): cancels requests in flight, drops queued events
   * and pending callbacks without calling them. Afterwards valid() is false.
   */
  void reset() noexcept {
    if (handle_ != nullptr) {
      foil_client_free(handle_);
      handle_ = nullptr;
    }
    dispatch_.reset();
  }

  /**
   * Replaces the credential sent as `X-API-Key` (foil_client_set_api_key): typically a fresh
   * player token after EventKind::CredentialExpiring, or an API key. Requests started
   * afterwards use it; the new token's expiry is watched instead of the old one's. Fails
   * (changing nothing) with Status::EmptyArgument, Status::InvalidArgument (a character not
   * allowed in a header, or a NUL), ... or Status::InvalidHandle.
   */
  Result<void> set_api_key(std::string_view api_key) {
    if (!handle_) return dead();
    if (auto nul = detail::reject_nul({api_key})) return *nul;
    const std::string key(api_key);
    if (foil_client_set_api_key(handle_, key.c_str()) != FOIL_STATUS_OK) {
      return detail::last_error();
    }
    return {};
  }

  // --- requests (results as events) -----------------------------------------------------------

  /** Requests the personas the API key reaches. Finishing payload: `[Persona]`. */
  Result<RequestId> list_personas() {
    if (!handle_) return dead();
    return issued(foil_list_personas(handle_));
  }

  /** Requests the machines this player can play now. Finishing payload: `[MachineInfo]`. */
  Result<RequestId> list_machines(std::string_view persona_id, std::string_view user_session_id) {
    if (!handle_) return dead();
    if (auto nul = detail::reject_nul({persona_id, user_session_id})) return *nul;
    const std::string p(persona_id), u(user_session_id);
    return issued(foil_list_machines(handle_, p.c_str(), u.c_str()));
  }

  /**
   * Starts (or starts over) a session and gets the NPC's greeting. `player_gender` is
   * `female`, `male` or `non-binary`; an empty `machine_id` plays the persona's primary
   * machine. Finishing payload: SessionInit.
   */
  Result<RequestId> init_session(std::string_view persona_id, std::string_view user_session_id,
                                 std::string_view player_name, std::string_view player_gender,
                                 std::string_view machine_id = {}) {
    if (!handle_) return dead();
    if (auto nul = detail::reject_nul(
            {persona_id, user_session_id, player_name, player_gender, machine_id})) {
      return *nul;
    }
    const std::string p(persona_id), u(user_session_id), n(player_name), g(player_gender),
        m(machine_id);
    return issued(foil_init_session(handle_, p.c_str(), u.c_str(), n.c_str(), g.c_str(),
                                    detail::optional_c(m)));
  }

  /**
   * Sends the player's message (≤ 2,000 characters) and gets the whole reply; an empty
   * `machine_id` means the player's most recently active session of the persona. Finishing
   * payload: ChatResponse, followed by the game events it implies.
   */
  Result<RequestId> send_message(std::string_view persona_id, std::string_view user_session_id,
                                 std::string_view message, std::string_view machine_id = {}) {
    if (!handle_) return dead();
    if (auto nul = detail::reject_nul({persona_id, user_session_id, message, machine_id})) {
      return *nul;
    }
    const std::string p(persona_id), u(user_session_id), t(message), m(machine_id);
    return issued(
        foil_send_message(handle_, p.c_str(), u.c_str(), t.c_str(), detail::optional_c(m)));
  }

  /**
   * Sends the player's message and streams the reply: StreamMetadata, TextDelta pieces as they
   * arrive, then StreamDone (the full ChatResponse; then the game events) — or Error at any
   * point. Never retried. Arguments as send_message().
   */
  Result<RequestId> send_message_stream(std::string_view persona_id,
                                        std::string_view user_session_id,
                                        std::string_view message,
                                        std::string_view machine_id = {}) {
    if (!handle_) return dead();
    if (auto nul = detail::reject_nul({persona_id, user_session_id, message, machine_id})) {
      return *nul;
    }
    const std::string p(persona_id), u(user_session_id), t(message), m(machine_id);
    return issued(foil_send_message_stream(handle_, p.c_str(), u.c_str(), t.c_str(),
                                           detail::optional_c(m)));
  }

  /**
   * Requests the session's status (Error 404 `session_not_found` if none). Also teaches the
   * client the current state, so the next turn reports a StateChange. Payload: SessionStatus.
   */
  Result<RequestId> get_session(std::string_view persona_id, std::string_view user_session_id,
                                std::string_view machine_id = {}) {
    return session_request(foil_get_session, persona_id, user_session_id, machine_id);
  }

  /** Requests the session with all its messages, the greeting first. Payload: ChatHistory. */
  Result<RequestId> get_history(std::string_view persona_id, std::string_view user_session_id,
                                std::string_view machine_id = {}) {
    return session_request(foil_get_history, persona_id, user_session_id, machine_id);
  }

  /** Starts the session over (initial state, empty history). Payload: ResetResult. */
  Result<RequestId> reset_session(std::string_view persona_id, std::string_view user_session_id,
                                  std::string_view machine_id = {}) {
    return session_request(foil_reset_session, persona_id, user_session_id, machine_id);
  }

  /**
   * Checks the configured LLM key against `model` (empty: the configured/server default).
   * Payload: LlmKeyValidation.
   */
  Result<RequestId> validate_llm_key(std::string_view model = {}) {
    if (!handle_) return dead();
    if (auto nul = detail::reject_nul({model})) return *nul;
    const std::string m(model);
    return issued(foil_validate_llm_key(handle_, detail::optional_c(m)));
  }

  /**
   * Cancels a request in flight: its work stops (a stream's turn is rolled back by the server)
   * and an Error event with code `cancelled` finishes it (callbacks: on_error / a failed
   * Result with is_cancelled()). Fails with Status::UnknownRequest when it is not in flight.
   */
  Result<void> cancel(RequestId request_id) {
    if (!handle_) return dead();
    if (foil_cancel(handle_, request_id) != FOIL_STATUS_OK) return detail::last_error();
    return {};
  }

  // --- events: raw ----------------------------------------------------------------------------

  /**
   * Takes the oldest queued event, or nullopt when the queue is empty. Never blocks. Do not
   * use together with pump() (it would take events meant for callbacks).
   */
  std::optional<Event> poll_event() {
    if (!handle_) return std::nullopt;
    FoilEvent raw{};
    if (!foil_poll_event(handle_, &raw)) return std::nullopt;
    return Event(raw);
  }

  /**
   * Blocks until request `request_id` finishes (or `timeout` passes) and takes its finishing
   * event (Response, StreamDone or Error); its other events stay queued. Fails with
   * Status::Timeout or Status::UnknownRequest. For tools, tests and loading screens — not for
   * a frame loop.
   */
  Result<Event> wait(RequestId request_id, std::chrono::milliseconds timeout) {
    if (!handle_) return dead();
    FoilEvent raw{};
    if (foil_wait(handle_, request_id, detail::clamp_ms(timeout), &raw) != FOIL_STATUS_OK) {
      return detail::last_error();
    }
    return Event(raw);
  }

  /**
   * wait(), then the finishing event as T: `wait_for<ChatResponse>(id, 10s)`. An Error event,
   * a timeout or a payload that does not parse give a failed Result.
   */
  template <class T>
  Result<T> wait_for(RequestId request_id, std::chrono::milliseconds timeout) {
    Result<Event> event = wait(request_id, timeout);
    if (!event) return event.error();
    return event->as<T>();
  }

  /** wait_for() on a request just issued: passes a refused request's error through. */
  template <class T>
  Result<T> wait_for(const Result<RequestId>& request_id, std::chrono::milliseconds timeout) {
    if (!request_id) return request_id.error();
    return wait_for<T>(*request_id, timeout);
  }

  // --- events: callbacks ----------------------------------------------------------------------

  /** Sets the client-wide handlers (game events, credential expiry), replacing earlier ones. */
  void set_handlers(GameEventHandlers handlers) {
    if (!dispatch_) return;
    auto shared = std::make_shared<const GameEventHandlers>(std::move(handlers));
    std::lock_guard<std::mutex> lock(dispatch_->mutex);
    dispatch_->handlers = std::move(shared);
  }

  /**
   * Drains the event queue, calling the callbacks of each event on this thread: the request's
   * own callback (finishing events, stream pieces) and the GameEventHandlers (game events, and
   * events of requests issued without callbacks). Call it once per frame. Returns the number
   * of events handled (at most `max_events`, 0 = no limit).
   */
  std::size_t pump(std::size_t max_events = 0) {
    std::size_t handled = 0;
    while (max_events == 0 || handled < max_events) {
      std::optional<Event> event = poll_event();
      if (!event) break;
      ++handled;
      dispatch(*event);
    }
    return handled;
  }

  /** Hands `event` (taken with poll_event() or wait()) to the callbacks, like pump() does. */
  void dispatch(Event& event) {
    if (!dispatch_) return;
    std::shared_ptr<detail::EventHandler> own;
    std::shared_ptr<const GameEventHandlers> handlers;
    {
      std::lock_guard<std::mutex> lock(dispatch_->mutex);
      handlers = dispatch_->handlers;
      if (!event.is_game_event()) {
        auto found = dispatch_->pending.find(event.request_id());
        if (found != dispatch_->pending.end()) {
          own = found->second;
          if (event.is_finishing()) dispatch_->pending.erase(found);
        }
      }
    }
    if (own) {
      (*own)(event);
      return;
    }
    if (!handlers) return;
    switch (event.kind()) {
      case EventKind::StateChange:
        detail::call_game_handler(handlers->on_state_change, event);
        break;
      case EventKind::ScoreChange:
        detail::call_game_handler(handlers->on_score_change, event);
        break;
      case EventKind::MachineCompleted:
        detail::call_game_handler(handlers->on_machine_completed, event);
        break;
      case EventKind::MachinesUnlocked:
        detail::call_game_handler(handlers->on_machines_unlocked, event);
        break;
      case EventKind::SessionEnded:
        detail::call_game_handler(handlers->on_session_ended, event);
        break;
      case EventKind::CredentialExpiring:
        detail::call_game_handler(handlers->on_credential_expiring, event);
        break;
      default:
        if (handlers->on_unclaimed_event) handlers->on_unclaimed_event(event);
        break;
    }
  }

  /** How many requests with callbacks have not finished yet. */
  std::size_t pending_callbacks() const {
    if (!dispatch_) return 0;
    std::lock_guard<std::mutex> lock(dispatch_->mutex);
    return dispatch_->pending.size();
  }

  /** list_personas() with a callback. */
  Result<RequestId> list_personas(ResultCallback<std::vector<Persona>> done) {
    return track(list_personas(), std::move(done));
  }

  /** list_machines() with a callback. */
  Result<RequestId> list_machines(std::string_view persona_id, std::string_view user_session_id,
                                  ResultCallback<std::vector<MachineInfo>> done) {
    return track(list_machines(persona_id, user_session_id), std::move(done));
  }

  /** init_session() with a callback (pass `{}` as `machine_id` for the primary machine). */
  Result<RequestId> init_session(std::string_view persona_id, std::string_view user_session_id,
                                 std::string_view player_name, std::string_view player_gender,
                                 std::string_view machine_id, ResultCallback<SessionInit> done) {
    return track(
        init_session(persona_id, user_session_id, player_name, player_gender, machine_id),
        std::move(done));
  }

  /** send_message() with a callback (game events go to the GameEventHandlers). */
  Result<RequestId> send_message(std::string_view persona_id, std::string_view user_session_id,
                                 std::string_view message, std::string_view machine_id,
                                 ResultCallback<ChatResponse> done) {
    return track(send_message(persona_id, user_session_id, message, machine_id), std::move(done));
  }

  /**
   * send_message_stream() with callbacks: on_metadata, on_text_delta per piece, then on_done
   * or on_error (exactly one of them). Game events go to the GameEventHandlers.
   */
  Result<RequestId> send_message_stream(std::string_view persona_id,
                                        std::string_view user_session_id,
                                        std::string_view message, std::string_view machine_id,
                                        StreamHandlers handlers) {
    Result<RequestId> id = send_message_stream(persona_id, user_session_id, message, machine_id);
    if (!id) return id;
    auto shared = std::make_shared<StreamHandlers>(std::move(handlers));
    register_handler(*id, [shared](Event& event) {
      const StreamHandlers& h = *shared;
      switch (event.kind()) {
        case EventKind::StreamMetadata:
          if (h.on_metadata) {
            Result<ChatResponse> metadata = event.as<ChatResponse>();
            if (metadata) h.on_metadata(*metadata);
          }
          break;
        case EventKind::TextDelta:
          if (h.on_text_delta) h.on_text_delta(event.payload());
          break;
        case EventKind::StreamDone:
        case EventKind::Error: {
          Result<ChatResponse> reply = event.as<ChatResponse>();
          if (reply) {
            if (h.on_done) h.on_done(*reply);
          } else if (h.on_error) {
            h.on_error(reply.error());
          }
          break;
        }
        default:
          break;
      }
    });
    return id;
  }

  /** get_session() with a callback. */
  Result<RequestId> get_session(std::string_view persona_id, std::string_view user_session_id,
                                std::string_view machine_id, ResultCallback<SessionStatus> done) {
    return track(get_session(persona_id, user_session_id, machine_id), std::move(done));
  }

  /** get_history() with a callback. */
  Result<RequestId> get_history(std::string_view persona_id, std::string_view user_session_id,
                                std::string_view machine_id, ResultCallback<ChatHistory> done) {
    return track(get_history(persona_id, user_session_id, machine_id), std::move(done));
  }

  /** reset_session() with a callback. */
  Result<RequestId> reset_session(std::string_view persona_id, std::string_view user_session_id,
                                  std::string_view machine_id, ResultCallback<ResetResult> done) {
    return track(reset_session(persona_id, user_session_id, machine_id), std::move(done));
  }

  /** validate_llm_key() with a callback. */
  Result<RequestId> validate_llm_key(std::string_view model,
                                     ResultCallback<LlmKeyValidation> done) {
    return track(validate_llm_key(model), std::move(done));
  }

 private:
  explicit Client(FoilClient* handle)
      : handle_(handle), dispatch_(std::make_unique<detail::Dispatch>()) {}

  static Error dead() {
    return make_error(Status::InvalidHandle, "the foil::Client is empty (moved from or reset)");
  }

  static Result<RequestId> issued(RequestId id) {
    if (id == 0) return detail::last_error();
    return id;
  }

  using SessionCall = RequestId (*)(FoilClient*, const char*, const char*, const char*);

  Result<RequestId> session_request(SessionCall call, std::string_view persona_id,
                                    std::string_view user_session_id,
                                    std::string_view machine_id) {
    if (!handle_) return dead();
    if (auto nul = detail::reject_nul({persona_id, user_session_id, machine_id})) return *nul;
    const std::string p(persona_id), u(user_session_id), m(machine_id);
    return issued(call(handle_, p.c_str(), u.c_str(), detail::optional_c(m)));
  }

  void register_handler(RequestId id, detail::EventHandler handler) {
    if (!dispatch_) return;
    auto shared = std::make_shared<detail::EventHandler>(std::move(handler));
    std::lock_guard<std::mutex> lock(dispatch_->mutex);
    dispatch_->pending[id] = std::move(shared);
  }

  template <class T>
  Result<RequestId> track(Result<RequestId> id, ResultCallback<T> done) {
    if (!id) return id;
    register_handler(*id, [done = std::move(done)](Event& event) {
      if (event.is_finishing() && done) done(event.as<T>());
    });
    return id;
  }

  FoilClient* handle_ = nullptr;
  std::unique_ptr<detail::Dispatch> dispatch_;
};

}  // namespace foil

#endif  // FOIL_HPP
