/*
 * abi_test: the C ABI of libfoil exercised from C against a real foil-server.
 *
 *   abi_test BASE_URL API_KEY PERSONA_ID SLOW_MODEL TRAP_URL FREE_BOUND_MS OUTCOME MESSAGE...
 *
 * BASE_URL/API_KEY: a foil-server and a valid key. PERSONA_ID: a persona with one scenario
 * that the MESSAGEs (at least two) play to OUTCOME with the offline provider. SLOW_MODEL: a
 * model (with any key) whose replies stream slowly, for cancelling mid-stream. TRAP_URL: a
 * server that counts requests; this program sends it exactly one (valid) request, after many
 * refused ones, so the caller can check that nothing refused reached the network.
 * FREE_BOUND_MS: how long foil_client_free() may take with requests in flight.
 *
 * Player tokens of the server's account (for test_credentials), in the environment:
 * FOIL_TEST_TOKEN_PLAYER (the player they act for), FOIL_TEST_SHORT_TOKEN (a token that
 * expires a few seconds after the program starts, at FOIL_TEST_SHORT_EXPIRES, unix seconds)
 * and FOIL_TEST_FRESH_TOKEN (one that lasts an hour, as the game's backend would mint).
 *
 * Prints every failed check and exits 1 if there was one (2 on bad usage). Frees every
 * handle and event, so a leak checker sees nothing of ours. Built by
 * foil-ffi-tests/tests/c_abi.rs with -std=c11 -Wall -Wextra -Werror -pedantic.
 */

#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "foil.h"

static const char *SOME_UUID = "6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11";
static const char *BAD_KEY = "pk_live_00000000000000000000000000000000";

/* ------------------------------------------------------------------------------------------
 * Checks
 * ---------------------------------------------------------------------------------------- */

static int checks_run;
static int checks_failed;

static bool check_(bool ok, const char *expr, const char *detail, int line)
{
    checks_run++;
    if (!ok) {
        checks_failed++;
        fprintf(stderr, "FAIL (abi_test.c:%d): %s%s%s\n", line, expr,
                detail != NULL ? "\n      detail: " : "", detail != NULL ? detail : "");
    }
    return ok;
}

/* CHECK(condition, detail): detail is a string shown on failure (or NULL). */
#define CHECK(cond, detail) check_((cond), #cond, (detail), __LINE__)

/* Stops the program: for failures after which nothing meaningful can be checked. */
static void fatal(const char *what)
{
    fprintf(stderr, "FATAL: %s\n", what);
    exit(1);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char *copy_of(const char *s, size_t n)
{
    char *copy = malloc(n + 1);
    if (copy == NULL) {
        fatal("out of memory");
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

/* The last error message of `client` (NULL: the thread's), read with the length protocol. */
static char *last_error(const FoilClient *client)
{
    size_t len = foil_last_error(client, NULL, 0);
    char *buf = malloc(len + 1);
    if (buf == NULL) {
        fatal("out of memory");
    }
    size_t again = foil_last_error(client, buf, len + 1);
    CHECK(again == len, "foil_last_error returns the full length every time");
    CHECK(strlen(buf) == len, buf);
    return buf;
}

/* ------------------------------------------------------------------------------------------
 * A minimal JSON reader for the library's compact payloads (not a validator).
 * ---------------------------------------------------------------------------------------- */

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    return p;
}

static const char *json_skip_string(const char *p)
{
    if (*p != '"') {
        return NULL;
    }
    for (p++; *p != '\0'; p++) {
        if (*p == '\\') {
            if (p[1] == '\0') {
                return NULL;
            }
            p++;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

static const char *json_skip_value(const char *p)
{
    p = json_ws(p);
    if (*p == '"') {
        return json_skip_string(p);
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (*p != '\0') {
            if (*p == '"') {
                p = json_skip_string(p);
                if (p == NULL) {
                    return NULL;
                }
                continue;
            }
            if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0) {
                    return p + 1;
                }
            }
            p++;
        }
        return NULL;
    }
    while (*p != '\0' && *p != ',' && *p != '}' && *p != ']') {
        p++;
    }
    return p;
}

/* The value of top-level member `key` of the object `obj`, or NULL. */
static const char *json_get(const char *obj, const char *key)
{
    size_t key_len = strlen(key);
    const char *p = json_ws(obj);
    if (*p != '{') {
        return NULL;
    }
    p = json_ws(p + 1);
    while (*p == '"') {
        const char *name = p + 1;
        const char *after = json_skip_string(p);
        if (after == NULL) {
            return NULL;
        }
        bool match = (size_t)(after - 1 - name) == key_len && memcmp(name, key, key_len) == 0;
        p = json_ws(after);
        if (*p != ':') {
            return NULL;
        }
        p = json_ws(p + 1);
        if (match) {
            return p;
        }
        p = json_skip_value(p);
        if (p == NULL) {
            return NULL;
        }
        p = json_ws(p);
        if (*p != ',') {
            return NULL;
        }
        p = json_ws(p + 1);
    }
    return NULL;
}

static unsigned long hex4(const char *p)
{
    unsigned long v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned long)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned long)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned long)(c - 'A' + 10);
        } else {
            return 0xFFFFFFFFul;
        }
    }
    return v;
}

static void put_utf8(char **out, unsigned long cp)
{
    char *o = *out;
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    *out = o;
}

/* Member `key` of `obj`: a JSON string unescaped, anything else as written (`null`, `12`,
 * `true`, an object). NULL when missing. free() the result. */
static char *json_field(const char *obj, const char *key)
{
    const char *v = json_get(obj, key);
    if (v == NULL) {
        return NULL;
    }
    const char *end = json_skip_value(v);
    if (end == NULL) {
        return NULL;
    }
    if (*v != '"') {
        return copy_of(v, (size_t)(end - v));
    }
    char *result = copy_of("", (size_t)(end - v)); /* unescaping never grows a string */
    char *o = result;
    for (const char *p = v + 1; p < end - 1; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned long cp = hex4(p + 1);
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p[1] == '\\' && p[2] == 'u') {
                unsigned long low = hex4(p + 3);
                if (low >= 0xDC00 && low < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
            }
            put_utf8(&o, cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000) ? 0xFFFD : cp);
            break;
        }
        default: *o++ = *p; break;
        }
    }
    *o = '\0';
    return result;
}

