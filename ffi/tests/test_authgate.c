/*
 * C tests of the authgate ABI: the shared vectors (tests/vectors/authgate.vectors), a full
 * Digest/Basic/Bearer round trip, NULL pointers, small buffers, invalid UTF-8, threads,
 * htpasswd/htdigest files written by Apache's own tools (apache2-utils), and NTLM and
 * Negotiate through authgate_engine_check_connection (a stand-in acceptor callback).
 *
 * Usage: test_authgate PATH/TO/authgate.vectors
 * Prints one line per failure and a closing "N passed, N failed"; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* mkdtemp */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authgate.h"

/* ---- a tiny harness: one case per vector or scenario -------------------------------- */

static int passed, failed;
static int case_ok;
static const char *case_name = "";

#define EXPECT(cond, ...)                                                            \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      case_ok = 0;                                                                   \
      fprintf(stderr, "FAIL [%s] %s:%d: %s: ", case_name, __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                                  \
      fputc('\n', stderr);                                                           \
    }                                                                                \
  } while (0)

#define EXPECT_RESULT(expr, want)                                                      \
  do {                                                                                 \
    authgate_result got_ = (expr);                                                     \
    EXPECT(got_ == (authgate_result)(want), "got %u (%s), want %u", (unsigned)got_,    \
           authgate_result_message(got_), (unsigned)(want));                           \
  } while (0)

static void case_begin(const char *name) {
  case_name = name;
  case_ok = 1;
}

static void case_end(void) {
  if (case_ok)
    passed++;
  else
    failed++;
}

#define STR(s) (s), strlen(s)
#define BYTES(s) (const uint8_t *)(s), strlen(s)

static const char *REALM = "testrealm@host.com";
static const char *TARGET = "/dir/index.html";
static const uint8_t KEY[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t SALT[8] = {9, 8, 7, 6, 5, 4, 3, 2};
static const uint64_t NOW = 1700000000;

/* ---- the vectors file ----------------------------------------------------------------- */

#define MAX_FIELDS 32

struct field {
  const char *key;
  char *val; /* unescaped in place; may hold NUL bytes */
  size_t len;
};

struct vector {
  struct field f[MAX_FIELDS];
  int n;
};

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Unescapes \\ \t \n \r \xHH in place; returns the new length. */
static size_t unescape(char *s, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\\' && i + 1 < len) {
      char c = s[i + 1];
      if (c == '\\') { s[o++] = '\\'; i++; continue; }
      if (c == 't') { s[o++] = '\t'; i++; continue; }
      if (c == 'n') { s[o++] = '\n'; i++; continue; }
      if (c == 'r') { s[o++] = '\r'; i++; continue; }
      if (c == 'x' && i + 3 < len && hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0) {
        s[o++] = (char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
        i += 3;
        continue;
      }
    }
    s[o++] = s[i];
  }
  return o;
}

/* Splits a line into fields; returns 0 for blank/comment lines. */
static int parse_vector(char *line, size_t len, struct vector *v) {
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
  if (len == 0 || line[0] == '#') return 0;
  v->n = 0;
  char *p = line, *end = line + len;
  while (p < end && v->n < MAX_FIELDS) {
    char *tab = memchr(p, '\t', (size_t)(end - p));
    char *fend = tab ? tab : end;
    *fend = 0;
    char *eq = memchr(p, '=', (size_t)(fend - p));
    if (eq) {
      *eq = 0;
      v->f[v->n].key = p;
      v->f[v->n].val = eq + 1;
      v->f[v->n].len = unescape(eq + 1, (size_t)(fend - eq - 1));
      v->f[v->n].val[v->f[v->n].len] = 0; /* convenience for printing; len is authoritative */
      v->n++;
    }
    p = fend + 1;
  }
  return 1;
}

static const struct field *get(const struct vector *v, const char *key) {
  for (int i = 0; i < v->n; i++)
    if (strcmp(v->f[i].key, key) == 0) return &v->f[i];
  return NULL;
}

/* ---- credential stores ---------------------------------------------------------------- */

struct user {
  const char *name;
  const uint8_t *password;
  size_t password_len;
};

struct users {
  const struct user *list;
  size_t n;
};

static void lookup_users(void *userdata, const char *username, size_t username_len, const char *realm,
                         size_t realm_len, authgate_purpose purpose, authgate_credential *out) {
  struct users *u = userdata;
  (void)realm;
  (void)purpose;
  if (strlen(username) != username_len || strlen(realm) != realm_len) return; /* NUL-terminated */
  for (size_t i = 0; i < u->n; i++) {
    if (strlen(u->list[i].name) == username_len && memcmp(u->list[i].name, username, username_len) == 0) {
      authgate_credential_set_plaintext(out, u->list[i].password, u->list[i].password_len);
      return;
    }
  }
}

static const struct user MUFASA[] = {{"Mufasa", (const uint8_t *)"Circle Of Life", 14}};

static uint8_t BEARER_DIGEST[32];

static void lookup_bearer(void *userdata, const uint8_t *token_sha256, authgate_user *out) {
  (void)userdata;
  if (memcmp(token_sha256, BEARER_DIGEST, 32) == 0) authgate_user_set_name(out, STR("robot"));
}

/* The vectors' fixed context: Digest SHA-256 + MD5, Basic, Bearer. */
static authgate_engine *vectors_engine(struct users *users) {
  authgate_config *config = NULL;
  authgate_engine *engine = NULL;
  const authgate_scheme schemes[] = {AUTHGATE_SCHEME_DIGEST, AUTHGATE_SCHEME_BASIC, AUTHGATE_SCHEME_BEARER};
  const authgate_algorithm algs[] = {AUTHGATE_ALGORITHM_SHA256, AUTHGATE_ALGORITHM_MD5};
  if (authgate_config_new(STR(REALM), &config) != AUTHGATE_RESULT_OK) return NULL;
  authgate_config_set_schemes(config, schemes, 3);
  authgate_config_set_algorithms(config, algs, 2);
  authgate_config_set_credential_callback(config, lookup_users, users);
  authgate_config_set_bearer_callback(config, lookup_bearer, NULL);
  authgate_engine_new(config, KEY, sizeof KEY, &engine);
  authgate_config_free(config);
  return engine;
}

/* ---- helpers -------------------------------------------------------------------------- */

static int extract_nonce(const char *challenge, char *nonce, size_t size) {
  const char *p = strstr(challenge, "nonce=\"");
  if (!p) return 0;
  p += 7;
  const char *q = strchr(p, '"');
  if (!q || (size_t)(q - p) >= size) return 0;
  memcpy(nonce, p, (size_t)(q - p));
  nonce[q - p] = 0;
  return 1;
}

/* A fresh nonce from a challenge of `engine`. */
static int fresh_nonce(const authgate_engine *engine, authgate_verdict *v, uint64_t now, char *nonce, size_t size) {
  static uint8_t salt[8];
  char buf[1024];
  size_t len = 0;
  for (int i = 0; i < 8 && ++salt[i] == 0; i++) {
  } /* a new salt per nonce, as a random source would give */
  if (authgate_engine_check(engine, STR("GET"), STR(TARGET), NULL, 0, now, salt, v) != AUTHGATE_RESULT_OK) return 0;
  if (authgate_engine_write_challenge(engine, v, 0, buf, sizeof buf, &len) != AUTHGATE_RESULT_OK) return 0;
  return extract_nonce(buf, nonce, size);
}

/* A complete Digest Authorization value, response computed through the ABI. */
static int digest_header(char *out, size_t size, const char *alg, const char *nonce, unsigned nc, const char *qop,
                         const char *password, const char *body) {
  char hex[256];
  size_t hex_len = 0;
  const char *fmt = "Digest username=\"Mufasa\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", algorithm=%s, "
                    "qop=%s, nc=%08x, cnonce=\"0a4f113b\", response=\"%s\"";
  int n = snprintf(out, size, fmt, REALM, nonce, TARGET, alg, qop, nc, "");
  if (n < 0 || (size_t)n >= size) return 0;
  if (authgate_digest_response((const uint8_t *)out, (size_t)n, STR("GET"), NULL, 0, BYTES(password),
                               (const uint8_t *)body, body ? strlen(body) : 0, hex, sizeof hex,
                               &hex_len) != AUTHGATE_RESULT_OK)
    return 0;
  n = snprintf(out, size, fmt, REALM, nonce, TARGET, alg, qop, nc, hex);
  return n > 0 && (size_t)n < size;
}

static authgate_result check(const authgate_engine *e, const char *header, uint64_t now, authgate_verdict *v) {
  return authgate_engine_check(e, STR("GET"), STR(TARGET), (const uint8_t *)header, header ? strlen(header) : 0, now,
                               SALT, v);
}

/* ---- vector cases --------------------------------------------------------------------- */

static void vector_malformed(const authgate_engine *engine, authgate_verdict *v, const struct vector *vec) {
  const struct field *header = get(vec, "header"), *expect = get(vec, "expect");
  EXPECT(header && expect, "missing header/expect");
  if (!header || !expect) return;
  int want = atoi(expect->val);
  authgate_result r = authgate_engine_check(engine, STR("GET"), STR(TARGET), (const uint8_t *)header->val,
                                            header->len, NOW, SALT, v);
  EXPECT_RESULT(r, AUTHGATE_RESULT_OK);
  uint16_t status = authgate_verdict_status(v);
  EXPECT(status == want, "status %u, vector expects %d (reason %u, error %s)", status, want,
         (unsigned)authgate_verdict_reason(v), authgate_result_message(authgate_verdict_error(v)));
  EXPECT(status != 200, "a malformed value authenticated");
  if (status == 400) {
    authgate_result e = authgate_verdict_error(v);
    EXPECT(authgate_result_is_malformed(e), "400 without a MALFORMED_* code: %u", (unsigned)e);
  } else if (status == 401) {
    char buf[1024];
    size_t len;
    for (size_t i = 0; i < authgate_engine_challenge_count(engine); i++)
      EXPECT_RESULT(authgate_engine_write_challenge(engine, v, i, buf, sizeof buf, &len), AUTHGATE_RESULT_OK);
  }
}

static void vector_digest(const struct vector *vec) {
  const struct field *header = get(vec, "header"), *method = get(vec, "method"), *user = get(vec, "username"),
                     *pw = get(vec, "password"), *resp = get(vec, "response"), *body = get(vec, "body");
  EXPECT(header && method && user && pw && resp, "incomplete digest vector");
  if (!(header && method && user && pw && resp)) return;
  char hex[129];
  size_t len = 0;
  EXPECT_RESULT(authgate_digest_response((const uint8_t *)header->val, header->len, method->val, method->len,
                                         (const uint8_t *)user->val, user->len, (const uint8_t *)pw->val, pw->len,
                                         body ? (const uint8_t *)body->val : NULL, body ? body->len : 0, hex,
                                         sizeof hex, &len),
                AUTHGATE_RESULT_OK);
  EXPECT(len == resp->len && memcmp(hex, resp->val, len) == 0, "response %s, want %s", hex, resp->val);
}

static void vector_basic(const struct vector *vec) {
  const struct field *header = get(vec, "header"), *user = get(vec, "username"), *pw = get(vec, "password");
  EXPECT(header && user && pw, "incomplete basic vector");
  if (!(header && user && pw)) return;
  /* The engine must decode the header to exactly this user and password. */
  struct user one = {user->val, (const uint8_t *)pw->val, pw->len};
  struct users users = {&one, 1};
  authgate_engine *engine = vectors_engine(&users);
  authgate_verdict *v = authgate_verdict_new();
  EXPECT(engine && v, "setup");
  if (engine && v) {
    EXPECT_RESULT(authgate_engine_check(engine, STR("GET"), STR(TARGET), (const uint8_t *)header->val, header->len,
                                        NOW, SALT, v),
                  AUTHGATE_RESULT_OK);
    EXPECT(authgate_verdict_status(v) == 200, "status %u reason %u", authgate_verdict_status(v),
           (unsigned)authgate_verdict_reason(v));
    const char *name = NULL;
    size_t name_len = 0;
    EXPECT_RESULT(authgate_verdict_user(v, &name, &name_len), AUTHGATE_RESULT_OK);
    EXPECT(name && name_len == user->len && memcmp(name, user->val, name_len) == 0 && name[name_len] == 0,
           "user mismatch");
    EXPECT(authgate_verdict_scheme(v) == AUTHGATE_SCHEME_BASIC, "scheme");
  }
  authgate_verdict_free(v);
  authgate_engine_free(engine);
}


