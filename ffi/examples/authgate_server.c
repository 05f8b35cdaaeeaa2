/*
 * A small HTTP server on libmicrohttpd that protects /protected and a relay (GET /api/relay,
 * POST /api/relay/toggle) with authgate: Digest (SHA-256, MD5) with Basic as a fallback
 * challenge, one WWW-Authenticate field per challenge; with --ntlm, NTLM; with --negotiate,
 * Negotiate: Kerberos through MIT GSSAPI (the keytab from KRB5_KTNAME) and NTLM inside it.
 * "/" is served openly.
 *
 *   authgate_server [--bind ADDR] [--port N] [--realm REALM] [--user NAME:PASSWORD]...
 *                   [--nonce-lifetime SECONDS] [--algorithms LIST]
 *                   [--ntlm] [--negotiate SERVICE@HOST] [--bind-negotiate]
 *                   [--allow-host NAME]... [--allow-any-address] [--allow-origin ORIGIN]...
 *                   [--allow-cross-origin]
 *
 * Every request is first checked for where it comes from (authgate_engine_check_origin):
 * unsafe methods from another origin get 403 (a page elsewhere riding on the browser's
 * cached credentials), and with --allow-host, a Host that is not one of the server's names
 * gets 421 (DNS rebinding; --allow-any-address also lets IP addresses through, which a
 * rebinding attack cannot use). --allow-origin serves unsafe requests from that origin too;
 * --allow-cross-origin turns the 403 off.
 *
 * LIST is comma-separated, from SHA-256, SHA-512-256 and MD5 (default SHA-256,MD5), one Digest
 * challenge each, in that order. --port 0 picks a free port. The server prints "listening on
 * ADDR:PORT" once ready, logs one line per request on stderr, and stops cleanly on
 * SIGINT/SIGTERM. A bad option value is named on stderr, with exit status 2.
 *
 * Everything about authentication is decided by authgate_engine_check(); this file only
 * moves HTTP fields in and out.
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <gssapi/gssapi.h>

#include "authgate.h"

#define MAX_USERS 16

struct user {
  const char *name;
  size_t name_len;
  const char *password;
};

/* Kerberos: the acceptor credential and one GSSAPI context per connection whose
   handshake needs another round (rare with Kerberos, kept for SPNEGO's sake). */
#define MAX_CONTEXTS 64
struct gss {
  gss_cred_id_t cred;
  pthread_mutex_t lock;
  struct {
    uint64_t connection;
    gss_ctx_id_t ctx;
  } open[MAX_CONTEXTS];
};

struct server {
  struct user users[MAX_USERS];
  size_t n_users;
  authgate_engine *engine;
  struct gss gss;
  atomic_uint relay; /* the device state (0 or 1) the relay endpoints read and change */
};

/* ---- authgate callbacks ---- */

/* Called by authgate_engine_check(), possibly from several MHD threads at once: it only
   reads the user table, which never changes after start-up. */
static void lookup_user(void *userdata, const char *username, size_t username_len, const char *realm,
                        size_t realm_len, authgate_purpose purpose, authgate_credential *out) {
  const struct server *s = userdata;
  (void)realm, (void)realm_len, (void)purpose;
  for (size_t i = 0; i < s->n_users; i++) {
    const struct user *u = &s->users[i];
    if (u->name_len == username_len && memcmp(u->name, username, username_len) == 0) {
      authgate_credential_set_plaintext(out, (const uint8_t *)u->password, strlen(u->password));
      return;
    }
  }
}

