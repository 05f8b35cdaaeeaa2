/*
 * The full Digest check through the C ABI, in the same scenario as the core's Criterion
 * group "digest_check" (benches/benches/engine.rs) and its callgrind workload
 * (benches/examples/profile_digest.rs): realm testrealm@host.com, key 0x42 x 32, one
 * algorithm offered, user Mufasa with a plaintext password (here through the credential
 * callback), target /dir/index.html, each check with a new nc on one nonce so the replay
 * table accepts it. Headers are prepared outside the timed region.
 *
 *   bench [--seconds S] [--warmup S] ALG...   wall clock: prints
 *                                "RESULT digest_check/ALG median_ns=... mean_ns=..."
 *   bench --count N ALG...       exactly N checks (a fixed workload for callgrind)
 *
 * ffi/benches/digest_check.rs is the same program on the core's Rust API.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authgate.h"

#define BATCH 1000
#define HEADER_MAX 512

static const char *REALM = "testrealm@host.com";
static const char *TARGET = "/dir/index.html";
static const uint64_t NOW = 1700000000;

static void lookup(void *userdata, const char *username, size_t username_len, const char *realm, size_t realm_len,
                   authgate_purpose purpose, authgate_credential *out) {
  (void)userdata, (void)realm, (void)realm_len, (void)purpose;
  if (username_len == 6 && memcmp(username, "Mufasa", 6) == 0)
    authgate_credential_set_plaintext(out, (const uint8_t *)"Circle Of Life", 14);
}

static void die(const char *what, authgate_result r) {
  fprintf(stderr, "bench: %s: %s\n", what, authgate_result_message(r));
  exit(1);
}

struct setup {
  authgate_engine *engine;
  authgate_verdict *verdict;
  const char *alg;
  char nonce[129]; /* up to MAX_NONCE_LEN (128) and the NUL */
  uint32_t nc;
};

static void setup(struct setup *s, const char *alg) {
  authgate_config *config = NULL;
  authgate_algorithm a;
  if (strcmp(alg, "SHA-256") == 0)
    a = AUTHGATE_ALGORITHM_SHA256;
  else if (strcmp(alg, "MD5") == 0)
    a = AUTHGATE_ALGORITHM_MD5;
  else if (strcmp(alg, "SHA-512-256") == 0)
    a = AUTHGATE_ALGORITHM_SHA512_256;
  else {
    fprintf(stderr, "bench: unknown algorithm %s\n", alg);
    exit(2);
  }
  uint8_t key[32], salt[8];
  memset(key, 0x42, sizeof key);
  memset(salt, 9, sizeof salt);
  authgate_result r;
  if ((r = authgate_config_new(REALM, strlen(REALM), &config)) != AUTHGATE_RESULT_OK) die("config", r);
  if ((r = authgate_config_set_algorithms(config, &a, 1)) != AUTHGATE_RESULT_OK) die("algorithms", r);
  if ((r = authgate_config_set_credential_callback(config, lookup, NULL)) != AUTHGATE_RESULT_OK) die("callback", r);
  if ((r = authgate_engine_new(config, key, sizeof key, &s->engine)) != AUTHGATE_RESULT_OK) die("engine", r);
  authgate_config_free(config);
  s->verdict = authgate_verdict_new();
  s->alg = alg;
  s->nc = 0;
  char challenge[1024];
  size_t len;
  if ((r = authgate_engine_check(s->engine, "GET", 3, TARGET, strlen(TARGET), NULL, 0, NOW, salt, s->verdict)) !=
      AUTHGATE_RESULT_OK)
    die("challenge", r);
  if ((r = authgate_engine_write_challenge(s->engine, s->verdict, 0, challenge, sizeof challenge, &len)) !=
      AUTHGATE_RESULT_OK)
    die("write_challenge", r);
  const char *p = strstr(challenge, "nonce=\"");
  const char *q = p ? strchr(p + 7, '"') : NULL;
  if (!q || (size_t)(q - p - 7) >= sizeof s->nonce) die("nonce", AUTHGATE_RESULT_OK);
  memcpy(s->nonce, p + 7, (size_t)(q - p - 7));
  s->nonce[q - p - 7] = 0;
}

