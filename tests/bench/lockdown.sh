#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154  # b_dir, b_port, ...: set by pgt_cluster_create
# tests/bench/lockdown.sh -- how long from the command to the proof:
# `pgevict lockdown` until the first connection refused by pg_hba.conf, and
# `pgevict unlock` until the first one accepted again, next to what the
# runbook does by hand: cp a reject-everything file over pg_hba.conf and
# `pg_ctl reload` (then cp the original back and reload).
#
# Owns: one throwaway cluster, its pg_hba.conf, a state directory in its
# temporary directory, the timings and the table.  A watcher (pgwait)
# starts just before each command and connects every 2 ms over TCP; its
# time is the one compared.  pgevict's own return (it proves before it
# returns) is reported beside it.  Settings: BENCH_LOCK_RUNS (15).  Exits 1
# when a method never took effect or pgevict failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/bench/lib.bash
source tests/bench/lib.bash
bench_init "bench lockdown" "pgevict rewrites pg_hba.conf and signals the postmaster" pgwait
RUNS=${BENCH_LOCK_RUNS:-15}

trap pgt_cleanup EXIT
pgt_cluster_create b || die "cannot start a cluster"
HBA=$b_data/pg_hba.conf
SD=$b_dir/state
cp -p "$HBA" "$b_dir/hba.orig"
printf 'local all postgres peer\nhost all all 0.0.0.0/0 reject\nhost all all ::/0 reject\n' >"$b_dir/hba.reject"
CONN="host=127.0.0.1 port=$b_port user=app dbname=postgres connect_timeout=5"
pgt_sql b "create role app login" >/dev/null

ns() { date +%s%N; }
reload() { runuser -u postgres -- "$(pgt_bindir)/pg_ctl" -D "$b_data" reload >/dev/null; }

# one METHOD WANT: run METHOD with a watcher; prints "watcher_ms return_ms".
one() {
	local method=$1 want=$2 t0 w out ret
	out=$(mktemp)
	t0=$(ns)
	"$PGT_HELPERS/pgwait" "$want" "$t0" "$CONN" >"$out" &
	w=$!
	"$method" || die "$method failed"
	ret=$(awk -v a="$t0" -v b="$(ns)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	wait "$w" || die "$method: never $want"
	echo "$(cat "$out") $ret"
	rm -f "$out"
}

pe_lock() { "$PGEVICT" --cluster "$b_data" lockdown --state-dir "$SD" >/dev/null 2>&1; }
pe_unlock() { "$PGEVICT" --cluster "$b_data" unlock --state-dir "$SD" >/dev/null 2>&1; }
cp_lock() { cp "$b_dir/hba.reject" "$HBA" && reload; }
cp_unlock() { cp "$b_dir/hba.orig" "$HBA" && reload; }

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A W R
for i in $(seq 1 "$RUNS"); do
	for m in pe cp; do
		read -r w r < <(one "${m}_lock" refused)
		W[${m}_lock]+="$w "; R[${m}_lock]+="$r "
		sleep 0.2
		read -r w r < <(one "${m}_unlock" accepted)
		W[${m}_unlock]+="$w "; R[${m}_unlock]+="$r "
		sleep 0.2
	done
	cmp -s "$HBA" "$b_dir/hba.orig" || die "pg_hba.conf is not the original after run $i"
done

med() { tr ' ' '\n' <<<"$1" | grep -v '^$' | median; }
echo
echo "lockdown and unlock, $RUNS runs each, median ms from the command to the first connection refused (lockdown) or accepted (unlock), watched every 2 ms over TCP:"
printf '  %-34s %12s %16s\n' method "to effect" "command returns"
printf '  %-34s %12s %16s\n' "pgevict lockdown (proves)" "$(med "${W[pe_lock]}")" "$(med "${R[pe_lock]}")"
printf '  %-34s %12s %16s\n' "cp reject file + pg_ctl reload" "$(med "${W[cp_lock]}")" "$(med "${R[cp_lock]}")"
printf '  %-34s %12s %16s\n' "pgevict unlock (proves)" "$(med "${W[pe_unlock]}")" "$(med "${R[pe_unlock]}")"
printf '  %-34s %12s %16s\n' "cp original + pg_ctl reload" "$(med "${W[cp_unlock]}")" "$(med "${R[cp_unlock]}")"
echo "  (pg_ctl reload returns before the postmaster has reread the file; pgevict returns after its probe was refused)"
