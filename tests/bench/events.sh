#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154  # c_dir, c_port, ...: set by pgt_cluster_create
# tests/bench/events.sh -- how fast the agent's process events make a
# `keep` rule act: BENCH_EVENTS_N (200) connections of a role that a
# `keep = 1` rule allows one session, made one after another while the
# agent runs with --interval 5s; for each, the milliseconds from before
# the client (psql) starts to after it sees its session end.  That is an
# upper bound of fork -> end: it adds the client's own start-up and
# connect, and the time it takes to notice the end.  p50, p99 and max;
# then the same with the events refused (the agent in a network namespace
# of its own: polling alone), over BENCH_EVENTS_POLL_N (20) connections.
#
# Owns: one throwaway cluster, one held session of the role, the agent
# runs and the table.  Needs root.  Exits 1 when a session is not ended
# or the agent does not stop with exit 0; a slow figure is reported.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/bench/lib.bash
source tests/bench/lib.bash
bench_init "bench events" "the agent reads every process's /proc and the proc connector" pgconns
N=${BENCH_EVENTS_N:-200}
PN=${BENCH_EVENTS_POLL_N:-20}
INTERVAL=5s

bench_agent_traps
say "making a cluster"
pgt_cluster_create c autovacuum=off
pgt_sql c "create role ev login" >/dev/null
work=$c_dir/bench
mkdir -p "$work/rules"
chmod 700 "$work/rules"
printf '[one-session]\nmatch = --user ev\naction = terminate\nkeep = 1\nper = user\n' >"$work/rules/one.conf"
pgt_hold c "host=127.0.0.1 user=ev dbname=postgres" 1 idle "$work/first" || die "cannot hold a session"
psql_bin="$(pgt_bindir)/psql"
failed=0

# run_mode NAME COUNT [WRAPPER...]: COUNT connections under a running agent.
run_mode() {
	local name=$1 count=$2 i t0 t1 rc
	shift 2
	"$@" "$PGEVICT" --cluster "$c_port" agent --rules "$work/rules" --interval "$INTERVAL" --json \
		>"$work/$name.out" 2>"$work/$name.err" </dev/null &
	AGENT=$!
	sleep 1
	: >"$work/$name.ms"
	say "$name: $count connections, a pass every $INTERVAL"
	for i in $(seq 1 "$count"); do
		t0=$(date +%s%N)
		timeout 15 "$psql_bin" -X -q "host=127.0.0.1 port=$c_port user=ev dbname=postgres" \
			-c "select pg_sleep(12)" >/dev/null 2>&1 </dev/null || true
		t1=$(date +%s%N)
		echo $(( (t1 - t0) / 1000000 )) >>"$work/$name.ms"
	done
	rc=0
	stop_agent || rc=$?
	[ "$rc" = 0 ] || { say "!!! the agent exited $rc on SIGTERM"; failed=1; }
	ended=$(grep -c '"outcome":"gone"' "$work/$name.out" || true)
	[ "$ended" = "$count" ] || { say "!!! $name: $ended of $count sessions ended"; failed=1; }
}

pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; print v[i] }'; }

run_mode events "$N"
run_mode polling "$PN" unshare -n
grep -q "no process events" "$work/polling.err" || { say "!!! the polling run had events"; failed=1; }
kill -0 "$(cut -d' ' -f1 "$work/first")" 2>/dev/null || { say "!!! the held (oldest) session is gone"; failed=1; }
{
	echo
	echo "pgevict agent events bench: $(nproc) CPUs, kernel $(uname -r), PostgreSQL $(cat "$c_data/PG_VERSION")"
	echo "keep = 1 per user, --interval $INTERVAL; client start -> session end seen by the client (ms, an upper bound of fork -> end)"
	echo
	printf '%-30s %8s %8s %8s %8s\n' mode sessions p50 p99 max
	printf '%-30s %8s %8s %8s %8s\n' "events (proc connector)" "$N" "$(pct "$work/events.ms" 50)" "$(pct "$work/events.ms" 99)" "$(pct "$work/events.ms" 100)"
	printf '%-30s %8s %8s %8s %8s\n' "polling alone (events refused)" "$PN" "$(pct "$work/polling.ms" 50)" "$(pct "$work/polling.ms" 99)" "$(pct "$work/polling.ms" 100)"
	echo
	sed -n 's/.*stopping after/events run: stopping after/p' "$work/events.err"
	[ "$failed" = 0 ] && echo "correctness: ok: every extra session ended, the oldest stayed, the agent exited 0" ||
		echo "correctness: FAILED (see above)"
}
[ "$failed" = 0 ] || exit 1
