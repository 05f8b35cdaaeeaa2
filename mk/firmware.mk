# firmware-example (issues 5, 22): the Pico W / Pico 2 W images and their Linux host twin.
#
#   make firmware-test   build both images (release) and the twin, check the Pico W flash
#                        budget and the UF2 files, run the host-twin test and headless Chromium
#                        against the twin (cross-site requests, DNS rebinding: firmware-browser)
#   make firmware-size   flash / static RAM of both images and authgate's share of the flash
#   make firmware-stack  stack high-water of one authgate check (thumbv6m under QEMU); fails above
#                        the probe's budget (part of `make test`)
#   make uf2             UF2 files for both boards (+ factory-reset UF2s) in firmware-example/uf2-out/
#
# firmware-example is a cargo workspace of its own (target dir firmware-example/target).
# FIRMWARE_JOBS sets cargo's -j (2 by default; the last step of each image is one LTO job).

FIRMWARE_DIR := firmware-example
FIRMWARE_JOBS ?= 2
FIRMWARE_TARGET := $(CURDIR)/$(FIRMWARE_DIR)/target
PICO_W_ELF := $(FIRMWARE_TARGET)/thumbv6m-none-eabi/release/authgate-pico-w
PICO2_W_ELF := $(FIRMWARE_TARGET)/thumbv8m.main-none-eabihf/release/authgate-pico2-w
UF2_OUT := $(CURDIR)/$(FIRMWARE_DIR)/uf2-out
# The Pico W image's flash budget (of its 2 MiB): 448 KiB.
PICO_W_MAX_FLASH := 458752
FIRMWARE_PY := $(CURDIR)/$(FIRMWARE_DIR)/.venv/bin/python
# Panic locations name source files; without the build machine's path prefixes they are some
# 5 KiB shorter in the Pico W image, and the images no longer depend on where they were built.
CARGO_REGISTRY_SRC := $(or $(CARGO_HOME),$(HOME)/.cargo)/registry/src
FIRMWARE_REMAP = --config 'target.$(1).rustflags=["--remap-path-prefix=$(CARGO_REGISTRY_SRC)/=", "--remap-path-prefix=$(CURDIR)/="]'
# The images make test builds carry a placeholder Wi-Fi network (unless one is set), so that
# the Wi-Fi join and rejoin code is linked and counted as in a user's image.
FIRMWARE_CI_WIFI = WIFI_NETWORK="$${WIFI_NETWORK:-authgate-ci-placeholder}" WIFI_PASSWORD="$${WIFI_PASSWORD:-placeholder-passphrase}"
# JWT bearer tokens (issue 20): linked only when AUTHGATE_JWT_KEY is set, so the default
# image stays in its budget. The twin is always built with JWT, with this test-only secret.
FIRMWARE_JWT_FEATURE = $(if $(AUTHGATE_JWT_KEY),--features jwt)
FIRMWARE_TWIN_JWT_KEY := authgate-twin-test-only-hs256-secret-0123456789

TEST_TARGETS += firmware-test firmware-stack
TEST_DEPS += firmware-deps
APT_PACKAGES += iproute2 curl binutils qemu-system-arm
SIZE_TARGETS += firmware-size

.PHONY: firmware-test firmware-size firmware-image firmware-twin firmware-deps firmware-targets firmware-stack uf2

## The two images' Rust targets (all `make uf2` needs besides cargo and python3).
firmware-targets:
	@for t in thumbv6m-none-eabi thumbv8m.main-none-eabihf; do \
	  rustup target list --installed | grep -qx $$t || rustup target add $$t; \
	done

## The tools the twin test and size report use, and python-zeroconf (the mDNS client the
## test resolves the twin's .local name with) and PyJWT (the JWT cases' token minter) in a venv.
firmware-deps: firmware-targets
	@missing=; \
	for t in ip:iproute2 curl:curl python3:python3 readelf:binutils nm:binutils; do \
	  command -v $${t%%:*} >/dev/null || missing="$$missing $${t#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "firmware: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@test -x $(FIRMWARE_PY) && $(FIRMWARE_PY) -c 'import zeroconf' 2>/dev/null || { \
	  python3 -m venv $(FIRMWARE_DIR)/.venv && \
	  $(FIRMWARE_PY) -m pip install -q --disable-pip-version-check 'zeroconf>=0.132'; }
	@$(FIRMWARE_PY) -c 'import jwt' 2>/dev/null || \
	  $(FIRMWARE_PY) -m pip install -q --disable-pip-version-check 'PyJWT>=2.8'

## Both images, on stable Rust, with the environment's WIFI_* and AUTHGATE_* settings.
firmware-image: firmware-targets
	cd $(FIRMWARE_DIR)/pico-w && $(CARGO) build --release -j$(FIRMWARE_JOBS) $(FIRMWARE_JWT_FEATURE) $(call FIRMWARE_REMAP,thumbv6m-none-eabi)
	cd $(FIRMWARE_DIR)/pico2-w && $(CARGO) build --release -j$(FIRMWARE_JOBS) $(FIRMWARE_JWT_FEATURE) $(call FIRMWARE_REMAP,thumbv8m.main-none-eabihf)

