#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prints tests/tokens/expected.tsv as the Markdown table docs/tokens.md
# carries between its "expected outcomes" markers (test_tokens_table checks
# that the two agree).
set -euo pipefail
awk -F'\t' '
    /^# check\t/ { n = NF; printf "| check"; for (i = 2; i < NF; i++) printf " | %s", $i
                   printf " | what it does |\n|---"; for (i = 2; i <= NF; i++) printf "|---"
                   print "|"; next }
    /^#/ || NF == 0 { next }
    { printf "| `%s`", $1; for (i = 2; i < n; i++) printf " | %s", $i; printf " | %s |\n", $n }
' "$(dirname "$0")/expected.tsv"