static int32_t entropy(void *userdata, uint8_t *out, size_t len) {
  (void)userdata;
  while (len > 0) {
    ssize_t n = getrandom(out, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    out += n;
    len -= (size_t)n;
  }
  return 0;
}

/* ---- Negotiate: Kerberos through MIT GSSAPI ---- */

static void log_gss_error(const char *what, OM_uint32 major, OM_uint32 minor) {
  OM_uint32 ctx = 0, m;
  gss_buffer_desc text;
  fprintf(stderr, "gssapi: %s:", what);
  do {
    gss_display_status(&m, major, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &text);
    fprintf(stderr, " %.*s;", (int)text.length, (char *)text.value);
    gss_release_buffer(&m, &text);
  } while (ctx != 0);
  do {
    gss_display_status(&m, minor, GSS_C_MECH_CODE, GSS_C_NO_OID, &ctx, &text);
    fprintf(stderr, " %.*s", (int)text.length, (char *)text.value);
    gss_release_buffer(&m, &text);
  } while (ctx != 0);
  fprintf(stderr, "\n");
}

/* The context a previous round left for `connection`, removed from the table. */
static gss_ctx_id_t take_context(struct gss *g, uint64_t connection) {
  gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
  pthread_mutex_lock(&g->lock);
  for (size_t i = 0; i < MAX_CONTEXTS; i++)
    if (g->open[i].ctx != GSS_C_NO_CONTEXT && g->open[i].connection == connection) {
      ctx = g->open[i].ctx;
      g->open[i].ctx = GSS_C_NO_CONTEXT;
      break;
    }
  pthread_mutex_unlock(&g->lock);
  return ctx;
}

static int keep_context(struct gss *g, uint64_t connection, gss_ctx_id_t ctx) {
  int kept = 0;
  pthread_mutex_lock(&g->lock);
  for (size_t i = 0; i < MAX_CONTEXTS && !kept; i++)
    if (g->open[i].ctx == GSS_C_NO_CONTEXT) {
      g->open[i].connection = connection;
      g->open[i].ctx = ctx;
      kept = 1;
    }
  pthread_mutex_unlock(&g->lock);
  return kept;
}

/* authgate_negotiate_callback: one gss_accept_sec_context round. */
static authgate_negotiate_step gss_step(void *userdata, uint64_t connection, const uint8_t *token, size_t token_len,
                                        uint8_t *output, size_t output_cap, size_t *output_len, char *principal,
                                        size_t principal_cap, size_t *principal_len) {
  struct gss *g = userdata;
  OM_uint32 minor, m;
  gss_ctx_id_t ctx = take_context(g, connection);
  gss_buffer_desc in = {token_len, (void *)token}, out = GSS_C_EMPTY_BUFFER, name = GSS_C_EMPTY_BUFFER;
  gss_name_t source = GSS_C_NO_NAME;
  OM_uint32 major = gss_accept_sec_context(&minor, &ctx, g->cred, &in, GSS_C_NO_CHANNEL_BINDINGS, &source, NULL, &out,
                                           NULL, NULL, NULL);
  authgate_negotiate_step step = AUTHGATE_NEGOTIATE_STEP_REFUSED;
  if (GSS_ERROR(major)) {
    log_gss_error("accept", major, minor);
  } else if (out.length > output_cap) {
    fprintf(stderr, "gssapi: output token of %zu bytes does not fit\n", out.length);
  } else {
    memcpy(output, out.value, out.length);
    *output_len = out.length;
    if (major & GSS_S_CONTINUE_NEEDED) {
      if (keep_context(g, connection, ctx)) {
        ctx = GSS_C_NO_CONTEXT;
        step = AUTHGATE_NEGOTIATE_STEP_CONTINUE;
      }
    } else if (gss_display_name(&minor, source, &name, NULL) == GSS_S_COMPLETE && name.length <= principal_cap) {
      memcpy(principal, name.value, name.length);
      *principal_len = name.length;
      step = AUTHGATE_NEGOTIATE_STEP_COMPLETE;
    }
  }
  gss_release_buffer(&m, &out);
  gss_release_buffer(&m, &name);
  gss_release_name(&m, &source);
  if (ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&m, &ctx, GSS_C_NO_BUFFER);
  return step;
}

/* authgate_connection_closed_callback. */
static void gss_closed(void *userdata, uint64_t connection) {
  OM_uint32 m;
  gss_ctx_id_t ctx = take_context(userdata, connection);
  if (ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&m, &ctx, GSS_C_NO_BUFFER);
}

/* Acceptor credentials for `service` ("HTTP@localhost"), for SPNEGO and Kerberos both:
   curl and browsers send SPNEGO; MIT keeps its replay cache only with the krb5 mech in. */
static int gss_init(struct gss *g, const char *service) {
  static gss_OID_desc spnego = {6, (void *)"\x2b\x06\x01\x05\x05\x02"};
  static gss_OID_desc krb5 = {9, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};
  gss_OID_desc mechs[] = {spnego, krb5};
  gss_OID_set_desc set = {2, mechs};
  OM_uint32 major, minor;
  gss_name_t name = GSS_C_NO_NAME;
  gss_buffer_desc text = {strlen(service), (void *)service};
  pthread_mutex_init(&g->lock, NULL);
  major = gss_import_name(&minor, &text, GSS_C_NT_HOSTBASED_SERVICE, &name);
  if (GSS_ERROR(major)) {
    log_gss_error("import_name", major, minor);
    return 0;
  }
  major = gss_acquire_cred(&minor, name, GSS_C_INDEFINITE, &set, GSS_C_ACCEPT, &g->cred, NULL, NULL);
  gss_release_name(&minor, &name);
  if (GSS_ERROR(major)) {
    log_gss_error("acquire_cred (is KRB5_KTNAME set?)", major, minor);
    return 0;
  }
  return 1;
}

/* ---- connections: NTLM and Negotiate authenticate a connection ---- */

/* Each accepted connection gets an id never used before (not the socket, which the next
   connection may reuse); the engine forgets it when MHD closes the connection. */
static uint64_t next_connection_id = 0;
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  struct server *s = cls;
  (void)connection;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    uint64_t *id = malloc(sizeof *id);
    if (!id) return;
    pthread_mutex_lock(&id_lock);
    *id = ++next_connection_id;
    pthread_mutex_unlock(&id_lock);
    *socket_context = id;
  } else if (*socket_context) {
    authgate_engine_connection_closed(s->engine, *(uint64_t *)*socket_context);
    free(*socket_context);
    *socket_context = NULL;
  }
}

