/*
 * foil_chat: talk to a Foil Engine NPC in the terminal, from C, through libfoil.
 *
 * A small but complete host of the C API (include/foil.h): it creates a client, starts a
 * session, then sends every line read from stdin as the player's message and prints the
 * NPC's reply as it streams in, followed by what the state machine made of it. Events are
 * pulled by the host, as a game would do once per frame: foil_poll_event() drains the queue,
 * and foil_wait() with a short timeout stands in for "the next frame".
 *
 *   foil_chat --api-key pk_live_... --persona PERSONA_ID [--base-url URL] [--player ID]
 *             [--name NAME] [--gender female|male|non-binary] [--machine MACHINE_ID]
 *
 * The options may also come from the environment: FOIL_BASE_URL, FOIL_API_KEY,
 * FOIL_PERSONA_ID, FOIL_PLAYER_ID. Without a persona it lists the personas the key reaches.
 * End the conversation with end-of-file (Ctrl-D); it also ends when the scenario reaches an
 * outcome. Plain C11; build commands in README.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "foil.h"

/* How long one "frame" waits for the request to finish before polling again. */
#define FRAME_MS 20u

/* ------------------------------------------------------------------------------------------
 * A minimal JSON reader: enough to pick fields out of the library's payloads (compact JSON
 * written by the library itself). Not a validator.
 * ---------------------------------------------------------------------------------------- */

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    return p;
}

/* Skips the string starting at the opening quote `p`; returns what follows it, or NULL. */
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

/* Skips one value (string, number, literal, object, array); returns what follows, or NULL. */
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
                depth--;
                if (depth == 0) {
                    return p + 1;
                }
            }
            p++;
        }
        return NULL;
    }
    while (*p != '\0' && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') {
        p++;
    }
    return p;
}

/* The value of member `key` of the object at `obj` (not searched recursively), or NULL. */
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

/* The JSON string at `p`, unescaped, in a new buffer (free() it); NULL if `p` is not one. */
static char *json_string(const char *p)
{
    if (p == NULL) {
        return NULL;
    }
    const char *end = json_skip_string(p);
    if (end == NULL) {
        return NULL;
    }
    /* Unescaping never makes a string longer (\uXXXX: 6 bytes become at most 4). */
    char *result = malloc((size_t)(end - p));
    if (result == NULL) {
        return NULL;
    }
    char *o = result;
    for (p++; p < end - 1; p++) {
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
            if (cp > 0xFFFF) {
                free(result);
                return NULL;
            }
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p[1] == '\\' && p[2] == 'u') {
                unsigned long low = hex4(p + 3);
                if (low >= 0xDC00 && low < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
            }
            if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* a lone surrogate */
            }
            put_utf8(&o, cp);
            break;
        }
        default: *o++ = *p; break; /* \" \\ \/ */
        }
    }
    *o = '\0';
    return result;
}

/* Member `key` of `obj` as a new string: a JSON string unescaped, anything else (a number,
 * null, true) as written. NULL when missing. free() the result. */
static char *json_field(const char *obj, const char *key)
{
    const char *v = json_get(obj, key);
    if (v == NULL) {
        return NULL;
    }
    if (*v == '"') {
        return json_string(v);
    }
    const char *end = json_skip_value(v);
    if (end == NULL) {
        return NULL;
    }
    size_t n = (size_t)(end - v);
    char *copy = malloc(n + 1);
    if (copy != NULL) {
        memcpy(copy, v, n);
        copy[n] = '\0';
    }
    return copy;
}

/* ------------------------------------------------------------------------------------------
 * Talking to the library
 * ---------------------------------------------------------------------------------------- */

static const char *status_name(FoilStatus status)
{
    switch (status) {
    case FOIL_STATUS_OK: return "OK";
    case FOIL_STATUS_NULL_ARGUMENT: return "NULL_ARGUMENT";
    case FOIL_STATUS_INVALID_UTF8: return "INVALID_UTF8";
    case FOIL_STATUS_EMPTY_ARGUMENT: return "EMPTY_ARGUMENT";
    case FOIL_STATUS_ARGUMENT_TOO_LONG: return "ARGUMENT_TOO_LONG";
    case FOIL_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case FOIL_STATUS_UNKNOWN_REQUEST: return "UNKNOWN_REQUEST";
    case FOIL_STATUS_TIMEOUT: return "TIMEOUT";
    case FOIL_STATUS_RUNTIME_ERROR: return "RUNTIME_ERROR";
    case FOIL_STATUS_CALLBACK_MODE: return "CALLBACK_MODE";
    case FOIL_STATUS_PANIC: return "PANIC";
    case FOIL_STATUS_INVALID_HANDLE: return "INVALID_HANDLE";
    }
    return "UNKNOWN_STATUS";
}

