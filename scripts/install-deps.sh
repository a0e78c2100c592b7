#!/usr/bin/env bash
# Installs what callscope needs to build, run and test on Debian 12.
# Idempotent and non-interactive; run as root (or through sudo).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang-format
  libpcap-dev libndpi-dev libndpi-bin libjansson-dev
  libzmq3-dev libsqlite3-dev libcurl4-openssl-dev libmicrohttpd-dev libssl-dev
  openssl ca-certificates sqlite3
  python3 tshark tcpreplay iproute2 clang libclang-rt-14-dev
  systemd dpkg-dev util-linux
  man-db groff-base # the manual pages render without warnings (tests/deploy)
  chromium   # headless, for the dashboard test (tests/noc)
  prometheus # promtool, checks grafana/callscope-alerts.rules.yml (tests/noc)
  postgresql libpq-dev # PostgreSQL 15 store (libpq) and its tests' server (tests/pg)
  liblz4-dev # encoded probe batches (common/wire.h)
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root: sudo $0" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
