#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/tokens.md shows the portability suite's table of expected outcomes
# (tests/tokens/expected.tsv) exactly, so the documented token behaviour is
# the tested one.
set -euo pipefail
: "${H2A_SRC_DIR:?run under ctest}"
want=$(bash "$H2A_SRC_DIR/tests/tokens/render.sh")
got=$(sed -n '/<!-- expected outcomes: begin -->/,/<!-- expected outcomes: end -->/p' \
    "$H2A_SRC_DIR/docs/tokens.md" | sed '1d;$d')
[ -n "$want" ] || { echo "FAIL: render.sh printed nothing" >&2; exit 1; }
if [ "$want" != "$got" ]; then
    echo "FAIL: docs/tokens.md's table differs from tests/tokens/expected.tsv:" >&2
    diff <(echo "$want") <(echo "$got") >&2 || true
    exit 1
fi
echo "docs/tokens.md table matches expected.tsv ($(echo "$want" | wc -l) lines)"
