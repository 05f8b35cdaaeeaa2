# authgate for Python: the PyO3 package in python/, its tests, the demo and the benchmark.
#   make python-test   venv + pip + Debian packages as needed, build, the replay store's Rust
#                      tests, pytest (unit, Flask, real gunicorn/redis/curl/requests/httpx/chromium/firefox),
#                      then mypy's stubtest (the .pyi stubs against the built extension; ~15 s),
#                      then python-browser
#   make python-browser  headless Chromium: other origins' pages try to switch the demo's light
#                      with the cached login (403), a rebinding name reaches it (421); ~10 s
#   make demo          the home-automation demo on 127.0.0.1 (ARGS="--user alice --password secret";
#                      paths in ARGS, e.g. --cert/--key, are relative to where make runs)
#   make python-bench  authgate.flask vs Flask-HTTPAuth 4.8.1, per-request auth overhead
#   make python-bench-asgi  authgate.fastapi vs FastAPI's HTTPBasic/HTTPBearer + compare_digest
PY_DIR      := python
PY_VENV     := $(PY_DIR)/.venv
PY          := $(PY_VENV)/bin/python
PY_STAMP    := $(PY_VENV)/.deps-8
PY_PIP_PKGS := maturin pytest pytest-asyncio "flask[async]" Flask-HTTPAuth==4.8.1 requests httpx gunicorn redis playwright \
               "PyJWT[crypto]==2.15.1" jwcrypto==1.6.1 Flask-JWT-Extended==4.7.4 \
               gssapi pyspnego requests-gssapi waitress mypy fastapi uvicorn
# The MIT KDC, kinit and the headers python-gssapi builds against (tests/kdc/kdc.sh);
# firefox-esr: the browser that does Negotiate (Debian's chromium refuses the scheme).
PY_APT_PKGS := redis-server chromium firefox-esr curl openssl krb5-kdc krb5-admin-server krb5-user libkrb5-dev
ARGS        ?=

TEST_TARGETS += python-release-test
TEST_DEPS += python-venv
APT_PACKAGES += $(PY_APT_PKGS)
.PHONY: python-sysdeps python-venv python-build python-test python-release-test python-test-suite demo python-bench python-bench-asgi python-browser python-browser-spec

## Debian packages the real-server tests use, installed only when missing.
python-sysdeps:
	@missing=""; \
	for p in $(PY_APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(PY_STAMP): mk/python.mk | python-sysdeps
	test -x $(PY) || python3 -m venv $(PY_VENV)
	$(PY) -m pip install -q --disable-pip-version-check $(PY_PIP_PKGS)
	touch $@

python-venv: $(PY_STAMP)

## The extension, built in release mode into the venv (maturin develop), with the LTO
## settings of pyproject.toml; in its own target directory, so that the workspace's shared
## target/ keeps the release profile the other crates are built with.
python-build: python-venv
	cd $(PY_DIR) && VIRTUAL_ENV=$(abspath $(PY_VENV)) PATH=$(abspath $(PY_VENV))/bin:$$PATH \
	  CARGO_TARGET_DIR=$(abspath $(PY_DIR))/target maturin develop --release -q

python-test: python-sysdeps python-build
	$(MAKE) --no-print-directory python-test-suite

## In `make test`: the release artefacts first (make dist DIST_FULL=0: the sdist, the wheel
## built from it, the C archive, their checks), then the suite against the wheel's extension,
## the binary users install: one fat-LTO build of the extension, not two.
python-release-test: python-sysdeps python-venv
	$(MAKE) --no-print-directory dist DIST_FULL=0
	rm -f $(PY_DIR)/authgate/_authgate*.so
	$(PY) -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); so = [n for n in z.namelist() if n.startswith("authgate/_authgate") and n.endswith(".so")]; assert len(so) == 1, so; z.extract(so[0], sys.argv[2]); print("python-release-test: the extension of", sys.argv[1])' \
		$(DIST_DIR)/authgate-*.whl $(PY_DIR)
	@# python/ on the venv's path, as `maturin develop` puts it: the servers the tests start import it too.
	$(PY) -c 'import site, sys; open(site.getsitepackages()[0] + "/authgate.pth", "w").write(sys.argv[1] + "\n")' $(abspath $(PY_DIR))
	$(MAKE) --no-print-directory python-test-suite

## The shared-memory replay store's own Rust tests (forked processes; no Python needed at
## run time), then pytest against the extension in python/authgate; pytest's exit code 5 (no
## tests collected) is a failure; then stubtest.
python-test-suite:
	cd $(PY_DIR) && CARGO_TARGET_DIR=$(abspath $(PY_DIR))/target cargo test -q --lib --no-default-features
	cd $(PY_DIR) && ./.venv/bin/python -m pytest -q -rs tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "python-test: pytest collected no tests"; exit 1; fi; exit $$rc
	cd $(PY_DIR) && ./.venv/bin/python -m mypy.stubtest --mypy-config-file pyproject.toml authgate
	$(MAKE) --no-print-directory python-browser-spec

## The demo in headless Chromium (tests/browser, mk/browser.mk): the AuthGate style's origin
## check, and the same demo with it off as the control.
python-browser: python-build
	$(MAKE) --no-print-directory python-browser-spec

python-browser-spec: browser-deps
	PYTHONPATH=$(abspath $(PY_DIR)) AUTHGATE_PYTHON=$(abspath $(PY)) $(BROWSER_RUN) $(BROWSER_DIR)/specs/python.json

## Run from here, so that relative paths in ARGS (--cert, --key, --users-file) are the user's.
demo: python-build
	PYTHONPATH=$(abspath $(PY_DIR)) $(PY) -m demo $(ARGS)

python-bench: python-build
	cd $(PY_DIR) && ./.venv/bin/python bench/bench.py $(ARGS)

## In one process, httpx over ASGI (no sockets); ARGS = rounds (default 20).
python-bench-asgi: python-build
	cd $(PY_DIR) && ./.venv/bin/python bench/asgi_overhead.py $(ARGS)
