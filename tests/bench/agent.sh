#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154  # c_dir, c_port, ...: set by pgt_cluster_create
# tests/bench/agent.sh -- what `pgevict agent` costs while it watches 2000
# backends with a pass every second: CPU (share of one core) and memory.
#
# Owns: one throwaway cluster (tests/lib/pgcluster.bash), 2000 idle TCP
# sessions held against it (pgconns), the five example rule files of
# rules/ in force (they name roles that hold no session here, so the
# agent evaluates every rule on every pass and acts on nothing, as it
# does on a quiet host), two runs of the agent (with SQL, and --no-sql,
# which times states itself and reads /proc/PID/io), and the table.
# tests/bench/run.sh calls it; it also runs alone.
#
# CPU is the agent's own utime + stime (/proc/PID/stat) over a window that
# starts after its first pass, divided by the wall time; memory is VmHWM
# (peak RSS) and VmRSS at the end (/proc/PID/status).  With SQL, the
# backend that answers pg_stat_activity works too: its CPU is not the
# agent's, and is reported beside it (the postmaster's children's CPU
# that is not the held sessions').
#
# Needs root.  Settings, from the environment: BENCH_AGENT_N (2000),
# BENCH_AGENT_SECS (30, the window), BENCH_AGENT_INTERVAL (1s).  Exits 1
# when the agent fails, acts on a session, or does not stop with exit 0
# on SIGTERM; missing a target is reported, not failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/bench/lib.bash
source tests/bench/lib.bash
bench_init "bench agent" "the agent reads every process's /proc/PID/fd" pgconns
N=${BENCH_AGENT_N:-2000}
SECS=${BENCH_AGENT_SECS:-30}
INTERVAL=${BENCH_AGENT_INTERVAL:-1s}
HOLD_CHUNK=1000
CPU_TARGET=1.0           # percent of one core
MEM_TARGET_KB=16384

bench_room "$N" BENCH_AGENT_N

AGENT=
stop_agent() {
	[ -z "$AGENT" ] || { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; } || true
	AGENT=
}
trap 'stop_agent; pgt_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=$(date +%s)
say "making a cluster with max_connections=$((N + 100))"
pgt_cluster_create c "max_connections=$((N + 100))" autovacuum=off
work=$c_dir/bench
mkdir -p "$work/rules"
pmpid=$(pgt_postmaster_pid c)
for f in "$ROOT"/rules/*.conf.example; do
	b=$(basename "$f" .example)
	cp "$f" "$work/rules/$b"
done
"$PGEVICT" agent --rules "$work/rules" --check >"$work/check.out" || die "the example rules do not pass --check"
nrules=$(tail -n 1 "$work/check.out")

held=0
i=0
HOLD_FILES=()
while [ "$held" -lt "$N" ]; do
	n=$((N - held))
	[ "$n" -le "$HOLD_CHUNK" ] || n=$HOLD_CHUNK
	i=$((i + 1))
	say "opening sessions $((held + 1))-$((held + n))"
	pgt_hold c "host=127.0.0.1 user=postgres dbname=postgres" "$n" idle "$work/hold.$i" ||
		die "could not open $n sessions (see $c_log)"
	HOLD_FILES+=("$work/hold.$i")
	held=$((held + n))
done
count=$(pgt_sql c "select count(*) from pg_stat_activity where backend_type = 'client backend' and client_addr is not null")
[ "$count" = "$N" ] || die "pg_stat_activity shows $count TCP sessions, expected $N"
sort "${HOLD_FILES[@]}" | cut -d' ' -f1 >"$work/held.pids"

hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Ticks of the postmaster's children that are not held sessions (the
# backend answering the agent's SQL comes and goes: count every child
# that is not one of ours, as seen at each sample).
others_ticks() {
	local p sum=0 t
	for p in $(pgrep -P "$pmpid"); do
		grep -qx "$p" "$work/held.pids" && continue
		t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || continue
		sum=$((sum + t))
	done
	echo "$sum"
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

declare -A CPU MEM RSS PASSES PASSMS SERVER
failed=0
run_mode() {
	local mode=$1 out="$work/agent.$1.out" err="$work/agent.$1.err" t0 t1 c0 c1 w0 w1 s0 s1 rc
	local -a extra=()
	[ "$mode" = sql ] || extra=(--no-sql)
	say "agent ($mode): $nrules; a pass every $INTERVAL over $N backends, ${SECS}s window"
	"$PGEVICT" --cluster "$c_port" "${extra[@]}" agent --rules "$work/rules" --interval "$INTERVAL" --json \
		>"$out" 2>"$err" </dev/null &
	AGENT=$!
	# the window starts once the first pass is done (the start-up costs once)
	sleep 3
	kill -0 "$AGENT" 2>/dev/null || { say "the agent exited: $(cat "$err")"; failed=1; AGENT=; return; }
	c0=$(ticks "$AGENT"); s0=$(others_ticks); w0=$(date +%s%N)
	sleep "$SECS"
	c1=$(ticks "$AGENT"); s1=$(others_ticks); w1=$(date +%s%N)
	MEM[$mode]=$(status_kb "$AGENT" VmHWM)
	RSS[$mode]=$(status_kb "$AGENT" VmRSS)
	kill -TERM "$AGENT"
	rc=0
	wait "$AGENT" || rc=$?
	AGENT=
	[ "$rc" = 0 ] || { say "!!! the agent exited $rc on SIGTERM: $(tail -n 3 "$err")"; failed=1; }
	if [ -s "$out" ]; then
		say "!!! the agent acted on sessions no rule names:"
		head -n 5 "$out" >&2
		failed=1
	fi
	CPU[$mode]=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v w="$((w1 - w0))" 'BEGIN { printf "%.2f", c / hz / (w / 1e9) * 100 }')
	SERVER[$mode]=$(awk -v c="$((s1 - s0))" -v hz="$hz" -v w="$((w1 - w0))" 'BEGIN { printf "%.2f", c / hz / (w / 1e9) * 100 }')
	PASSES[$mode]=$(sed -n 's/.*stopping after \([0-9]*\) passes, [0-9]* actions (and \([0-9]*\) cheap.*/\1 full, \2 cheap/p' "$err")
	PASSMS[$mode]=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v w="$((w1 - w0))" -v i="$INTERVAL" 'BEGIN {
		# CPU ms per pass: passes in the window = window / interval
		iv = i + 0; if (i ~ /ms$/) iv = iv / 1000; else if (i ~ /min$/) iv *= 60
		printf "%.1f", c / hz * 1000 / ((w / 1e9) / iv) }')
}