/* kind=jwt: the verifier the vector describes, then the token through authgate_jwt_verify and
 * through an engine offering Bearer with that verifier. */
static authgate_jwt *vector_jwt_verifier(const struct vector *vec) {
  authgate_jwt *j = NULL;
  EXPECT_RESULT(authgate_jwt_new(&j), AUTHGATE_RESULT_OK);
  if (!j) return NULL;
  const struct field *jwks = get(vec, "jwks"), *algs = get(vec, "algorithms"), *iss = get(vec, "issuer"),
                     *aud = get(vec, "audience"), *leeway = get(vec, "leeway");
  size_t added = 0;
  EXPECT_RESULT(authgate_jwt_add_jwks(j, jwks->val, jwks->len, &added), AUTHGATE_RESULT_OK);
  EXPECT(added == 4, "%zu keys from the JWKS", added);
  authgate_jwt_algorithm list[16];
  size_t n = 0;
  for (const char *p = algs->val; *p && n < 16;) {
    size_t len = strcspn(p, ",");
    uint32_t a = authgate_jwt_algorithm_from_name(p, len);
    EXPECT(a != 0, "unknown algorithm %.*s", (int)len, p);
    list[n++] = (authgate_jwt_algorithm)a;
    p += len + (p[len] == ',');
  }
  EXPECT_RESULT(authgate_jwt_set_algorithms(j, list, n), AUTHGATE_RESULT_OK);
  if (iss) EXPECT_RESULT(authgate_jwt_set_issuer(j, iss->val, iss->len), AUTHGATE_RESULT_OK);
  if (aud) EXPECT_RESULT(authgate_jwt_add_audience(j, aud->val, aud->len), AUTHGATE_RESULT_OK);
  if (leeway) EXPECT_RESULT(authgate_jwt_set_leeway(j, strtoull(leeway->val, NULL, 10)), AUTHGATE_RESULT_OK);
  return j;
}

static void vector_jwt(const struct vector *vec) {
  const struct field *token = get(vec, "token"), *expect = get(vec, "expect"), *now_f = get(vec, "now"),
                     *sub = get(vec, "sub");
  EXPECT(token && expect && now_f, "missing token/expect/now");
  if (!token || !expect || !now_f) return;
  uint64_t now = strtoull(now_f->val, NULL, 10);
  int ok = strcmp(expect->val, "ok") == 0;
  authgate_jwt *j = vector_jwt_verifier(vec);
  if (!j) return;
  authgate_reason reason = AUTHGATE_REASON_OTHER;
  char claims[2048];
  size_t claims_len = 0;
  EXPECT_RESULT(authgate_jwt_verify(j, (const uint8_t *)token->val, token->len, now, &reason, claims, sizeof claims,
                                    &claims_len),
                AUTHGATE_RESULT_OK);
  if (ok) {
    EXPECT(reason == AUTHGATE_REASON_NONE, "refused: %s", authgate_reason_name(reason));
    EXPECT(claims_len > 2 && claims[0] == '{' && claims[claims_len - 1] == '}', "claims %s", claims);
  } else {
    EXPECT(strcmp(authgate_reason_name(reason), expect->val) == 0, "reason %s, vector expects %s",
           authgate_reason_name(reason), expect->val);
  }

  /* Through the engine: Bearer with this verifier. */
  authgate_config *config = NULL;
  EXPECT_RESULT(authgate_config_new(STR("hub"), &config), AUTHGATE_RESULT_OK);
  authgate_scheme schemes[] = {AUTHGATE_SCHEME_BEARER};
  EXPECT_RESULT(authgate_config_set_schemes(config, schemes, 1), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_jwt(config, j), AUTHGATE_RESULT_OK);
  authgate_engine *engine = NULL;
  EXPECT_RESULT(authgate_engine_new(config, KEY, sizeof KEY, &engine), AUTHGATE_RESULT_OK);
  authgate_config_free(config);
  authgate_jwt_free(j);
  if (!engine) return;
  static char header[8192];
  snprintf(header, sizeof header, "Bearer %s", token->val);
  authgate_verdict *v = authgate_verdict_new();
  EXPECT_RESULT(authgate_engine_check(engine, STR("GET"), STR("/"), BYTES(header), now, SALT, v), AUTHGATE_RESULT_OK);
  uint16_t status = authgate_verdict_status(v);
  int dots = 0;
  for (size_t i = 0; i < token->len; i++) dots += token->val[i] == '.';
  if (ok) {
    const char *user;
    size_t user_len;
    EXPECT(status == 200, "status %u, reason %s", status, authgate_reason_name(authgate_verdict_reason(v)));
    if (status == 200) {
      EXPECT_RESULT(authgate_verdict_user(v, &user, &user_len), AUTHGATE_RESULT_OK);
      EXPECT(sub && user_len == sub->len && memcmp(user, sub->val, user_len) == 0, "user %s", user);
    }
  } else if (status == 400) {
    /* Over the Bearer limit, or not a token68 ('=' inside): malformed before any JWT work. */
    EXPECT(token->len > 2048 || memchr(token->val, '=', token->len), "status 400");
  } else {
    const char *want = dots == 2 ? expect->val : "InvalidToken"; /* not a JWS: an opaque token */
    EXPECT(status == 401, "status %u", status);
    EXPECT(strcmp(authgate_reason_name(authgate_verdict_reason(v)), want) == 0, "reason %s, want %s",
           authgate_reason_name(authgate_verdict_reason(v)), want);
    char buf[1024];
    size_t len;
    EXPECT_RESULT(authgate_engine_write_challenge(engine, v, 0, buf, sizeof buf, &len), AUTHGATE_RESULT_OK);
    EXPECT(strncmp(buf, "Bearer realm=\"hub\", error=\"invalid_token\"", 41) == 0, "challenge %s", buf);
  }
  authgate_verdict_free(v);
  authgate_engine_free(engine);
}

/* kind=origin: the request's fields through authgate_engine_check_origin, under the policy the
   vector gives (hosts, origins: space-separated; refuse=0). */
static void add_each(authgate_config *config, const struct field *list,
                     authgate_result (*add)(authgate_config *, const char *, size_t)) {
  if (!list) return;
  const char *p = list->val, *end = list->val + list->len;
  while (p < end) {
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    size_t n = (size_t)((sp ? sp : end) - p);
    if (n > 0) EXPECT_RESULT(add(config, p, n), AUTHGATE_RESULT_OK);
    p += n + 1;
  }
}

static void vector_origin(const struct vector *vec) {
  const struct field *method = get(vec, "method"), *expect = get(vec, "expect"), *refuse = get(vec, "refuse"),
                     *addresses = get(vec, "addresses");
  EXPECT(method && expect, "missing method/expect");
  if (!method || !expect) return;
  authgate_config *config = NULL;
  EXPECT_RESULT(authgate_config_new(STR("r"), &config), AUTHGATE_RESULT_OK);
  if (!config) return;
  if (refuse) EXPECT_RESULT(authgate_config_set_refuse_cross_origin(config, strcmp(refuse->val, "0") != 0), AUTHGATE_RESULT_OK);
  if (addresses)
    EXPECT_RESULT(authgate_config_set_allow_any_address(config, strcmp(addresses->val, "1") == 0), AUTHGATE_RESULT_OK);
  add_each(config, get(vec, "hosts"), authgate_config_allow_host);
  add_each(config, get(vec, "origins"), authgate_config_allow_origin);
  authgate_engine *engine = NULL;
  EXPECT_RESULT(authgate_engine_new(config, KEY, sizeof KEY, &engine), AUTHGATE_RESULT_OK);
  authgate_config_free(config);
  if (!engine) return;
  authgate_origin_headers h = {0};
  const struct field *f;
  h.secure = (f = get(vec, "secure")) && strcmp(f->val, "1") == 0;
  if ((f = get(vec, "host"))) h.host = (const uint8_t *)f->val, h.host_len = f->len;
  if ((f = get(vec, "origin"))) h.origin = (const uint8_t *)f->val, h.origin_len = f->len;
  if ((f = get(vec, "site"))) h.sec_fetch_site = (const uint8_t *)f->val, h.sec_fetch_site_len = f->len;
  if ((f = get(vec, "referer"))) h.referer = (const uint8_t *)f->val, h.referer_len = f->len;
  authgate_refusal refusal = AUTHGATE_REFUSAL_OTHER;
  EXPECT_RESULT(authgate_engine_check_origin(engine, method->val, method->len, &h, &refusal), AUTHGATE_RESULT_OK);
  if (strcmp(expect->val, "ok") == 0) {
    EXPECT(refusal == AUTHGATE_REFUSAL_NONE, "refused: %s", authgate_refusal_message(refusal));
  } else {
    /* The vector names the core's refusal; the ABI's message is the core's text for it. */
    static const struct {
      const char *name;
      authgate_refusal refusal;
      uint16_t status;
    } names[] = {{"CrossOrigin", AUTHGATE_REFUSAL_CROSS_ORIGIN, 403},
                 {"ForeignHost", AUTHGATE_REFUSAL_FOREIGN_HOST, 421},
                 {"MalformedHost", AUTHGATE_REFUSAL_MALFORMED_HOST, 400},
                 {"MalformedOrigin", AUTHGATE_REFUSAL_MALFORMED_ORIGIN, 400},
                 {"MalformedFetchSite", AUTHGATE_REFUSAL_MALFORMED_FETCH_SITE, 400},
                 {"MalformedReferer", AUTHGATE_REFUSAL_MALFORMED_REFERER, 400}};
    int found = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
      if (strcmp(names[i].name, expect->val) != 0) continue;
      found = 1;
      EXPECT(refusal == names[i].refusal, "refusal %u (%s), vector expects %s", (unsigned)refusal,
             authgate_refusal_message(refusal), expect->val);
      EXPECT(authgate_refusal_status(refusal) == names[i].status, "status %u", authgate_refusal_status(refusal));
    }
    EXPECT(found, "unknown refusal %s in the vector", expect->val);
  }
  authgate_engine_free(engine);
}

static void run_vectors(const char *path) {
  FILE *f = fopen(path, "r");
  case_begin("vectors-file");
  EXPECT(f != NULL, "cannot open %s", path);
  case_end();
  if (!f) return;
  struct users users = {MUFASA, 1};
  authgate_engine *engine = vectors_engine(&users);
  authgate_verdict *v = authgate_verdict_new();
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int counts[5] = {0, 0, 0, 0, 0};
  static char name[256];
  while ((n = getline(&line, &cap, f)) >= 0) {
    struct vector vec;
    if (!parse_vector(line, (size_t)n, &vec)) continue;
    const struct field *kind = get(&vec, "kind"), *nm = get(&vec, "name");
    snprintf(name, sizeof name, "%s:%s", kind ? kind->val : "?", nm ? nm->val : "?");
    case_begin(name);
    if (!kind) {
      EXPECT(0, "no kind");
    } else if (strcmp(kind->val, "malformed") == 0) {
      vector_malformed(engine, v, &vec);
      counts[0]++;
    } else if (strcmp(kind->val, "digest") == 0) {
      vector_digest(&vec);
      counts[1]++;
    } else if (strcmp(kind->val, "basic") == 0) {
      vector_basic(&vec);
      counts[2]++;
    } else if (strcmp(kind->val, "jwt") == 0) {
      vector_jwt(&vec);
      counts[3]++;
    } else if (strcmp(kind->val, "origin") == 0) {
      vector_origin(&vec);
      counts[4]++;
    } else {
      EXPECT(0, "unknown kind %s", kind->val);
    }
    case_end();
  }
  free(line);
  fclose(f);
  authgate_verdict_free(v);
  authgate_engine_free(engine);
  printf("vectors: %d malformed, %d digest, %d basic, %d jwt, %d origin\n", counts[0], counts[1], counts[2], counts[3],
         counts[4]);
  case_begin("vectors-present");
  EXPECT(counts[0] > 0 && counts[1] > 0 && counts[2] > 0 && counts[3] > 0 && counts[4] > 0, "a kind is missing");
  case_end();
}

