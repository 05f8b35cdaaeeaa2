# authgate-ffi: the C ABI in ffi/ (libauthgate.a, libauthgate.so, ffi/include/authgate.h).
#
#   make ffi-test               unit tests + clippy, header drift check, C tests (static/dynamic x plain/ASan+UBSan/
#                               valgrind), curl against the libmicrohttpd example, install test, headless
#                               Chromium against the example (cross-site requests, DNS rebinding: ffi-browser)
#   make ffi-header             regenerate ffi/include/authgate.h with cbindgen
#   make ffi-example            build the libmicrohttpd example server (target/ffi/authgate_server)
#   make install                stripped libauthgate.a and libauthgate.so (SONAME libauthgate.so.0.1 while 0.x),
#                               header, authgate.pc, licences; PREFIX, LIBDIR, INCLUDEDIR, PKGCONFIGDIR, DOCDIR,
#                               DESTDIR (see "Install" below)
#   make uninstall              removes what `make install` installed (same variables)
#   make ffi-bench              full Digest check through the ABI (C) vs the core (Criterion)
#
# ffi-test installs what it needs on a fresh Debian machine: libmicrohttpd-dev, valgrind,
# curl and pkg-config with apt when missing, and cbindgen (pinned) with cargo install.

FFI_TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
FFI_LIBDIR := $(FFI_TARGET_DIR)/release
FFI_BUILD := $(FFI_TARGET_DIR)/ffi
FFI_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
FFI_CBINDGEN_VERSION := 0.29.4
FFI_CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
CBINDGEN ?= $(FFI_CARGO_BIN)/cbindgen
FFI_CC ?= gcc
FFI_CFLAGS := -std=c11 -Wall -Wextra -Werror -g -Iffi/include
FFI_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# What `cargo rustc -- --print native-static-libs` lists for a std staticlib on Linux.
FFI_STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
FFI_VALGRIND := valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible
FFI_VECTORS := tests/vectors/authgate.vectors
FFI_APT_PACKAGES := libmicrohttpd-dev valgrind curl pkg-config libkrb5-dev krb5-kdc krb5-admin-server krb5-user firefox-esr
FFI_SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# The SONAME of a built shared library (ffi/build.rs sets it: its one definition).
FFI_SONAME_OF = readelf -d $(1) | sed -n 's/.*Library soname: \[\(.*\)\]$$/\1/p'

