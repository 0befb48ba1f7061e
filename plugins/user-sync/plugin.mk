# plugin.mk - the libraries the user-sync plugin links.
# SPDX-License-Identifier: Apache-2.0
LIBS.user-sync = -lsqlite3
