#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154  # c_dir, c_port, ...: set by pgt_cluster_create
# tests/bench/run.sh -- `make bench`: how long discovery takes, next to the
# tools an operator would otherwise use, at 1000 and at 5000 backends.
#
# Owns: one throwaway cluster (tests/lib/pgcluster.bash) with room for the
# backends, the idle TCP sessions held against it, the timings (hyperfine
# medians when installed, else a date +%s%N loop), one correctness check
# per size, pgevict's peak RSS, and the table.  It does not judge pgevict's
# output beyond counting the sessions it lists: the integration tests do.
# At its end, once its cluster is gone, it runs tests/bench/terminate.sh
# (pgevict terminate beside psql, pkill and a kill loop),
# tests/bench/lockdown.sh (lockdown and unlock beside cp + pg_ctl reload),
# tests/bench/agent.sh (the agent's CPU and memory at 2000 backends),
# tests/bench/events.sh (how fast process events make a keep rule act),
# tests/bench/top.sh (CPU per refresh of top at 1000 and 2000) and
# tests/bench/rst.sh (cutting one idle connection: rst, destroy and
# tcpkill); each runs alone too.
#
# Needs root (pgevict reads every /proc/PID/fd).  Settings, from the
# environment: BENCH_SMALL (1000), BENCH_LARGE (5000), BENCH_RUNS (15),
# BENCH_SLOW_RUNS (7, for lsof), BENCH_WARMUP (2); BENCH_TERMINATE,
# BENCH_LOCKDOWN, BENCH_AGENT, BENCH_EVENTS, BENCH_STORM, BENCH_TOP, BENCH_RST (1; 0 skips that script, whose
# own settings pass through).  Exits 1 when pgevict fails or lists the
# sessions wrongly, or one of the scripts fails; missing a speed target is
# reported, not failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/bench/lib.bash
source tests/bench/lib.bash
bench_init "bench" "pgevict reads every process's /proc/PID/fd" pgconns
SMALL=${BENCH_SMALL:-1000}
LARGE=${BENCH_LARGE:-5000}
RUNS=${BENCH_RUNS:-15}
SLOW_RUNS=${BENCH_SLOW_RUNS:-7}
WARMUP=${BENCH_WARMUP:-2}
HOLD_CHUNK=1000          # sessions a pgconns helper opens (60 s budget each)
SQL="select pid, usename, datname, client_addr, client_port, state from pg_stat_activity"

for t in ss lsof runuser; do
	command -v "$t" >/dev/null || die "'$t' is not installed (tests/deps.sh installs it)"
done
[ "$LARGE" -gt "$SMALL" ] || die "BENCH_LARGE ($LARGE) must exceed BENCH_SMALL ($SMALL)"

# --- Limits: raised for this process and its children only.
bench_room "$LARGE" BENCH_LARGE

# --- The cluster.  Memory is shared (mmap, POSIX semaphores on Linux), so
# System V limits do not bind; autovacuum off keeps the timings quiet.
trap pgt_cleanup EXIT
trap 'exit 130' INT           # exit runs the EXIT trap, once
trap 'exit 143' TERM
started=$(date +%s)
say "making a cluster with max_connections=$((LARGE + 100))"
pgt_cluster_create c "max_connections=$((LARGE + 100))" autovacuum=off
work=$c_dir/bench
mkdir -p "$work"
bindir=$(pgt_bindir)

TIMER=loop
if command -v hyperfine >/dev/null; then
	TIMER=hyperfine
fi
HAVE_TIME=0
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then
	HAVE_TIME=1
fi

held=0
hold_n=0
HOLD_FILES=()            # one "backend_pid client_port" line a session
# grow_to N: open sessions until N are held, HOLD_CHUNK per helper.
grow_to() {
	local target=$1 n
	while [ "$held" -lt "$target" ]; do
		n=$((target - held))
		[ "$n" -le "$HOLD_CHUNK" ] || n=$HOLD_CHUNK
		hold_n=$((hold_n + 1))
		pgt_hold c "host=127.0.0.1 user=postgres dbname=postgres" "$n" idle "$work/hold.$hold_n" ||
			die "could not open sessions $((held + 1))-$((held + n)) (see $c_log)"
		HOLD_FILES+=("$work/hold.$hold_n")
		held=$((held + n))
	done
	local count
	count=$(pgt_sql c "select count(*) from pg_stat_activity where backend_type = 'client backend' and client_addr is not null")
	[ "$count" = "$target" ] || die "pg_stat_activity shows $count TCP sessions, expected $target"
}