/* Whether member `key` of `obj` is the string `expected`. */
static bool json_is(const char *obj, const char *key, const char *expected)
{
    char *value = json_field(obj, key);
    bool same = value != NULL && strcmp(value, expected) == 0;
    free(value);
    return same;
}

/* Member `key` as an integer; `fallback` when missing or not a number. */
static long json_long(const char *obj, const char *key, long fallback)
{
    char *value = json_field(obj, key);
    long result = fallback;
    if (value != NULL) {
        char *end = NULL;
        long parsed = strtol(value, &end, 10);
        if (end != value && *end == '\0') {
            result = parsed;
        }
    }
    free(value);
    return result;
}

/* ------------------------------------------------------------------------------------------
 * Events: copied out of the library (and freed through it) as soon as they are taken.
 * ---------------------------------------------------------------------------------------- */

struct owned {
    uint64_t id;
    FoilEventKind kind;
    uint16_t status;
    char *payload;
};

struct events {
    struct owned *items;
    size_t len, cap;
};

static bool is_finishing(FoilEventKind kind)
{
    return kind == FOIL_EVENT_RESPONSE || kind == FOIL_EVENT_STREAM_DONE ||
           kind == FOIL_EVENT_ERROR;
}

static bool is_game_event(FoilEventKind kind)
{
    return kind >= FOIL_EVENT_STATE_CHANGE && kind <= FOIL_EVENT_SESSION_ENDED;
}

/* Copies `event` (checking the payload's invariants) and frees it. */
static struct owned take(FoilEvent *event)
{
    CHECK(event->payload != NULL, "an event taken from the library has a payload");
    struct owned o = {event->request_id, event->kind, event->http_status, NULL};
    if (event->payload != NULL) {
        CHECK(event->payload[event->payload_len] == '\0', "payload NUL-terminated at payload_len");
        CHECK(strlen(event->payload) == event->payload_len, "no NUL inside the payload");
        o.payload = copy_of(event->payload, event->payload_len);
    } else {
        o.payload = copy_of("", 0);
    }
    foil_event_free(event);
    CHECK(event->payload == NULL && event->kind == FOIL_EVENT_NONE,
          "foil_event_free resets the event");
    return o;
}

static void push(struct events *list, struct owned o)
{
    if (list->len == list->cap) {
        size_t cap = list->cap == 0 ? 16 : list->cap * 2;
        struct owned *items = realloc(list->items, cap * sizeof *items);
        if (items == NULL) {
            fatal("out of memory");
        }
        list->items = items;
        list->cap = cap;
    }
    list->items[list->len++] = o;
}

static void events_free(struct events *list)
{
    for (size_t i = 0; i < list->len; i++) {
        free(list->items[i].payload);
    }
    free(list->items);
    list->items = NULL;
    list->len = list->cap = 0;
}

/* Takes everything queued now; returns how many events were taken. */
static size_t drain(FoilClient *client, struct events *into)
{
    size_t n = 0;
    FoilEvent event = {0};
    while (foil_poll_event(client, &event)) {
        push(into, take(&event));
        n++;
    }
    return n;
}

static bool has_finishing(const struct events *list, uint64_t id)
{
    for (size_t i = 0; i < list->len; i++) {
        if (list->items[i].id == id && is_finishing(list->items[i].kind)) {
            return true;
        }
    }
    return false;
}

/* Polls (as a game's frame loop would) until request `id` has finished, then takes what was
 * queued with it; every event seen goes to `into`, in order. False on timeout. */
static bool poll_until_finished(FoilClient *client, uint64_t id, struct events *into)
{
    int64_t deadline = now_ms() + 120000;
    while (!has_finishing(into, id)) {
        if (drain(client, into) == 0) {
            if (now_ms() > deadline) {
                return false;
            }
            sleep_ms(2);
        }
    }
    drain(client, into); /* the game events are queued together with the finishing event */
    return true;
}

/* Waits for request `id`'s finishing event with foil_wait (the other events stay queued). */
static struct owned wait_for(FoilClient *client, uint64_t id)
{
    struct owned none = {id, FOIL_EVENT_NONE, 0, copy_of("", 0)};
    if (!CHECK(id > 0, "the request was accepted")) {
        char *message = last_error(client);
        fprintf(stderr, "      refused: %s\n", message);
        free(message);
        return none;
    }
    FoilEvent event = {0};
    FoilStatus status = foil_wait(client, id, 120000, &event);
    if (!CHECK(status == FOIL_STATUS_OK, "foil_wait returns the finishing event")) {
        return none;
    }
    free(none.payload);
    struct owned o = take(&event);
    CHECK(is_finishing(o.kind), o.payload);
    return o;
}

static FoilClient *new_client(const char *base_url, const char *api_key, const char *model,
                              const char *llm_key)
{
    FoilClientConfig config;
    foil_client_config_init(&config);
    config.base_url = base_url;
    config.api_key = api_key;
    config.llm_model = model;
    config.llm_api_key = llm_key;
    config.max_retries = 0;
    FoilClient *client = NULL;
    if (foil_client_new(&config, &client) != FOIL_STATUS_OK || client == NULL) {
        char *message = last_error(NULL);
        fprintf(stderr, "foil_client_new: %s\n", message);
        free(message);
        fatal("could not create a client");
    }
    return client;
}

/* ------------------------------------------------------------------------------------------
 * The tests
 * ---------------------------------------------------------------------------------------- */

static void test_version(void)
{
    CHECK(strcmp(foil_version(), FOIL_VERSION) == 0, foil_version());
}

