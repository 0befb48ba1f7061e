/* client.h - the CLI's side of the HTTP API: send, runs, run, functions.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_CLIENT_H
#define FNHOST_CLIENT_H

#include <stddef.h>

/* Sends METHOD PATH to the daemon at BASE_URL ("http://127.0.0.1:8288")
 * with BODY (NULL: none) and AUTH (a bearer token or NULL). Returns the
 * HTTP status and the body in *RESP (new), or -1 with ERR. */
int client_request(const char *base_url, const char *method,
                   const char *path, const char *body, const char *auth,
                   char **resp, char *err, size_t errlen);

#endif
