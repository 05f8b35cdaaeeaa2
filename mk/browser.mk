# Headless Chromium against the front-ends (issue 23): one harness, tests/browser/csrf.mjs
# (playwright-core driving Debian's Chromium), one spec per front-end in tests/browser/specs/.
# Each front-end's makefile runs its spec in its own test target (ffi-browser,
# firmware-browser, python-browser); this file installs what the harness needs.
#
#   make browser-deps    Chromium and Node.js with apt when missing, playwright-core with npm ci

BROWSER_DIR := tests/browser
CHROMIUM ?= /usr/bin/chromium
BROWSER_SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# The harness: node $(BROWSER_RUN) SPEC (the spec's ${VARS} come from the environment).
BROWSER_RUN := CHROMIUM=$(CHROMIUM) node $(BROWSER_DIR)/csrf.mjs

.PHONY: browser-deps
# Before the parts of `make test` run side by side: one npm ci, not one per front-end.
TEST_DEPS += browser-deps

browser-deps:
	@missing=""; \
	test -x $(CHROMIUM) || missing="$$missing chromium"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		echo "browser: installing$$missing"; \
		$(BROWSER_SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(BROWSER_SUDO) apt-get install -y -qq $$missing; \
	fi
	@test -f $(BROWSER_DIR)/node_modules/playwright-core/package.json || \
		(cd $(BROWSER_DIR) && npm ci --no-audit --no-fund --loglevel=error)