# median_ms NAME RUNS CMD: the median wall time of CMD (a command line in
# shell words, run without a shell), in milliseconds, on stdout.  Fails,
# saying why, when CMD exits non-zero.
median_ms() {
	local name=$1 runs=$2 cmd=$3 json="$work/$1.$held.json" err="$work/$1.$held.err" t0 t1
	if [ "$TIMER" = hyperfine ]; then
		if ! hyperfine -N --style none --warmup "$WARMUP" --runs "$runs" \
			--export-json "$json" "$cmd" >/dev/null 2>"$err"; then
			say "'$cmd' failed: $(head -c 300 "$err")"
			return 1
		fi
		awk -F: '/"median"/ { gsub(/[ ,]/, "", $2); printf "%.2f\n", $2 * 1000; exit }' "$json"
		return
	fi
	for _ in $(seq 1 "$WARMUP"); do
		eval "$cmd" >/dev/null 2>"$err" || { say "'$cmd' failed: $(head -c 300 "$err")"; return 1; }
	done
	for _ in $(seq 1 "$runs"); do
		t0=$(date +%s%N)
		eval "$cmd" >/dev/null 2>"$err" || { say "'$cmd' failed: $(head -c 300 "$err")"; return 1; }
		t1=$(date +%s%N)
		echo $((t1 - t0))
	done >"$work/$name.$held.ns"
	sort -n "$work/$name.$held.ns" | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f\n", m / 1e6 }'
}

# check_ls N: pgevict must list exactly the N held sessions of our cluster,
# each with its backend pid and client port.  Lines of other clusters on
# the host (a test suite running meanwhile) are counted, not judged.
declare -A ok_at
failed=0
check_ls() {
	local n=$1 out="$work/ls.$1.json" err="$work/ls.$1.err" rc=0 total mine paired others
	"$PGEVICT" ls --no-sql --json >"$out" 2>"$err" || rc=$?
	if [ "$rc" != 0 ]; then
		say "!!! pgevict ls --no-sql --json exited $rc at $n backends:"
		cat "$err" >&2
		ok_at[$n]="FAILED: exit $rc: $(head -n 1 "$err")"
		failed=1
		return
	fi
	total=$(wc -l <"$out")
	{ grep -F "\"port\":$c_port," "$out" || true; } >"$work/mine.$n"
	mine=$(wc -l <"$work/mine.$n")
	sed -n 's/^{"pid":\([0-9]*\),.*"transport":"tcp".*"client_port":\([0-9]*\),.*/\1 \2/p' \
		"$work/mine.$n" | sort >"$work/seen.$n"
	sort "${HOLD_FILES[@]}" >"$work/want.$n"
	paired=$(wc -l <"$work/seen.$n")
	others=$((total - mine))
	if [ "$mine" = "$n" ] && cmp -s "$work/seen.$n" "$work/want.$n"; then
		ok_at[$n]="ok: $mine lines, each held backend pid with its client port"
		[ "$others" = 0 ] || ok_at[$n]="${ok_at[$n]} (+$others lines of other clusters on this host)"
		return
	fi
	failed=1
	ok_at[$n]="WRONG: $total lines, $mine of this cluster, $paired with a TCP client port, $n held"
	say "!!! WARNING: pgevict ls --no-sql --json | wc -l is $total ($mine of this cluster), $n sessions are held"
	say "!!! first differences (< held only, > listed only; backend pid, client port):"
	diff "$work/want.$n" "$work/seen.$n" | grep '^[<>]' | head -n 10 >&2 || true
}

# peak_rss_kb CMD...: maximum RSS of one run, or "n/a".
peak_rss_kb() {
	local f="$work/time.out"
	if [ "$HAVE_TIME" = 0 ]; then
		echo n/a
		return
	fi
	/usr/bin/time -v -o "$f" "$@" >/dev/null 2>&1 || { echo n/a; return; }
	awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$f"
}

TOOLS=(pgevict ss lsof psql)
declare -A LABEL CMD TRIES ms rss
LABEL[pgevict]="pgevict ls --no-sql --json"
LABEL[ss]="ss -tnp"
LABEL[lsof]="lsof -nP -iTCP"
LABEL[psql]="psql pg_stat_activity (runuser)"
CMD[pgevict]="$PGEVICT ls --no-sql --json"
CMD[ss]="ss -tnp"
CMD[lsof]="lsof -nP -iTCP"
CMD[psql]="runuser -u postgres -- $bindir/psql -X -q -v ON_ERROR_STOP=1 -h $c_sock -p $c_port -U postgres -d postgres -c '$SQL'"
TRIES[pgevict]=$RUNS
TRIES[ss]=$RUNS
TRIES[lsof]=$SLOW_RUNS
TRIES[psql]=$RUNS

