#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/deps.sh -- install the Debian 12 packages that building, testing,
# the demo and the bench need, when they are missing.  Needs root for the
# install; says what is missing otherwise.
set -eu
PKGS="build-essential pkg-config libproc2-dev libnl-3-dev libnl-route-3-dev
libpcap-dev libpq-dev libjson-c-dev libcmocka-dev
postgresql postgresql-client bats iproute2 procps lsof clang libclang-rt-14-dev
util-linux hyperfine jq strace libinih-dev libsystemd-dev systemd dsniff
libncurses-dev tmux"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# postgresql-common would create and start a "main" cluster; tests make
# their own, so skip that one.
mkdir -p /etc/postgresql-common
if [ ! -e /etc/postgresql-common/createcluster.conf ] || \
   ! grep -q '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
	echo "create_main_cluster = false" >>/etc/postgresql-common/createcluster.conf
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing >/dev/null