/* ---- per request ---- */

/* The raw request-target (path and query, not percent-decoded), as authgate needs it:
   MHD hands the access handler a decoded path without the query. */
struct request {
  char *target;
  int started; /* the first call of the access handler has been seen */
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *connection) {
  (void)cls, (void)connection;
  struct request *r = calloc(1, sizeof *r);
  if (r) r->target = strdup(uri);
  return r;
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls, (void)connection, (void)toe;
  struct request *r = *req_cls;
  if (r) {
    free(r->target);
    free(r);
  }
  *req_cls = NULL;
}

/* The request fields authgate reads, each NULL when absent and "" (length 0, malformed) when
   sent more than once. */
enum { F_AUTHORIZATION, F_HOST, F_ORIGIN, F_SEC_FETCH_SITE, F_REFERER, F_COUNT };
static const char *const FIELD_NAMES[F_COUNT] = {MHD_HTTP_HEADER_AUTHORIZATION, MHD_HTTP_HEADER_HOST,
                                                 MHD_HTTP_HEADER_ORIGIN, "Sec-Fetch-Site", MHD_HTTP_HEADER_REFERER};
struct fields {
  const char *value[F_COUNT];
  size_t len[F_COUNT];
  int count[F_COUNT];
};

static enum MHD_Result collect_field(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                     const char *value, size_t value_size) {
  struct fields *f = cls;
  (void)kind, (void)key_size;
  for (int i = 0; i < F_COUNT; i++) {
    if (strcasecmp(key, FIELD_NAMES[i]) != 0) continue;
    f->value[i] = f->count[i]++ ? "" : value;
    f->len[i] = f->count[i] == 1 ? value_size : 0;
  }
  return MHD_YES;
}

static void read_fields(struct MHD_Connection *connection, struct fields *f) {
  memset(f, 0, sizeof *f);
  MHD_get_connection_values_n(connection, MHD_HEADER_KIND, collect_field, f);
}