FFI_RUST_SRC := $(wildcard ffi/src/*.rs) ffi/Cargo.toml ffi/build.rs
FFI_TEST_SRC := ffi/tests/test_authgate.c
FFI_C_TESTS := $(addprefix $(FFI_BUILD)/,test_static test_dynamic test_static_asan test_dynamic_asan)

TEST_TARGETS += ffi-test
TEST_DEPS += ffi-deps
APT_PACKAGES += $(FFI_APT_PACKAGES)

.PHONY: ffi-test ffi-rust-test ffi-deps ffi-lib ffi-stripped ffi-header ffi-header-check ffi-c-tests ffi-interop \
	ffi-install-test ffi-bench ffi-bench-smoke ffi-example ffi-browser install uninstall

ffi-test: ffi-rust-test ffi-header-check ffi-c-tests ffi-interop ffi-browser ffi-install-test ffi-bench-smoke
	@echo "ffi-test: all checks passed"

## The crate's own unit tests (result codes, panic guard, buffers) and clippy.
ffi-rust-test:
	$(CARGO) test -p authgate-ffi --lib -j2
	$(CARGO) clippy -p authgate-ffi --all-targets --no-deps -j2 -- -D warnings

## Tools and libraries, installed only when missing.
ffi-deps:
	@missing=""; for p in $(FFI_APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "ffi: installing$$missing"; \
		$(FFI_SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(FFI_SUDO) apt-get install -y -qq $$missing; \
	fi
	@$(CBINDGEN) --version 2>/dev/null | grep -qx 'cbindgen $(FFI_CBINDGEN_VERSION)' || \
		$(CARGO) install cbindgen --locked --version $(FFI_CBINDGEN_VERSION) -j2

## libauthgate.a and libauthgate.so (release), plus the SONAME link the dynamic tests need.
ffi-lib:
	$(CARGO) build -p authgate-ffi --release -j2
	@mkdir -p $(FFI_BUILD)/lib && rm -f $(FFI_BUILD)/lib/libauthgate.so*
	@soname=$$($(call FFI_SONAME_OF,$(FFI_LIBDIR)/libauthgate.so)); test -n "$$soname" && \
	cp -f $(FFI_LIBDIR)/libauthgate.so $(FFI_BUILD)/lib/$$soname && ln -sf $$soname $(FFI_BUILD)/lib/libauthgate.so

## What is installed and shipped: the same libraries without debug info (as Debian's dh_strip
## does: debug sections off the archive, unneeded symbols off the shared library), and without
## the LLVM bitcode that Rust's std objects carry for Rust's own LTO (.llvmbc: 9 of the
## archive's 10 MB, never read by a C linker).
FFI_STRIPPED := $(FFI_BUILD)/stripped
ffi-stripped: ffi-lib
	@mkdir -p $(FFI_STRIPPED)
	strip --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd --enable-deterministic-archives \
		-o $(FFI_STRIPPED)/libauthgate.a $(FFI_LIBDIR)/libauthgate.a
	strip --strip-unneeded --remove-section=.comment --remove-section=.note \
		-o $(FFI_STRIPPED)/libauthgate.so $(FFI_LIBDIR)/libauthgate.so

## The committed header must equal a fresh cbindgen run, and compile as C11 and C++.
ffi-header-check: ffi-deps
	@tmp=$$(mktemp --suffix=.h); trap 'rm -f "$$tmp"' EXIT; \
	$(CBINDGEN) -q --config ffi/cbindgen.toml --crate authgate-ffi --output "$$tmp" ffi || exit 1; \
	if ! diff -u ffi/include/authgate.h "$$tmp"; then \
		echo "ffi/include/authgate.h differs from cbindgen's output: run 'make ffi-header' and commit it"; exit 1; \
	fi
	@echo '#include "authgate.h"' | $(FFI_CC) -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -Iffi/include -x c -
	@echo '#include "authgate.h"' | g++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -Iffi/include -x c++ -
	@echo "ffi: header up to date"

ffi-header: ffi-deps
	$(CBINDGEN) -q --config ffi/cbindgen.toml --crate authgate-ffi --output ffi/include/authgate.h ffi

## C tests: linked statically and dynamically; run plain, under ASan+UBSan, under valgrind.
$(FFI_BUILD)/test_static: $(FFI_TEST_SRC) ffi/include/authgate.h ffi-lib
	$(FFI_CC) $(FFI_CFLAGS) -O1 $< $(FFI_LIBDIR)/libauthgate.a $(FFI_STATIC_LIBS) -o $@
$(FFI_BUILD)/test_dynamic: $(FFI_TEST_SRC) ffi/include/authgate.h ffi-lib
	$(FFI_CC) $(FFI_CFLAGS) -O1 $< -L$(FFI_BUILD)/lib -lauthgate -pthread -o $@
$(FFI_BUILD)/test_static_asan: $(FFI_TEST_SRC) ffi/include/authgate.h ffi-lib
	$(FFI_CC) $(FFI_CFLAGS) -O1 $(FFI_SANITIZE) $< $(FFI_LIBDIR)/libauthgate.a $(FFI_STATIC_LIBS) -o $@
$(FFI_BUILD)/test_dynamic_asan: $(FFI_TEST_SRC) ffi/include/authgate.h ffi-lib
	$(FFI_CC) $(FFI_CFLAGS) -O1 $(FFI_SANITIZE) $< -L$(FFI_BUILD)/lib -lauthgate -pthread -o $@

ffi-c-tests: ffi-deps $(FFI_C_TESTS)
	@set -e; export LD_LIBRARY_PATH=$(FFI_BUILD)/lib; \
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1; \
	for link in static dynamic; do \
		echo "== ffi C tests: $$link, plain"; $(FFI_BUILD)/test_$$link $(FFI_VECTORS); \
		echo "== ffi C tests: $$link, ASan+UBSan"; $(FFI_BUILD)/test_$${link}_asan $(FFI_VECTORS); \
		echo "== ffi C tests: $$link, valgrind memcheck"; $(FFI_VALGRIND) $(FFI_BUILD)/test_$$link $(FFI_VECTORS); \
	done

## The libmicrohttpd example server, driven by curl on 127.0.0.1.
$(FFI_BUILD)/authgate_server: ffi/examples/authgate_server.c ffi/include/authgate.h ffi-lib
	$(FFI_CC) $(FFI_CFLAGS) -O2 $< $(FFI_LIBDIR)/libauthgate.a -lmicrohttpd -lgssapi_krb5 $(FFI_STATIC_LIBS) -o $@

ffi-example: ffi-deps $(FFI_BUILD)/authgate_server
	@echo "built $(FFI_BUILD)/authgate_server: run it with --help (ffi/README.md)"

ffi-interop: ffi-deps $(FFI_BUILD)/authgate_server
	@echo "== ffi: curl against the libmicrohttpd example"
	bash ffi/tests/curl_interop.sh $(FFI_BUILD)/authgate_server
	@echo "== ffi: NTLM and Kerberos (a real MIT KDC) against the example"
	bash ffi/tests/negotiate_interop.sh $(FFI_BUILD)/authgate_server

## Headless Chromium logs in to the example, then pages of other origins try to toggle its relay
## with the cached login (403, relay unchanged), and a rebinding name reaches it (421); the same
## server with the check off shows the attacks work (tests/browser, mk/browser.mk).
ffi-browser: browser-deps $(FFI_BUILD)/authgate_server
	AUTHGATE_SERVER=$(FFI_BUILD)/authgate_server $(BROWSER_RUN) $(BROWSER_DIR)/specs/c.json

## Install. PREFIX (default /usr/local); LIBDIR (default PREFIX/lib; on Debian's multiarch
## layout, LIBDIR=/usr/lib/x86_64-linux-gnu), INCLUDEDIR, PKGCONFIGDIR, DOCDIR (README and
## licences); DESTDIR for staged installs. PC_PREFIX: the prefix authgate.pc names (the
## relocatable archive of `make dist` sets it to ${pcfiledir}/../..).
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DOCDIR ?= $(PREFIX)/share/doc/authgate
PC_PREFIX ?= $(PREFIX)
# In authgate.pc, directories under PREFIX are written as ${prefix}/...
FFI_PC_DIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

install: ffi-stripped
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DOCDIR)
	install -m 644 ffi/include/authgate.h $(DESTDIR)$(INCLUDEDIR)/authgate.h
	install -m 644 $(FFI_STRIPPED)/libauthgate.a $(DESTDIR)$(LIBDIR)/libauthgate.a
	install -m 755 $(FFI_STRIPPED)/libauthgate.so $(DESTDIR)$(LIBDIR)/libauthgate.so.$(FFI_VERSION)
	soname=$$($(call FFI_SONAME_OF,$(FFI_STRIPPED)/libauthgate.so)); test -n "$$soname" && \
	ln -sf libauthgate.so.$(FFI_VERSION) $(DESTDIR)$(LIBDIR)/$$soname && \
	ln -sf $$soname $(DESTDIR)$(LIBDIR)/libauthgate.so
	sed -e 's|@PREFIX@|$(PC_PREFIX)|' -e 's|@LIBDIR@|$(call FFI_PC_DIR,$(LIBDIR))|' \
		-e 's|@INCLUDEDIR@|$(call FFI_PC_DIR,$(INCLUDEDIR))|' -e 's|@VERSION@|$(FFI_VERSION)|' \
		-e 's|@LIBS_PRIVATE@|$(FFI_STATIC_LIBS)|' ffi/authgate.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/authgate.pc
	install -m 644 ffi/README.md LICENSE-MIT LICENSE-APACHE $(DESTDIR)$(DOCDIR)/

## Removes the files `make install` writes with the same variables; the shared library's
## names are read from the installed links, so an older version's are found too.
uninstall:
	@lib=$(DESTDIR)$(LIBDIR); \
	soname=$$(readlink "$$lib/libauthgate.so" 2>/dev/null); \
	case "$$soname" in */*) ;; libauthgate.so.?*) \
		real=$$(readlink "$$lib/$$soname" 2>/dev/null); \
		case "$$real" in */*) ;; libauthgate.so.?*) rm -f "$$lib/$$real";; esac; \
		rm -f "$$lib/$$soname";; \
	esac; \
	rm -f "$$lib/libauthgate.so" "$$lib/libauthgate.so.$(FFI_VERSION)" "$$lib/libauthgate.a" \
		$(DESTDIR)$(INCLUDEDIR)/authgate.h $(DESTDIR)$(PKGCONFIGDIR)/authgate.pc \
		$(addprefix $(DESTDIR)$(DOCDIR)/,README.md LICENSE-MIT LICENSE-APACHE); \
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true; \
	echo "uninstalled authgate from $(DESTDIR)$(PREFIX)"

## `make install` into a temporary prefix, a C program built with pkg-config only, then
## `make uninstall` must leave nothing behind.
ffi-install-test: ffi-deps ffi-lib
	@echo "== ffi: install, build with pkg-config, uninstall"
	@prefix=$$(mktemp -d); trap 'rm -rf "$$prefix"' EXIT; \
	$(MAKE) --no-print-directory install PREFIX=$$prefix >/dev/null && \
	bash ffi/tests/pkgconfig_test.sh $$prefix $(FFI_VERSION) && \
	$(MAKE) --no-print-directory uninstall PREFIX=$$prefix >/dev/null && \
	left=$$(find $$prefix -type f -o -type l) && \
	if [ -n "$$left" ]; then echo "not ok - uninstall left: $$left"; exit 1; else echo "ok - uninstall removes every file"; fi

## ABI overhead: the C benchmark vs the core's Criterion "digest_check" and callgrind counts.
$(FFI_BUILD)/bench: ffi/bench/bench.c ffi/include/authgate.h ffi-lib
	$(FFI_CC) $(FFI_CFLAGS) -O2 $< $(FFI_LIBDIR)/libauthgate.a $(FFI_STATIC_LIBS) -o $@

ffi-bench: ffi-deps $(FFI_BUILD)/bench
	CARGO=$(CARGO) bash ffi/bench/run.sh $(FFI_BUILD)/bench

## In `make test`: the benchmark builds and its fixed workload authenticates every check.
ffi-bench-smoke: $(FFI_BUILD)/bench
	$(FFI_BUILD)/bench --count 200 SHA-256 MD5