measure_at() {
	local n=$1 t
	check_ls "$n"
	for t in "${TOOLS[@]}"; do
		say "timing ${LABEL[$t]} at $n backends (${TRIES[$t]} runs)"
		ms[$t.$n]=$(median_ms "$t" "${TRIES[$t]}" "${CMD[$t]}") || ms[$t.$n]=failed
	done
	ms[runuser.$n]=$(median_ms runuser "$RUNS" "runuser -u postgres -- true") || ms[runuser.$n]=failed
	rss[pgevict.$n]=$(peak_rss_kb "$PGEVICT" ls --no-sql --json)
	rss[ss.$n]=$(peak_rss_kb ss -tnp)
	if command -v strace >/dev/null; then
		strace -c -f -o "$work/strace.$n" "$PGEVICT" ls --no-sql --json >/dev/null 2>&1 ||
			rm -f "$work/strace.$n"
	fi
}

say "opening $SMALL idle TCP sessions"
grow_to "$SMALL"
measure_at "$SMALL"
say "opening $((LARGE - SMALL)) more"
grow_to "$LARGE"
measure_at "$LARGE"

# --- Report.
isnum() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
# calc FORMAT EXPR A [B [C]]: awk arithmetic on a, b, c; "n/a" unless all
# are numbers (a tool that failed has "failed" for its time).
calc() {
	local fmt=$1 expr=$2 v
	shift 2
	for v in "$@"; do isnum "$v" || { echo n/a; return; }; done
	awk -v a="${1:-0}" -v b="${2:-0}" -v c="${3:-0}" "BEGIN { printf \"$fmt\", $expr }"
}
ratio() {
	if isnum "${2:-}" && [ "${2//[.0]/}" != "" ]; then calc %.3f 'a / b' "$1" "$2"; else echo n/a; fi
}
{
	echo
	echo "pgevict discovery bench: $(nproc) CPUs, kernel $(uname -r), PostgreSQL $(cat "$c_data/PG_VERSION"), $(basename "$PGEVICT") from $BUILD/"
	echo "timer: $TIMER, median of $RUNS runs (lsof: $SLOW_RUNS) after $WARMUP warm-up; idle TCP sessions on 127.0.0.1 held by pgconns"
	echo "(ss and lsof list each loopback connection twice: the client's end and the backend's)"
	echo
	printf '%-32s %9s %11s %10s\n' tool backends "median ms" "x ss -tnp"
	printf '%-32s %9s %11s %10s\n' "--------------------------------" "--------" "----------" "---------"
	for n in "$SMALL" "$LARGE"; do
		for t in "${TOOLS[@]}"; do
			mark=
			[ "$t" = pgevict ] && mark="   <== pgevict"
			printf '%-32s %9d %11s %10s%s\n' "${LABEL[$t]}" "$n" "${ms[$t.$n]}" \
				"$(ratio "${ms[$t.$n]}" "${ms[ss.$n]}")" "$mark"
		done
	done
	echo
	echo "psql's figure includes runuser -u postgres, as pgt_psql runs it; runuser -- true alone: ${ms[runuser.$SMALL]} ms at $SMALL, ${ms[runuser.$LARGE]} ms at $LARGE"
	echo
	echo "pgevict per backend:"
	for n in "$SMALL" "$LARGE"; do
		printf '  %5d backends: %8s ms total, %s ms/backend\n' "$n" "${ms[pgevict.$n]}" \
			"$(calc %.4f 'a / b' "${ms[pgevict.$n]}" "$n")"
	done
	printf '  marginal %d -> %d: %s ms/backend; time grew x%s for x%s backends\n' "$SMALL" "$LARGE" \
		"$(calc %.4f '(b - a) / c' "${ms[pgevict.$SMALL]}" "${ms[pgevict.$LARGE]}" "$((LARGE - SMALL))")" \
		"$(ratio "${ms[pgevict.$LARGE]}" "${ms[pgevict.$SMALL]}")" "$(ratio "$LARGE" "$SMALL")"
	echo
	if [ "$HAVE_TIME" = 1 ]; then
		for n in "$SMALL" "$LARGE"; do
			echo "peak RSS at $n backends: pgevict ${rss[pgevict.$n]} KB, ss -tnp ${rss[ss.$n]} KB"
		done
	else
		echo "peak RSS: skipped (no /usr/bin/time with -v; apt-get install time)"
	fi
	echo
	for n in "$SMALL" "$LARGE"; do
		echo "correctness at $n backends: ${ok_at[$n]}"
	done
	echo
	verdict=
	for n in "$SMALL" "$LARGE"; do
		r=$(ratio "${ms[pgevict.$n]}" "${ms[ss.$n]}")
		if ! isnum "$r"; then
			verdict="$verdict $n backends: NOT MEASURED (pgevict failed);"
		elif awk -v r="$r" 'BEGIN { exit !(r < 0.1) }'; then
			verdict="$verdict $n backends: HELD (x$r);"
		else
			verdict="$verdict $n backends: MISSED (x$r);"
		fi
	done
	for n in "$SMALL" "$LARGE"; do
		f="$work/strace.$n"
		if [ ! -s "$f" ] || [[ $verdict != *"$n backends: MISSED"* ]]; then
			continue
		fi
		echo "where pgevict's time goes at $n backends (strace -c -f, one run; syscalls/backend: $(awk -v n="$n" '$NF == "total" { printf "%.1f", $4 / n }' "$f")):"
		awk 'NR <= 2 || (NR <= 9 && $NF != "total")' "$f" | sed 's/^/  /'
		echo
	done
	echo "target pgevict under a tenth of ss -tnp's time:${verdict%;}"
	echo "bench took $(($(date +%s) - started)) s before cleanup"
}