/* The origin check's ABI: NULL and invalid arguments, configuration errors, the repeated-field
   convention, and the refusal helpers. The rules themselves are the vectors'. */
static void test_origin_api(void) {
  case_begin("origin-api");
  authgate_config *config = NULL;
  EXPECT_RESULT(authgate_config_new(STR("device"), &config), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_allow_host(config, STR("device.local")), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_allow_host(config, STR("device.local:80")), AUTHGATE_RESULT_CONFIG_INVALID_HOST);
  EXPECT_RESULT(authgate_config_allow_host(config, STR("a b")), AUTHGATE_RESULT_CONFIG_INVALID_HOST);
  EXPECT_RESULT(authgate_config_allow_host(config, "\xff", 1), AUTHGATE_RESULT_INVALID_UTF8);
  EXPECT_RESULT(authgate_config_allow_host(NULL, STR("a")), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_allow_host(config, NULL, 0), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_allow_origin(config, STR("https://hub.example:8443")), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_allow_origin(config, STR("null")), AUTHGATE_RESULT_CONFIG_INVALID_ORIGIN);
  EXPECT_RESULT(authgate_config_allow_origin(config, STR("https://hub.example/")), AUTHGATE_RESULT_CONFIG_INVALID_ORIGIN);
  EXPECT_RESULT(authgate_config_set_refuse_cross_origin(NULL, true), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_set_allow_any_address(NULL, true), AUTHGATE_RESULT_NULL_PARAMETER);
  /* The list is bounded: names until CONFIG_TOO_MANY, never more. */
  authgate_result r = AUTHGATE_RESULT_OK;
  int added = 0;
  for (int i = 0; i < 1000 && r == AUTHGATE_RESULT_OK; i++) {
    char name[64];
    snprintf(name, sizeof name, "name-%d.example", i);
    r = authgate_config_allow_host(config, STR(name));
    added += r == AUTHGATE_RESULT_OK;
  }
  EXPECT(r == AUTHGATE_RESULT_CONFIG_TOO_MANY && added > 50, "%s after %d names", authgate_result_message(r), added);
  authgate_engine *engine = NULL;
  EXPECT_RESULT(authgate_engine_new(config, KEY, sizeof KEY, &engine), AUTHGATE_RESULT_OK);
  authgate_config_free(config);

  authgate_origin_headers h = {0};
  authgate_refusal refusal = AUTHGATE_REFUSAL_OTHER;
  h.host = (const uint8_t *)"device.local";
  h.host_len = strlen("device.local");
  h.origin = (const uint8_t *)"https://hub.example:8443";
  h.origin_len = strlen("https://hub.example:8443");
  EXPECT_RESULT(authgate_engine_check_origin(engine, STR("POST"), &h, &refusal), AUTHGATE_RESULT_OK);
  EXPECT(refusal == AUTHGATE_REFUSAL_NONE, "allowed origin refused: %u", (unsigned)refusal);
  /* A repeated Origin: non-NULL, length 0. */
  h.origin_len = 0;
  EXPECT_RESULT(authgate_engine_check_origin(engine, STR("POST"), &h, &refusal), AUTHGATE_RESULT_OK);
  EXPECT(refusal == AUTHGATE_REFUSAL_MALFORMED_ORIGIN && authgate_refusal_status(refusal) == 400, "repeated origin: %u",
         (unsigned)refusal);
  h.origin = NULL;
  h.host = (const uint8_t *)"evil.example";
  h.host_len = strlen("evil.example");
  EXPECT_RESULT(authgate_engine_check_origin(engine, STR("GET"), &h, &refusal), AUTHGATE_RESULT_OK);
  EXPECT(refusal == AUTHGATE_REFUSAL_FOREIGN_HOST && authgate_refusal_status(refusal) == 421, "foreign host: %u",
         (unsigned)refusal);
  EXPECT(strcmp(authgate_refusal_message(refusal), "Host is not one of this server's names") == 0, "message %s",
         authgate_refusal_message(refusal));
  /* NULL arguments: a result, and no refusal left behind. */
  EXPECT_RESULT(authgate_engine_check_origin(NULL, STR("GET"), &h, &refusal), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT(refusal == AUTHGATE_REFUSAL_NONE, "refusal after an error: %u", (unsigned)refusal);
  EXPECT_RESULT(authgate_engine_check_origin(engine, NULL, 0, &h, &refusal), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_check_origin(engine, STR("GET"), NULL, &refusal), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_check_origin(engine, STR("GET"), &h, NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_check_origin(engine, "\xff", 1, &h, &refusal), AUTHGATE_RESULT_INVALID_UTF8);
  h.host_len = (size_t)PTRDIFF_MAX + 1;
  EXPECT_RESULT(authgate_engine_check_origin(engine, STR("GET"), &h, &refusal), AUTHGATE_RESULT_INVALID_ARGUMENT);
  EXPECT(authgate_refusal_status(AUTHGATE_REFUSAL_NONE) == 0 && authgate_refusal_status(12345) == 0, "status of none");
  EXPECT(strcmp(authgate_refusal_message(12345), "unknown refusal") == 0, "unknown message");
  authgate_engine_free(engine);
  case_end();
}

/* ---- scenarios ------------------------------------------------------------------------ */

static void test_round_trips(void) {
  struct users users = {MUFASA, 1};
  authgate_config *config = NULL;
  authgate_engine *engine = NULL;
  const authgate_algorithm all[] = {AUTHGATE_ALGORITHM_SHA256,      AUTHGATE_ALGORITHM_MD5,
                                    AUTHGATE_ALGORITHM_SHA512_256,  AUTHGATE_ALGORITHM_SHA256_SESS,
                                    AUTHGATE_ALGORITHM_MD5_SESS,    AUTHGATE_ALGORITHM_SHA512_256_SESS};
  const char *names[] = {"SHA-256", "MD5", "SHA-512-256", "SHA-256-sess", "MD5-sess", "SHA-512-256-sess"};
  authgate_verdict *v = authgate_verdict_new();
  char nonce[128], header[1024], buf[1024];
  size_t len;

  case_begin("digest-round-trip-setup");
  EXPECT_RESULT(authgate_config_new(STR(REALM), &config), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_algorithms(config, all, 6), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_qop(config, true, true), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_credential_callback(config, lookup_users, &users), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_engine_new(config, KEY, sizeof KEY, &engine), AUTHGATE_RESULT_OK);
  authgate_config_free(config);
  EXPECT(engine && v, "setup");
  EXPECT(authgate_engine_challenge_count(engine) == 7, "count %zu", authgate_engine_challenge_count(engine));
  case_end();
  if (!engine || !v) goto out;

  for (int i = 0; i < 6; i++) {
    static char name[64];
    snprintf(name, sizeof name, "digest-round-trip-%s", names[i]);
    case_begin(name);
    EXPECT(fresh_nonce(engine, v, NOW, nonce, sizeof nonce), "no nonce");
    EXPECT(digest_header(header, sizeof header, names[i], nonce, 1, "auth", "Circle Of Life", NULL), "header");
    EXPECT_RESULT(check(engine, header, NOW, v), AUTHGATE_RESULT_OK);
    EXPECT(authgate_verdict_get_kind(v) == AUTHGATE_VERDICT_KIND_AUTHENTICATED, "kind %u reason %u",
           (unsigned)authgate_verdict_get_kind(v), (unsigned)authgate_verdict_reason(v));
    EXPECT(authgate_verdict_scheme(v) == AUTHGATE_SCHEME_DIGEST, "scheme");
    const char *user = NULL;
    size_t user_len = 0;
    EXPECT_RESULT(authgate_verdict_user(v, &user, &user_len), AUTHGATE_RESULT_OK);
    EXPECT(user_len == 6 && user && strcmp(user, "Mufasa") == 0, "user");
    EXPECT_RESULT(authgate_engine_write_authentication_info(engine, v, buf, sizeof buf, &len), AUTHGATE_RESULT_OK);
    EXPECT(strstr(buf, "rspauth=\"") == buf && strstr(buf, "nc=00000001") && len == strlen(buf), "auth-info %s", buf);
    /* The same (nonce, nc) again: replayed. */
    EXPECT_RESULT(check(engine, header, NOW, v), AUTHGATE_RESULT_OK);
    EXPECT(authgate_verdict_status(v) == 401 && authgate_verdict_reason(v) == AUTHGATE_REASON_REPLAYED, "replay");
    /* The next nc: fine. */
    EXPECT(digest_header(header, sizeof header, names[i], nonce, 2, "auth", "Circle Of Life", NULL), "header");
    EXPECT_RESULT(check(engine, header, NOW + 1, v), AUTHGATE_RESULT_OK);
    EXPECT(authgate_verdict_status(v) == 200, "nc 2: %u", authgate_verdict_status(v));
    /* Wrong password. */
    EXPECT(digest_header(header, sizeof header, names[i], nonce, 3, "auth", "circle of life", NULL), "header");
    EXPECT_RESULT(check(engine, header, NOW, v), AUTHGATE_RESULT_OK);
    EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_BAD_CREDENTIALS && !authgate_verdict_stale(v), "bad pw");
    /* Expired nonce with the right password: stale=true in every Digest challenge. */
    EXPECT(digest_header(header, sizeof header, names[i], nonce, 4, "auth", "Circle Of Life", NULL), "header");
    EXPECT_RESULT(check(engine, header, NOW + 301, v), AUTHGATE_RESULT_OK);
    EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_STALE_NONCE && authgate_verdict_stale(v), "stale");
    EXPECT_RESULT(authgate_engine_write_challenge(engine, v, 0, buf, sizeof buf, &len), AUTHGATE_RESULT_OK);
    EXPECT(strstr(buf, "stale=true") != NULL, "challenge %s", buf);
    /* qop=auth-int with the body. */
    EXPECT(digest_header(header, sizeof header, names[i], nonce, 5, "auth-int", "Circle Of Life", "{\"on\":true}"),
           "header");
    EXPECT_RESULT(authgate_engine_check_body(engine, STR("GET"), STR(TARGET), BYTES(header), BYTES("{\"on\":true}"),
                                             NOW, SALT, v),
                  AUTHGATE_RESULT_OK);
    EXPECT(authgate_verdict_status(v) == 200, "auth-int: %u reason %u", authgate_verdict_status(v),
           (unsigned)authgate_verdict_reason(v));
    /* ... and without it: challenged. */
    EXPECT(digest_header(header, sizeof header, names[i], nonce, 6, "auth-int", "Circle Of Life", "{\"on\":true}"),
           "header");
    EXPECT_RESULT(check(engine, header, NOW, v), AUTHGATE_RESULT_OK);
    EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_BODY_UNAVAILABLE, "no body: %u",
           (unsigned)authgate_verdict_reason(v));
    case_end();
  }

  case_begin("digest-nextnonce-past-half-life");
  EXPECT(fresh_nonce(engine, v, NOW, nonce, sizeof nonce), "no nonce");
  EXPECT(digest_header(header, sizeof header, "SHA-256", nonce, 1, "auth", "Circle Of Life", NULL), "header");
  EXPECT_RESULT(check(engine, header, NOW + 200, v), AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_status(v) == 200, "status");
  EXPECT_RESULT(authgate_engine_write_authentication_info(engine, v, buf, sizeof buf, &len), AUTHGATE_RESULT_OK);
  EXPECT(strstr(buf, "nextnonce=\"") != NULL, "auth-info %s", buf);
  case_end();

  case_begin("digest-uri-mismatch-is-400");
  EXPECT(fresh_nonce(engine, v, NOW, nonce, sizeof nonce), "no nonce");
  EXPECT(digest_header(header, sizeof header, "SHA-256", nonce, 1, "auth", "Circle Of Life", NULL), "header");
  EXPECT_RESULT(authgate_engine_check(engine, STR("GET"), STR("/other"), BYTES(header), NOW, SALT, v),
                AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_status(v) == 400 && authgate_verdict_error(v) == AUTHGATE_RESULT_MALFORMED_URI_MISMATCH,
         "status %u", authgate_verdict_status(v));
  case_end();

  case_begin("digest-foreign-nonce");
  EXPECT(digest_header(header, sizeof header, "SHA-256", "dcd98b7102dd2f0e8b11d0f600bfb0c093", 1, "auth",
                       "Circle Of Life", NULL),
         "header");
  EXPECT_RESULT(check(engine, header, NOW, v), AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_INVALID_NONCE, "reason %u", (unsigned)authgate_verdict_reason(v));
  case_end();

