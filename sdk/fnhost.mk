# fnhost.mk - builds an fnhost plugin outside the fnhost tree (PGXS style).
# SPDX-License-Identifier: Apache-2.0
#
# A plugin's Makefile is three lines:
#
#     PLUGIN = greet
#     SRCS = greet.c
#     include $(shell pkg-config --variable=mkfile fnhost)
#
# Optional: LIBS (extra libraries, e.g. -lsqlite3), CFLAGS (added to ours).
# Without `make install`, point FNHOST_SDK at a checkout's sdk/ folder:
#     include /path/to/fnhost/sdk/fnhost.mk   (and FNHOST_SDK is found)

ifndef FNHOST_SDK
FNHOST_SDK := $(dir $(lastword $(MAKEFILE_LIST)))
endif
# fnhost.h: beside this file in a checkout, PREFIX/include for an
# installed PREFIX/share/fnhost/fnhost.mk, else wherever pkg-config says.
FNHOST_INCLUDE ?= $(if $(wildcard $(FNHOST_SDK)fnhost.h),-I$(FNHOST_SDK),\
                  $(if $(wildcard $(FNHOST_SDK)../../include/fnhost.h),\
                       -I$(FNHOST_SDK)../../include,\
                       $(shell pkg-config --cflags fnhost)))
CC ?= cc

FNHOST_PLUGIN_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 -g -fPIC \
                       -fvisibility=hidden $(FNHOST_INCLUDE) \
                       $(shell pkg-config --cflags json-c)
# -z defs: a plugin may not depend on host symbols; the host gives it
# everything through the API table in its context.
FNHOST_PLUGIN_LDFLAGS = -shared -Wl,-z,defs

all: $(PLUGIN).so

$(PLUGIN).so: $(SRCS)
	$(CC) $(FNHOST_PLUGIN_CFLAGS) $(CFLAGS) $(FNHOST_PLUGIN_LDFLAGS) \
	    $(LDFLAGS) -o $@ $(SRCS) $(LIBS) -ljson-c

# `make check` builds the plugin's unit tests (TEST_SRCS, by default the
# test_*.c files here) with SRCS and the SDK's test harness, a library,
# into one program, $(PLUGIN)_test, that runs the functions without a
# host; then runs it. See fnhost_test.h.
TEST_SRCS ?= $(wildcard test_*.c)
# libfnhost_test.a: a checkout's build/, PREFIX/lib for an installed
# PREFIX/share/fnhost/fnhost.mk, else wherever pkg-config says.
FNHOST_TEST_LIB ?= $(firstword \
                   $(wildcard $(FNHOST_SDK)../build/libfnhost_test.a \
                              $(FNHOST_SDK)../../lib/libfnhost_test.a) \
                   $(shell pkg-config --variable=libdir fnhost 2>/dev/null)/libfnhost_test.a)

check: $(PLUGIN)_test
	./$(PLUGIN)_test

$(PLUGIN)_test: $(TEST_SRCS) $(SRCS) $(FNHOST_TEST_LIB)
	$(CC) $(filter-out -fPIC -fvisibility=hidden,$(FNHOST_PLUGIN_CFLAGS)) \
	    $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -ljson-c

clean:
	rm -f $(PLUGIN).so $(PLUGIN)_test

.PHONY: all check clean
