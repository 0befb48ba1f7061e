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
FNHOST_INCLUDE ?= $(if $(wildcard $(FNHOST_SDK)fnhost.h),-I$(FNHOST_SDK),\
                  $(shell pkg-config --cflags fnhost))
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

clean:
	rm -f $(PLUGIN).so

.PHONY: all clean