static enum MHD_Result reply(struct MHD_Connection *connection, unsigned status, const char *body,
                             struct MHD_Response *response) {
  if (!response) response = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!response) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  enum MHD_Result ret = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return ret;
}

/* Where the request comes from and where it was sent: 0 to go on, or a queued refusal. */
static int refused_origin(struct server *s, struct MHD_Connection *connection, const char *method,
                          const char *target, const struct fields *f, enum MHD_Result *ret) {
  authgate_origin_headers h = {0};
  h.host = (const uint8_t *)f->value[F_HOST], h.host_len = f->len[F_HOST];
  h.origin = (const uint8_t *)f->value[F_ORIGIN], h.origin_len = f->len[F_ORIGIN];
  h.sec_fetch_site = (const uint8_t *)f->value[F_SEC_FETCH_SITE], h.sec_fetch_site_len = f->len[F_SEC_FETCH_SITE];
  h.referer = (const uint8_t *)f->value[F_REFERER], h.referer_len = f->len[F_REFERER];
  authgate_refusal refusal = AUTHGATE_REFUSAL_NONE;
  authgate_result r = authgate_engine_check_origin(s->engine, method, strlen(method), &h, &refusal);
  if (r != AUTHGATE_RESULT_OK) {
    fprintf(stderr, "%s %s -> 500 (%s)\n", method, target, authgate_result_message(r));
    *ret = reply(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL);
    return 1;
  }
  if (refusal == AUTHGATE_REFUSAL_NONE) return 0;
  unsigned status = authgate_refusal_status(refusal);
  /* The fields, for the log: values are not secrets, but bounded. */
  fprintf(stderr, "%s %s -> %u (%s) host=%.64s origin=%.80s sec-fetch-site=%.16s\n", method, target, status,
          authgate_refusal_message(refusal), f->value[F_HOST] ? f->value[F_HOST] : "-",
          f->value[F_ORIGIN] ? f->value[F_ORIGIN] : "-", f->value[F_SEC_FETCH_SITE] ? f->value[F_SEC_FETCH_SITE] : "-");
  char body[128];
  snprintf(body, sizeof body, "%s\n", authgate_refusal_message(refusal));
  *ret = reply(connection, status, body, NULL);
  return 1;
}

/* What an authenticated request does. */
enum action { GREET, RELAY_READ, RELAY_TOGGLE };