## The same, as make test checks them: a placeholder Wi-Fi network if none is set.
.PHONY: firmware-image-ci
firmware-image-ci: firmware-targets
	$(FIRMWARE_CI_WIFI) $(MAKE) --no-print-directory firmware-image

## The Linux twin (dev profile, with JWT and the test secret) and the UF2 writer.
firmware-twin:
	cd $(FIRMWARE_DIR) && AUTHGATE_JWT_KEY='$(FIRMWARE_TWIN_JWT_KEY)' $(CARGO) build -j$(FIRMWARE_JOBS) \
	  -p authgate-fw-host -p authgate-fw-uf2 --features authgate-fw-host/jwt

firmware-test: firmware-deps firmware-image-ci firmware-twin
	cd $(FIRMWARE_DIR) && $(CARGO) test -j$(FIRMWARE_JOBS) -p authgate-fw-app
	cd $(FIRMWARE_DIR) && AUTHGATE_JWT_KEY='$(FIRMWARE_TWIN_JWT_KEY)' $(CARGO) test -j$(FIRMWARE_JOBS) -p authgate-fw-app --features jwt
	$(FIRMWARE_DIR)/size.sh --max-flash $(PICO_W_MAX_FLASH) $(PICO_W_ELF)
	$(FIRMWARE_DIR)/size.sh $(PICO2_W_ELF)
	$(MAKE) --no-print-directory uf2-files
	TWIN=$(FIRMWARE_TARGET)/debug/authgate-twin PYTHON=$(FIRMWARE_PY) TWIN_JWT_KEY='$(FIRMWARE_TWIN_JWT_KEY)' \
	  FACTORY_RESET_UF2=$(UF2_OUT)/authgate-factory-reset-pico-w.uf2 $(FIRMWARE_DIR)/tests/host_twin.sh
	$(MAKE) --no-print-directory firmware-browser

## Headless Chromium logs in to the twin (picoserve's tokio transport on 127.0.0.1), then pages of
## other origins try to switch its LED with the cached login (403, LED unchanged), and a
## rebinding name reaches it (421) (tests/browser, mk/browser.mk).
.PHONY: firmware-browser
firmware-browser: browser-deps firmware-twin
	AUTHGATE_TWIN=$(FIRMWARE_TARGET)/debug/authgate-twin $(BROWSER_RUN) $(BROWSER_DIR)/specs/firmware.json

firmware-size: firmware-deps firmware-image-ci
	$(FIRMWARE_DIR)/size.sh $(PICO_W_ELF)
	$(FIRMWARE_DIR)/size.sh $(PICO2_W_ELF)

## UF2 files for a board without a debug probe (see firmware-example/README.md). Set
## WIFI_NETWORK, WIFI_PASSWORD and AUTHGATE_CREDENTIAL (or AUTHGATE_PASSWORD) first.
uf2: firmware-image
	cd $(FIRMWARE_DIR) && $(CARGO) build -j$(FIRMWARE_JOBS) -p authgate-fw-uf2
	$(MAKE) --no-print-directory uf2-files

.PHONY: uf2-files
uf2-files:
	@mkdir -p $(UF2_OUT)
	$(FIRMWARE_TARGET)/debug/authgate-uf2 image pico-w $(PICO_W_ELF) $(UF2_OUT)/authgate-pico-w.uf2
	$(FIRMWARE_TARGET)/debug/authgate-uf2 image pico2-w $(PICO2_W_ELF) $(UF2_OUT)/authgate-pico2-w.uf2
	$(FIRMWARE_TARGET)/debug/authgate-uf2 factory-reset pico-w $(UF2_OUT)/authgate-factory-reset-pico-w.uf2
	$(FIRMWARE_TARGET)/debug/authgate-uf2 factory-reset pico2-w $(UF2_OUT)/authgate-factory-reset-pico2-w.uf2
	python3 $(FIRMWARE_DIR)/tests/uf2_check.py image pico-w $(PICO_W_ELF) $(UF2_OUT)/authgate-pico-w.uf2
	python3 $(FIRMWARE_DIR)/tests/uf2_check.py image pico2-w $(PICO2_W_ELF) $(UF2_OUT)/authgate-pico2-w.uf2
	python3 $(FIRMWARE_DIR)/tests/uf2_check.py factory-reset pico-w $(UF2_OUT)/authgate-factory-reset-pico-w.uf2
	python3 $(FIRMWARE_DIR)/tests/uf2_check.py factory-reset pico2-w $(UF2_OUT)/authgate-factory-reset-pico2-w.uf2

## Stack high-water of one authgate check: thumbv6m code under QEMU; the probe exits with a
## failure above its budget (STACK_BUDGET in stack-probe/src/main.rs).
firmware-stack: firmware-deps
	@command -v qemu-system-arm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm; }
	cd $(FIRMWARE_DIR)/stack-probe && $(CARGO) run --release -j$(FIRMWARE_JOBS)