/* Prints the last failure recorded for `client` (NULL: the calling thread's record). */
static void print_last_error(const FoilClient *client, const char *what)
{
    FoilStatus status = foil_last_status(client);
    size_t len = foil_last_error(client, NULL, 0);
    char *message = malloc(len + 1);
    if (message != NULL) {
        foil_last_error(client, message, len + 1);
    }
    fprintf(stderr, "error: %s: %s (status %d): %s\n", what, status_name(status), (int)status,
            message != NULL ? message : "(out of memory)");
    free(message);
}

/* Prints an ERROR event: `{"status", "code", "message", "retry_after"}`. */
static void print_error_event(const FoilEvent *event, const char *what)
{
    char *code = json_field(event->payload, "code");
    char *message = json_field(event->payload, "message");
    char *retry_after = json_field(event->payload, "retry_after");
    fprintf(stderr, "error: %s failed: HTTP %u, %s: %s", what, (unsigned)event->http_status,
            code != NULL ? code : "?", message != NULL ? message : event->payload);
    if (retry_after != NULL && strcmp(retry_after, "null") != 0) {
        fprintf(stderr, " (retry after %s s)", retry_after);
    }
    fputc('\n', stderr);
    free(code);
    free(message);
    free(retry_after);
}

/* Waits for a request's finishing event (for the few calls where the game would show a
 * loading screen anyway). True with `*event` filled (free it); false after printing why. */
static bool finish(FoilClient *client, uint64_t id, const char *what, FoilEvent *event)
{
    if (id == 0) {
        print_last_error(client, what);
        return false;
    }
    FoilStatus status = foil_wait(client, id, 60000, event);
    if (status != FOIL_STATUS_OK) {
        print_last_error(client, what);
        return false;
    }
    if (event->kind == FOIL_EVENT_ERROR) {
        print_error_event(event, what);
        foil_event_free(event);
        return false;
    }
    return true;
}

/* One chat: what a turn needs to know. */
struct chat {
    FoilClient *client;
    const char *persona_id;
    const char *player_id;
    const char *machine_id; /* NULL: the session started last */
    char *npc_name;
    bool line_open; /* the NPC's reply is being printed on the current line */
    bool over;      /* the scenario reached an outcome */
};

static void end_line(struct chat *chat)
{
    if (chat->line_open) {
        fputc('\n', stdout);
        chat->line_open = false;
    }
}

/* Shows an event that does not finish the turn: the reply's text, the game events. */
static void show_event(struct chat *chat, const FoilEvent *event)
{
    const char *p = event->payload;
    switch (event->kind) {
    case FOIL_EVENT_STREAM_METADATA:
        /* The verdict is already known here (state, score); we show it with the final
         * response instead. A game could start an animation now. */
        break;
    case FOIL_EVENT_TEXT_DELTA:
        if (!chat->line_open) {
            printf("%s: ", chat->npc_name);
            chat->line_open = true;
        }
        fwrite(p, 1, event->payload_len, stdout);
        fflush(stdout);
        break;
    case FOIL_EVENT_STATE_CHANGE: {
        char *from = json_field(p, "from_state");
        char *to = json_field(p, "to_state");
        end_line(chat);
        printf("  * state: %s -> %s\n", from != NULL ? from : "?", to != NULL ? to : "?");
        free(from);
        free(to);
        break;
    }
    case FOIL_EVENT_SCORE_CHANGE: {
        char *old_score = json_field(p, "old_score");
        char *new_score = json_field(p, "new_score");
        char *delta = json_field(p, "delta");
        end_line(chat);
        printf("  * score: %s -> %s (%s%s)\n", old_score != NULL ? old_score : "?",
               new_score != NULL ? new_score : "?",
               delta != NULL && delta[0] != '-' ? "+" : "", delta != NULL ? delta : "?");
        free(old_score);
        free(new_score);
        free(delta);
        break;
    }
    case FOIL_EVENT_MACHINE_COMPLETED: {
        char *outcome = json_field(p, "outcome");
        end_line(chat);
        printf("  * scenario completed: %s\n", outcome != NULL ? outcome : "?");
        free(outcome);
        break;
    }
    case FOIL_EVENT_MACHINES_UNLOCKED:
        end_line(chat);
        printf("  * new scenarios unlocked: %s\n", p);
        break;
    case FOIL_EVENT_SESSION_ENDED: {
        char *outcome = json_field(p, "outcome");
        char *score = json_field(p, "final_score");
        end_line(chat);
        printf("  * the conversation is over: %s (final score %s)\n",
               outcome != NULL ? outcome : "?", score != NULL ? score : "?");
        free(outcome);
        free(score);
        break;
    }
    default:
        break;
    }
}