/* Authenticates the request, then does `action`: the verdict decides before any state changes. */
static enum MHD_Result protected(struct server *s, struct MHD_Connection *connection, const char *method,
                                 const char *target, const struct fields *f, enum action action) {
  const char *auth = f->value[F_AUTHORIZATION];
  size_t auth_len = f->len[F_AUTHORIZATION];

  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  if (!ci || !ci->socket_context) return MHD_NO;
  uint64_t connection_id = *(const uint64_t *)ci->socket_context;

  authgate_verdict *v = authgate_verdict_new(); /* a server could keep one per worker thread */
  if (!v) return MHD_NO;
  authgate_result r = authgate_engine_check_connection(s->engine, method, strlen(method), target, strlen(target),
                                                       (const uint8_t *)auth, auth_len, connection_id,
                                                       (uint64_t)time(NULL), NULL, v);
  enum MHD_Result ret = MHD_NO;
  char value[1024], token[2048];
  size_t len = 0, token_len = 0;
  /* An NTLM or Negotiate token for the client, if the check left one. */
  if (r == AUTHGATE_RESULT_OK && authgate_verdict_write_token(v, token, sizeof token, &token_len) != AUTHGATE_RESULT_OK)
    token_len = 0;
  if (r != AUTHGATE_RESULT_OK) {
    fprintf(stderr, "%s %s -> 500 (%s)\n", method, target, authgate_result_message(r));
    ret = reply(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL);
  } else if (authgate_verdict_status(v) == 200) {
    const char *user = NULL;
    size_t user_len = 0;
    authgate_verdict_user(v, &user, &user_len);
    char body[256];
    if (action == GREET) {
      snprintf(body, sizeof body, "Hello, %.*s\n", (int)user_len, user);
    } else {
      bool on = action == RELAY_TOGGLE ? !atomic_fetch_xor(&s->relay, 1u) : atomic_load(&s->relay) != 0;
      if (action == RELAY_TOGGLE) fprintf(stderr, "relay %s by %.*s\n", on ? "on" : "off", (int)user_len, user);
      snprintf(body, sizeof body, "%s\n", on ? "on" : "off");
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    if (resp && authgate_engine_write_authentication_info(s->engine, v, value, sizeof value, &len) == AUTHGATE_RESULT_OK &&
        len > 0)
      MHD_add_response_header(resp, "Authentication-Info", value);
    /* Negotiate's mutual authentication (or SPNEGO's last word). */
    if (resp && token_len > 0) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, token);
    static const char *const scheme_names[] = {"none", "Basic", "Digest", "Bearer", "NTLM", "Negotiate"};
    authgate_scheme scheme = authgate_verdict_scheme(v);
    fprintf(stderr, "%s %s -> 200 %s (%s)\n", method, target, user, scheme <= 5 ? scheme_names[scheme] : "?");
    ret = reply(connection, MHD_HTTP_OK, NULL, resp);
  } else if (authgate_verdict_status(v) == 401) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen("unauthorized\n"), "unauthorized\n",
                                                                MHD_RESPMEM_PERSISTENT);
    if (resp && token_len > 0) /* the handshake continues: its token alone */
      MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, token);
    for (size_t i = 0; resp && token_len == 0 && i < authgate_engine_challenge_count(s->engine); i++)
      if (authgate_engine_write_challenge(s->engine, v, i, value, sizeof value, &len) == AUTHGATE_RESULT_OK)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, value);
    fprintf(stderr, "%s %s -> 401 reason=%s stale=%d\n", method, target, authgate_reason_message(authgate_verdict_reason(v)),
            authgate_verdict_stale(v));
    ret = reply(connection, MHD_HTTP_UNAUTHORIZED, NULL, resp);
  } else if (f->count[F_AUTHORIZATION] > 1) {
    fprintf(stderr, "%s %s -> 400 (%d Authorization header fields)\n", method, target, f->count[F_AUTHORIZATION]);
    ret = reply(connection, MHD_HTTP_BAD_REQUEST, "bad request\n", NULL);
  } else {
    fprintf(stderr, "%s %s -> 400 (%s)\n", method, target, authgate_result_message(authgate_verdict_error(v)));
    ret = reply(connection, MHD_HTTP_BAD_REQUEST, "bad request\n", NULL);
  }
  authgate_verdict_free(v);
  return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **req_cls) {
  struct server *s = cls;
  struct request *r = *req_cls;
  (void)version, (void)upload_data;
  if (*upload_data_size != 0) { /* bodies are not used: drop them */
    *upload_data_size = 0;
    return MHD_YES;
  }
  /* Answer once the whole request is in: a response queued on the first call (before MHD
     knows the body is done) makes MHD close the connection, and NTLM needs it kept. */
  if (r && !r->started) {
    r->started = 1;
    return MHD_YES;
  }
  if (!r || !r->target) return MHD_NO;
  struct fields f;
  read_fields(connection, &f);
  enum MHD_Result ret = MHD_NO;
  if (refused_origin(s, connection, method, r->target, &f, &ret)) return ret;
  if (strcmp(url, "/") == 0)
    return reply(connection, MHD_HTTP_OK, "authgate example: try /protected, /api/relay, POST /api/relay/toggle\n",
                 NULL);
  if (strcmp(url, "/protected") == 0) return protected(s, connection, method, r->target, &f, GREET);
  if (strcmp(url, "/api/relay") == 0 && strcmp(method, "GET") == 0)
    return protected(s, connection, method, r->target, &f, RELAY_READ);
  if (strcmp(url, "/api/relay/toggle") == 0 && strcmp(method, "POST") == 0)
    return protected(s, connection, method, r->target, &f, RELAY_TOGGLE);
  return reply(connection, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
}

static const char usage_text[] =
    "usage: %s [--bind ADDR] [--port N] [--realm REALM] [--user NAME:PASSWORD]...\n"
    "          [--nonce-lifetime SECONDS] [--algorithms LIST]\n"
    "          [--ntlm] [--negotiate SERVICE@HOST] [--bind-negotiate]\n"
    "          [--allow-host NAME]... [--allow-any-address] [--allow-origin ORIGIN]...\n"
    "          [--allow-cross-origin]\n"
    "  --bind ADDR              IPv4 address to listen on (default 127.0.0.1)\n"
    "  --port N                 TCP port, 0 for any free one (default 8080)\n"
    "  --realm REALM            the realm of the challenges (default \"authgate example\")\n"
    "  --user NAME:PASSWORD     a user (up to 16: repeat the option)\n"
    "  --nonce-lifetime SECONDS how long a nonce is valid (default 300)\n"
    "  --algorithms LIST        Digest algorithms offered, comma-separated, from SHA-256,\n"
    "                           SHA-512-256 and MD5 (default SHA-256,MD5)\n"
    "  --ntlm                   offer NTLM too\n"
    "  --negotiate SERVICE@HOST offer Negotiate (Kerberos through GSSAPI, keytab from\n"
    "                           KRB5_KTNAME, and NTLM inside it) as that service\n"
    "  --bind-negotiate         a Negotiate success also holds for the connection's later\n"
    "                           requests without credentials, as IIS does\n"
    "  --allow-host NAME        one of the server's names (up to 16): once given, a request\n"
    "                           to any other name gets 421 (DNS rebinding)\n"
    "  --allow-any-address      a request to an IP address passes the --allow-host list\n"
    "  --allow-origin ORIGIN    serve unsafe requests from that origin too (up to 16)\n"
    "  --allow-cross-origin     do not refuse unsafe requests from other origins (403)\n";

/* A bad command line: says what was wrong, naming the value, then how to call. */
__attribute__((format(printf, 2, 3), noreturn)) static void bad_option(const char *argv0, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  fprintf(stderr, "%s: ", argv0);
  vfprintf(stderr, fmt, args);
  va_end(args);
  fputc('\n', stderr);
  fprintf(stderr, usage_text, argv0);
  exit(2);
}

/* A whole decimal number up to max, or -1. */
static long parse_number(const char *text, long max) {
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0 || value > max) return -1;
  return value;
}

