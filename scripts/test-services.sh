#!/usr/bin/env bash
# Start or install what the test suite talks to for real. Idempotent; quiet when all is there.
#  - PostgreSQL on 127.0.0.1:5432 (trust auth for loopback, database `test`) for the store tests;
#  - Debian's Chromium at /usr/bin/chromium for the Playwright browser test.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then
    $SUDO apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

postgres_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if [ -z "${SHOPREC_TEST_DATABASE_URL:-}" ] && ! postgres_answers; then
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "test-services: installing PostgreSQL (apt-get install postgresql)"
    apt_install postgresql
  fi
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! $SUDO grep -q "shoprec-test" "$hba"; then
    # Loopback-only trust auth, as the CI machines run it; placed first so it wins.
    $SUDO sed -i '1i host all all 127.0.0.1/32 trust # shoprec-test\nhost all all ::1/128 trust # shoprec-test' "$hba"
  fi
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
    || $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  for _ in $(seq 1 30); do postgres_answers && break; sleep 1; done
  if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "create database test" >/dev/null
  fi
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "test-services: installing Debian's chromium for the browser test"
  apt_install chromium
fi