out:
  authgate_verdict_free(v);
  authgate_engine_free(engine);
}

/* Stored credential forms through the callback. */
struct forms {
  int form; /* 0 HA1 hex (SHA-256), 1 raw HA1 (MD5), 2 PBKDF2 */
  char ha1_hex[65];
  uint8_t md5[16];
  uint8_t pbkdf2[32];
};

static void lookup_forms(void *userdata, const char *username, size_t username_len, const char *realm,
                         size_t realm_len, authgate_purpose purpose, authgate_credential *out) {
  struct forms *f = userdata;
  (void)realm;
  (void)realm_len;
  (void)purpose;
  if (username_len != 6 || memcmp(username, "Mufasa", 6) != 0) return;
  if (f->form == 0) authgate_credential_set_ha1_hex(out, AUTHGATE_HASH_SHA256, f->ha1_hex, 64);
  if (f->form == 1) authgate_credential_set_ha1(out, AUTHGATE_HASH_MD5, f->md5, 16);
  if (f->form == 2) authgate_credential_set_pbkdf2_sha256(out, 1000, BYTES("salt"), f->pbkdf2, 32);
}

static void test_credential_forms(void) {
  struct forms forms;
  authgate_config *config = NULL;
  authgate_engine *engine = NULL;
  authgate_verdict *v = authgate_verdict_new();
  char nonce[128], header[1024], md5hex[33];
  size_t len;
  memset(&forms, 0, sizeof forms);

  case_begin("credential-forms-setup");
  EXPECT_RESULT(authgate_digest_ha1_hex(AUTHGATE_HASH_SHA256, BYTES("Mufasa"), BYTES(REALM), BYTES("Circle Of Life"),
                                        forms.ha1_hex, sizeof forms.ha1_hex, &len),
                AUTHGATE_RESULT_OK);
  EXPECT(len == 64, "len %zu", len);
  EXPECT_RESULT(authgate_digest_ha1_hex(AUTHGATE_HASH_MD5, BYTES("Mufasa"), BYTES(REALM), BYTES("Circle Of Life"),
                                        md5hex, sizeof md5hex, &len),
                AUTHGATE_RESULT_OK);
  /* RFC 2617's HA1 for Mufasa. */
  EXPECT(strcmp(md5hex, "939e7578ed9e3c518a452acee763bce9") == 0, "md5 ha1 %s", md5hex);
  for (int i = 0; i < 16; i++) forms.md5[i] = (uint8_t)(hexval(md5hex[2 * i]) * 16 + hexval(md5hex[2 * i + 1]));
  EXPECT_RESULT(authgate_pbkdf2_sha256(BYTES("Circle Of Life"), BYTES("salt"), 1000, forms.pbkdf2), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_new(STR(REALM), &config), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_credential_callback(config, lookup_forms, &forms), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_engine_new(config, KEY, sizeof KEY, &engine), AUTHGATE_RESULT_OK);
  authgate_config_free(config);
  case_end();
  if (!engine || !v) goto out;

  const char *basic = "Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl";
  const char *basic_wrong = "Basic TXVmYXNhOmNpcmNsZSBvZiBsaWZl"; /* Mufasa:circle of life */

  case_begin("credential-ha1-hex-sha256");
  forms.form = 0;
  EXPECT(fresh_nonce(engine, v, NOW, nonce, sizeof nonce), "nonce");
  EXPECT(digest_header(header, sizeof header, "SHA-256", nonce, 1, "auth", "Circle Of Life", NULL), "header");
  check(engine, header, NOW, v);
  EXPECT(authgate_verdict_status(v) == 200, "digest sha-256 with sha-256 ha1");
  EXPECT(digest_header(header, sizeof header, "MD5", nonce, 2, "auth", "Circle Of Life", NULL), "header");
  check(engine, header, NOW, v);
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_CREDENTIAL_UNUSABLE, "md5 with a sha-256 ha1: %u",
         (unsigned)authgate_verdict_reason(v));
  check(engine, basic, NOW, v);
  EXPECT(authgate_verdict_status(v) == 200, "basic with ha1");
  check(engine, basic_wrong, NOW, v);
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_BAD_CREDENTIALS, "basic wrong");
  case_end();

  case_begin("credential-ha1-raw-md5");
  forms.form = 1;
  EXPECT(fresh_nonce(engine, v, NOW, nonce, sizeof nonce), "nonce");
  EXPECT(digest_header(header, sizeof header, "MD5", nonce, 1, "auth", "Circle Of Life", NULL), "header");
  check(engine, header, NOW, v);
  EXPECT(authgate_verdict_status(v) == 200, "digest md5 with md5 ha1");
  case_end();

  case_begin("credential-pbkdf2-basic-only");
  forms.form = 2;
  check(engine, basic, NOW, v);
  EXPECT(authgate_verdict_status(v) == 200, "basic with pbkdf2: reason %u", (unsigned)authgate_verdict_reason(v));
  check(engine, basic_wrong, NOW, v);
  EXPECT(authgate_verdict_status(v) == 401, "basic wrong with pbkdf2");
  EXPECT(fresh_nonce(engine, v, NOW, nonce, sizeof nonce), "nonce");
  EXPECT(digest_header(header, sizeof header, "SHA-256", nonce, 1, "auth", "Circle Of Life", NULL), "header");
  check(engine, header, NOW, v);
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_CREDENTIAL_UNUSABLE, "digest with pbkdf2");
  case_end();

  case_begin("credential-setter-errors");
  {
    /* The setters validate; calling them outside a callback needs a credential object,
       which only the engine creates: exercise the NULL paths here. */
    EXPECT_RESULT(authgate_credential_set_plaintext(NULL, BYTES("x")), AUTHGATE_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(authgate_credential_set_ha1(NULL, AUTHGATE_HASH_MD5, forms.md5, 16), AUTHGATE_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(authgate_credential_set_ha1_hex(NULL, AUTHGATE_HASH_MD5, md5hex, 32), AUTHGATE_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(authgate_credential_set_pbkdf2_sha256(NULL, 1, BYTES("s"), forms.pbkdf2, 32),
                  AUTHGATE_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(authgate_user_set_name(NULL, STR("x")), AUTHGATE_RESULT_NULL_PARAMETER);
  }
  case_end();
out:
  authgate_verdict_free(v);
  authgate_engine_free(engine);
}

/* Setter validation inside a real callback. */
static authgate_result setter_results[6];

static void lookup_bad_setters(void *userdata, const char *username, size_t username_len, const char *realm,
                               size_t realm_len, authgate_purpose purpose, authgate_credential *out) {
  (void)userdata, (void)username, (void)username_len, (void)realm, (void)realm_len, (void)purpose;
  static const uint8_t long_pw[129] = {0};
  static const uint8_t h[32] = {0};
  setter_results[0] = authgate_credential_set_plaintext(out, long_pw, sizeof long_pw);
  setter_results[1] = authgate_credential_set_ha1(out, AUTHGATE_HASH_MD5, h, 32);
  setter_results[2] = authgate_credential_set_ha1_hex(out, AUTHGATE_HASH_SHA256, "zz", 2);
  setter_results[3] = authgate_credential_set_pbkdf2_sha256(out, 0, h, 4, h, 32);
  setter_results[4] = authgate_credential_set_ha1(out, 77, h, 16);
  setter_results[5] = authgate_credential_set_plaintext(out, NULL, 0);
}

static void test_setter_validation(void) {
  authgate_config *config = NULL;
  authgate_engine *engine = NULL;
  authgate_verdict *v = authgate_verdict_new();
  case_begin("credential-setter-validation");
  authgate_config_new(STR(REALM), &config);
  authgate_config_set_credential_callback(config, lookup_bad_setters, NULL);
  authgate_engine_new(config, KEY, sizeof KEY, &engine);
  authgate_config_free(config);
  check(engine, "Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl", NOW, v);
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_UNKNOWN_USER, "no valid credential set = unknown user");
  EXPECT(setter_results[0] == AUTHGATE_RESULT_INVALID_CREDENTIAL, "long plaintext");
  EXPECT(setter_results[1] == AUTHGATE_RESULT_INVALID_CREDENTIAL, "md5 ha1 of 32 bytes");
  EXPECT(setter_results[2] == AUTHGATE_RESULT_INVALID_CREDENTIAL, "bad hex");
  EXPECT(setter_results[3] == AUTHGATE_RESULT_INVALID_CREDENTIAL, "zero iterations");
  EXPECT(setter_results[4] == AUTHGATE_RESULT_INVALID_ARGUMENT, "unknown hash");
  EXPECT(setter_results[5] == AUTHGATE_RESULT_NULL_PARAMETER, "NULL password");
  case_end();
  authgate_verdict_free(v);
  authgate_engine_free(engine);
}

static void test_bearer(void) {
  struct users users = {MUFASA, 1};
  authgate_engine *engine = vectors_engine(&users);
  authgate_verdict *v = authgate_verdict_new();
  case_begin("bearer");
  EXPECT_RESULT(authgate_token_digest(BYTES("mF_9.B5f-4.1JqM"), BEARER_DIGEST), AUTHGATE_RESULT_OK);
  check(engine, "Bearer mF_9.B5f-4.1JqM", NOW, v);
  EXPECT(authgate_verdict_status(v) == 200 && authgate_verdict_scheme(v) == AUTHGATE_SCHEME_BEARER, "known token");
  const char *name = NULL;
  size_t len = 0;
  authgate_verdict_user(v, &name, &len);
  EXPECT(name && len == 5 && strcmp(name, "robot") == 0, "owner");
  check(engine, "Bearer nope", NOW, v);
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_INVALID_TOKEN, "unknown token");
  char buf[1024];
  EXPECT_RESULT(authgate_engine_write_challenge(engine, v, 3, buf, sizeof buf, &len), AUTHGATE_RESULT_OK);
  EXPECT(strncmp(buf, "Bearer ", 7) == 0 && strstr(buf, "invalid_token"), "bearer challenge %s", buf);
  case_end();
  authgate_verdict_free(v);
  authgate_engine_free(engine);
}

static void test_challenges_and_buffers(void) {
  struct users users = {MUFASA, 1};
  authgate_engine *engine = vectors_engine(&users);
  authgate_verdict *v = authgate_verdict_new();
  char buf[2048], small[8];
  size_t len = 12345, total = 0;

  case_begin("challenges");
  check(engine, NULL, NOW, v);
  EXPECT(authgate_verdict_get_kind(v) == AUTHGATE_VERDICT_KIND_CHALLENGE, "kind");
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_NO_CREDENTIALS, "reason");
  EXPECT(authgate_verdict_status(v) == 401, "status");
  EXPECT(authgate_engine_challenge_count(engine) == 4, "count");
  const char *prefix[] = {"Digest realm=\"testrealm@host.com\", qop=\"auth\", algorithm=SHA-256, nonce=\"",
                          "Digest realm=\"testrealm@host.com\", qop=\"auth\", algorithm=MD5, nonce=\"",
                          "Basic realm=\"testrealm@host.com\", charset=\"UTF-8\"", "Bearer realm=\"testrealm@host.com\""};
  for (size_t i = 0; i < 4; i++) {
    EXPECT_RESULT(authgate_engine_write_challenge(engine, v, i, buf, sizeof buf, &len), AUTHGATE_RESULT_OK);
    EXPECT(strncmp(buf, prefix[i], strlen(prefix[i])) == 0 && len == strlen(buf), "challenge %zu: %s", i, buf);
    total += len + (i ? 2 : 0);
  }
  EXPECT_RESULT(authgate_engine_write_challenge(engine, v, 4, buf, sizeof buf, &len), AUTHGATE_RESULT_INVALID_ARGUMENT);
  EXPECT_RESULT(authgate_engine_write_challenges(engine, v, buf, sizeof buf, &len), AUTHGATE_RESULT_OK);
  EXPECT(len == total && strlen(buf) == len && strstr(buf, ", Basic realm="), "joined %s", buf);
  case_end();

  case_begin("small-buffers");
  size_t need = 0;
  EXPECT_RESULT(authgate_engine_write_challenge(engine, v, 0, NULL, 0, &need), AUTHGATE_RESULT_BUFFER_TOO_SMALL);
  EXPECT(need > 0, "size query");
  char *exact = malloc(need + 1);
  EXPECT(exact != NULL, "malloc");
  if (exact) {
    memset(exact, 'x', need + 1);
    EXPECT_RESULT(authgate_engine_write_challenge(engine, v, 0, exact, need, &len), AUTHGATE_RESULT_BUFFER_TOO_SMALL);
    EXPECT(len == need && exact[0] == 0, "one byte short: len %zu", len);
    EXPECT_RESULT(authgate_engine_write_challenge(engine, v, 0, exact, need + 1, &len), AUTHGATE_RESULT_OK);
    EXPECT(len == need && exact[need] == 0 && strlen(exact) == need, "exact fit");
    free(exact);
  }
  memset(small, 'x', sizeof small);
  EXPECT_RESULT(authgate_engine_write_challenges(engine, v, small, sizeof small, &len), AUTHGATE_RESULT_BUFFER_TOO_SMALL);
  EXPECT(len == total && small[0] == 0 && small[7] == 'x', "joined too small: %zu", len);
  EXPECT_RESULT(authgate_engine_write_challenges(engine, v, NULL, 0, &len), AUTHGATE_RESULT_BUFFER_TOO_SMALL);
  EXPECT(len == total, "joined size query");
  EXPECT_RESULT(authgate_engine_write_challenge(engine, v, 0, NULL, 5, &len), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_write_challenge(engine, v, 0, buf, sizeof buf, NULL), AUTHGATE_RESULT_NULL_PARAMETER);

  /* Authentication-Info into a small buffer, then the right size. */
  char nonce[128], header[1024];
  EXPECT(fresh_nonce(engine, v, NOW, nonce, sizeof nonce), "nonce");
  EXPECT(digest_header(header, sizeof header, "SHA-256", nonce, 1, "auth", "Circle Of Life", NULL), "header");
  check(engine, header, NOW, v);
  EXPECT(authgate_verdict_status(v) == 200, "status");
  EXPECT_RESULT(authgate_engine_write_authentication_info(engine, v, small, sizeof small, &need),
                AUTHGATE_RESULT_BUFFER_TOO_SMALL);
  EXPECT_RESULT(authgate_engine_write_authentication_info(engine, v, buf, need + 1, &len), AUTHGATE_RESULT_OK);
  EXPECT(len == need && strlen(buf) == len, "auth-info exact");
  /* Challenges of an authenticated verdict: wrong kind. */
  EXPECT_RESULT(authgate_engine_write_challenge(engine, v, 0, buf, sizeof buf, &len), AUTHGATE_RESULT_WRONG_VERDICT);
  /* Basic has no Authentication-Info: an empty value. */
  check(engine, "Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl", NOW, v);
  EXPECT_RESULT(authgate_engine_write_authentication_info(engine, v, buf, sizeof buf, &len), AUTHGATE_RESULT_OK);
  EXPECT(len == 0 && buf[0] == 0, "basic auth-info empty");
  EXPECT_RESULT(authgate_engine_write_authentication_info(engine, v, NULL, 0, &len), AUTHGATE_RESULT_BUFFER_TOO_SMALL);
  EXPECT(len == 0, "empty value still needs its NUL");

  /* Digest response helper: too small. */
  EXPECT_RESULT(authgate_digest_response(BYTES(header), STR("GET"), NULL, 0, BYTES("x"), NULL, 0, small, sizeof small,
                                         &len),
                AUTHGATE_RESULT_BUFFER_TOO_SMALL);
  EXPECT(len == 64, "sha-256 hex is 64: %zu", len);
  case_end();

  case_begin("verdict-user-not-authenticated");
  check(engine, NULL, NOW, v);
  const char *name = (const char *)1;
  len = 77;
  EXPECT_RESULT(authgate_verdict_user(v, &name, &len), AUTHGATE_RESULT_WRONG_VERDICT);
  EXPECT(name == (const char *)1 && len == 77, "outputs untouched");
  EXPECT_RESULT(authgate_engine_write_authentication_info(engine, v, buf, sizeof buf, &len),
                AUTHGATE_RESULT_WRONG_VERDICT);
  EXPECT(authgate_verdict_scheme(v) == AUTHGATE_SCHEME_NONE, "scheme none");
  EXPECT(authgate_verdict_error(v) == AUTHGATE_RESULT_OK, "no error");
  case_end();

  authgate_verdict_free(v);
  authgate_engine_free(engine);
}

