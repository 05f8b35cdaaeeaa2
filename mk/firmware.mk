# firmware-example (issue 5): the Raspberry Pi Pico W image and its Linux host twin.
#
#   make firmware-test   build the Pico W image (release, thumbv6m) and run the host-twin curl test
#   make firmware-size   flash / static RAM of the image and authgate's share of the flash
#   make firmware-stack  stack high-water of one authgate check (thumbv6m under QEMU); fails above
#                        the probe's budget (part of `make test`)
#
# firmware-example is a cargo workspace of its own (target dir firmware-example/target).
# FIRMWARE_JOBS sets cargo's -j (1 by default: the image build is mostly one long LTO step).

FIRMWARE_DIR := firmware-example
FIRMWARE_JOBS ?= 1

TEST_TARGETS += firmware-test firmware-stack
SIZE_TARGETS += firmware-size

.PHONY: firmware-test firmware-size firmware-image firmware-twin firmware-deps firmware-stack

## Toolchain target and the tools the twin test and size report use.
firmware-deps:
	@rustup target list --installed | grep -qx thumbv6m-none-eabi || rustup target add thumbv6m-none-eabi
	@missing=; \
	for t in ip:iproute2 curl:curl python3:python3 readelf:binutils nm:binutils; do \
	  command -v $${t%%:*} >/dev/null || missing="$$missing $${t#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "firmware: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

## The Pico W image, on stable Rust, without Wi-Fi credentials (CI).
firmware-image: firmware-deps
	cd $(FIRMWARE_DIR)/pico-w && $(CARGO) build --release -j$(FIRMWARE_JOBS)

## The Linux twin (dev profile).
firmware-twin: firmware-deps
	cd $(FIRMWARE_DIR)/host && $(CARGO) build -j$(FIRMWARE_JOBS)

firmware-test: firmware-image firmware-twin
	TWIN=$(CURDIR)/$(FIRMWARE_DIR)/target/debug/authgate-twin $(FIRMWARE_DIR)/tests/host_twin.sh

firmware-size: firmware-image
	$(FIRMWARE_DIR)/size.sh $(FIRMWARE_DIR)/target/thumbv6m-none-eabi/release/authgate-pico-w

## Stack high-water of one authgate check: thumbv6m code under QEMU; the probe exits with a
## failure above its budget (STACK_BUDGET in stack-probe/src/main.rs).
firmware-stack: firmware-deps
	@command -v qemu-system-arm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm; }
	cd $(FIRMWARE_DIR)/stack-probe && $(CARGO) run --release -j$(FIRMWARE_JOBS)