/* The algorithms of a comma-separated LIST; NULL on success, else the offending name in
   `bad`. */
static const char *parse_algorithms(const char *list, authgate_algorithm *out, size_t *n, char *bad,
                                    size_t bad_len) {
  char buf[128];
  if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf) return "the list is too long";
  *n = 0;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    authgate_algorithm a;
    if (strcasecmp(tok, "SHA-256") == 0)
      a = AUTHGATE_ALGORITHM_SHA256;
    else if (strcasecmp(tok, "SHA-512-256") == 0)
      a = AUTHGATE_ALGORITHM_SHA512_256;
    else if (strcasecmp(tok, "MD5") == 0)
      a = AUTHGATE_ALGORITHM_MD5;
    else {
      snprintf(bad, bad_len, "unknown algorithm \"%s\" (expected SHA-256, SHA-512-256 or MD5)", tok);
      return bad;
    }
    if (*n == 6) return "more than 6 algorithms";
    out[(*n)++] = a;
  }
  return *n > 0 ? NULL : "no algorithm given";
}

static int fail(const char *what, authgate_result r) {
  fprintf(stderr, "%s: %s\n", what, authgate_result_message(r));
  return 1;
}

int main(int argc, char **argv) {
  static struct server s;
  const char *bind_addr = "127.0.0.1", *realm = "authgate example";
  unsigned long port = 8080, lifetime = 300;
  authgate_algorithm algorithms[6] = {AUTHGATE_ALGORITHM_SHA256, AUTHGATE_ALGORITHM_MD5};
  size_t n_algorithms = 2;
  const char *negotiate = NULL;
  int ntlm = 0, bind_negotiate = 0;
  const char *hosts[MAX_USERS], *origins[MAX_USERS];
  size_t n_hosts = 0, n_origins = 0;
  bool refuse_cross_origin = true, any_address = false;

  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      printf(usage_text, argv[0]);
      return 0;
    }
    if (strcmp(arg, "--ntlm") == 0) {
      ntlm = 1;
      continue;
    }
    if (strcmp(arg, "--bind-negotiate") == 0) {
      bind_negotiate = 1;
      continue;
    }
    if (strcmp(arg, "--allow-cross-origin") == 0) {
      refuse_cross_origin = false;
      continue;
    }
    if (strcmp(arg, "--allow-any-address") == 0) {
      any_address = true;
      continue;
    }
    static const char *const options[] = {"--bind",       "--port",      "--realm",       "--user",
                                           "--nonce-lifetime", "--algorithms", "--negotiate", "--allow-host",
                                           "--allow-origin"};
    size_t known = 0;
    while (known < sizeof options / sizeof *options && strcmp(arg, options[known]) != 0) known++;
    if (known == sizeof options / sizeof *options) bad_option(argv[0], "unknown option \"%s\"", arg);
    if (i + 1 == argc) bad_option(argv[0], "%s needs a value", arg);
    const char *val = argv[++i];
    long number;
    if (strcmp(arg, "--bind") == 0) {
      bind_addr = val;
    } else if (strcmp(arg, "--port") == 0) {
      if ((number = parse_number(val, 65535)) < 0) bad_option(argv[0], "--port: not a port number: \"%s\"", val);
      port = (unsigned long)number;
    } else if (strcmp(arg, "--realm") == 0) {
      realm = val;
    } else if (strcmp(arg, "--nonce-lifetime") == 0) {
      if ((number = parse_number(val, LONG_MAX)) < 0)
        bad_option(argv[0], "--nonce-lifetime: not a number of seconds: \"%s\"", val);
      lifetime = (unsigned long)number;
    } else if (strcmp(arg, "--algorithms") == 0) {
      char why[160];
      const char *error = parse_algorithms(val, algorithms, &n_algorithms, why, sizeof why);
      if (error) bad_option(argv[0], "--algorithms \"%s\": %s", val, error);
    } else if (strcmp(arg, "--negotiate") == 0) {
      negotiate = val;
    } else if (strcmp(arg, "--allow-host") == 0) {
      if (n_hosts == MAX_USERS) bad_option(argv[0], "--allow-host: more than %d names", MAX_USERS);
      hosts[n_hosts++] = val;
    } else if (strcmp(arg, "--allow-origin") == 0) {
      if (n_origins == MAX_USERS) bad_option(argv[0], "--allow-origin: more than %d origins", MAX_USERS);
      origins[n_origins++] = val;
    } else {
      /* The value holds a password: only the name part is ever printed. */
      const char *colon = strchr(val, ':');
      if (!colon) bad_option(argv[0], "--user: expected NAME:PASSWORD, the value has no ':'");
      if (s.n_users == MAX_USERS)
        bad_option(argv[0], "--user \"%.*s\": more than %d users", (int)(colon - val), val, MAX_USERS);
      s.users[s.n_users++] = (struct user){val, (size_t)(colon - val), colon + 1};
    }
  }

  /* The engine: Negotiate and NTLM when asked for, Digest (the given algorithms), then
     Basic as the fallback challenge. */
  if (negotiate && !gss_init(&s.gss, negotiate)) return 1;
  authgate_config *config = NULL;
  /* The values the core refuses are named too (the core holds the rules, e.g. realm length). */
  authgate_result r = authgate_config_new(realm, strlen(realm), &config);
  if (r != AUTHGATE_RESULT_OK) {
    fprintf(stderr, "%s: --realm \"%s\": %s\n", argv[0], realm, authgate_result_message(r));
    return 2;
  }
  if ((r = authgate_config_set_nonce_lifetime(config, lifetime)) != AUTHGATE_RESULT_OK) {
    fprintf(stderr, "%s: --nonce-lifetime %lu: %s\n", argv[0], lifetime, authgate_result_message(r));
    authgate_config_free(config);
    return 2;
  }
  authgate_scheme schemes[4];
  size_t n_schemes = 0;
  if (negotiate) schemes[n_schemes++] = AUTHGATE_SCHEME_NEGOTIATE;
  if (ntlm) schemes[n_schemes++] = AUTHGATE_SCHEME_NTLM;
  schemes[n_schemes++] = AUTHGATE_SCHEME_DIGEST;
  schemes[n_schemes++] = AUTHGATE_SCHEME_BASIC;
  if (negotiate && ((r = authgate_config_set_negotiate_acceptor(config, gss_step, gss_closed, &s.gss)) != AUTHGATE_RESULT_OK ||
                    (r = authgate_config_bind_negotiate(config, bind_negotiate)) != AUTHGATE_RESULT_OK)) {
    authgate_config_free(config);
    return fail("negotiate", r);
  }
  if ((r = authgate_config_set_schemes(config, schemes, n_schemes)) != AUTHGATE_RESULT_OK ||
      (r = authgate_config_set_algorithms(config, algorithms, n_algorithms)) != AUTHGATE_RESULT_OK ||
      (r = authgate_config_set_credential_callback(config, lookup_user, &s)) != AUTHGATE_RESULT_OK ||
      (r = authgate_config_set_entropy_callback(config, entropy, NULL)) != AUTHGATE_RESULT_OK ||
      (r = authgate_config_set_refuse_cross_origin(config, refuse_cross_origin)) != AUTHGATE_RESULT_OK ||
      (r = authgate_config_set_allow_any_address(config, any_address)) != AUTHGATE_RESULT_OK) {
    authgate_config_free(config);
    return fail("config", r);
  }
  for (size_t i = 0; i < n_hosts; i++)
    if ((r = authgate_config_allow_host(config, hosts[i], strlen(hosts[i]))) != AUTHGATE_RESULT_OK) {
      authgate_config_free(config);
      fprintf(stderr, "--allow-host %s: ", hosts[i]);
      return fail("config", r);
    }
  for (size_t i = 0; i < n_origins; i++)
    if ((r = authgate_config_allow_origin(config, origins[i], strlen(origins[i]))) != AUTHGATE_RESULT_OK) {
      authgate_config_free(config);
      fprintf(stderr, "--allow-origin %s: ", origins[i]);
      return fail("config", r);
    }
  uint8_t key[AUTHGATE_KEY_LEN];
  if (entropy(NULL, key, sizeof key) != 0) {
    authgate_config_free(config);
    perror("getrandom");
    return 1;
  }
  r = authgate_engine_new(config, key, sizeof key, &s.engine);
  authgate_config_free(config);
  memset(key, 0, sizeof key);
  if (r != AUTHGATE_RESULT_OK) return fail("engine", r);

  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1) {
    fprintf(stderr, "--bind: not an IPv4 address: %s\n", bind_addr);
    authgate_engine_free(s.engine);
    return 2;
  }
  /* Block the stop signals before MHD starts its threads (they inherit the mask), so
     only sigwait() below receives them. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, handle, &s,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2,
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, &s,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "cannot listen on %s:%lu\n", bind_addr, port);
    authgate_engine_free(s.engine);
    return 1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  printf("listening on %s:%u\n", bind_addr, info ? (unsigned)info->port : (unsigned)port);
  fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);

  MHD_stop_daemon(d);
  authgate_engine_free(s.engine);
  if (negotiate) {
    OM_uint32 m;
    for (size_t i = 0; i < MAX_CONTEXTS; i++)
      if (s.gss.open[i].ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&m, &s.gss.open[i].ctx, GSS_C_NO_BUFFER);
    gss_release_cred(&m, &s.gss.cred);
  }
  fprintf(stderr, "stopped\n");
  return 0;
}
