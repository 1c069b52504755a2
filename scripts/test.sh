#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README command 2: install what is needed, build, and run the whole test
# suite twice: a normal build, then ASan + UBSan with leaks fatal.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/lint.sh
jobs=$(nproc)

# The portability suite (tests/tokens/: tpm2-pkcs11, openCryptoki, NSS) runs
# once, in the release build: it starts daemons and borrows openCryptoki's
# system token store, and takes under a minute.
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DH2A_WERROR=ON -DH2A_TEST_HOOKS=ON -DH2A_TOKENS_SUITE=ON
cmake --build build/release -j"$jobs"
(cd build/release && ctest --output-on-failure -j"$jobs")

cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DH2A_SANITIZE=ON -DH2A_WERROR=ON -DH2A_TEST_HOOKS=ON -DH2A_TOKENS_SUITE=OFF
cmake --build build/asan -j"$jobs"
(cd build/asan && ctest --output-on-failure -j"$jobs")

# Every parser of outside input under libFuzzer (clang, ASan+UBSan), briefly:
# the committed corpus (seeds and crash regressions) plus 8 s of new inputs
# each. The long run is tests/fuzz/run.sh alone (docs/fuzzing.md).
bash tests/fuzz/run.sh --short
