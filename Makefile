# Makefile - builds fnhost, its plugins, tests and benchmarks.
# SPDX-License-Identifier: Apache-2.0
#
#   make                      build/fnhost, build/plugins/*.so and the SDK's
#                             test harness, build/libfnhost_test.a
#   make deps                 install the Debian packages (root) or say which
#   make run                  deps, build, then start fnhost with the examples
#   make test                 deps, then unit, integration and fault tests,
#                             built with warnings as errors (WERROR=1)
#   make SAN=address,undefined test   the same under ASan+UBSan (in build-san/)
#   make bench                benchmarks (figures, not pass/fail)
#   make fuzz                 libFuzzer targets (clang), a short run each
#   make install PREFIX=/usr/local DESTDIR=
#
# `make CFLAGS=...` adds to our flags; it never replaces them.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   := build$(if $(SAN),-san)
VERSION := 0.1.0

PKGS     = libevent json-c sqlite3 libcrypto libpcre2-8 libcurl
STD      = -std=c11 -D_GNU_SOURCE
# Warnings are errors in `make test` and CI (WERROR=1), not in a plain
# `make` or `make install`: a newer compiler's new warning must not stop a
# user's build.
WERROR  ?=
WARN     = -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -Wformat=2 -Wshadow -Wpointer-arith \
           -Wwrite-strings -Wstrict-prototypes -Wmissing-prototypes \
           -Wundef -Wvla -Wno-unused-parameter
OPT     ?= -O2
DEBUG   ?= -g
# Asked once, when first used rather than when this file is read: `make
# deps` (or `make test`, which runs it first) may have just installed them.
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $$(PKGS) \
                 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(shell pkg-config --libs $$(PKGS) \
                 2>/dev/null))$(PKG_LIBS)
FINAL_CFLAGS  = $(STD) $(WARN) $(OPT) $(DEBUG) -Isdk -iquote lib -iquote host \
                -MMD -MP \
                -DFNHOST_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(CFLAGS)
FINAL_LDFLAGS = $(LDFLAGS)
ifdef SAN
FINAL_CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer \
                 -fno-sanitize-recover=all
FINAL_LDFLAGS += -fsanitize=$(SAN)
endif
LDLIBS  = $(PKG_LIBS) -lpthread -ldl -lm
# Plugins link nothing of the host: -z defs turns a stray host symbol into a
# build error, and hidden visibility leaves fh_plugin_entry as the only
# export (tests/integration/exports.sh checks it with nm).
PLUGIN_CFLAGS  = -fPIC -fvisibility=hidden
PLUGIN_LDFLAGS = -shared -Wl,-z,defs

