# authgate — every check the project has runs from `make test`.
# Component makefiles in mk/ add their targets to TEST_TARGETS / SIZE_TARGETS.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
TEST_TARGETS :=
TEST_DEPS :=
APT_PACKAGES := apache2-utils gcc-multilib
SIZE_TARGETS :=


.PHONY: all test test-deps size apache2-utils core-size-htfile core-test core-test-compact core-test-32 md5-vendor-test core-embedded core-size core-size-inline toolchain bench

all: test

-include mk/*.mk

toolchain:
	@rustup target list --installed | grep -qx thumbv6m-none-eabi || rustup target add thumbv6m-none-eabi
	@rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf

## The Rust workspace: unit, conformance (shared vectors) and property tests, benches in test mode.
CORE_CRATES := -p authgate -p authgate-tests -p authgate-benches

core-test: toolchain apache2-utils
	python3 tests/vectors/generate.py --check
	@# The speed and size forms are chosen by authgate_backend in core/src/accel, never by pointer width.
	@! grep -rn 'target_pointer_width' core/src || { echo "core/src: choose a form with authgate_backend, not target_pointer_width"; exit 1; }
	$(CARGO) test $(CORE_CRATES) --all-targets
	$(CARGO) test -p authgate --doc
	$(CARGO) test -p authgate --lib --no-default-features --features md5,basic
	$(CARGO) test -p authgate --lib --no-default-features --features sha256,basic
	$(CARGO) test -p authgate --lib --no-default-features --features ntlm,negotiate
	$(CARGO) test -p authgate --lib --no-default-features --features jwt-es256,jwt-eddsa
	$(MAKE) md5-vendor-test
	$(MAKE) core-test-compact
	$(MAKE) core-test-32
	$(CARGO) build -p authgate --no-default-features
	$(CARGO) clippy $(CORE_CRATES) --all-targets -- -D warnings
	$(CARGO) fmt --all --check
	cd firmware-example && $(CARGO) fmt --all --check
	$(MAKE) core-embedded

## Apache's htpasswd and htdigest, which write the files the htfile tests read (core, C, Python).
apache2-utils:
	@command -v htpasswd >/dev/null && command -v htdigest >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2-utils; }

## The lib tests, the shared vectors, the limits, engine and replay-burst tests with the
## microcontrollers' forms of the hot spots (core/src/accel/portable.rs,
## `--cfg authgate_backend="compact"`, as the firmware builds them), on the host (own target
## dir: RUSTFLAGS would rebuild the rest), and clippy on that form. (The stress and property
## tests run with the default form only: minutes of the budget for no other code.)
COMPACT_TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)/compact
core-test-compact:
	RUSTFLAGS='--cfg authgate_backend="compact"' $(CARGO) test -p authgate --lib --target-dir $(COMPACT_TARGET_DIR)
	RUSTFLAGS='--cfg authgate_backend="compact"' $(CARGO) test -p authgate-tests --test vectors --test limits --test engine \
		--test replay_burst --target-dir $(COMPACT_TARGET_DIR)
	RUSTFLAGS='--cfg authgate_backend="compact"' $(CARGO) clippy -p authgate --all-targets --target-dir $(COMPACT_TARGET_DIR) -- -D warnings

## The lib tests on a 32-bit target (i686 Linux, run natively): word-size assumptions
## (`usize` words in the constant-time comparisons) hold there too.
I686 := i686-unknown-linux-gnu
core-test-32:
	@rustup target list --installed | grep -qx $(I686) || rustup target add $(I686)
	@ls /usr/lib/gcc/x86_64-linux-gnu/*/32/libgcc.a >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-multilib; }
	$(CARGO) test -p authgate --lib --target $(I686) --no-default-features --features md5,sha256,basic

## vendor/md-5 (md-5 0.11.0 + a compact backend): its tests with the default (unrolled) code,
## where the unit tests compare the compact loop with the unrolled one, then all of them again
## with `md5_backend="compact"` selected (own target dir: RUSTFLAGS would rebuild the rest).
md5-vendor-test:
	$(CARGO) test -p md-5
	RUSTFLAGS='--cfg md5_backend="compact"' $(CARGO) test -p md-5 --target-dir $(or $(CARGO_TARGET_DIR),target)/md5-compact