run_mode sql
run_mode nosql
# every held session must still be there: the agent acted on none
gone=0
while read -r p; do kill -0 "$p" 2>/dev/null || gone=$((gone + 1)); done <"$work/held.pids"
[ "$gone" = 0 ] || { say "!!! $gone held sessions are gone"; failed=1; }

verdict() {
	awk -v c="$1" -v m="$2" -v ct="$CPU_TARGET" -v mt="$MEM_TARGET_KB" 'BEGIN {
		if (c == "" || m == "") { print "NOT MEASURED"; exit }
		printf "%s (CPU %s, memory %s)", (c < ct && m < mt) ? "HELD" : "MISSED",
			c < ct ? "held" : "missed", m < mt ? "held" : "missed" }'
}
{
	echo
	echo "pgevict agent bench: $(nproc) CPUs, kernel $(uname -r), PostgreSQL $(cat "$c_data/PG_VERSION"), $(basename "$PGEVICT") from $BUILD/"
	echo "$N idle TCP sessions (127.0.0.1, pgconns); rules: the examples of rules/ ($nrules), acting on none;"
	echo "a pass every $INTERVAL; CPU = the agent's utime+stime over a ${SECS}s window after its first pass"
	echo
	printf '%-22s %12s %14s %12s %12s %14s %22s\n' mode "CPU % core" "CPU ms/pass" "peak RSS KB" "RSS KB" "server CPU %" "passes (whole run)"
	printf '%-22s %12s %14s %12s %12s %14s %22s\n' "----------------------" "----------" "-----------" "-----------" "------" "------------" "------------------"
	for m in sql nosql; do
		printf '%-22s %12s %14s %12s %12s %14s %22s\n' "$([ $m = sql ] && echo "with SQL" || echo "--no-sql (tracking)")" \
			"${CPU[$m]:-n/a}" "${PASSMS[$m]:-n/a}" "${MEM[$m]:-n/a}" "${RSS[$m]:-n/a}" "${SERVER[$m]:-n/a}" "${PASSES[$m]:-n/a}"
	done
	echo
	echo "a cheap pass reads each backend's schedstat (and its title only when it ran); a full pass"
	echo "(discovery, SQL, sockets) runs when a rule could match, and at least every 60s"
	echo
	echo "server CPU: the postmaster's children other than the held sessions (the backend answering the"
	echo "agent's pg_stat_activity query, and the auxiliary processes), for the same window"
	echo
	if [ "$failed" = 0 ]; then
		echo "correctness: ok: the agent acted on none of the $N sessions, and exited 0 on SIGTERM in both modes"
	else
		echo "correctness: FAILED (see above)"
	fi
	echo "target under 1% of one core and under 16 MB: with SQL $(verdict "${CPU[sql]:-}" "${MEM[sql]:-}"); --no-sql $(verdict "${CPU[nosql]:-}" "${MEM[nosql]:-}")"
	echo "bench took $(($(date +%s) - started)) s before cleanup"
}
[ "$failed" = 0 ] || exit 1
