# Release artefacts, made and checked the way each ecosystem installs them.
#   make dist           into dist/ (gitignored), then dist-check:
#                         authgate-VERSION.tar.gz                                the Python sdist
#                         authgate-VERSION-cp39-abi3-manylinux_2_17_x86_64.whl   one wheel for CPython >= 3.9
#                         libauthgate-VERSION-TRIPLE.tar.gz                      the C library (make install layout)
#                         SHA256SUMS
#   make dist-check     the artefacts in dist/: packaging/check_artifacts.py (names, tags, sizes, licences,
#                       metadata, stripping), auditwheel, then packaging/check-dist.sh (installed as users do:
#                       the wheel in a fresh venv of each CPython 3.9-3.13 found, the sdist by `pip install`
#                       in a fresh venv, the C archive through pkg-config)
#   make crate-package  `cargo package` of the published crate: warnings are errors, licences and README in it;
#                       its API docs with every feature (as docs.rs builds them) without a rustdoc warning
#   make msrv           the published crate checked with its rust-version (rustup installs that toolchain)
#   make dist-test      all of them (`make test` runs them as crate-test and python-release-test), with DIST_FULL=0: the wheel in the oldest and newest
#                       CPython only, and no second compile for `pip install` of the sdist (the wheel itself
#                       is built from the unpacked sdist, so the sdist's completeness is still checked)
#
# The wheel is linked by zig (`maturin --zig`, ziglang from PyPI) against glibc 2.17 symbols:
# it then runs on every glibc distribution since CentOS 7, where a wheel linked here needs
# this machine's glibc (2.34 symbols: manylinux_2_34). That is what manylinux Docker images
# give, without Docker. auditwheel, run separately, confirms the tag.

