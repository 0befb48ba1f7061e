/* check.h - the checks a plugin's descriptor must pass: one copy for the
 * host's loader and the SDK's test harness, so `make check` refuses
 * exactly what fnhost would refuse, in the same words.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost: not installed, and may change between releases. */
#ifndef FNHOST_CHECK_H
#define FNHOST_CHECK_H

#include <stddef.h>

#include "fnhost.h"

/* The range of each option a plugin declares, that check_plugin() holds
 * it to: retries 0..20 (or FH_RETRIES_NONE); a timeout of at least 1ms,
 * at most what the duration grammar reads (100 years). The host's option
 * table (host/fnopt.c) takes them from here, so a [function ID] override
 * obeys the same ones. */
#define CHECK_RETRIES_MAX 20
#define CHECK_TIMEOUT_MIN_MS 1
/* A cron's jitter, as Inngest's: 1 s to 5 min. */
#define CHECK_CRON_JITTER_MIN_MS 1000
#define CHECK_CRON_JITTER_MAX_MS (5 * 60 * 1000)

/* Checks descriptor P as fnhost does before loading a plugin, most basic
 * first: magic, ABI version, size, name, version, then every function and
 * its options. Returns 0, or -1 with the reason in ERR. */
int check_plugin(const struct fh_plugin *p, char *err, size_t errlen);

/* Writes the reason FMT says into ERR and returns -1: how every check
 * here, and the loader's own, fail. */
int check_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks one trigger pattern: non-empty, printable, at most 255 bytes, and
 * '*' only as the last character right after '/' or '.'. 0 or -1 with the
 * reason in ERR. */
int check_trigger(const char *t, char *err, size_t errlen);

/* Checks one cancel_on rule: an event name (not inngest/...), a dotted
 * path as match, an `if` that compiles, a timeout of at most a year. 0,
 * or -1 with the field and what is wrong in ERR ("if: column 9: ..."). */
struct fh_cancel_on;
/* How check_cancel_rule() compiles an `if`: set by the host (loader.c);
 * NULL in the SDK's harness, which has no expression engine, and leaves
 * that check to the host. */
extern int (*check_expr)(const char *src, char *err, size_t errlen);
#define CANCEL_ON_MAX_MS (366LL * 24 * 3600 * 1000)
#define CANCEL_ON_DEFAULT_MS (365LL * 24 * 3600 * 1000) /* unset: a year */
int check_cancel_rule(const struct fh_cancel_on *c, char *err,
                      size_t errlen);

/* Reads the options function F of plugin P declares, wherever the plugin's
 * minor puts them, into OUT: a whole struct of this header's size, zero
 * where unset. A plugin of 1.2 or later may point to options (read as far
 * as their stamped size: missing fields are unset); the 1.0 fields
 * retries and timeout count as well, but an option set in both places is
 * refused. Returns 0, or -1 with the reason, naming plugin and function,
 * in ERR. Does not check the values: check_plugin() does. */
int check_read_options(const struct fh_plugin *p, const struct fh_function *f,
                       struct fh_function_opts *out, char *err, size_t errlen);

/* Whether option NAME of function F of P, the expression SRC (NULL:
 * unset), can be: 0, or -1 with the plugin, the function, the option and
 * why (the column, from check_expr) in ERR. */
int check_option_expr(const struct fh_plugin *p, const struct fh_function *f,
                      const char *name, const char *src, char *err,
                      size_t errlen);

/* The flow-control options of function F of P, O as check_read_options()
 * read them (lib/check_flow.c): rate_limit, singleton, debounce,
 * throttle, batch. 0, or -1 with the plugin, the function, the option
 * and what is wrong in ERR. */
#define CHECK_RATE_LIMIT_MAX 100000
#define CHECK_RATE_PERIOD_MIN_MS 1000LL
#define CHECK_RATE_PERIOD_MAX_MS (24LL * 3600 * 1000)
#define CHECK_DEBOUNCE_MIN_MS 1000LL
#define CHECK_DEBOUNCE_MAX_MS (7LL * 24 * 3600 * 1000)
#define CHECK_THROTTLE_LIMIT_MAX 100000
#define CHECK_THROTTLE_BURST_MAX 100000
#define CHECK_THROTTLE_PERIOD_MIN_MS 1000LL
#define CHECK_THROTTLE_PERIOD_MAX_MS (7LL * 24 * 3600 * 1000)
#define CHECK_BATCH_TIMEOUT_MIN_MS 1000LL
#define CHECK_BATCH_TIMEOUT_MAX_MS 60000LL
int check_flow_options(const struct fh_plugin *p, const struct fh_function *f,
                       const struct fh_function_opts *o, char *err,
                       size_t errlen);

/* A failure handler's function id is its function's id and this. */
#define CHECK_FAILURE_SUFFIX "-failure"

/* Function ID of checked plugin P: the function, with the handler to run
 * in *RUN: its own, or for "X-failure" the on_failure handler of X. NULL
 * when P has no such function. */
const struct fh_function *check_find_function(const struct fh_plugin *p,
                                              const char *id,
                                              fh_handler *run);

/* Whether checked function F of P has a failure handler. */
int check_has_failure_handler(const struct fh_plugin *p,
                              const struct fh_function *f);

#endif