# --- Then the terminate bench (tests/bench/terminate.sh), on a cluster of
# its own: this one goes first.  BENCH_TERMINATE=0 leaves it out.
pgt_cleanup
term_rc=0
if [ "${BENCH_TERMINATE:-1}" != 0 ]; then
	BUILD=$BUILD bash "$ROOT/tests/bench/terminate.sh" || term_rc=$?
fi
# --- Then lockdown and unlock (tests/bench/lockdown.sh), BENCH_LOCKDOWN=0
# leaves it out.
lock_rc=0
if [ "${BENCH_LOCKDOWN:-1}" != 0 ]; then
	BUILD=$BUILD bash "$ROOT/tests/bench/lockdown.sh" || lock_rc=$?
fi
agent_rc=0
if [ "${BENCH_AGENT:-1}" != 0 ]; then
	BUILD=$BUILD bash "$ROOT/tests/bench/agent.sh" || agent_rc=$?
fi
events_rc=0
if [ "${BENCH_EVENTS:-1}" != 0 ]; then
	BUILD=$BUILD bash "$ROOT/tests/bench/events.sh" || events_rc=$?
fi
storm_rc=0
if [ "${BENCH_STORM:-1}" != 0 ]; then
	BUILD=$BUILD bash "$ROOT/tests/bench/storm.sh" || storm_rc=$?
fi
top_rc=0
if [ "${BENCH_TOP:-1}" != 0 ]; then
	BUILD=$BUILD bash "$ROOT/tests/bench/top.sh" || top_rc=$?
fi
rst_rc=0
if [ "${BENCH_RST:-1}" != 0 ]; then
	BUILD=$BUILD bash "$ROOT/tests/bench/rst.sh" || rst_rc=$?
fi
if [ "$failed" != 0 ]; then
	say "FAILED: pgevict did not list the held sessions correctly (see above)"
	exit 1
fi
[ "$term_rc" = 0 ] || { say "FAILED: tests/bench/terminate.sh exited $term_rc"; exit "$term_rc"; }
[ "$lock_rc" = 0 ] || { say "FAILED: tests/bench/lockdown.sh exited $lock_rc"; exit "$lock_rc"; }
[ "$agent_rc" = 0 ] || { say "FAILED: tests/bench/agent.sh exited $agent_rc"; exit "$agent_rc"; }
[ "$events_rc" = 0 ] || { say "FAILED: tests/bench/events.sh exited $events_rc"; exit "$events_rc"; }
[ "$storm_rc" = 0 ] || { say "FAILED: tests/bench/storm.sh exited $storm_rc"; exit "$storm_rc"; }
[ "$top_rc" = 0 ] || { say "FAILED: tests/bench/top.sh exited $top_rc"; exit "$top_rc"; }
[ "$rst_rc" = 0 ] || { say "FAILED: tests/bench/rst.sh exited $rst_rc"; exit "$rst_rc"; }
