/* Built by ffi/tests/pkgconfig_test.sh with only `pkg-config --cflags --libs authgate`. */
#include <authgate.h>
#include <stdio.h>
#include <string.h>

#if !defined(AUTHGATE_VERSION_MAJOR) || !defined(AUTHGATE_VERSION_MINOR) || !defined(AUTHGATE_VERSION_PATCH)
#error "authgate.h defines no AUTHGATE_VERSION_* macros"
#endif

int main(void) {
  static const uint8_t key[32] = {7};
  static const uint8_t salt[8] = {1};
  authgate_config *config = NULL;
  authgate_engine *engine = NULL;
  authgate_verdict *verdict = authgate_verdict_new();
  char value[1024];
  size_t len = 0;
  /* The header this program was built with and the library it runs with are one release. */
  char header_version[32];
  snprintf(header_version, sizeof header_version, "%d.%d.%d", AUTHGATE_VERSION_MAJOR, AUTHGATE_VERSION_MINOR,
           AUTHGATE_VERSION_PATCH);
  if (strcmp(header_version, authgate_version()) != 0) {
    fprintf(stderr, "header %s, library %s\n", header_version, authgate_version());
    return 1;
  }
  int ok = verdict != NULL && authgate_config_new("smoke", 5, &config) == AUTHGATE_RESULT_OK &&
           authgate_engine_new(config, key, sizeof key, &engine) == AUTHGATE_RESULT_OK &&
           authgate_engine_check(engine, "GET", 3, "/", 1, NULL, 0, 1700000000, salt, verdict) ==
               AUTHGATE_RESULT_OK &&
           authgate_verdict_status(verdict) == 401 &&
           authgate_engine_write_challenge(engine, verdict, 0, value, sizeof value, &len) == AUTHGATE_RESULT_OK;
  if (ok) printf("authgate %s: %s\n", authgate_version(), value);
  authgate_verdict_free(verdict);
  authgate_engine_free(engine);
  authgate_config_free(config);
  return ok && strncmp(value, "Digest realm=\"smoke\"", 20) == 0 ? 0 : 1;
}