HOST_SRC  := $(wildcard host/*.c)
HOST_OBJ  := $(HOST_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ   := $(filter-out $(BUILD)/host/main.o,$(HOST_OBJ))
# lib/: what the host and the SDK's test harness share, compiled once (PIC:
# the harness library may be linked into anything) into libfnhost_core.a.
CORE_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard lib/*.c))
CORE      := $(BUILD)/libfnhost_core.a
# The installed harness: fnhost_test.o and the core as one object whose
# only globals are the fh_test_ API, so the core's names cannot collide
# with a plugin's in its test program.
HARNESS   := $(BUILD)/libfnhost_test.a
PLUGINS   := $(patsubst plugins/%/,$(BUILD)/plugins/%.so,$(wildcard plugins/*/))
FIXTURES  := $(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%.so,\
               $(wildcard tests/plugins/*.c))
UNIT      := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,\
               $(filter tests/unit/test_%.c,$(wildcard tests/unit/*.c)))
TOOLS     := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,\
               $(wildcard tests/tools/*.c))
BENCH     := $(BUILD)/bench/bare $(BUILD)/bench/steps_load \
             $(BUILD)/bench/floor $(BUILD)/bench/plugins/stepper.so

# Each plugin folder may name the libraries it links in plugin.mk, e.g.
#   LIBS.user-sync = -lsqlite3
-include $(wildcard plugins/*/plugin.mk)

all: $(BUILD)/fnhost $(PLUGINS) $(HARNESS)

# `make V=1` shows whole command lines.
say = $(if $(V),,@printf '  %-6s %s\n' $(1) $(2);)

$(BUILD)/fnhost: $(HOST_OBJ) $(CORE)
	$(call say,LINK,$@)$(CC) $(FINAL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c | pkgcheck
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(FINAL_CFLAGS) -c -o $@ $<

# Hidden, the core's names are local to the harness once linked into it.
$(CORE_OBJ) $(BUILD)/sdk/fnhost_test.o: FINAL_CFLAGS += -fPIC
$(CORE_OBJ): FINAL_CFLAGS += -fvisibility=hidden

$(CORE): $(CORE_OBJ)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^

# The expression engine (lib/expr*) stays out of the harness until the
# harness evaluates expressions: it would make every plugin's test link
# PCRE2.
HARNESS_CORE := $(filter-out $(BUILD)/lib/expr%,$(CORE_OBJ))
$(HARNESS): $(BUILD)/sdk/fnhost_test.o $(HARNESS_CORE)
	$(call say,AR,$@)$(CC) -r -nostdlib -o $(@:.a=.o) $^ \
	    && objcopy --localize-hidden $(@:.a=.o) && rm -f $@ \
	    && $(AR) rcs $@ $(@:.a=.o)

.SECONDEXPANSION:
$(BUILD)/plugins/%.so: $$(wildcard plugins/%/*.c) $$(wildcard plugins/%/*.h) sdk/fnhost.h
	@mkdir -p $(@D)
	$(call say,PLUGIN,$@)$(CC) $(FINAL_CFLAGS) $(PLUGIN_CFLAGS) \
	    $(FINAL_LDFLAGS) $(PLUGIN_LDFLAGS) \
	    -o $@ $(filter %.c,$^) $(LIBS.$*) -ljson-c

$(BUILD)/tests/plugins/%.so: tests/plugins/%.c sdk/fnhost.h $(wildcard tests/plugins/*.h)
	@mkdir -p $(@D)
	$(call say,PLUGIN,$@)$(CC) $(FINAL_CFLAGS) $(PLUGIN_CFLAGS) \
	    $(FINAL_LDFLAGS) $(PLUGIN_LDFLAGS) -o $@ $< -lsqlite3 -ljson-c

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/tap.h $(LIB_OBJ) $(CORE)
	@mkdir -p $(@D)
	$(call say,TEST,$@)$(CC) $(FINAL_CFLAGS) -Itests/unit $(FINAL_LDFLAGS) \
	    -o $@ $< $(LIB_OBJ) $(CORE) $(LDLIBS)

# Plugin unit tests on the SDK's test harness: each links one plugin's
# sources and its test with libfnhost_test.a, as `make check` does out of
# tree, and no other host code. They are named test_plugin_* so
# tests/run.sh runs them with the other unit tests.
HARNESS_TESTS := $(BUILD)/tests/unit/test_plugin_user_sync \
                 $(BUILD)/tests/unit/test_plugin_onboarding \
                 $(BUILD)/tests/unit/test_plugin_steps \
                 $(BUILD)/tests/unit/test_plugin_sender \
                 $(BUILD)/tests/unit/test_plugin_lifecycle \
                 $(BUILD)/tests/unit/test_plugin_invoker \
                 $(BUILD)/tests/unit/test_plugin_fetcher \
                 $(BUILD)/tests/unit/test_plugin_waits \
                 $(BUILD)/tests/unit/test_plugin_parallel \
                 $(BUILD)/tests/unit/test_plugin_nudge \
                 $(BUILD)/tests/unit/test_plugin_batch
HARNESS_DEPS   = $(HARNESS) sdk/fnhost_test.h sdk/fnhost.h tests/unit/tap.h
HARNESS_CFLAGS = $(filter-out -MMD -MP -iquote lib host,$(FINAL_CFLAGS)) \
                 -Itests/unit
# $(call harness_test,LIBS): the recipe, linking the .c prerequisites.
define harness_test
@mkdir -p $(@D)
$(call say,TEST,$@)$(CC) $(HARNESS_CFLAGS) $(FINAL_LDFLAGS) -o $@ \
    $(filter %.c,$^) $(HARNESS) $(1) -ljson-c
endef

$(BUILD)/tests/unit/test_plugin_user_sync: tests/unit/plugin_user_sync.c \
        $(wildcard plugins/user-sync/*.[ch]) $(HARNESS_DEPS)
	$(call harness_test,$(LIBS.user-sync) -lsqlite3)
$(BUILD)/tests/unit/test_plugin_onboarding: tests/unit/plugin_onboarding.c \
        $(wildcard plugins/onboarding-emails/*.[ch]) $(HARNESS_DEPS)
	$(call harness_test,$(LIBS.onboarding-emails))
$(BUILD)/tests/unit/test_plugin_steps: tests/unit/plugin_steps.c \
        tests/plugins/steps.c $(HARNESS_DEPS)
	$(call harness_test,-lsqlite3)
$(BUILD)/tests/unit/test_plugin_sender: tests/unit/plugin_sender.c \
        tests/plugins/sender.c $(HARNESS_DEPS)
	$(call harness_test,-lsqlite3)
$(BUILD)/tests/unit/test_plugin_lifecycle: tests/unit/plugin_lifecycle.c \
        tests/plugins/lifecycle.c $(HARNESS_DEPS)
	$(call harness_test,)
$(BUILD)/tests/unit/test_plugin_invoker: tests/unit/plugin_invoker.c \
        tests/plugins/invoker.c $(HARNESS_DEPS)
	$(call harness_test,)
$(BUILD)/tests/unit/test_plugin_fetcher: tests/unit/plugin_fetcher.c \
        tests/plugins/fetcher.c $(HARNESS_DEPS)
	$(call harness_test,-lsqlite3)
$(BUILD)/tests/unit/test_plugin_waits: tests/unit/plugin_waits.c \
        tests/plugins/waits.c $(HARNESS_DEPS)
	$(call harness_test,-lsqlite3)
$(BUILD)/tests/unit/test_plugin_parallel: tests/unit/plugin_parallel.c \
        tests/plugins/parallel.c $(HARNESS_DEPS)
	$(call harness_test,)
$(BUILD)/tests/unit/test_plugin_nudge: tests/unit/plugin_nudge.c \
        $(wildcard examples/activity-nudge/*.[ch]) $(HARNESS_DEPS)
	$(call harness_test,)
$(BUILD)/tests/unit/test_plugin_batch: tests/unit/plugin_batch.c \
        tests/plugins/batch.c $(HARNESS_DEPS)
	$(call harness_test,)

$(BUILD)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(call say,TOOL,$@)$(CC) $(FINAL_CFLAGS) $(FINAL_LDFLAGS) -o $@ $< \
	    $(LDLIBS)

$(BUILD)/bench/plugins/%.so: bench/plugins/%.c sdk/fnhost.h
	@mkdir -p $(@D)
	$(call say,PLUGIN,$@)$(CC) $(FINAL_CFLAGS) $(PLUGIN_CFLAGS) \
	    $(FINAL_LDFLAGS) $(PLUGIN_LDFLAGS) -o $@ $< -ljson-c

$(BUILD)/bench/%: bench/%.c $(BUILD)/host/util.o $(BUILD)/host/store_sql.o \
        $(BUILD)/host/ingest.o $(CORE)
	@mkdir -p $(@D)
	$(call say,BENCH,$@)$(CC) $(FINAL_CFLAGS) $(FINAL_LDFLAGS) -o $@ $^ \
	    $(LDLIBS)

# A plain `make` on a machine without the libraries stops at once and says
# which packages to install, instead of failing on a missing header.
pkgcheck:
	@pkg-config --exists $(PKGS) 2>/dev/null || scripts/deps.sh check

deps:
	@scripts/deps.sh build

# run, test and bench install what is missing, then build in a second make:
# only a make started after the install finds the libraries with
# pkg-config, and with -j the install must end before anything compiles.
run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory run-now
test:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory WERROR=1 test-now
bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory bench-now

run-now: all
	$(BUILD)/fnhost serve --plugins $(BUILD)/plugins

test-now: all $(FIXTURES) $(UNIT) $(HARNESS_TESTS) $(TOOLS)
	@FNHOST_BUILD=$(BUILD) tests/run.sh

bench-now: all $(FIXTURES) $(TOOLS) $(BENCH)
	@FNHOST_BUILD=$(BUILD) bench/run.sh

fuzz:
	-@scripts/deps.sh fuzz
	@tests/fuzz/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/fnhost $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/lib/fnhost/plugins
	install -m 755 $(BUILD)/fnhost $(DESTDIR)$(PREFIX)/bin/fnhost
	install -m 644 sdk/fnhost.h $(DESTDIR)$(PREFIX)/include/fnhost.h
	install -m 644 sdk/fnhost.mk $(DESTDIR)$(PREFIX)/share/fnhost/fnhost.mk
	install -m 644 sdk/fnhost_test.h $(DESTDIR)$(PREFIX)/include/fnhost_test.h
	install -m 644 $(HARNESS) $(DESTDIR)$(PREFIX)/lib/libfnhost_test.a
	install -m 644 $(PLUGINS) $(DESTDIR)$(PREFIX)/lib/fnhost/plugins/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    sdk/fnhost.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/fnhost.pc

clean:
	rm -rf build build-san build-clang

.PHONY: all pkgcheck deps run test bench run-now test-now bench-now fuzz \
        install clean
-include $(HOST_OBJ:.o=.d) $(CORE_OBJ:.o=.d) $(BUILD)/sdk/fnhost_test.d \
         $(UNIT:=.d) $(TOOLS:=.d)