/* A request call that must be refused: 0, the status recorded for `client` (or, with NULL,
 * the thread) and for the thread, a message, and quickly (no network wait). */
static void refused_(const FoilClient *client, uint64_t id, int64_t started, FoilStatus want,
                     const char *call, int line)
{
    FoilStatus on_client = foil_last_status(client);
    FoilStatus on_thread = foil_last_status(NULL);
    int64_t took = now_ms() - started;
    char *message = last_error(client);
    bool ok = id == 0 && on_client == want && on_thread == want && message[0] != '\0' &&
              took < 2000;
    if (!ok) {
        char detail[512];
        snprintf(detail, sizeof detail,
                 "id %llu, status %d/%d (want %d), %lld ms, message \"%.300s\"",
                 (unsigned long long)id, (int)on_client, (int)on_thread, (int)want,
                 (long long)took, message);
        check_(false, call, detail, line);
    } else {
        check_(true, call, NULL, line);
    }
    free(message);
}

#define REFUSED(client, call, want) \
    do { \
        int64_t started_ = now_ms(); \
        uint64_t id_ = (call); \
        refused_((client), id_, started_, (want), #call, __LINE__); \
    } while (0)

/* Every refused call returns at once with a status; nothing is queued, nothing is sent (the
 * trap server counts requests: it must see only the one valid request at the end). */
static void test_bad_arguments(const char *trap_url, const char *api_key)
{
    /* Client creation. */
    FoilClientConfig config;
    foil_client_config_init(&config);
    CHECK(config.api_key == NULL && config.timeout_ms == 30000 && config.max_retries == 3,
          "foil_client_config_init fills the defaults");
    FoilClient *sentinel = (FoilClient *)&config; /* never a handle: must stay untouched */
    FoilClient *out = sentinel;
    CHECK(foil_client_new(NULL, &out) == FOIL_STATUS_NULL_ARGUMENT, "config NULL");
    CHECK(foil_client_new(&config, &out) == FOIL_STATUS_NULL_ARGUMENT, "api_key NULL");
    CHECK(foil_last_status(NULL) == FOIL_STATUS_NULL_ARGUMENT, "thread record: NULL_ARGUMENT");
    char *message = last_error(NULL);
    CHECK(strstr(message, "api_key") != NULL, message);
    free(message);
    config.base_url = trap_url;
    config.api_key = "pk_live_\xff\xfe";
    CHECK(foil_client_new(&config, &out) == FOIL_STATUS_INVALID_UTF8, "api_key not UTF-8");
    config.api_key = "   ";
    CHECK(foil_client_new(&config, &out) == FOIL_STATUS_EMPTY_ARGUMENT, "api_key blank");
    config.api_key = api_key;
    config.base_url = "ftp://127.0.0.1/";
    CHECK(foil_client_new(&config, &out) == FOIL_STATUS_INVALID_ARGUMENT, "base_url not http");
    config.base_url = trap_url;
    config.llm_model = "model\r\nX-Injected: 1";
    CHECK(foil_client_new(&config, &out) == FOIL_STATUS_INVALID_ARGUMENT, "header injection");
    CHECK(out == sentinel, "out_client written only on success");
    CHECK(foil_client_new(&config, NULL) != FOIL_STATUS_OK, "out_client NULL");

    FoilClient *client = new_client(trap_url, api_key, NULL, NULL);
    const char *p = SOME_UUID;
    char too_long[2002];
    memset(too_long, 'a', 2001);
    too_long[2001] = '\0';

    /* Each call: refused (0) at once, with the status on the client's and the thread's
     * record (the thread's only when there is no client). */
    REFUSED(NULL, foil_list_personas(NULL), FOIL_STATUS_NULL_ARGUMENT);
    REFUSED(client, foil_init_session(client, NULL, "pl", "Ada", "female", NULL),
            FOIL_STATUS_NULL_ARGUMENT);
    REFUSED(client, foil_init_session(client, "not-a-uuid", "pl", "Ada", "female", NULL),
            FOIL_STATUS_INVALID_ARGUMENT);
    REFUSED(client, foil_init_session(client, p, "pl", NULL, "female", NULL),
            FOIL_STATUS_NULL_ARGUMENT);
    REFUSED(client, foil_init_session(client, p, "pl", "Ada", "female", "nope"),
            FOIL_STATUS_INVALID_ARGUMENT);
    REFUSED(client, foil_init_session(client, p, "", "Ada", "female", NULL),
            FOIL_STATUS_EMPTY_ARGUMENT);
    REFUSED(client, foil_send_message(client, p, "pl", "\xc3\x28", NULL),
            FOIL_STATUS_INVALID_UTF8);
    REFUSED(client, foil_send_message_stream(client, p, "pl", "caf\xe9", NULL),
            FOIL_STATUS_INVALID_UTF8);
    REFUSED(client, foil_send_message_stream(client, p, "pl", "\xed\xa0\x80", NULL),
            FOIL_STATUS_INVALID_UTF8); /* an encoded surrogate */
    REFUSED(client, foil_send_message_stream(client, p, "pl\xff", "hi", NULL),
            FOIL_STATUS_INVALID_UTF8);
    REFUSED(client, foil_send_message(client, p, "pl", NULL, NULL), FOIL_STATUS_NULL_ARGUMENT);
    REFUSED(client, foil_send_message_stream(client, p, "pl", " \t ", NULL),
            FOIL_STATUS_EMPTY_ARGUMENT);
    REFUSED(client, foil_send_message_stream(client, p, "pl", too_long, NULL),
            FOIL_STATUS_ARGUMENT_TOO_LONG);
    REFUSED(client, foil_send_message(client, p, "pl", too_long, NULL),
            FOIL_STATUS_ARGUMENT_TOO_LONG);
    REFUSED(client, foil_get_session(client, p, NULL, NULL), FOIL_STATUS_NULL_ARGUMENT);
    REFUSED(client, foil_get_history(client, "", "pl", NULL), FOIL_STATUS_EMPTY_ARGUMENT);
    REFUSED(client, foil_get_history(client, p, "  ", NULL), FOIL_STATUS_EMPTY_ARGUMENT);
    REFUSED(client, foil_reset_session(client, p, "pl", "\xff"), FOIL_STATUS_INVALID_UTF8);
    REFUSED(client, foil_list_machines(client, p, NULL), FOIL_STATUS_NULL_ARGUMENT);
    REFUSED(client, foil_validate_llm_key(client, "gpt\xff"), FOIL_STATUS_INVALID_UTF8);
    message = last_error(client);
    CHECK(strstr(message, "model") != NULL, message);
    free(message);

    /* A truncating buffer: NUL-terminated, the full length returned. */
    char small[8];
    size_t len = foil_last_error(client, small, sizeof small);
    CHECK(len > sizeof small && strlen(small) == sizeof small - 1, small);

    /* Misuse of the event functions. */
    FoilEvent event = {0};
    CHECK(!foil_poll_event(client, NULL) && foil_last_status(client) == FOIL_STATUS_NULL_ARGUMENT,
          "poll with out_event NULL");
    CHECK(foil_wait(client, 1, 0, NULL) == FOIL_STATUS_NULL_ARGUMENT, "wait with out_event NULL");
    CHECK(foil_wait(client, 424242, 0, &event) == FOIL_STATUS_UNKNOWN_REQUEST, "wait: unknown id");
    CHECK(foil_cancel(client, 424242) == FOIL_STATUS_UNKNOWN_REQUEST, "cancel: unknown id");
    CHECK(foil_cancel(NULL, 1) == FOIL_STATUS_NULL_ARGUMENT, "cancel: client NULL");
    CHECK(event.kind == FOIL_EVENT_NONE && event.payload == NULL, "out_event untouched");
    foil_event_free(NULL);   /* ignored */
    foil_event_free(&event); /* a zeroed event: ignored */

    /* Nothing refused was queued... */
    CHECK(!foil_poll_event(client, &event), "no event for a refused request");

    /* ...nor sent: the one valid request is the trap's first (checked by the caller). */
    struct owned ok = wait_for(client, foil_list_personas(client));
    CHECK(ok.kind == FOIL_EVENT_RESPONSE && ok.status == 200, ok.payload);
    CHECK(strcmp(ok.payload, "[]") == 0, ok.payload);
    free(ok.payload);
    foil_client_free(client);
}

/* How many FOIL_EVENT_CREDENTIAL_EXPIRING events `list` holds; each must be a client event
 * (request 0, no HTTP status) whose payload names `expires_at`. */
static int credential_events(const struct events *list, long expires_at)
{
    int n = 0;
    for (size_t i = 0; i < list->len; i++) {
        const struct owned *e = &list->items[i];
        if (e->kind != FOIL_EVENT_CREDENTIAL_EXPIRING) {
            continue;
        }
        n++;
        CHECK(e->id == 0 && e->status == 0, e->payload);
        CHECK(json_long(e->payload, "expires_at", -1) == expires_at, e->payload);
    }
    return n;
}

/* Player tokens: foil_client_set_api_key's argument checks; FOIL_EVENT_CREDENTIAL_EXPIRING
 * before a short-lived token expires (and never for an API key, nor for a token replaced in
 * time); after it, the server refuses the old token and takes the fresh one set in its place. */
static void test_credentials(const char *base_url, const char *api_key, const char *persona)
{
    const char *player = getenv("FOIL_TEST_TOKEN_PLAYER");
    const char *short_token = getenv("FOIL_TEST_SHORT_TOKEN");
    const char *short_expires = getenv("FOIL_TEST_SHORT_EXPIRES");
    const char *fresh_token = getenv("FOIL_TEST_FRESH_TOKEN");
    if (!CHECK(player != NULL && short_token != NULL && short_expires != NULL &&
                   fresh_token != NULL,
               "the FOIL_TEST_* token variables are set")) {
        return;
    }
    long expires_at = strtol(short_expires, NULL, 10);

    /* Refused arguments: the statuses of every other call; the credential stays. */
    FoilClient *client = new_client(base_url, short_token, NULL, NULL);
    CHECK(foil_client_set_api_key(NULL, fresh_token) == FOIL_STATUS_NULL_ARGUMENT,
          "set_api_key: client NULL");
    CHECK(foil_last_status(NULL) == FOIL_STATUS_NULL_ARGUMENT, "thread record: NULL_ARGUMENT");
    CHECK(foil_client_set_api_key(client, NULL) == FOIL_STATUS_NULL_ARGUMENT, "api_key NULL");
    CHECK(foil_client_set_api_key(client, "") == FOIL_STATUS_EMPTY_ARGUMENT, "api_key empty");
    CHECK(foil_client_set_api_key(client, " \t ") == FOIL_STATUS_EMPTY_ARGUMENT, "api_key blank");
    CHECK(foil_client_set_api_key(client, "pt_\xff\xfe") == FOIL_STATUS_INVALID_UTF8,
          "api_key not UTF-8");
    CHECK(foil_client_set_api_key(client, "pt_a\r\nX-Injected: 1") ==
              FOIL_STATUS_INVALID_ARGUMENT,
          "api_key with a line break");
    CHECK(foil_last_status(client) == FOIL_STATUS_INVALID_ARGUMENT, "client record");
    char *message = last_error(client);
    CHECK(strstr(message, "api_key") != NULL, message);
    free(message);

    /* Alongside: a client on an API key (never an event), and one whose short token is
     * replaced at once by the long one (no event, unless it was due already at creation). */
    FoilClient *keyed = new_client(base_url, api_key, NULL, NULL);
    FoilClient *replaced = new_client(base_url, short_token, NULL, NULL);
    struct events replaced_seen = {0};
    drain(replaced, &replaced_seen);
    int due_at_creation = credential_events(&replaced_seen, expires_at);
    CHECK(foil_client_set_api_key(replaced, fresh_token) == FOIL_STATUS_OK, "replaced at once");

    /* The event arrives (polled as in a frame loop), shortly before the token expires. */
    struct events seen = {0};
    int64_t deadline = now_ms() + 60000;
    while (credential_events(&seen, expires_at) == 0 && now_ms() < deadline) {
        drain(client, &seen);
        sleep_ms(5);
    }
    CHECK(credential_events(&seen, expires_at) == 1, "CREDENTIAL_EXPIRING arrived, once");
    long now = (long)time(NULL);
    char detail[96];
    snprintf(detail, sizeof detail, "at %ld for a token expiring at %ld", now, expires_at);
    CHECK(now >= expires_at - 2 && now <= expires_at, detail);
    events_free(&seen);

    /* Past its expiry the server refuses the old token... */
    while ((long)time(NULL) <= expires_at) {
        sleep_ms(20);
    }
    struct owned e = wait_for(client, foil_list_machines(client, persona, player));
    CHECK(e.kind == FOIL_EVENT_ERROR && e.status == 401, e.payload);
    CHECK(json_is(e.payload, "code", "player_token_expired"), e.payload);
    free(e.payload);

    /* ...and the fresh one works for the next requests, for its own player only. */
    CHECK(foil_client_set_api_key(client, fresh_token) == FOIL_STATUS_OK, "set the fresh token");
    e = wait_for(client, foil_init_session(client, persona, player, "Ada", "female", NULL));
    CHECK(e.kind == FOIL_EVENT_RESPONSE && e.status == 200, e.payload);
    CHECK(json_is(e.payload, "user_session_id", player), e.payload);
    free(e.payload);
    e = wait_for(client, foil_list_machines(client, persona, "c-abi-someone-else"));
    CHECK(e.kind == FOIL_EVENT_ERROR && e.status == 403, e.payload);
    CHECK(json_is(e.payload, "code", "player_token_scope"), e.payload);
    free(e.payload);
    drain(client, &seen);
    CHECK(credential_events(&seen, expires_at) == 0, "none for the hour-long token");
    events_free(&seen);

    /* A token whose refresh moment has passed: the event is queued before the call returns. */
    CHECK(foil_client_set_api_key(client, short_token) == FOIL_STATUS_OK, "the expired token");
    drain(client, &seen);
    CHECK(seen.len == 1 && credential_events(&seen, expires_at) == 1, "queued at once");
    events_free(&seen);

    /* Neither the API key's client nor the replaced one got an event meanwhile. */
    drain(keyed, &seen);
    CHECK(credential_events(&seen, expires_at) == 0, "never for an API key");
    events_free(&seen);
    drain(replaced, &replaced_seen);
    CHECK(credential_events(&replaced_seen, expires_at) == due_at_creation,
          "a replaced token's event never comes");
    events_free(&replaced_seen);

    /* A pending timer does not hold up freeing. */
    FoilClient *pending = new_client(base_url, fresh_token, NULL, NULL);
    int64_t started = now_ms();
    foil_client_free(pending);
    foil_client_free(replaced);
    foil_client_free(keyed);
    foil_client_free(client);
    snprintf(detail, sizeof detail, "freeing took %lld ms", (long long)(now_ms() - started));
    CHECK(now_ms() - started < 5000, detail);
}

/* A wrong API key: the request is sent and finishes with a 401 ERROR event. */
static void test_bad_key(const char *base_url, const char *persona)
{
    FoilClient *client = new_client(base_url, BAD_KEY, NULL, NULL);
    struct owned e = wait_for(client, foil_init_session(client, persona, "c-abi-badkey", "Ada",
                                                        "female", NULL));
    CHECK(e.kind == FOIL_EVENT_ERROR && e.status == 401, e.payload);
    CHECK(json_long(e.payload, "status", 0) == 401, e.payload);
    CHECK(json_is(e.payload, "code", "invalid_api_key"), e.payload);
    CHECK(json_is(e.payload, "message", "Invalid API key"), e.payload);
    CHECK(json_get(e.payload, "retry_after") != NULL, e.payload);
    free(e.payload);

    /* A stream refused before it began is an ordinary ERROR too (no STREAM_METADATA). */
    uint64_t id = foil_send_message_stream(client, persona, "c-abi-badkey", "Hello", NULL);
    struct events seen = {0};
    CHECK(poll_until_finished(client, id, &seen), "the refused stream finishes");
    CHECK(seen.len == 1, "exactly one event: the ERROR");
    if (seen.len >= 1) {
        CHECK(seen.items[0].kind == FOIL_EVENT_ERROR && seen.items[0].status == 401,
              seen.items[0].payload);
    }
    events_free(&seen);
    CHECK(foil_cancel(client, id) == FOIL_STATUS_UNKNOWN_REQUEST, "finished: nothing to cancel");
    foil_client_free(client);
}

/* Checks the game events that followed response `resp` of request `id` against the
 * previously known state/score; updates them. */
static void check_game_events(const struct events *seen, size_t from, uint64_t id,
                              const char *resp, char **state, long *score, bool *ended)
{
    char *new_state = json_field(resp, "current_state");
    long new_score = json_long(resp, "score", -99999);
    char *outcome = json_field(resp, "outcome");
    CHECK(new_state != NULL && new_score != -99999 && outcome != NULL, resp);
    bool state_event = false, score_event = false, ended_event = false;
    for (size_t i = from; i < seen->len; i++) {
        const struct owned *e = &seen->items[i];
        CHECK(e->id == id, "events of this request only");
        CHECK(is_game_event(e->kind) && e->status == 0, e->payload);
        if (e->kind == FOIL_EVENT_STATE_CHANGE) {
            state_event = true;
            CHECK(*state != NULL && json_is(e->payload, "from_state", *state), e->payload);
            CHECK(new_state != NULL && json_is(e->payload, "to_state", new_state), e->payload);
        } else if (e->kind == FOIL_EVENT_SCORE_CHANGE) {
            score_event = true;
            CHECK(json_long(e->payload, "old_score", -1) == *score, e->payload);
            CHECK(json_long(e->payload, "new_score", -1) == new_score, e->payload);
            CHECK(json_long(e->payload, "delta", -1) == new_score - *score, e->payload);
        } else if (e->kind == FOIL_EVENT_SESSION_ENDED) {
            ended_event = true;
            CHECK(outcome != NULL && json_is(e->payload, "outcome", outcome), e->payload);
            CHECK(json_long(e->payload, "final_score", -1) == new_score, e->payload);
        }
    }
    bool state_changed = *state != NULL && new_state != NULL && strcmp(*state, new_state) != 0;
    CHECK(state_event == state_changed, "STATE_CHANGE exactly when the state changed");
    CHECK(score_event == (new_score != *score), "SCORE_CHANGE exactly when the score changed");
    bool now_ended = outcome != NULL && strcmp(outcome, "null") != 0;
    CHECK(ended_event == now_ended, "SESSION_ENDED exactly when an outcome arrived");
    free(*state);
    *state = new_state;
    *score = new_score;
    *ended = now_ended;
    free(outcome);
}

/* A whole conversation: init, status, one message, then streamed messages to the outcome. */
static void test_conversation(const char *base_url, const char *api_key, const char *persona,
                              const char *outcome, char **messages, int n_messages)
{
    const char *player = "c-abi-conversation";
    FoilClient *client = new_client(base_url, api_key, NULL, NULL);

    struct owned init =
        wait_for(client, foil_init_session(client, persona, player, "Ada", "female", NULL));
    CHECK(init.kind == FOIL_EVENT_RESPONSE && init.status == 200, init.payload);
    char *greeting = json_field(init.payload, "message");
    CHECK(greeting != NULL && greeting[0] != '\0', init.payload);
    CHECK(json_is(init.payload, "user_session_id", player), init.payload);
    CHECK(json_is(init.payload, "player_name", "Ada"), init.payload);
    char *session_id = json_field(init.payload, "session_id");
    CHECK(session_id != NULL && strlen(session_id) == 36, init.payload);
    free(greeting);
    /* Keep this payload across frees of other events: it stays ours until we free it. */

    struct owned status = wait_for(client, foil_get_session(client, persona, player, NULL));
    CHECK(status.kind == FOIL_EVENT_RESPONSE && status.status == 200, status.payload);
    char *state = json_field(status.payload, "current_state");
    long score = json_long(status.payload, "score", -1);
    CHECK(state != NULL && score == 0, status.payload);
    CHECK(json_is(status.payload, "session_id", session_id != NULL ? session_id : ""),
          status.payload);
    free(status.payload);
    struct events seen = {0};
    CHECK(drain(client, &seen) == 0, "no game events before the first turn");
    events_free(&seen);

    /* The first message whole (foil_send_message). */
    bool ended = false;
    uint64_t id = foil_send_message(client, persona, player, messages[0], NULL);
    CHECK(poll_until_finished(client, id, &seen), "the message finishes");
    if (CHECK(seen.len >= 1, "a finishing event")) {
        const struct owned *r = &seen.items[0];
        CHECK(r->id == id && r->kind == FOIL_EVENT_RESPONSE && r->status == 200, r->payload);
        char *reply = json_field(r->payload, "message");
        CHECK(reply != NULL && reply[0] != '\0', r->payload);
        free(reply);
        CHECK(json_get(r->payload, "machine_completed") != NULL, r->payload);
        check_game_events(&seen, 1, id, r->payload, &state, &score, &ended);
    }
    events_free(&seen);

    /* The others streamed: METADATA, TEXT_DELTAs, STREAM_DONE, then the game events. */
    size_t most_deltas = 0;
    for (int m = 1; m < n_messages && !ended; m++) {
        id = foil_send_message_stream(client, persona, player, messages[m], NULL);
        if (!CHECK(id > 0, messages[m])) {
            break;
        }
        CHECK(poll_until_finished(client, id, &seen), "the stream finishes");
        size_t i = 0, deltas = 0, text_len = 0;
        char *text = copy_of("", 0);
        if (CHECK(seen.len >= 1 && seen.items[0].kind == FOIL_EVENT_STREAM_METADATA,
                  "STREAM_METADATA first")) {
            const struct owned *meta = &seen.items[0];
            CHECK(meta->id == id && meta->status == 200, meta->payload);
            CHECK(json_get(meta->payload, "message") == NULL, meta->payload);
            CHECK(json_get(meta->payload, "current_state") != NULL, meta->payload);
            i = 1;
        }
        for (; i < seen.len && seen.items[i].kind == FOIL_EVENT_TEXT_DELTA; i++) {
            const struct owned *d = &seen.items[i];
            CHECK(d->id == id && d->status == 200, d->payload);
            size_t n = strlen(d->payload);
            char *longer = realloc(text, text_len + n + 1);
            if (longer == NULL) {
                fatal("out of memory");
            }
            text = longer;
            memcpy(text + text_len, d->payload, n + 1);
            text_len += n;
            deltas++;
        }
        most_deltas = deltas > most_deltas ? deltas : most_deltas;
        CHECK(deltas >= 1, "at least one TEXT_DELTA");
        if (CHECK(i < seen.len && seen.items[i].kind == FOIL_EVENT_STREAM_DONE,
                  "STREAM_DONE after the deltas")) {
            const struct owned *done = &seen.items[i];
            CHECK(done->id == id && done->status == 200, done->payload);
            char *full = json_field(done->payload, "message");
            CHECK(full != NULL && strcmp(full, text) == 0, "the deltas concatenate to the message");
            if (full != NULL && strcmp(full, text) != 0) {
                fprintf(stderr, "      deltas:  [%s]\n      message: [%s]\n", text, full);
            }
            free(full);
            /* The metadata announced the same verdict. */
            char *meta_state = json_field(seen.items[0].payload, "current_state");
            char *done_state = json_field(done->payload, "current_state");
            CHECK(meta_state != NULL && done_state != NULL && strcmp(meta_state, done_state) == 0,
                  done->payload);
            free(meta_state);
            free(done_state);
            check_game_events(&seen, i + 1, id, done->payload, &state, &score, &ended);
        }
        free(text);
        events_free(&seen);
    }
    CHECK(most_deltas >= 2, "a reply arrives in several pieces");
    CHECK(ended, "the playthrough reached an outcome");

    /* The outcome is the expected one, and the session is over. */
    struct owned history = wait_for(client, foil_get_history(client, persona, player, NULL));
    CHECK(history.kind == FOIL_EVENT_RESPONSE, history.payload);
    CHECK(json_is(history.payload, "outcome", outcome), history.payload);
    free(history.payload);
    struct owned late = wait_for(client, foil_send_message(client, persona, player, "Hello?", NULL));
    CHECK(late.kind == FOIL_EVENT_ERROR && late.status == 409, late.payload);
    CHECK(json_is(late.payload, "code", "session_ended"), late.payload);
    free(late.payload);
    CHECK(drain(client, &seen) == 0, "nothing else queued");
    events_free(&seen);

    /* Freeing the client does not invalidate a payload already handed out: keep one event
     * unfreed across foil_client_free and read it afterwards. */
    uint64_t status_id = foil_get_session(client, persona, player, NULL);
    FoilEvent kept = {0};
    CHECK(foil_wait(client, status_id, 60000, &kept) == FOIL_STATUS_OK, "status after the end");
    foil_client_free(client);
    if (CHECK(kept.payload != NULL, "kept payload")) {
        CHECK(json_is(kept.payload, "outcome", outcome), kept.payload);
        FoilEvent copy = kept;
        foil_event_free(&kept);
        foil_event_free(&kept); /* freed twice: ignored */
        foil_event_free(&copy); /* a copy of a freed event: ignored */
    }

    free(init.payload);
    free(session_id);
    free(state);
}

/* Cancelling a stream mid-way: one ERROR `cancelled` finishes it, nothing of it follows. */
static void test_cancel(const char *base_url, const char *api_key, const char *persona,
                        const char *slow_model)
{
    const char *player = "c-abi-cancel";
    FoilClient *client = new_client(base_url, api_key, slow_model, "any-key");
    struct owned init =
        wait_for(client, foil_init_session(client, persona, player, "Ada", "female", NULL));
    CHECK(init.kind == FOIL_EVENT_RESPONSE, init.payload);
    free(init.payload);

    uint64_t id = foil_send_message_stream(client, persona, player, "Hello there", NULL);
    CHECK(id > 0, "stream accepted");
    /* Wait until the reply is really streaming. */
    struct events seen = {0};
    int64_t deadline = now_ms() + 60000;
    size_t deltas = 0;
    while (deltas == 0 && now_ms() < deadline && !has_finishing(&seen, id)) {
        size_t before = seen.len;
        drain(client, &seen);
        for (size_t i = before; i < seen.len; i++) {
            deltas += seen.items[i].kind == FOIL_EVENT_TEXT_DELTA;
        }
        sleep_ms(5);
    }
    CHECK(deltas > 0, "a delta arrived before the cancel");
    CHECK(!has_finishing(&seen, id), "the slow stream was still running");
    CHECK(foil_cancel(client, id) == FOIL_STATUS_OK, "cancel in flight");
    CHECK(foil_cancel(client, id) == FOIL_STATUS_UNKNOWN_REQUEST, "cancel twice");

    /* In queue order: anything queued before the cancel, then the ERROR; nothing after. */
    size_t before_cancel = seen.len;
    CHECK(poll_until_finished(client, id, &seen), "the cancelled stream finishes");
    sleep_ms(300); /* a (wrongly) still running request would queue more meanwhile */
    drain(client, &seen);
    size_t finishing = 0, after_finish = 0;
    for (size_t i = 0; i < seen.len; i++) {
        const struct owned *e = &seen.items[i];
        CHECK(e->id == id, e->payload);
        if (is_finishing(e->kind)) {
            finishing++;
            CHECK(i >= before_cancel, "the finishing event came after the cancel");
            CHECK(e->kind == FOIL_EVENT_ERROR && e->status == 0, e->payload);
            CHECK(json_is(e->payload, "code", "cancelled"), e->payload);
            CHECK(json_long(e->payload, "status", -1) == 0, e->payload);
        } else if (finishing > 0) {
            after_finish++;
        } else {
            CHECK(e->kind == FOIL_EVENT_STREAM_METADATA || e->kind == FOIL_EVENT_TEXT_DELTA,
                  e->payload);
        }
    }
    CHECK(finishing == 1, "exactly one finishing event");
    CHECK(after_finish == 0, "nothing of the request after its ERROR");
    events_free(&seen);
    FoilEvent event = {0};
    CHECK(foil_wait(client, id, 0, &event) == FOIL_STATUS_UNKNOWN_REQUEST, "wait after finish");

    /* A request cancelled right away (possibly before it was sent) also ends exactly once. */
    id = foil_get_history(client, persona, player, NULL);
    FoilStatus cancelled = foil_cancel(client, id);
    CHECK(cancelled == FOIL_STATUS_OK || cancelled == FOIL_STATUS_UNKNOWN_REQUEST,
          "cancel at once");
    CHECK(poll_until_finished(client, id, &seen), "finishes");
    sleep_ms(100);
    drain(client, &seen);
    finishing = 0;
    for (size_t i = 0; i < seen.len; i++) {
        finishing += seen.items[i].id == id && is_finishing(seen.items[i].kind);
        if (cancelled == FOIL_STATUS_OK) {
            CHECK(json_is(seen.items[i].payload, "code", "cancelled"), seen.items[i].payload);
        }
    }
    CHECK(finishing == 1, "exactly one finishing event after cancel-at-once");
    events_free(&seen);
    foil_client_free(client);
}

/* foil_client_free with requests in flight returns within the bound; the handle is dead
 * afterwards; a new client works. */
static void test_free_in_flight(const char *base_url, const char *api_key, const char *persona,
                                const char *slow_model, long bound_ms)
{
    for (int round = 0; round < 3; round++) {
        FoilClient *client = new_client(base_url, api_key, slow_model, "any-key");
        char player_a[32], player_b[32];
        snprintf(player_a, sizeof player_a, "c-abi-free-%d-a", round);
        snprintf(player_b, sizeof player_b, "c-abi-free-%d-b", round);
        uint64_t ia = foil_init_session(client, persona, player_a, "Ada", "female", NULL);
        uint64_t ib = foil_init_session(client, persona, player_b, "Bo", "male", NULL);
        struct owned a = wait_for(client, ia), b = wait_for(client, ib);
        CHECK(a.kind == FOIL_EVENT_RESPONSE && b.kind == FOIL_EVENT_RESPONSE, a.payload);
        free(a.payload);
        free(b.payload);

        uint64_t sa = foil_send_message_stream(client, persona, player_a, "Hello", NULL);
        uint64_t sb = foil_send_message_stream(client, persona, player_b, "Hi", NULL);
        CHECK(sa > 0 && sb > 0, "streams accepted");
        /* Streaming for real (a delta arrived), plus a few ordinary requests. */
        struct events seen = {0};
        int64_t deadline = now_ms() + 60000;
        bool streaming = false;
        while (!streaming && now_ms() < deadline) {
            drain(client, &seen);
            for (size_t i = 0; i < seen.len; i++) {
                streaming = streaming || seen.items[i].kind == FOIL_EVENT_TEXT_DELTA;
            }
            sleep_ms(5);
        }
        CHECK(streaming, "the streams are under way");
        CHECK(!has_finishing(&seen, sa) && !has_finishing(&seen, sb), "still in flight");
        events_free(&seen);
        CHECK(foil_list_personas(client) > 0, "accepted");
        CHECK(foil_get_history(client, persona, player_a, NULL) > 0, "accepted");
        CHECK(foil_validate_llm_key(client, NULL) > 0, "accepted");

        /* One event left unpolled in the queue, one handed out and not yet freed. */
        FoilEvent held = {0};
        int64_t wait_deadline = now_ms() + 60000;
        while (!foil_poll_event(client, &held) && now_ms() < wait_deadline) {
            sleep_ms(5);
        }
        CHECK(held.payload != NULL, "an event to hold across the free");

        int64_t started = now_ms();
        foil_client_free(client);
        long took = (long)(now_ms() - started);
        char detail[64];
        snprintf(detail, sizeof detail, "foil_client_free took %ld ms", took);
        CHECK(took < bound_ms, detail);
        if (round == 0) {
            printf("  foil_client_free with requests in flight: %ld ms\n", took);
        }

        /* The handle is dead; the held payload is still ours. */
        foil_client_free(client); /* ignored */
        FoilEvent event = {0};
        CHECK(!foil_poll_event(client, &event), "poll on a freed client");
        CHECK(foil_last_status(NULL) == FOIL_STATUS_INVALID_HANDLE, "INVALID_HANDLE");
        CHECK(foil_list_personas(client) == 0, "request on a freed client");
        CHECK(foil_cancel(client, sa) == FOIL_STATUS_INVALID_HANDLE, "cancel on a freed client");
        CHECK(foil_wait(client, sa, 0, &event) == FOIL_STATUS_INVALID_HANDLE, "wait on freed");
        if (held.payload != NULL) {
            CHECK(strlen(held.payload) == held.payload_len, held.payload);
        }
        foil_event_free(&held);

        /* A new client works (Unity enters Play mode again). */
        FoilClient *again = new_client(base_url, api_key, NULL, NULL);
        struct owned personas = wait_for(again, foil_list_personas(again));
        CHECK(personas.kind == FOIL_EVENT_RESPONSE && personas.status == 200, personas.payload);
        CHECK(strstr(personas.payload, persona) != NULL, personas.payload);
        free(personas.payload);
        foil_client_free(again);
    }
}

int main(int argc, char **argv)
{
    if (argc < 10) {
        fprintf(stderr, "usage: %s BASE_URL API_KEY PERSONA_ID SLOW_MODEL TRAP_URL "
                        "FREE_BOUND_MS OUTCOME MESSAGE MESSAGE...\n",
                argv[0]);
        return 2;
    }
    const char *base_url = argv[1], *api_key = argv[2], *persona = argv[3];
    const char *slow_model = argv[4], *trap_url = argv[5];
    long bound_ms = strtol(argv[6], NULL, 10);
    const char *outcome = argv[7];
    setvbuf(stdout, NULL, _IONBF, 0);

    printf("abi_test: libfoil %s against %s\n", foil_version(), base_url);
#define RUN(call)                                                                          \
    do {                                                                                   \
        int failed_before = checks_failed;                                                 \
        int64_t t0 = now_ms();                                                             \
        call;                                                                              \
        printf("%s %s (%lld ms)\n", checks_failed == failed_before ? "ok  " : "FAIL", #call, \
               (long long)(now_ms() - t0));                                                \
    } while (0)

    RUN(test_version());
    RUN(test_bad_arguments(trap_url, api_key));
    RUN(test_bad_key(base_url, persona));
    RUN(test_credentials(base_url, api_key, persona));
    RUN(test_conversation(base_url, api_key, persona, outcome, argv + 8, argc - 8));
    RUN(test_cancel(base_url, api_key, persona, slow_model));
    RUN(test_free_in_flight(base_url, api_key, persona, slow_model, bound_ms));

    printf("abi_test: %d checks, %d failed\n", checks_run, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}
