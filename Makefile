# Makefile - a thin front door over CMake presets (CMakePresets.json).
#
# Two commands are all a new user needs on a fresh Debian machine:
#   make demo   build, then run a 3-node record service on loopback through a
#               lost disk (refraft demo; docs/cli.md)
#   make test   build, run every test, then again under ASan + UBSan
# Both install the Debian packages that are missing first.  `make help` lists
# the other targets.  The real build lives in CMakeLists.txt; nothing here
# compiles anything by itself.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DEFAULT_GOAL := help
# Parallelism lives inside cmake and ctest (-j $(JOBS)); the targets here run
# in order even under `make -j`, so the asan pass follows the default one.
.NOTPARALLEL:
# cmake --build runs make underneath; keep its output free of
# "Entering directory" lines.
MAKEFLAGS += --no-print-directory

# Debian packages the build and the tests need.  Later layers add theirs
# here, and only here.  liblmdb-dev: refstore's storage; libssl-dev:
# SHA-256 of records and TLS; libprotobuf-c-dev, protobuf-c-compiler: the
# wire format; libmicrohttpd-dev, libcurl4-openssl-dev: the HTTP server
# and client of the transport; libgnutls28-dev: the server checks peers'
# client certificates itself (libmicrohttpd's TLS is GnuTLS, and it leaves
# that check to the application); clang: the decoder's fuzz target
# (libFuzzer).
PACKAGES := cmake make gcc libc6-dev pkg-config libcmocka-dev liblmdb-dev \
            libssl-dev libprotobuf-c-dev protobuf-c-compiler \
            libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev clang
# Only `make format` needs these; they are installed when it runs.
FORMAT_PACKAGES := clang-format

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
BIN := build/bin

# CI sets CI=true: warnings become errors there (curl's CURL_WERROR habit).
# The presets read REFRAFT_WERROR from the environment.
ifneq ($(filter-out false False FALSE 0 no,$(CI)),)
REFRAFT_WERROR := ON
endif
export REFRAFT_WERROR

# apt-get needs root; use sudo only when we are not root already.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# $(call apt_install,PACKAGES): install those of PACKAGES that dpkg does not
# report as installed.  `apt-get update` runs only when something is missing.
define apt_install
@missing=""; \
	if ! command -v dpkg-query >/dev/null 2>&1; then \
	    echo "deps: no dpkg-query (not Debian?); make sure these are installed: $(1)"; \
	    exit 0; \
	fi; \
	for p in $(1); do \
	    dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null \
	        | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then \
	    echo "deps: all present ($(strip $(1)))"; \
	else \
	    echo "deps: installing$$missing"; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

.PHONY: help deps build test test-default test-asan demo soak bench install \
        clean format

help:
	@echo "refraft - Raft over references.  Targets:"
	@echo "  make demo     build, then run a 3-node record service on loopback through a lost disk"
	@echo "  make test     build and run all tests, then the asan preset (ASan + UBSan)"
	@echo "  make build    install missing Debian packages, configure and build (build/bin/)"
	@echo "  make soak     long runs: 20000 simulator seeds on 3 and 5 nodes, 5000 store crash kills, 6-minute drills"
	@echo "  make bench    benchmarks (refraft-bench core, store, sweep, limit, cluster, recover, decode, install)"
	@echo "  make install  install headers, libraries, refraft.pc, CMake package (PREFIX=$(PREFIX))"
	@echo "  make deps     install the missing Debian packages only"
	@echo "  make format   clang-format every tracked (or new, unignored) .c and .h file"
	@echo "  make clean    remove build/ and build-asan/"
	@echo "Variables: JOBS=$(JOBS) PREFIX=$(PREFIX) CI=$(CI) (CI set: -Werror)"

deps:
	$(call apt_install,$(PACKAGES))

build: deps
	cmake --preset default
	cmake --build --preset default -j $(JOBS)

# Each ctest run keeps its log so the summary lines can be repeated at the
# end, where a reader (or CI) looks for them.
test: test-default test-asan
	@echo "== test summary"
	@for preset in build build-asan; do \
	    printf '%-11s %s\n' "$$preset:" "$$(grep -E 'tests passed' $$preset/ctest.log)"; \
	done
	@cat build/ctest.log build-asan/ctest.log | awk \
	    '/tests passed, .* tests failed out of/ { f += $$4; t += $$NF } \
	     END { printf "test: %d passed, %d failed\n", t - f, f }'

test-default: build
	ctest --preset default -j $(JOBS) 2>&1 | tee build/ctest.log

test-asan: deps
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS) 2>&1 | tee build-asan/ctest.log

demo: build
	$(BIN)/refraft demo

soak: build
	$(BIN)/refraft-sim --runs 20000 --nodes 3 --steps 4000
	$(BIN)/refraft-sim --runs 20000 --nodes 5 --steps 4000
	$(BIN)/refstore-torture --kills 5000
	$(BIN)/refraft drill all --nodes 3 --duration 60 --report build/drill-3
	$(BIN)/refraft drill all --nodes 5 --duration 60 --report build/drill-5

bench: build
	$(BIN)/refraft-bench core
	$(BIN)/refraft-bench store
	$(BIN)/refraft-bench sweep
	$(BIN)/refraft-bench limit
	$(BIN)/refraft-bench cluster
	$(BIN)/refraft-bench cluster --inflight 1,1024 --append-before-send
	$(BIN)/refraft-bench cluster --client-http
	$(BIN)/refraft-bench recover
	$(BIN)/refraft-bench decode
	$(BIN)/refraft-bench install

# Installing into a prefix we cannot write (the default /usr/local for a
# normal user) goes through sudo; the build itself never runs as root.
install: build
	@dir="$(PREFIX)"; while [ ! -d "$$dir" ]; do dir=$$(dirname "$$dir"); done; \
	if [ -w "$$dir" ]; then sudo=""; else sudo="$(SUDO)"; fi; \
	echo "$$sudo cmake --install build --prefix $(PREFIX)"; \
	$$sudo cmake --install build --prefix "$(PREFIX)"

clean:
	rm -rf build build-asan

format:
	$(call apt_install,$(FORMAT_PACKAGES))
	git ls-files -z --cached --others --exclude-standard -- '*.c' '*.h' | xargs -0 -r clang-format -i
