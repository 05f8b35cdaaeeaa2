# Fuzzing: cargo-fuzz (libFuzzer) targets in fuzz/, a crate with its own workspace, built
# with the nightly toolchain. See fuzz/README.md.
#
#   make fuzz-smoke              (part of `make test`) seeds, builds, runs every target
#                                FUZZ_SMOKE_SECONDS (5) without a sanitizer; fails on any crash
#   make fuzz FUZZ_SECONDS=N     every target N seconds (default 600), the ffi target under
#                                AddressSanitizer; prints executions and crashes per target
#
# Installs cargo-fuzz (pinned) with cargo install when missing; the nightly toolchain must
# be installed (rustup toolchain `nightly`). One libFuzzer process at a time.

FUZZ_TOOLCHAIN ?= nightly
FUZZ_CARGO_FUZZ_VERSION := 0.13.2
FUZZ_CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_SECONDS ?= 600
FUZZ_ASAN_TARGETS ?= ffi

TEST_TARGETS += fuzz-smoke
TEST_DEPS += fuzz-deps

.PHONY: fuzz fuzz-smoke fuzz-deps

fuzz-deps:
	@rustup run $(FUZZ_TOOLCHAIN) rustc --version >/dev/null 2>&1 || \
		{ echo "fuzz: the '$(FUZZ_TOOLCHAIN)' rust toolchain is not installed (rustup toolchain install $(FUZZ_TOOLCHAIN))"; exit 1; }
	@$(FUZZ_CARGO_BIN)/cargo-fuzz --version 2>/dev/null | grep -qx 'cargo-fuzz $(FUZZ_CARGO_FUZZ_VERSION)' || \
		$(CARGO) install cargo-fuzz --locked --version $(FUZZ_CARGO_FUZZ_VERSION) -j2

fuzz-smoke: fuzz-deps
	FUZZ_TOOLCHAIN=$(FUZZ_TOOLCHAIN) FUZZ_ASAN_TARGETS= bash fuzz/run.sh $(FUZZ_SMOKE_SECONDS)
	@echo "fuzz-smoke: every target ran $(FUZZ_SMOKE_SECONDS)s without a crash"

fuzz: fuzz-deps
	FUZZ_TOOLCHAIN=$(FUZZ_TOOLCHAIN) FUZZ_ASAN_TARGETS="$(FUZZ_ASAN_TARGETS)" bash fuzz/run.sh $(FUZZ_SECONDS)