## The core for microcontrollers, and proof that no allocator is linked.
core-embedded: toolchain
	$(CARGO) build -p authgate --target thumbv7em-none-eabihf --release
	$(CARGO) build -p authgate --target thumbv6m-none-eabi --release --no-default-features --features md5,sha256,basic
	cd core/size-probe && $(CARGO) build --release --features jwt-hs512,jwt-es256,jwt-eddsa
	$(CARGO) build -p authgate --target thumbv6m-none-eabi --release --no-default-features --features md5,sha256,basic,ntlm,negotiate
	cd core/size-probe && $(CARGO) build --release --features ntlm-unicode-names
	cd core/size-probe && $(CARGO) build --release
	@echo "no-alloc check: a thumbv6m binary with authgate and no #[global_allocator] linked"

## Flash size of the core on thumbv6m at opt-level "s".
core-size: toolchain
	cd core/size-probe && ./size-report.sh

## The flash each htpasswd format (and an htdigest line) adds to that image.
core-size-htfile: toolchain
	cd core/size-probe && ./htfile-size.sh

## The same flash attributed to the authgate functions it was inlined from (needs llvm tools).
core-size-inline: toolchain
	@command -v llvm-addr2line >/dev/null || ls /usr/bin/llvm-addr2line-* >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq llvm; }
	core/size-probe/inline-report.py

size: core-size core-size-htfile $(SIZE_TARGETS)

## Criterion figures, then the engine / raw-hashing ratio in instructions (callgrind).
bench:
	$(CARGO) bench -p authgate-benches
	benches/ratio.sh

## Every check, in parts that run TEST_JOBS at a time (they wait on each other only for a
## shared cargo target directory): first what they install (one apt-get for every part's
## Debian packages: dpkg takes one install at a time), then the parts, longest first, each
## into $(TEST_LOG_DIR)/PART.log, then a table of their times. A failing part's log is printed.
TEST_JOBS ?= 3
TEST_LOG_DIR := $(or $(CARGO_TARGET_DIR),target)/test-logs
TEST_ORDER := python-release-test core-test firmware-test fuzz-smoke crate-test ffi-test miri-smoke ct-smoke firmware-stack
TEST_PARTS := $(foreach p,$(TEST_ORDER),$(filter $(p),core-test $(TEST_TARGETS))) $(filter-out $(TEST_ORDER),core-test $(TEST_TARGETS))

test-deps: toolchain
	@missing=""; for p in $(sort $(APT_PACKAGES)); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "test-deps: apt-get install$$missing"; SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@rustup target list --installed | grep -qx $(I686) || rustup target add $(I686)
	$(MAKE) --no-print-directory -j1 $(TEST_DEPS)

test: test-deps
	@rm -rf $(TEST_LOG_DIR) && mkdir -p $(TEST_LOG_DIR)
	@start=$$(date +%s); echo "make test: $(words $(TEST_PARTS)) parts, $(TEST_JOBS) at a time, logs in $(TEST_LOG_DIR)/"; \
	$(MAKE) --no-print-directory -k -j$(TEST_JOBS) $(addprefix test-part/,$(TEST_PARTS)); rc=$$?; \
	bash mk/test-report.sh $(TEST_LOG_DIR) $$(( $$(date +%s) - start )) $(TEST_PARTS); \
	exit $$rc

## One part, alone in its make (-j1: its own recipes keep their order).
test-part/%:
	@echo "== $*: started"
	@start=$$(date +%s); $(MAKE) --no-print-directory -j1 $* > $(TEST_LOG_DIR)/$*.log 2>&1; rc=$$?; \
	echo "$* $$rc $$(( $$(date +%s) - start ))" >> $(TEST_LOG_DIR)/times; \
	if [ $$rc = 0 ]; then echo "== $*: passed in $$(( $$(date +%s) - start )) s"; \
	else echo "== $*: FAILED (exit $$rc) after $$(( $$(date +%s) - start )) s; its log:"; cat $(TEST_LOG_DIR)/$*.log; fi; \
	exit $$rc
