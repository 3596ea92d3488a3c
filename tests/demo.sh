#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/demo.sh -- `make demo`: pgevict on a scratch cluster it makes itself.
#
# Makes a throwaway cluster (its own port, its own temporary directory),
# opens a handful of real sessions over TCP v4, TCP v6 and the Unix socket,
# shows what pgevict sees and does (terminate, cancel, sever, RSTs on the
# wire), runs the agent's rules once, locks the cluster down (a connection
# refused), unlocks it (the same pg_hba.conf, byte for byte), and removes
# everything.  Touches no other cluster on this host.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PGEVICT="$PWD/$BUILD/pgevict"
PGT_HELPERS="$PWD/$BUILD/tests"
# shellcheck source=lib/pgcluster.bash
source tests/lib/pgcluster.bash
trap pgt_cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "demo: run as root (pgevict reads other users' /proc entries)" >&2; exit 1; }

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$*"; "$@"; }

echo "demo: making a scratch cluster..."
pgt_cluster_create demo
pgt_sql demo "create role app login; create role report login; create role \"x 1.2.3.4(5) idle\" login" >/dev/null
pgt_hold demo "host=127.0.0.1 user=app dbname=postgres application_name=web" 3 idle
pgt_hold demo "host=::1 user=app dbname=postgres application_name=worker" 1 xact
pgt_hold demo "host=127.0.0.1 user=report dbname=postgres application_name=nightly" 1 active
PGT_OSUSER=postgres pgt_hold demo "host=$demo_sock user=postgres dbname=postgres application_name=psql" 1 idle
pgt_hold demo "host=127.0.0.1 user=report dbname=postgres application_name=stuck" 1 idle

echo "demo: cluster '$demo_name' on port $demo_port, data in $demo_data"
run "$PGEVICT" clusters
run "$PGEVICT" --cluster "$demo_port" ls
run "$PGEVICT" --cluster "$demo_port" tree
run "$PGEVICT" --cluster "$demo_port" ls --user app --client ::1/128 --json
step "$PGEVICT --cluster $demo_port ls --no-sql --state 'idle in transaction'   # from /proc and the kernel alone"
"$PGEVICT" --cluster "$demo_port" ls --no-sql --state 'idle in transaction'
run "$PGEVICT" --cluster "$demo_port" terminate --user app --dry-run
run "$PGEVICT" --cluster "$demo_port" terminate --user app
run "$PGEVICT" --cluster "$demo_port" cancel --user report
step "kill -STOP <a backend>; $PGEVICT terminate --pid <it> --step-timeout 500ms   # ignores SQL and SIGTERM"
read -r stuck _ <"$PGT_HOLD_OUT"
kill -STOP "$stuck"
"$PGEVICT" --cluster "$demo_port" terminate --pid "$stuck" --step-timeout 500ms || echo "(exit $?: severed)"
kill -CONT "$stuck"
pgt_watch demo "host=127.0.0.1 user=report dbname=postgres application_name=wire" idle "$demo_dir/run/w1"
read -r wire_pid _ <"$demo_dir/run/w1"
step "$PGEVICT --cluster $demo_port sever --pid $wire_pid --method rst   # forged RSTs, exact sequence numbers"
"$PGEVICT" --cluster "$demo_port" sever --pid "$wire_pid" --method rst
pgt_watch demo "host=::1 user=report dbname=postgres application_name=wire6" idle "$demo_dir/run/w2"
read -r _ wire_port <"$demo_dir/run/w2"
run "$PGEVICT" sever --conn "[::1]:$wire_port,[::1]:$demo_port"
run "$PGEVICT" --cluster "$demo_port" ls
echo
echo "demo: the agent: standing rules in a directory"
rules=$demo_dir/rules
mkdir -p "$rules"
cat >"$rules/demo.conf" <<'EOF2'
[idle-in-transaction]
match  = --state 'idle in transaction' --idle-for 2s
action = terminate

[one-app-session]
match  = --user app
action = terminate
keep   = 1
EOF2
pgt_hold demo "host=127.0.0.1 user=app dbname=postgres application_name=web" 3 idle
pgt_hold demo "host=127.0.0.1 user=report dbname=postgres application_name=etl" 1 xact
sleep 2.5
step "cat $rules/demo.conf"
cat "$rules/demo.conf"
run "$PGEVICT" agent --rules "$rules" --check
run "$PGEVICT" --cluster "$demo_port" agent --rules "$rules" --once --dry-run
run "$PGEVICT" --cluster "$demo_port" agent --rules "$rules" --once
run "$PGEVICT" --cluster "$demo_port" ls

# Emergency lockdown: the scratch cluster's own state directory, so this
# host's /var/lib/pgevict is never touched.
SD="$demo_dir/pgevict-state"
tryconn() {
	step "psql -h 127.0.0.1 -U app -c 'select 1'"
	PGCONNECT_TIMEOUT=5 psql -X -At -h 127.0.0.1 -p "$demo_port" -U app -d postgres -c 'select 1' 2>&1 || true
}
sha256sum "$demo_data/pg_hba.conf" >"$demo_dir/hba.sha"
run "$PGEVICT" --cluster "$demo_port" lockdown --kick --state-dir "$SD"
tryconn
run "$PGEVICT" --cluster "$demo_port" status --state-dir "$SD"
run "$PGEVICT" --cluster "$demo_port" unlock --state-dir "$SD"
tryconn
run sha256sum -c "$demo_dir/hba.sha"
step "$PGEVICT ls --older-than 10   # a bad selector: one line, exit 2"
"$PGEVICT" ls --older-than 10 || echo "(exit $?)"
echo
echo "demo: done; removing the scratch cluster."
