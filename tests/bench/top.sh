#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154  # c_dir, c_port, ...: set by pgt_cluster_create
# tests/bench/top.sh -- what one refresh of `pgevict top` costs at 1000 and
# 2000 backends: CPU (utime + stime) per refresh, with SQL and --no-sql.
#
# Owns: one throwaway cluster (tests/lib/pgcluster.bash), idle TCP
# sessions held against it (pgconns), runs of `top --batch` and the table.
# The cost of one refresh is (CPU of K+1 refreshes - CPU of 1) / K, so the
# start-up is not counted; the agent's full pass (tests/bench/agent.sh) is
# the yardstick the issue gives.  tests/bench/run.sh calls it; it also runs
# alone.
#
# Needs root.  Settings, from the environment: BENCH_TOP_SIZES ("1000
# 2000"), BENCH_TOP_K (10 refreshes).  Exits 1 when top fails or lists the
# sessions wrongly.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/bench/lib.bash
source tests/bench/lib.bash
bench_init "bench top" "top reads every process's /proc/PID/fd" pgconns
SIZES=${BENCH_TOP_SIZES:-1000 2000}
K=${BENCH_TOP_K:-10}
HOLD_CHUNK=1000
MAX=0
for n in $SIZES; do [ "$n" -le "$MAX" ] || MAX=$n; done
bench_room "$MAX" BENCH_TOP_SIZES
trap 'pgt_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
say "making a cluster with max_connections=$((MAX + 100))"
pgt_cluster_create c "max_connections=$((MAX + 100))" autovacuum=off
work=$c_dir/bench
mkdir -p "$work"

# cpu_ms ARGS...: CPU milliseconds (user + system) of one pgevict run.
cpu_ms() {
	local TIMEFORMAT='%3U %3S' t
	t=$( { time "$PGEVICT" "$@" >"$work/out" 2>/dev/null; } 2>&1 ) || die "pgevict $* failed"
	awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.0f", (a[1] + a[2]) * 1000 }'
}

declare -A RES
held=0 i=0
failed=0
for n in $SIZES; do
	while [ "$held" -lt "$n" ]; do
		m=$((n - held))
		[ "$m" -le "$HOLD_CHUNK" ] || m=$HOLD_CHUNK
		i=$((i + 1))
		say "opening sessions $((held + 1))-$((held + m))"
		pgt_hold c "host=127.0.0.1 user=postgres dbname=postgres" "$m" idle "$work/hold.$i" ||
			die "could not open $m sessions (see $c_log)"
		held=$((held + m))
	done
	for mode in sql nosql; do
		extra=()
		[ "$mode" = sql ] || extra=(--no-sql)
		say "top --batch at $n backends ($mode): 1 and $((K + 1)) refreshes"
		one=$(cpu_ms --cluster "$c_port" "${extra[@]}" top --batch --iterations 1)
		rows=$(awk '/^PID /{r=1; next} /^$/{r=0} r' "$work/out" | wc -l)
		[ "$rows" -ge "$n" ] || { say "!!! top listed $rows rows, expected $n"; failed=1; }
		many=$(cpu_ms --cluster "$c_port" "${extra[@]}" top --batch --iterations $((K + 1)) --interval 100ms)
		RES[$n.$mode]=$(awk -v a="$one" -v b="$many" -v k="$K" 'BEGIN { printf "%.1f", (b - a) / k }')
		RES[$n.$mode.first]=$one
	done
done
{
	echo
	echo "pgevict top bench: $(nproc) CPUs, kernel $(uname -r), PostgreSQL $(cat "$c_data/PG_VERSION"), $(basename "$PGEVICT") from $BUILD/"
	echo "idle TCP sessions (127.0.0.1, pgconns); CPU = pgevict's utime+stime; per refresh = (CPU of $((K + 1)) refreshes - CPU of 1) / $K"
	echo
	printf '%-10s %-22s %18s %22s\n' backends mode "CPU ms/refresh" "CPU ms (1st, start-up)"
	printf '%-10s %-22s %18s %22s\n' "--------" "----------------------" "--------------" "----------------------"
	for n in $SIZES; do
		for mode in sql nosql; do
			printf '%-10s %-22s %18s %22s\n' "$n" "$([ $mode = sql ] && echo "with SQL" || echo "--no-sql")" \
				"${RES[$n.$mode]}" "${RES[$n.$mode.first]}"
		done
	done
	echo
	echo "at 1 s a refresh of X ms is X/10 % of one core; compare the agent's full pass (tests/bench/agent.sh)"
}
[ "$failed" = 0 ] || exit 1
