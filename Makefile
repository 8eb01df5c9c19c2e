# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A thin front for people and CI.  The build itself is CMake's and needs
# nothing from here; `setup` is what a fresh Debian 12 machine lacks.

MAKEFLAGS += --no-print-directory

BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CRIU_PATH_FILE := $(BUILD)/criu-runtime/criu-path

.PHONY: all setup configure build check demo bench soak reliability fuzz \
	lint format install clean

all: build

setup:
	@scripts/setup.sh $(BUILD)

configure: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
		-DTHAW_CRIU_BINARY="$$(cat $(CRIU_PATH_FILE))" $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

check: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	@$(BUILD)/examples/thaw-demo

bench: build
	@cmake --build $(BUILD) --target bench

soak: build
	@cmake --build $(BUILD) --target soak

reliability: build
	@cmake --build $(BUILD) --target reliability

fuzz: setup
	@cmake -S . -B $(BUILD)/fuzz -DCMAKE_C_COMPILER=clang -DTHAW_FUZZ=ON \
		-DTHAW_CRIU_BINARY="$$(cat $(CRIU_PATH_FILE))" >/dev/null
	@cmake --build $(BUILD)/fuzz -j $(JOBS) --target fuzz

lint: configure
	@scripts/lint.sh $(BUILD)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

# `make install DESTDIR=/stage` stages the tree; the prefix and folders
# are those the build was configured with (CMAKE_FLAGS).
install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD)

clean:
	@rm -rf $(BUILD)