/* Shows the turn's finishing event: the verdict, or the error. */
static void show_result(struct chat *chat, const FoilEvent *event)
{
    end_line(chat);
    if (event->kind == FOIL_EVENT_ERROR) {
        print_error_event(event, "message");
        return;
    }
    /* STREAM_DONE: the whole ChatResponse. */
    char *state = json_field(event->payload, "current_state");
    char *score = json_field(event->payload, "score");
    char *outcome = json_field(event->payload, "outcome");
    bool ended = outcome != NULL && strcmp(outcome, "null") != 0;
    printf("  [state: %s | score: %s | outcome: %s]\n", state != NULL ? state : "?",
           score != NULL ? score : "?", ended ? outcome : "none");
    if (ended) {
        chat->over = true;
    }
    free(state);
    free(score);
    free(outcome);
}

/* Takes every queued event. The turn's finishing event is kept in `*done` (when it shows up
 * here) and shown last, after the game events queued behind it. */
static void drain(struct chat *chat, uint64_t id, FoilEvent *done, bool *finished)
{
    FoilEvent event = {0};
    while (foil_poll_event(chat->client, &event)) {
        if (event.request_id == id && !*finished &&
            (event.kind == FOIL_EVENT_STREAM_DONE || event.kind == FOIL_EVENT_ERROR)) {
            *done = event; /* ownership moves to `done`; freed by the caller */
            *finished = true;
            continue;
        }
        show_event(chat, &event);
        foil_event_free(&event);
    }
}

/* Sends one line and shows the reply as it streams in. False if the library refused it. */
static bool turn(struct chat *chat, const char *line)
{
    uint64_t id = foil_send_message_stream(chat->client, chat->persona_id, chat->player_id,
                                           line, chat->machine_id);
    if (id == 0) {
        /* Refused before anything was sent (too long, invalid UTF-8, ...). */
        print_last_error(chat->client, "message not sent");
        return false;
    }
    FoilEvent done = {0};
    bool finished = false;
    for (;;) {
        /* One "frame": show what arrived, then wait a little for more. */
        drain(chat, id, &done, &finished);
        if (finished) {
            break;
        }
        FoilStatus status = foil_wait(chat->client, id, FRAME_MS, &done);
        if (status == FOIL_STATUS_OK) {
            /* foil_wait took the finishing event out of the queue; the pieces before it
             * and the game events behind it are still queued. */
            finished = true;
            drain(chat, id, &done, &finished);
            break;
        }
        if (status != FOIL_STATUS_TIMEOUT) {
            print_last_error(chat->client, "waiting for the reply");
            return false;
        }
    }
    show_result(chat, &done);
    foil_event_free(&done);
    return true;
}

/* Reads one line of any length (without its line ending) into a new buffer; NULL at EOF. */
static char *read_line(FILE *in)
{
    size_t cap = 256, len = 0;
    char *line = malloc(cap);
    if (line == NULL) {
        return NULL;
    }
    int c;
    while ((c = fgetc(in)) != EOF && c != '\n') {
        if (len + 1 >= cap) {
            char *bigger = realloc(line, cap * 2);
            if (bigger == NULL) {
                free(line);
                return NULL;
            }
            line = bigger;
            cap *= 2;
        }
        line[len++] = (char)c;
    }
    if (c == EOF && len == 0) {
        free(line);
        return NULL;
    }
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    line[len] = '\0';
    return line;
}

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy != NULL) {
        memcpy(copy, s, n);
    }
    return copy;
}

static bool blank(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s != ' ' && *s != '\t') {
            return false;
        }
    }
    return true;
}

/* Prints the personas the key reaches (when no persona was chosen). */
static int list_personas(FoilClient *client)
{
    FoilEvent event = {0};
    if (!finish(client, foil_list_personas(client), "listing the personas", &event)) {
        return 1;
    }
    printf("Choose a persona with --persona ID (or FOIL_PERSONA_ID):\n");
    const char *p = json_ws(event.payload);
    if (*p == '[') {
        p = json_ws(p + 1);
        while (p != NULL && *p == '{') {
            char *id = json_field(p, "id");
            char *name = json_field(p, "name");
            printf("  %s  %s\n", id != NULL ? id : "?", name != NULL ? name : "?");
            free(id);
            free(name);
            p = json_skip_value(p);
            if (p != NULL) {
                p = json_ws(p);
                p = *p == ',' ? json_ws(p + 1) : NULL;
            }
        }
    }
    foil_event_free(&event);
    return 2;
}