static int entropy_calls;
static int32_t entropy_ok(void *userdata, uint8_t *out, size_t len) {
  (void)userdata;
  entropy_calls++;
  for (size_t i = 0; i < len; i++) out[i] = (uint8_t)(i * 7 + (size_t)entropy_calls);
  return 0;
}
static int32_t entropy_fail(void *userdata, uint8_t *out, size_t len) {
  (void)userdata, (void)out, (void)len;
  return -1;
}

static void test_null_and_invalid_arguments(void) {
  struct users users = {MUFASA, 1};
  authgate_engine *engine = vectors_engine(&users);
  authgate_verdict *v = authgate_verdict_new();
  authgate_config *config = NULL;
  authgate_engine *e2 = NULL;
  char buf[256];
  size_t len;

  case_begin("null-pointers");
  EXPECT_RESULT(authgate_config_new(NULL, 0, &config), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_new(STR(REALM), NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT(config == NULL, "untouched on failure");
  EXPECT_RESULT(authgate_config_set_schemes(NULL, NULL, 0), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_set_algorithms(NULL, NULL, 0), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_set_qop(NULL, true, false), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_set_nonce_lifetime(NULL, 1), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_set_max_clock_skew(NULL, 1), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_allow_rfc2069(NULL, true), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_set_opaque(NULL, STR("x")), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_set_previous_key(NULL, KEY, 32), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_set_credential_callback(NULL, NULL, NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_set_bearer_callback(NULL, NULL, NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_set_entropy_callback(NULL, NULL, NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_new(NULL, KEY, 32, &e2), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_check(NULL, STR("GET"), STR(TARGET), NULL, 0, NOW, SALT, v),
                AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT(authgate_verdict_get_kind(v) == AUTHGATE_VERDICT_KIND_NONE && authgate_verdict_status(v) == 0,
         "verdict cleared on error");
  EXPECT_RESULT(authgate_engine_check(engine, NULL, 3, STR(TARGET), NULL, 0, NOW, SALT, v),
                AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_check(engine, STR("GET"), NULL, 0, NULL, 0, NOW, SALT, v),
                AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_check(engine, STR("GET"), STR(TARGET), NULL, 0, NOW, SALT, NULL),
                AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_check_body(engine, STR("GET"), STR(TARGET), NULL, 0, NULL, 5, NOW, SALT, v),
                AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT(authgate_engine_challenge_count(NULL) == 0, "count");
  EXPECT_RESULT(authgate_engine_write_challenge(NULL, v, 0, buf, sizeof buf, &len), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_write_challenge(engine, NULL, 0, buf, sizeof buf, &len),
                AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_write_challenges(NULL, v, buf, sizeof buf, &len), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_write_authentication_info(engine, NULL, buf, sizeof buf, &len),
                AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_purge_expired(NULL, NOW), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT(authgate_verdict_get_kind(NULL) == AUTHGATE_VERDICT_KIND_NONE, "kind");
  EXPECT(authgate_verdict_status(NULL) == 0, "status");
  EXPECT(authgate_verdict_reason(NULL) == AUTHGATE_REASON_NONE, "reason");
  EXPECT(!authgate_verdict_stale(NULL), "stale");
  EXPECT(authgate_verdict_error(NULL) == AUTHGATE_RESULT_OK, "error");
  EXPECT(authgate_verdict_scheme(NULL) == AUTHGATE_SCHEME_NONE, "scheme");
  EXPECT_RESULT(authgate_verdict_user(NULL, NULL, NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_digest_response(NULL, 0, STR("GET"), NULL, 0, BYTES("x"), NULL, 0, buf, sizeof buf, &len),
                AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_digest_ha1_hex(AUTHGATE_HASH_MD5, NULL, 0, BYTES("r"), BYTES("p"), buf, sizeof buf, &len),
                AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_token_digest(BYTES("t"), NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_pbkdf2_sha256(BYTES("p"), BYTES("s"), 1, NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  authgate_config_free(NULL);
  authgate_engine_free(NULL);
  authgate_verdict_free(NULL);
  case_end();

  case_begin("invalid-arguments");
  const uint8_t bad_utf8[] = {'G', 0xff, 'T'};
  EXPECT_RESULT(authgate_engine_check(engine, (const char *)bad_utf8, 3, STR(TARGET), NULL, 0, NOW, SALT, v),
                AUTHGATE_RESULT_INVALID_UTF8);
  EXPECT_RESULT(authgate_engine_check(engine, STR("GET"), (const char *)bad_utf8, 3, NULL, 0, NOW, SALT, v),
                AUTHGATE_RESULT_INVALID_UTF8);
  EXPECT_RESULT(authgate_config_new((const char *)bad_utf8, 3, &config), AUTHGATE_RESULT_INVALID_UTF8);
  EXPECT_RESULT(authgate_config_new(STR(""), &config), AUTHGATE_RESULT_CONFIG_INVALID_REALM);
  EXPECT_RESULT(authgate_config_new(STR("a\nb"), &config), AUTHGATE_RESULT_CONFIG_INVALID_REALM);
  EXPECT_RESULT(authgate_config_new(STR(REALM), &config), AUTHGATE_RESULT_OK);
  const authgate_scheme bad_scheme[] = {AUTHGATE_SCHEME_DIGEST, 42};
  EXPECT_RESULT(authgate_config_set_schemes(config, bad_scheme, 2), AUTHGATE_RESULT_INVALID_ARGUMENT);
  EXPECT_RESULT(authgate_config_set_schemes(config, bad_scheme, 0), AUTHGATE_RESULT_CONFIG_NO_SCHEME);
  const authgate_algorithm bad_alg[] = {0};
  EXPECT_RESULT(authgate_config_set_algorithms(config, bad_alg, 1), AUTHGATE_RESULT_INVALID_ARGUMENT);
  EXPECT_RESULT(authgate_config_set_algorithms(config, bad_alg, 0), AUTHGATE_RESULT_CONFIG_NO_ALGORITHM);
  EXPECT_RESULT(authgate_config_set_nonce_lifetime(config, 0), AUTHGATE_RESULT_CONFIG_INVALID_LIFETIME);
  EXPECT_RESULT(authgate_config_set_opaque(config, STR("has space")), AUTHGATE_RESULT_CONFIG_INVALID_OPAQUE);
  EXPECT_RESULT(authgate_config_set_previous_key(config, KEY, 31), AUTHGATE_RESULT_INVALID_ARGUMENT);
  EXPECT_RESULT(authgate_engine_new(config, KEY, 31, &e2), AUTHGATE_RESULT_INVALID_ARGUMENT);
  EXPECT_RESULT(authgate_engine_new(config, NULL, 32, &e2), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_engine_new(config, KEY, 32, NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_set_qop(config, false, false), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_engine_new(config, KEY, 32, &e2), AUTHGATE_RESULT_CONFIG_NO_QOP);
  EXPECT(e2 == NULL, "untouched");
  authgate_config_free(config);
  EXPECT_RESULT(authgate_digest_ha1_hex(9, BYTES("u"), BYTES("r"), BYTES("p"), buf, sizeof buf, &len),
                AUTHGATE_RESULT_INVALID_ARGUMENT);
  EXPECT_RESULT(authgate_digest_response(BYTES("Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl"), STR("GET"), NULL, 0, BYTES("x"),
                                         NULL, 0, buf, sizeof buf, &len),
                AUTHGATE_RESULT_MALFORMED_INVALID_SCHEME);
  EXPECT_RESULT(authgate_digest_response(BYTES("Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"/\", "
                                               "response=\"\", algorithm=FOO"),
                                         STR("GET"), NULL, 0, BYTES("x"), NULL, 0, buf, sizeof buf, &len),
                AUTHGATE_RESULT_UNSUPPORTED);
  /* Several Authorization fields: a zero-length value is malformed. */
  EXPECT_RESULT(authgate_engine_check(engine, STR("GET"), STR(TARGET), (const uint8_t *)"", 0, NOW, SALT, v),
                AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_status(v) == 400 && authgate_verdict_error(v) == AUTHGATE_RESULT_MALFORMED_EMPTY, "empty");
  case_end();

  case_begin("result-messages");
  for (unsigned code = 0; code < 400; code++) {
    const char *m = authgate_result_message(code);
    EXPECT(m != NULL && m[0] != 0, "code %u", code);
  }
  EXPECT(strcmp(authgate_result_message(123456), "unknown result code") == 0, "unknown");
  EXPECT(strcmp(authgate_result_message(AUTHGATE_RESULT_MALFORMED_URI_MISMATCH),
                "Digest uri does not match the request-target") == 0,
         "the core's text");
  EXPECT(authgate_result_is_malformed(AUTHGATE_RESULT_MALFORMED_EMPTY) && !authgate_result_is_malformed(0) &&
             !authgate_result_is_malformed(250),
         "is_malformed");
  EXPECT(strlen(authgate_version()) >= 5, "version %s", authgate_version());
  case_end();

  case_begin("entropy");
  EXPECT_RESULT(authgate_engine_check(engine, STR("GET"), STR(TARGET), NULL, 0, NOW, NULL, v),
                AUTHGATE_RESULT_ENTROPY_FAILED);
  authgate_config_new(STR(REALM), &config);
  authgate_config_set_entropy_callback(config, entropy_ok, NULL);
  authgate_engine_new(config, KEY, 32, &e2);
  EXPECT_RESULT(authgate_engine_check(e2, STR("GET"), STR(TARGET), NULL, 0, NOW, NULL, v), AUTHGATE_RESULT_OK);
  EXPECT(entropy_calls == 1 && authgate_verdict_status(v) == 401, "entropy used");
  authgate_engine_free(e2);
  e2 = NULL;
  authgate_config_set_entropy_callback(config, entropy_fail, NULL);
  authgate_engine_new(config, KEY, 32, &e2);
  EXPECT_RESULT(authgate_engine_check(e2, STR("GET"), STR(TARGET), NULL, 0, NOW, NULL, v),
                AUTHGATE_RESULT_ENTROPY_FAILED);
  authgate_engine_free(e2);
  authgate_config_free(config);
  case_end();

  case_begin("purge-expired");
  EXPECT_RESULT(authgate_engine_purge_expired(engine, NOW + 1000), AUTHGATE_RESULT_OK);
  case_end();

  authgate_verdict_free(v);
  authgate_engine_free(engine);
}

/* Key rotation through the previous key. */
static void test_previous_key(void) {
  static const uint8_t KEY2[32] = {42};
  struct users users = {MUFASA, 1};
  authgate_engine *old_engine = vectors_engine(&users);
  authgate_config *config = NULL;
  authgate_engine *new_engine = NULL;
  authgate_verdict *v = authgate_verdict_new();
  char nonce[128], header[1024];
  case_begin("previous-key");
  authgate_config_new(STR(REALM), &config);
  authgate_config_set_credential_callback(config, lookup_users, &users);
  EXPECT_RESULT(authgate_config_set_previous_key(config, KEY, 32), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_engine_new(config, KEY2, 32, &new_engine), AUTHGATE_RESULT_OK);
  authgate_config_free(config);
  EXPECT(fresh_nonce(old_engine, v, NOW, nonce, sizeof nonce), "nonce");
  EXPECT(digest_header(header, sizeof header, "SHA-256", nonce, 1, "auth", "Circle Of Life", NULL), "header");
  check(new_engine, header, NOW, v);
  EXPECT(authgate_verdict_status(v) == 200, "old nonce accepted after rotation: reason %u",
         (unsigned)authgate_verdict_reason(v));
  case_end();
  authgate_verdict_free(v);
  authgate_engine_free(new_engine);
  authgate_engine_free(old_engine);
}

/* One engine, several threads: the same (nonce, nc) is accepted exactly once. */
#define THREADS 4
struct race {
  const authgate_engine *engine;
  const char *header;
  int ok;
  int errors;
};

static void *race_thread(void *arg) {
  struct race *r = arg;
  authgate_verdict *v = authgate_verdict_new();
  for (int i = 0; i < 50; i++) {
    if (check(r->engine, r->header, NOW, v) != AUTHGATE_RESULT_OK) r->errors++;
    if (authgate_verdict_status(v) == 200) r->ok++;
  }
  authgate_verdict_free(v);
  return NULL;
}

static void test_threads(void) {
  struct users users = {MUFASA, 1};
  authgate_engine *engine = vectors_engine(&users);
  authgate_verdict *v = authgate_verdict_new();
  char nonce[128], header[1024];
  pthread_t t[THREADS];
  struct race r[THREADS];
  case_begin("threads-share-an-engine");
  EXPECT(fresh_nonce(engine, v, NOW, nonce, sizeof nonce), "nonce");
  EXPECT(digest_header(header, sizeof header, "SHA-256", nonce, 1, "auth", "Circle Of Life", NULL), "header");
  for (int i = 0; i < THREADS; i++) {
    r[i] = (struct race){engine, header, 0, 0};
    pthread_create(&t[i], NULL, race_thread, &r[i]);
  }
  int ok = 0, errors = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    ok += r[i].ok;
    errors += r[i].errors;
  }
  EXPECT(ok == 1 && errors == 0, "accepted %d times, %d errors", ok, errors);
  case_end();
  authgate_verdict_free(v);
  authgate_engine_free(engine);
}


/* The JWT functions' argument checks and error codes. */
static void test_jwt_api(void) {
  case_begin("jwt-api");
  authgate_jwt *j = NULL;
  EXPECT_RESULT(authgate_jwt_new(NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_jwt_new(&j), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_jwt_add_hmac_key(NULL, NULL, 0, BYTES("k")), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_jwt_add_hmac_key(j, NULL, 0, BYTES("")), AUTHGATE_RESULT_CONFIG_INVALID_JWT_KEY);
  EXPECT_RESULT(authgate_jwt_add_hmac_key(j, NULL, 0, BYTES("-----BEGIN PUBLIC KEY-----\nMFkw")),
                AUTHGATE_RESULT_CONFIG_INVALID_JWT_KEY);
  EXPECT_RESULT(authgate_jwt_add_pem_key(j, NULL, 0, STR("not a key")), AUTHGATE_RESULT_CONFIG_INVALID_JWT_KEY);
  EXPECT_RESULT(authgate_jwt_add_jwks(j, STR("{\"nokeys\":1}"), NULL), AUTHGATE_RESULT_CONFIG_INVALID_JWT_KEY);
  EXPECT_RESULT(authgate_jwt_add_hmac_key(j, STR("k1"), BYTES("a secret of thirty-two bytes ok!")),
                AUTHGATE_RESULT_OK);
  authgate_config *config = NULL;
  EXPECT_RESULT(authgate_config_new(STR("hub"), &config), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_jwt(config, j), AUTHGATE_RESULT_CONFIG_NO_JWT_ALGORITHM);
  uint32_t bad[] = {0, 99};
  EXPECT_RESULT(authgate_jwt_set_algorithms(j, (const authgate_jwt_algorithm *)bad, 2),
                AUTHGATE_RESULT_INVALID_ARGUMENT);
  authgate_jwt_algorithm hs256 = (authgate_jwt_algorithm)authgate_jwt_algorithm_from_name(STR("HS256"));
  EXPECT(hs256 == AUTHGATE_JWT_ALGORITHM_HS256, "HS256 is %u", (unsigned)hs256);
  EXPECT(authgate_jwt_algorithm_from_name(STR("none")) == 0, "none is an algorithm");
  EXPECT_RESULT(authgate_jwt_set_algorithms(j, &hs256, 1), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_jwt(config, j), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_jwt_set_issuer(j, STR("")), AUTHGATE_RESULT_CONFIG_INVALID_JWT_OPTION);
  /* RFC 7515 A.1's shape, signed with our key: header {"alg":"HS256","kid":"k1"}, claims {"sub":"x"}. */
  const char *token = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.AAAA";
  authgate_reason reason = AUTHGATE_REASON_NONE;
  EXPECT_RESULT(authgate_jwt_verify(j, BYTES(token), NOW, NULL, NULL, 0, NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_jwt_verify(j, BYTES(token), NOW, &reason, NULL, 0, NULL), AUTHGATE_RESULT_OK);
  EXPECT(reason == AUTHGATE_REASON_BAD_SIGNATURE, "reason %s", authgate_reason_name(reason));
  EXPECT(strcmp(authgate_reason_name(AUTHGATE_REASON_TOKEN_EXPIRED), "TokenExpired") == 0, "name");
  EXPECT(strcmp(authgate_reason_message(AUTHGATE_REASON_TOKEN_EXPIRED), "Signature has expired") == 0, "message");
  EXPECT(strcmp(authgate_reason_name(12345), "unknown reason") == 0, "unknown");
  authgate_config_free(config);
  authgate_jwt_free(j);
  authgate_jwt_free(NULL);
  case_end();
}

/* ---- htpasswd / htdigest files (written by Apache's htpasswd and htdigest) ------------- */

static char htdir[64];

/* Runs a shell command (the Apache tools); 1 on success. */
static int sh(const char *fmt, const char *arg) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, fmt, htdir, arg);
  return system(cmd) == 0;
}

static int verify(const authgate_htfile *f, const char *user, const char *password) {
  bool ok = true;
  if (authgate_htfile_verify(f, STR(user), NULL, 0, BYTES(password), &ok) != AUTHGATE_RESULT_OK) return -1;
  return ok ? 1 : 0;
}

static const char *HTPASSWD_FLAGS[][2] = {
    {"bcrypt", "-B -C 4"}, {"apr1", "-m"}, {"sha256", "-2"}, {"sha512", "-5 -r 1000"}, {"sha1", "-s"}, {"crypt", "-d"},
};

static void lookup_htpasswd_hash(void *userdata, const char *username, size_t username_len, const char *realm,
                                 size_t realm_len, authgate_purpose purpose, authgate_credential *out) {
  (void)realm, (void)realm_len, (void)purpose;
  if (username_len == 5 && memcmp(username, "alice", 5) == 0)
    authgate_credential_set_htpasswd(out, STR((const char *)userdata));
}

static void test_htfiles(void) {
  char path[128];
  size_t err_line = 99, len = 0;
  authgate_htfile *f = NULL, *d = NULL;
  authgate_config *config = NULL;
  authgate_engine *engine = NULL;
  authgate_verdict *v = authgate_verdict_new();

  case_begin("htfile-every-format-from-htpasswd");
  strcpy(htdir, "/tmp/authgate-c-htfile-XXXXXX");
  EXPECT(mkdtemp(htdir) != NULL, "mkdtemp");
  for (size_t i = 0; i < sizeof HTPASSWD_FLAGS / sizeof HTPASSWD_FLAGS[0]; i++) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "htpasswd -b%s %s %%s/htpasswd %%s pw1 2>/dev/null", i == 0 ? "c" : "",
             HTPASSWD_FLAGS[i][1]);
    EXPECT(sh(cmd, HTPASSWD_FLAGS[i][0]), "htpasswd %s (apache2-utils installed?)", HTPASSWD_FLAGS[i][1]);
  }
  snprintf(path, sizeof path, "%s/htpasswd", htdir);
  EXPECT_RESULT(authgate_htpasswd_open(STR(path), NULL, &f, &err_line), AUTHGATE_RESULT_OK);
  for (size_t i = 0; f && i < sizeof HTPASSWD_FLAGS / sizeof HTPASSWD_FLAGS[0]; i++) {
    EXPECT(verify(f, HTPASSWD_FLAGS[i][0], "pw1") == 1, "%s right password", HTPASSWD_FLAGS[i][0]);
    EXPECT(verify(f, HTPASSWD_FLAGS[i][0], "pw2") == 0, "%s wrong password", HTPASSWD_FLAGS[i][0]);
  }
  EXPECT(verify(f, "nobody", "pw1") == 0, "unknown user");
  EXPECT_RESULT(authgate_htfile_check(f, NULL), AUTHGATE_RESULT_OK);
  case_end();

  case_begin("htfile-engine-basic");
  EXPECT(sh("htpasswd -bB -C 4 %s/htpasswd %s pw1 2>/dev/null", "alice"), "htpasswd alice");
  EXPECT_RESULT(authgate_config_new(STR(REALM), &config), AUTHGATE_RESULT_OK);
  authgate_scheme basic_only[] = {AUTHGATE_SCHEME_BASIC};
  EXPECT_RESULT(authgate_config_set_schemes(config, basic_only, 1), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_htfile(config, f), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_engine_new(config, KEY, sizeof KEY, &engine), AUTHGATE_RESULT_OK);
  /* The engine holds its own reference. */
  authgate_htfile_free(f);
  f = NULL;
  if (engine) {
    check(engine, "Basic YWxpY2U6cHcx", NOW, v); /* alice:pw1, added after the file was opened */
    EXPECT(authgate_verdict_status(v) == 200, "alice: %u", (unsigned)authgate_verdict_reason(v));
    check(engine, "Basic YWxpY2U6cHcy", NOW, v); /* alice:pw2 */
    EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_BAD_CREDENTIALS, "alice wrong");
    check(engine, "Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl", NOW, v);
    EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_UNKNOWN_USER, "Mufasa is not in the file");
  }
  authgate_engine_free(engine);
  engine = NULL;
  case_end();

  case_begin("htfile-damaged-and-policy");
  snprintf(path, sizeof path, "%s/damaged", htdir);
  FILE *out = fopen(path, "w");
  if (out) {
    fputs("# comment\r\nalice:$apr1$z.Dy0sDS$nc39arAsmX4c7O6Iq\r\n", out);
    fclose(out);
  }
  EXPECT_RESULT(authgate_htpasswd_open(STR(path), NULL, &f, &err_line), AUTHGATE_RESULT_FILE_HASH_MALFORMED);
  EXPECT(err_line == 2 && f == NULL, "line %zu", err_line);
  EXPECT(strcmp(authgate_result_message(AUTHGATE_RESULT_FILE_HASH_MALFORMED), "malformed password hash") == 0, "message");
  EXPECT(sh("htpasswd -cbp %s/plain %s s3cret 2>/dev/null", "alice"), "htpasswd -p");
  snprintf(path, sizeof path, "%s/plain", htdir);
  EXPECT_RESULT(authgate_htpasswd_open(STR(path), NULL, &f, &err_line), AUTHGATE_RESULT_FILE_HASH_PLAINTEXT);
  EXPECT(err_line == 1, "line %zu", err_line);
  authgate_htpasswd_policy policy = authgate_htpasswd_policy_default();
  EXPECT(policy.max_bcrypt_cost == 12 && !policy.allow_plaintext, "default policy");
  policy.allow_plaintext = true;
  EXPECT_RESULT(authgate_htpasswd_open(STR(path), &policy, &f, &err_line), AUTHGATE_RESULT_OK);
  EXPECT(verify(f, "alice", "s3cret") == 1, "plaintext allowed");
  /* Damaged after opening: fails closed, with the line. */
  out = fopen(path, "a");
  if (out) {
    fputs("bob:$2y$99$x\n", out);
    fclose(out);
  }
  EXPECT_RESULT(authgate_htfile_check(f, &err_line), AUTHGATE_RESULT_FILE_HASH_MALFORMED);
  EXPECT(err_line == 2, "line %zu", err_line);
  bool ok = true;
  EXPECT_RESULT(authgate_htfile_verify(f, STR("alice"), NULL, 0, BYTES("s3cret"), &ok),
                AUTHGATE_RESULT_FILE_HASH_MALFORMED);
  EXPECT(!ok, "fails closed");
  authgate_htfile_free(f);
  f = NULL;
  policy = authgate_htpasswd_policy_default();
  policy.max_bcrypt_cost = 3;
  snprintf(path, sizeof path, "%s/htpasswd", htdir);
  EXPECT_RESULT(authgate_htpasswd_open(STR(path), &policy, &f, &err_line), AUTHGATE_RESULT_FILE_HASH_COST_TOO_HIGH);
  EXPECT(err_line == 1, "line %zu", err_line);
  snprintf(path, sizeof path, "%s/missing", htdir);
  EXPECT_RESULT(authgate_htpasswd_open(STR(path), NULL, &f, &err_line), AUTHGATE_RESULT_FILE_UNREADABLE);
  EXPECT(err_line == 0, "line %zu", err_line);
  EXPECT_RESULT(authgate_htpasswd_open(NULL, 0, NULL, &f, NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_htfile_check(NULL, NULL), AUTHGATE_RESULT_NULL_PARAMETER);
  case_end();

  case_begin("htfile-htdigest-digest-md5");
  char cmd[256];
  snprintf(cmd, sizeof cmd, "printf 'Circle Of Life\\nCircle Of Life\\n' | htdigest -c %%s/htdigest '%s' %%s >/dev/null 2>&1",
           REALM);
  EXPECT(sh(cmd, "Mufasa"), "htdigest");
  snprintf(path, sizeof path, "%s/htdigest", htdir);
  EXPECT_RESULT(authgate_htdigest_open(STR(path), &d, &err_line), AUTHGATE_RESULT_OK);
  char ha1[33], want[33];
  EXPECT_RESULT(authgate_htdigest_ha1(d, STR("Mufasa"), STR(REALM), ha1, sizeof ha1, &len), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_digest_ha1_hex(AUTHGATE_HASH_MD5, BYTES("Mufasa"), BYTES(REALM), BYTES("Circle Of Life"), want,
                                        sizeof want, &len),
                AUTHGATE_RESULT_OK);
  EXPECT(strcmp(ha1, want) == 0, "%s vs %s", ha1, want);
  EXPECT_RESULT(authgate_htdigest_ha1(d, STR("Mufasa"), STR("other"), ha1, sizeof ha1, &len), AUTHGATE_RESULT_NOT_FOUND);
  bool dok = false;
  EXPECT_RESULT(authgate_htfile_verify(d, STR("Mufasa"), STR(REALM), BYTES("Circle Of Life"), &dok), AUTHGATE_RESULT_OK);
  EXPECT(dok, "Basic against the HA1");
  authgate_algorithm md5[] = {AUTHGATE_ALGORITHM_MD5, AUTHGATE_ALGORITHM_MD5_SESS};
  EXPECT_RESULT(authgate_config_set_algorithms(config, md5, 2), AUTHGATE_RESULT_OK);
  authgate_scheme digest_only[] = {AUTHGATE_SCHEME_DIGEST};
  EXPECT_RESULT(authgate_config_set_schemes(config, digest_only, 1), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_htfile(config, d), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_engine_new(config, KEY, sizeof KEY, &engine), AUTHGATE_RESULT_OK);
  if (engine) {
    char nonce[128], header[1024];
    EXPECT(fresh_nonce(engine, v, NOW, nonce, sizeof nonce), "nonce");
    EXPECT(digest_header(header, sizeof header, "MD5", nonce, 1, "auth", "Circle Of Life", NULL), "header");
    check(engine, header, NOW, v);
    EXPECT(authgate_verdict_status(v) == 200, "digest md5 from htdigest: %u", (unsigned)authgate_verdict_reason(v));
    EXPECT(digest_header(header, sizeof header, "MD5-sess", nonce, 2, "auth", "Circle Of Life", NULL), "header");
    check(engine, header, NOW, v);
    EXPECT(authgate_verdict_status(v) == 200, "digest md5-sess: %u", (unsigned)authgate_verdict_reason(v));
    EXPECT(digest_header(header, sizeof header, "MD5", nonce, 3, "auth", "circle of life", NULL), "header");
    check(engine, header, NOW, v);
    EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_BAD_CREDENTIALS, "wrong password");
  }
  authgate_engine_free(engine);
  engine = NULL;
  authgate_htfile_free(d);
  case_end();

  case_begin("htfile-credential-set-htpasswd");
  /* alice:pw1 in SHA-1 ({SHA} of "pw1"), handed over by a callback. */
  EXPECT_RESULT(authgate_config_set_htfile(config, NULL), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_schemes(config, basic_only, 1), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_credential_callback(config, lookup_htpasswd_hash,
                                                        (void *)"{SHA}AsWT/Zr4JUuFnUJqdrbNQoR/vsE="),
                AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_engine_new(config, KEY, sizeof KEY, &engine), AUTHGATE_RESULT_OK);
  if (engine) {
    check(engine, "Basic YWxpY2U6cHcx", NOW, v);
    EXPECT(authgate_verdict_status(v) == 200, "set_htpasswd: %u", (unsigned)authgate_verdict_reason(v));
    check(engine, "Basic YWxpY2U6cHcy", NOW, v);
    EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_BAD_CREDENTIALS, "wrong");
  }
  EXPECT_RESULT(authgate_credential_set_htpasswd(NULL, STR("{SHA}x")), AUTHGATE_RESULT_NULL_PARAMETER);
  case_end();

  authgate_engine_free(engine);
  authgate_config_free(config);
  authgate_verdict_free(v);
  sh("rm -rf %s%s", "");
}

/* ---- NTLM and Negotiate: authgate_engine_check_connection ------------------------------- */

/* A Negotiate acceptor standing in for GSSAPI: a GSS-API token (krb5 OID) whose payload is
   "ok:NAME" completes as NAME with output "rep", "more" continues with "cont", "big" claims
   more output than fits, anything else is refused. Records the connections it saw. */
static uint64_t acceptor_seen[16], closed_seen[16];
static size_t acceptor_calls, closed_calls;

static authgate_negotiate_step fake_acceptor(void *userdata, uint64_t connection, const uint8_t *token, size_t token_len,
                                             uint8_t *output, size_t output_cap, size_t *output_len, char *principal,
                                             size_t principal_cap, size_t *principal_len) {
  (void)userdata;
  if (acceptor_calls < 16) acceptor_seen[acceptor_calls++] = connection;
  const uint8_t *payload = token + 13;
  size_t n = token_len - 13;
  if (n > 3 && memcmp(payload, "ok:", 3) == 0 && n - 3 <= principal_cap && output_cap >= 3) {
    memcpy(principal, payload + 3, n - 3);
    *principal_len = n - 3;
    memcpy(output, "rep", 3);
    *output_len = 3;
    return AUTHGATE_NEGOTIATE_STEP_COMPLETE;
  }
  if (n == 4 && memcmp(payload, "more", 4) == 0) {
    memcpy(output, "cont", 4);
    *output_len = 4;
    return AUTHGATE_NEGOTIATE_STEP_CONTINUE;
  }
  if (n == 3 && memcmp(payload, "big", 3) == 0) {
    *output_len = output_cap + 1;
    return AUTHGATE_NEGOTIATE_STEP_CONTINUE;
  }
  return AUTHGATE_NEGOTIATE_STEP_REFUSED;
}

static void fake_closed(void *userdata, uint64_t connection) {
  (void)userdata;
  if (closed_calls < 16) closed_seen[closed_calls++] = connection;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* `scheme` + " " + base64(data) into out. */
static void token_header(char *out, size_t size, const char *scheme, const uint8_t *data, size_t len) {
  size_t o = (size_t)snprintf(out, size, "%s ", scheme);
  for (size_t i = 0; i < len && o + 5 < size; i += 3) {
    uint32_t b = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0) | (i + 2 < len ? data[i + 2] : 0);
    out[o++] = B64[b >> 18 & 63];
    out[o++] = B64[b >> 12 & 63];
    out[o++] = i + 1 < len ? B64[b >> 6 & 63] : '=';
    out[o++] = i + 2 < len ? B64[b & 63] : '=';
  }
  out[o] = 0;
}

/* A GSS-API token with the krb5 OID and `payload`. */
static size_t krb_token(uint8_t *out, const char *payload) {
  static const uint8_t head[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
  size_t n = strlen(payload);
  out[0] = 0x60;
  out[1] = (uint8_t)(sizeof head + n);
  memcpy(out + 2, head, sizeof head);
  memcpy(out + 2 + sizeof head, payload, n);
  return 2 + sizeof head + n;
}

static authgate_result check_on(const authgate_engine *e, uint64_t connection, const char *header, authgate_verdict *v) {
  return authgate_engine_check_connection(e, STR("GET"), STR("/"), header ? (const uint8_t *)header : NULL,
                                          header ? strlen(header) : 0, connection, NOW, SALT, v);
}

static authgate_engine *connection_engine(int bind) {
  authgate_config *config = NULL;
  authgate_engine *engine = NULL;
  static struct users users = {MUFASA, 1};
  const authgate_scheme schemes[] = {AUTHGATE_SCHEME_NEGOTIATE, AUTHGATE_SCHEME_NTLM, AUTHGATE_SCHEME_BASIC};
  authgate_config_new(STR("home"), &config);
  EXPECT_RESULT(authgate_config_set_schemes(config, schemes, 3), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_credential_callback(config, lookup_users, &users), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_set_negotiate_acceptor(config, fake_acceptor, fake_closed, NULL), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_config_bind_negotiate(config, bind), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_engine_new(config, KEY, sizeof KEY, &engine), AUTHGATE_RESULT_OK);
  authgate_config_free(config);
  return engine;
}

static void test_ntlm_and_negotiate(void) {
  static const uint8_t NEGOTIATE[] = "NTLMSSP\0\1\0\0\0\7\202\10\242\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
  char header[512], value[2048];
  size_t len = 0;
  uint8_t tok[64];
  authgate_verdict *v = authgate_verdict_new();

  case_begin("ntlm: NEGOTIATE gets a CHALLENGE token, alone");
  authgate_engine *e = connection_engine(0);
  token_header(header, sizeof header, "NTLM", NEGOTIATE, 32);
  EXPECT_RESULT(check_on(e, 7, header, v), AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_status(v) == 401 && authgate_verdict_reason(v) == AUTHGATE_REASON_HANDSHAKE_CONTINUES, "%u",
         (unsigned)authgate_verdict_reason(v));
  EXPECT_RESULT(authgate_verdict_write_token(v, value, sizeof value, &len), AUTHGATE_RESULT_OK);
  EXPECT(strncmp(value, "NTLM TlRMTVNTUAACAAAA", 21) == 0 && len == strlen(value), "%s", value);
  EXPECT_RESULT(authgate_verdict_write_token(v, value, 10, &len), AUTHGATE_RESULT_BUFFER_TOO_SMALL);
  case_end();

  case_begin("ntlm: an NTLMv1 response to it is refused");
  /* LM and NT responses of 24 bytes each, user "Mufasa" (OEM). */
  uint8_t v1[118];
  memset(v1, 0, sizeof v1);
  memcpy(v1, "NTLMSSP\0\3\0\0\0", 12);
  const uint16_t fields[6][2] = {{24, 64}, {24, 88}, {0, 112}, {6, 112}, {0, 118}, {0, 118}};
  for (int i = 0; i < 6; i++) {
    v1[12 + 8 * i] = (uint8_t)fields[i][0];
    v1[14 + 8 * i] = (uint8_t)fields[i][0];
    v1[16 + 8 * i] = (uint8_t)fields[i][1];
  }
  v1[60] = 2; /* OEM */
  memset(v1 + 64, 'L', 24);
  memset(v1 + 88, 'N', 24);
  memcpy(v1 + 112, "Mufasa", 6);
  token_header(header, sizeof header, "NTLM", v1, sizeof v1);
  EXPECT_RESULT(check_on(e, 7, header, v), AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_NTLM_V1_REFUSED, "%u", (unsigned)authgate_verdict_reason(v));
  EXPECT_RESULT(authgate_verdict_write_token(v, value, sizeof value, &len), AUTHGATE_RESULT_OK);
  EXPECT(len == 0, "no token after a refusal: %zu", len);
  /* The handshake was used up: the same message again finds none. */
  EXPECT_RESULT(check_on(e, 7, header, v), AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_NO_HANDSHAKE, "%u", (unsigned)authgate_verdict_reason(v));
  case_end();

  case_begin("ntlm: malformed tokens are 400 with the core's codes");
  const struct {
    const char *header;
    authgate_result want;
  } bad[] = {
      {"NTLM ####", AUTHGATE_RESULT_MALFORMED_INVALID_TOKEN68},
      {"NTLM TlRMTVNTUAAB", AUTHGATE_RESULT_MALFORMED_NTLM_MESSAGE},
      {"NTLM TlRMTVNTUAABAAAA=", AUTHGATE_RESULT_MALFORMED_INVALID_TOKEN_BASE64},
      {"Negotiate Zm9vYmFy", AUTHGATE_RESULT_MALFORMED_NEGOTIATE_TOKEN},
      {"Negotiate", AUTHGATE_RESULT_MALFORMED_EXPECTED_TOKEN68},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    EXPECT_RESULT(check_on(e, 8, bad[i].header, v), AUTHGATE_RESULT_OK);
    EXPECT(authgate_verdict_status(v) == 400 && authgate_verdict_error(v) == bad[i].want, "%s: %u", bad[i].header,
           (unsigned)authgate_verdict_error(v));
  }
  case_end();

  case_begin("ntlm: the plain check does not take connection-bound schemes");
  token_header(header, sizeof header, "NTLM", NEGOTIATE, 32);
  EXPECT_RESULT(authgate_engine_check(e, STR("GET"), STR("/"), BYTES(header), NOW, SALT, v), AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_UNSUPPORTED_SCHEME, "%u", (unsigned)authgate_verdict_reason(v));
  case_end();

  case_begin("negotiate: the acceptor completes, continues, refuses; its token and principal");
  acceptor_calls = closed_calls = 0;
  token_header(header, sizeof header, "Negotiate", tok, krb_token(tok, "ok:alice@TEST"));
  EXPECT_RESULT(check_on(e, 11, header, v), AUTHGATE_RESULT_OK);
  const char *user = NULL;
  size_t user_len = 0;
  EXPECT(authgate_verdict_status(v) == 200 && authgate_verdict_scheme(v) == AUTHGATE_SCHEME_NEGOTIATE, "%u",
         (unsigned)authgate_verdict_status(v));
  EXPECT_RESULT(authgate_verdict_user(v, &user, &user_len), AUTHGATE_RESULT_OK);
  EXPECT(user_len == 10 && memcmp(user, "alice@TEST", 10) == 0, "%.*s", (int)user_len, user);
  EXPECT_RESULT(authgate_verdict_write_token(v, value, sizeof value, &len), AUTHGATE_RESULT_OK);
  EXPECT(strcmp(value, "Negotiate cmVw") == 0, "%s", value);
  /* Not bound: the next request on the connection needs credentials again. */
  EXPECT_RESULT(check_on(e, 11, NULL, v), AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_status(v) == 401, "%u", (unsigned)authgate_verdict_status(v));
  token_header(header, sizeof header, "Negotiate", tok, krb_token(tok, "more"));
  EXPECT_RESULT(check_on(e, 12, header, v), AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_HANDSHAKE_CONTINUES, "%u", (unsigned)authgate_verdict_reason(v));
  EXPECT_RESULT(authgate_verdict_write_token(v, value, sizeof value, &len), AUTHGATE_RESULT_OK);
  EXPECT(strcmp(value, "Negotiate Y29udA==") == 0, "%s", value);
  for (int i = 0; i < 2; i++) {
    token_header(header, sizeof header, "Negotiate", tok, krb_token(tok, i ? "big" : "forged"));
    EXPECT_RESULT(check_on(e, 13, header, v), AUTHGATE_RESULT_OK);
    EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_NEGOTIATE_REFUSED, "%u", (unsigned)authgate_verdict_reason(v));
    EXPECT_RESULT(authgate_verdict_write_token(v, value, sizeof value, &len), AUTHGATE_RESULT_OK);
    EXPECT(len == 0, "%s", value);
  }
  EXPECT(acceptor_calls == 4 && acceptor_seen[0] == 11 && acceptor_seen[1] == 12 && acceptor_seen[3] == 13, "%zu",
         acceptor_calls);
  EXPECT_RESULT(authgate_engine_connection_closed(e, 12), AUTHGATE_RESULT_OK);
  EXPECT(closed_calls == 1 && closed_seen[0] == 12, "%zu", closed_calls);
  authgate_engine_free(e);
  case_end();

  case_begin("negotiate: bound to the connection when configured, until it closes");
  e = connection_engine(1);
  token_header(header, sizeof header, "Negotiate", tok, krb_token(tok, "ok:bob@TEST"));
  EXPECT_RESULT(check_on(e, 21, header, v), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(check_on(e, 21, NULL, v), AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_status(v) == 200 && authgate_verdict_user(v, &user, &user_len) == AUTHGATE_RESULT_OK &&
             user_len == 8,
         "%u", (unsigned)authgate_verdict_status(v));
  EXPECT_RESULT(check_on(e, 22, NULL, v), AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_status(v) == 401, "another connection: %u", (unsigned)authgate_verdict_status(v));
  EXPECT_RESULT(authgate_engine_connection_closed(e, 21), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(check_on(e, 21, NULL, v), AUTHGATE_RESULT_OK);
  EXPECT(authgate_verdict_status(v) == 401, "closed: %u", (unsigned)authgate_verdict_status(v));
  EXPECT_RESULT(authgate_engine_connection_closed(NULL, 21), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(check_on(NULL, 21, NULL, v), AUTHGATE_RESULT_NULL_PARAMETER);
  EXPECT_RESULT(authgate_config_bind_negotiate(NULL, 1), AUTHGATE_RESULT_NULL_PARAMETER);
  authgate_engine_free(e);
  case_end();
  authgate_verdict_free(v);
}

static authgate_result nt_hash_results[2];

static void lookup_nt_hash(void *userdata, const char *username, size_t username_len, const char *realm,
                           size_t realm_len, authgate_purpose purpose, authgate_credential *out) {
  (void)userdata, (void)username, (void)username_len, (void)realm, (void)realm_len, (void)purpose;
  static const uint8_t hash[16] = {0};
  nt_hash_results[0] = authgate_credential_set_nt_hash(out, hash, 15);
  nt_hash_results[1] = authgate_credential_set_nt_hash(out, hash, 16);
}

static void test_nt_hash_setter(void) {
  case_begin("authgate_credential_set_nt_hash: 16 bytes or INVALID_CREDENTIAL");
  authgate_config *config = NULL;
  authgate_engine *e = NULL;
  authgate_verdict *v = authgate_verdict_new();
  const authgate_scheme basic[] = {AUTHGATE_SCHEME_BASIC};
  authgate_config_new(STR("home"), &config);
  authgate_config_set_schemes(config, basic, 1);
  authgate_config_set_credential_callback(config, lookup_nt_hash, NULL);
  EXPECT_RESULT(authgate_engine_new(config, KEY, sizeof KEY, &e), AUTHGATE_RESULT_OK);
  EXPECT_RESULT(authgate_engine_check(e, STR("GET"), STR("/"), BYTES("Basic YTpi"), NOW, SALT, v), AUTHGATE_RESULT_OK);
  EXPECT(nt_hash_results[0] == AUTHGATE_RESULT_INVALID_CREDENTIAL && nt_hash_results[1] == AUTHGATE_RESULT_OK, "%u %u",
         (unsigned)nt_hash_results[0], (unsigned)nt_hash_results[1]);
  /* An all-zero NT hash is no password's: refused. */
  EXPECT(authgate_verdict_reason(v) == AUTHGATE_REASON_BAD_CREDENTIALS, "%u", (unsigned)authgate_verdict_reason(v));
  authgate_engine_free(e);
  authgate_config_free(config);
  authgate_verdict_free(v);
  case_end();
}

int main(int argc, char **argv) {
  const char *vectors = argc > 1 ? argv[1] : "tests/vectors/authgate.vectors";
  printf("authgate %s\n", authgate_version());
  run_vectors(vectors);
  test_round_trips();
  test_credential_forms();
  test_setter_validation();
  test_bearer();
  test_jwt_api();
  test_challenges_and_buffers();
  test_null_and_invalid_arguments();
  test_previous_key();
  test_threads();
  test_htfiles();
  test_origin_api();
  test_ntlm_and_negotiate();
  test_nt_hash_setter();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
