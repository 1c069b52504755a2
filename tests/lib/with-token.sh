#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# with-token.sh NAME CMD [ARGS...]: run CMD against a fresh SoftHSM2 token.
set -euo pipefail
. "$(dirname "$0")/token.sh"
h2a_token_create "$1"
shift
exec "$@"