DIST_DIR := dist
DIST_FULL ?= 1
DIST_BUILD := $(or $(CARGO_TARGET_DIR),target)/dist
DIST_TOOLS := $(DIST_BUILD)/tools
DIST_TOOLS_PY := $(DIST_TOOLS)/bin/python
# Pinned, so that a release is rebuilt with the same tools.
DIST_TOOLS_PKGS := maturin==1.16.0 ziglang==0.17.1 auditwheel==6.8.2
DIST_TOOLS_STAMP := $(DIST_TOOLS)/.stamp-1
DIST_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
DIST_MSRV := $(shell sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# rustup's name for it: 1.88 -> 1.88.0 (rustup reads "1.88" as "the newest 1.88.x").
DIST_MSRV_TOOLCHAIN := $(DIST_MSRV)$(if $(word 3,$(subst ., ,$(DIST_MSRV))),,.0)
DIST_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')
DIST_C_DIR := libauthgate-$(DIST_VERSION)
# Reproducible archives: the time of the last commit, sorted names, no owners.
DIST_EPOCH = $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
DIST_TAR = tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$(DIST_EPOCH) --format=gnu

# In `make test`: crate-test (the crate package and the MSRV) as a part of its own; `make dist
# DIST_FULL=0` as the first half of python-release-test (mk/python.mk), whose suite then runs
# against the wheel's extension.
TEST_TARGETS += crate-test
TEST_DEPS += dist-tools
.PHONY: dist dist-tools dist-sdist dist-wheel dist-c dist-check crate-package msrv crate-test dist-test

$(DIST_TOOLS_STAMP): mk/dist.mk
	test -x $(DIST_TOOLS_PY) || python3 -m venv $(DIST_TOOLS)
	$(DIST_TOOLS_PY) -m pip install -q --disable-pip-version-check $(DIST_TOOLS_PKGS)
	touch $@

dist-tools: $(DIST_TOOLS_STAMP)

dist: dist-sdist dist-wheel dist-c
	cd $(DIST_DIR) && sha256sum $$(ls | grep -v '^SHA256SUMS$$') > SHA256SUMS
	@ls -l $(DIST_DIR)
	$(MAKE) --no-print-directory dist-check

dist-sdist: dist-tools
	@rm -f $(DIST_DIR)/authgate-*.tar.gz && mkdir -p $(DIST_DIR)
	cd python && $(abspath $(DIST_TOOLS))/bin/maturin sdist --out $(abspath $(DIST_DIR))

## The release wheel (pyproject.toml: fat LTO, stripped), built from the unpacked sdist, as
## `python -m build` does: what is published as source is what the wheel was made from.
## Unpacked with fresh times (--touch), so cargo rebuilds the path crates every time, and to
## the same place, so it reuses the compiled crates.io dependencies.
DIST_SDIST_SRC = $(DIST_BUILD)/sdist-src/authgate-$(DIST_VERSION)
dist-wheel: dist-tools dist-sdist
	@rm -f $(DIST_DIR)/authgate-*.whl && rm -rf $(DIST_BUILD)/sdist-src && mkdir -p $(DIST_BUILD)/sdist-src
	tar -C $(DIST_BUILD)/sdist-src --touch -xzf $(DIST_DIR)/authgate-$(DIST_VERSION).tar.gz
	cd $(DIST_SDIST_SRC) && PATH=$(abspath $(DIST_TOOLS))/bin:$$PATH CARGO_TARGET_DIR=$(abspath $(DIST_BUILD))/wheel \
		maturin build --release --zig --compatibility manylinux2014 --out $(abspath $(DIST_DIR))

## `make install` into a staging directory with a relocatable authgate.pc, archived.
dist-c:
	@rm -rf $(DIST_DIR)/libauthgate-*.tar.gz $(DIST_BUILD)/c && mkdir -p $(DIST_DIR) $(DIST_BUILD)/c
	$(MAKE) --no-print-directory install PREFIX=$(abspath $(DIST_BUILD))/c/$(DIST_C_DIR) \
		PC_PREFIX='$$$${pcfiledir}/../..' DESTDIR=
	$(DIST_TAR) -C $(DIST_BUILD)/c -czf $(DIST_DIR)/$(DIST_C_DIR)-$(DIST_TRIPLE).tar.gz $(DIST_C_DIR)

## ffi-deps: pkg-config, for the C archive's check.
dist-check: dist-tools ffi-deps
	$(DIST_TOOLS_PY) packaging/check_artifacts.py $(DIST_DIR) $(DIST_VERSION)
	@echo "== auditwheel show"
	@$(DIST_TOOLS)/bin/auditwheel show $(DIST_DIR)/authgate-*.whl | tee $(DIST_BUILD)/auditwheel.txt
	@tr -s ' \n' ' ' < $(DIST_BUILD)/auditwheel.txt | grep -q 'is consistent with the following platform tag: "manylinux_2_17_x86_64"' \
		&& echo "ok - auditwheel: consistent with manylinux_2_17_x86_64" \
		|| { echo "not ok - auditwheel does not confirm manylinux_2_17_x86_64"; exit 1; }
	DIST_FULL=$(DIST_FULL) bash packaging/check-dist.sh $(DIST_DIR) $(DIST_VERSION)

## The crate as crates.io would get it, built from the package alone (cargo verifies that).
crate-package:
	@out=$$($(CARGO) package -p authgate --allow-dirty 2>&1); status=$$?; echo "$$out"; \
	[ $$status = 0 ] || exit 1; \
	if echo "$$out" | grep -q '^warning'; then echo "not ok - cargo package warns"; exit 1; fi
	@list=$$($(CARGO) package -p authgate --allow-dirty --list 2>/dev/null); \
	for f in LICENSE-MIT LICENSE-APACHE README.md; do \
		echo "$$list" | grep -qx $$f || { echo "not ok - the crate package lacks $$f"; exit 1; }; \
	done; echo "ok - cargo package: no warnings; LICENSE-MIT, LICENSE-APACHE, README.md packaged"
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p authgate --all-features --no-deps -q
	@echo "ok - API docs with all features: no rustdoc warning"

## rust-version is a promise: that Rust compiles the crate, with every feature and with none.
msrv:
	@rustup toolchain list | grep -q '^$(DIST_MSRV_TOOLCHAIN)-' || rustup toolchain install $(DIST_MSRV_TOOLCHAIN) --profile minimal
	rustup run $(DIST_MSRV_TOOLCHAIN) cargo check -p authgate --all-features --target-dir $(or $(CARGO_TARGET_DIR),target)/msrv
	rustup run $(DIST_MSRV_TOOLCHAIN) cargo check -p authgate --no-default-features --target-dir $(or $(CARGO_TARGET_DIR),target)/msrv
	@echo "ok - authgate compiles with Rust $(DIST_MSRV) (rust-version)"

crate-test: crate-package msrv

dist-test: crate-test
	$(MAKE) --no-print-directory dist DIST_FULL=0