/* The header the core's DigestClient::header() writes, response computed through the ABI. */
static size_t make_header(struct setup *s, char *out) {
  const char *fmt = "Digest username=\"Mufasa\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", algorithm=%s, "
                    "response=\"%s\", qop=auth, nc=%08x, cnonce=\"0a4f113b\"";
  char hex[129];
  size_t hex_len;
  s->nc++;
  int n = snprintf(out, HEADER_MAX, fmt, REALM, s->nonce, TARGET, s->alg, "", s->nc);
  authgate_result r = authgate_digest_response((const uint8_t *)out, (size_t)n, "GET", 3, NULL, 0,
                                               (const uint8_t *)"Circle Of Life", 14, NULL, 0, hex, sizeof hex, &hex_len);
  if (r != AUTHGATE_RESULT_OK) die("digest_response", r);
  return (size_t)snprintf(out, HEADER_MAX, fmt, REALM, s->nonce, TARGET, s->alg, hex, s->nc);
}

/* Headers packed back to back, as the Rust twin's heap strings roughly are: a fixed
   512-byte stride would spread a batch over twice the cache. */
static char arena[BATCH * HEADER_MAX];
static const char *headers[BATCH];
static size_t lengths[BATCH];

static void prepare(struct setup *s, int n) {
  char *p = arena;
  for (int i = 0; i < n; i++) {
    headers[i] = p;
    lengths[i] = make_header(s, p);
    p += lengths[i];
  }
}

/* The measured operation: one check through the ABI, as a server would call it. */
static int run(struct setup *s, int n) {
  int ok = 0;
  for (int i = 0; i < n; i++) {
    authgate_engine_check(s->engine, "GET", 3, TARGET, 15, (const uint8_t *)headers[i], lengths[i], NOW,
                          (const uint8_t *)"\x09\x09\x09\x09\x09\x09\x09\x09", s->verdict);
    ok += authgate_verdict_get_kind(s->verdict) == AUTHGATE_VERDICT_KIND_AUTHENTICATED;
  }
  return ok;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void teardown(struct setup *s) {
  authgate_verdict_free(s->verdict);
  authgate_engine_free(s->engine);
}

int main(int argc, char **argv) {
  double seconds = 5, warmup = 1;
  long count = 0;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
    if (i + 1 >= argc) return 2;
    if (strcmp(argv[i], "--seconds") == 0)
      seconds = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--warmup") == 0)
      warmup = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--count") == 0)
      count = atol(argv[i + 1]);
    else
      return 2;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: bench [--seconds S | --count N] ALG...\n");
    return 2;
  }
  for (; i < argc; i++) {
    struct setup s;
    setup(&s, argv[i]);
    if (count > 0) {
      /* Fixed workload: prepare everything first, then exactly `count` checks. */
      long done = 0;
      while (done < count) {
        int n = count - done < BATCH ? (int)(count - done) : BATCH;
        prepare(&s, n);
        if (run(&s, n) != n) die("a check did not authenticate", AUTHGATE_RESULT_OK);
        done += n;
      }
      printf("RESULT digest_check/%s count=%ld\n", s.alg, count);
      teardown(&s);
      continue;
    }
    /* Wall clock: warm-up, then batches of BATCH checks until `seconds` have been measured. */
    static double samples[100000];
    int n_samples = 0;
    double start = now_ns(), measured = 0, total_ops = 0;
    while (now_ns() - start < warmup * 1e9) {
      prepare(&s, BATCH);
      run(&s, BATCH);
    }
    while (measured < seconds * 1e9 && n_samples < (int)(sizeof samples / sizeof samples[0])) {
      prepare(&s, BATCH);
      double t0 = now_ns();
      int ok = run(&s, BATCH);
      double dt = now_ns() - t0;
      if (ok != BATCH) die("a check did not authenticate", AUTHGATE_RESULT_OK);
      samples[n_samples++] = dt / BATCH;
      measured += dt;
      total_ops += BATCH;
    }
    qsort(samples, (size_t)n_samples, sizeof samples[0], cmp_double);
    printf("RESULT digest_check/%s median_ns=%.1f mean_ns=%.1f samples=%d checks=%.0f\n", s.alg,
           samples[n_samples / 2], measured / total_ops, n_samples, total_ops);
    teardown(&s);
  }
  return 0;
}
