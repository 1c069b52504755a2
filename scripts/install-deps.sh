#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package hsm2acm needs to build, test, benchmark and
# run the demo. Run as root on a fresh machine; safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
    build-essential cmake pkg-config ca-certificates procps clang \
    libssl-dev openssl libcurl4-openssl-dev libjson-c-dev libp11-kit-dev p11-kit \
    libsqlite3-dev sqlite3 libxml2-dev libcmocka-dev \
    softhsm2 libsofthsm2 opensc libp11-dev libengine-pkcs11-openssl \
    python3 python3-botocore python3-cryptography awscli \
    swtpm swtpm-tools tpm2-abrmd libtss2-tcti-tabrmd0 libtpm2-pkcs11-1 libtpm2-pkcs11-tools \
    tpm2-tools dbus opencryptoki libopencryptoki0 libnss3 libnss3-tools \
    prometheus systemd \
    pebble lego  # ACME issuer tests (pebble, pebble-challtestsrv) and its benchmark (lego)