/* Starts the session, then one turn per line of stdin until EOF or an outcome. */
static int run_chat(struct chat *chat, const char *player_name, const char *gender)
{
    FoilClient *client = chat->client;
    FoilEvent event = {0};

    /* Start (or start over) the session and show the greeting. */
    uint64_t id = foil_init_session(client, chat->persona_id, chat->player_id, player_name,
                                    gender, chat->machine_id);
    if (!finish(client, id, "starting the session", &event)) {
        return 1;
    }
    char *name = json_field(event.payload, "persona_name");
    char *greeting = json_field(event.payload, "message");
    chat->npc_name = name != NULL ? name : copy_string("NPC");
    printf("%s: %s\n", chat->npc_name != NULL ? chat->npc_name : "NPC",
           greeting != NULL ? greeting : "");
    free(greeting);
    foil_event_free(&event);
    if (chat->npc_name == NULL) {
        return 1;
    }

    /* Fetch the session once, so the library knows its state and reports the first turn's
     * state change too. */
    id = foil_get_session(client, chat->persona_id, chat->player_id, chat->machine_id);
    if (finish(client, id, "reading the session", &event)) {
        char *state = json_field(event.payload, "current_state");
        char *score = json_field(event.payload, "score");
        printf("  [state: %s | score: %s]\n", state != NULL ? state : "?",
               score != NULL ? score : "?");
        free(state);
        free(score);
        foil_event_free(&event);
    }

    for (;;) {
        printf("> ");
        fflush(stdout);
        char *line = read_line(stdin);
        if (line == NULL) {
            fputc('\n', stdout); /* end of input: a clean goodbye */
            return 0;
        }
        if (!blank(line)) {
            turn(chat, line);
        }
        free(line);
        if (chat->over) {
            printf("The conversation has ended.\n");
            return 0;
        }
    }
}

static void usage(FILE *out)
{
    fputs("usage: foil_chat --api-key KEY --persona PERSONA_ID [--base-url URL] [--player ID]\n"
          "                 [--name NAME] [--gender female|male|non-binary] [--machine ID]\n"
          "environment: FOIL_BASE_URL, FOIL_API_KEY, FOIL_PERSONA_ID, FOIL_PLAYER_ID\n",
          out);
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : fallback;
}

int main(int argc, char **argv)
{
    const char *base_url = env_or("FOIL_BASE_URL", "http://127.0.0.1:8000");
    const char *api_key = env_or("FOIL_API_KEY", NULL);
    const char *persona_id = env_or("FOIL_PERSONA_ID", NULL);
    const char *player_id = env_or("FOIL_PLAYER_ID", "c-player");
    const char *player_name = "Traveller";
    const char *gender = "non-binary";
    const char *machine_id = NULL;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        const char **slot = strcmp(arg, "--base-url") == 0 ? &base_url
                            : strcmp(arg, "--api-key") == 0 ? &api_key
                            : strcmp(arg, "--persona") == 0 ? &persona_id
                            : strcmp(arg, "--player") == 0  ? &player_id
                            : strcmp(arg, "--name") == 0    ? &player_name
                            : strcmp(arg, "--gender") == 0  ? &gender
                            : strcmp(arg, "--machine") == 0 ? &machine_id
                                                            : NULL;
        if (slot == NULL || i + 1 >= argc) {
            fprintf(stderr, "foil_chat: %s: %s\n", arg,
                    slot == NULL ? "unknown option" : "missing value");
            usage(stderr);
            return 2;
        }
        *slot = argv[++i];
    }
    if (api_key == NULL) {
        fputs("foil_chat: no API key (--api-key or FOIL_API_KEY)\n", stderr);
        usage(stderr);
        return 2;
    }

    FoilClientConfig config;
    foil_client_config_init(&config);
    config.base_url = base_url;
    config.api_key = api_key;
    FoilClient *client = NULL;
    if (foil_client_new(&config, &client) != FOIL_STATUS_OK) {
        print_last_error(NULL, "creating the client"); /* no client: the thread's record */
        return 1;
    }
    printf("libfoil %s, server %s\n", foil_version(), base_url);

    int exit_code;
    if (persona_id == NULL) {
        exit_code = list_personas(client);
    } else {
        struct chat chat = {client, persona_id, player_id, machine_id, NULL, false, false};
        exit_code = run_chat(&chat, player_name, gender);
        free(chat.npc_name);
    }
    foil_client_free(client);
    return exit_code;
}
