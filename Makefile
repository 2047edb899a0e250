# Fathom: a plain GNU Makefile. Out-of-tree builds under build/<mode>[-san]/.
#   make                  debug build of build/debug/fathom
#   make MODE=release     optimised, hardened build
#   make SANITIZE=1       ASan+UBSan build (build/debug-san/)
#   make test             every unit and integration test under ASan+UBSan
#   make demo             install missing packages (as root), build, run `fathom demo`
#   make bench | fuzz | format | format-check | lint | web | accuracy

MODE ?= debug
SANITIZE ?=
WERROR ?= 1
CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := openssl zlib jansson sqlite3 libcurl

BUILD := build/$(MODE)$(if $(SANITIZE),-san)
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_COMMIT := $(shell git rev-parse --short=8 HEAD 2>/dev/null || echo unknown)

WARNINGS := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wmissing-declarations -Wpointer-arith -Wsign-compare -Wformat=2 -Wimplicit-fallthrough \
	-Wundef -Wvla -Wcast-qual -Wnull-dereference
# Linux-specific interfaces (epoll, getrandom, SO_COOKIE, TCP_INFO, accept4) need _GNU_SOURCE;
# it is defined here and nowhere else.
CPPFLAGS += -D_GNU_SOURCE -Isrc -DFATHOM_VERSION='"$(VERSION)"' -DFATHOM_GIT_COMMIT='"$(GIT_COMMIT)"' \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
CFLAGS += -std=c11 $(WARNINGS) -g -MMD -MP -pthread
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm -pthread

ifeq ($(MODE),release)
CFLAGS += -O2 -fstack-protector-strong -fPIE
CPPFLAGS += -D_FORTIFY_SOURCE=2
LDFLAGS += -pie -Wl,-z,relro,-z,now
else
CFLAGS += -O1
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
endif
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRCS := $(sort $(wildcard src/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/webassets.o $(BUILD)/gen/docassets.o
# The web page (web/, plus web/vendor/ from `make web`) is compiled into the binary.
WEB_FILES := $(shell find web -type f -not -path '*/.*' 2>/dev/null)
# docs/ is compiled in too: `fathom data publish` bundles the data format, schema and licence
# fallback, and `fathom serve` renders the privacy policy template (src/core/docs.h).
DOC_FILES := $(shell find docs -type f -not -path '*/.*' 2>/dev/null)
MAIN_OBJ := $(BUILD)/src/main.o
LIB := $(BUILD)/libfathom.a
BIN := $(BUILD)/fathom

UNIT_SRCS := $(sort $(wildcard tests/unit/*/test_*.c))
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
HARNESS_OBJ := $(BUILD)/tests/unit/harness.o

FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_REPLAY := $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz/%-replay)

.PHONY: all test check unit integration demo bench fuzz fuzz-replay format format-check lint \
	web accuracy clean deps install
all: $(BIN)

.SECONDARY:

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/webassets.c: $(WEB_FILES) tools/embed.sh
	@mkdir -p $(@D)
	tools/embed.sh web > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/webassets.o: $(BUILD)/gen/webassets.c
	$(CC) -std=c11 -O0 -c $< -o $@

$(BUILD)/gen/docassets.c: $(DOC_FILES) tools/embed.sh
	@mkdir -p $(@D)
	tools/embed.sh docs fathom_docs > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/docassets.o: $(BUILD)/gen/docassets.c
	$(CC) -std=c11 -O0 -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(HARNESS_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(HARNESS_OBJ) $(LIB) $(LDLIBS)

# Fuzz targets built with gcc plus a replay main() run their corpus as a regression test;
# `make fuzz` builds them with clang's libFuzzer and runs each for FUZZ_SECONDS.
$(BUILD)/fuzz/%-replay: fuzz/%.c fuzz/replay.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< fuzz/replay.c $(LIB) $(LDLIBS)

# make test: everything under ASan+UBSan (LeakSanitizer included), one summary line at the end.
test check:
	@tools/web.sh || echo "make test: the web page is built without ndt7-js (npm missing)"
	$(MAKE) SANITIZE=1 MODE=debug all-tests-bins
	@FATHOM_BUILD=build/debug-san tests/run-all.sh

.PHONY: all-tests-bins
all-tests-bins: $(BIN) $(UNIT_BINS) $(FUZZ_REPLAY)

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done

FUZZ_SECONDS ?= 30
fuzz:
	@mkdir -p build/fuzz
	@for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	  clang $(CPPFLAGS) -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o build/fuzz/$$n $$f $(LIB_SRCS) $(LDLIBS) || exit 1; \
	  mkdir -p build/fuzz/corpus-$$n; \
	  build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus-$$n fuzz/corpus/$$n \
	    $$( [ -f fuzz/$$n.dict ] && echo -dict=fuzz/$$n.dict ) || exit 1; \
	done

demo:
	@tools/deps.sh demo
	@tools/web.sh || echo "make demo: building without the web page's ndt7-js (npm missing)"
	$(MAKE) MODE=release
	build/release/fathom demo

deps:
	@tools/deps.sh all

bench:
	$(MAKE) MODE=release
	bench/loopback

web:
	@tools/web.sh

accuracy:
	$(MAKE) MODE=release
	bench/accuracy/run.sh

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)
lint:
	clang-tidy $(LIB_SRCS) src/main.c -- $(CPPFLAGS) -std=c11

PREFIX ?= /usr/local
install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/fathom
	install -d $(DESTDIR)$(PREFIX)/share/doc/fathom
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/fathom/

clean:
	rm -rf build

-include $(wildcard $(BUILD)/src/*.d $(BUILD)/src/*/*.d $(BUILD)/tests/unit/*.d $(BUILD)/tests/unit/*/*.d)
