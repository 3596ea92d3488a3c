#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154  # c_dir, c_port, ...: set by pgt_cluster_create
# tests/bench/terminate.sh -- how long `pgevict terminate` takes to end
# 2000 idle TCP sessions of one role, next to what an operator would
# otherwise type: pg_terminate_backend in psql, pkill, a bare kill loop.
#
# Owns: one throwaway cluster (tests/lib/pgcluster.bash), the roles victim
# and bystander in it, the sessions held against it (pgconns), a small
# timer compiled into the cluster's directory, the timings and the table.
# tests/bench/run.sh calls it at its end; it also runs alone.
#
# Each method starts on a fresh set of sessions: the clock starts just
# before the command is launched and stops when the last of the backend
# pids is gone (reaped by the postmaster), polled through pidfds opened
# beforehand so that a reused pid can never count as a survivor.  The
# command's own return is timed too, but only "gone" is compared.
#
# Needs root (pgevict).  Settings, from the environment: BENCH_TERM_N
# (2000 sessions), BENCH_TERM_RUNS (3 per method), BENCH_TERM_POLL_US (500,
# the timer's poll interval).  Exits 1 when a method did not end every
# session, pgevict exited non-zero, the postmaster went into crash recovery
# or a bystander session was touched; missing the speed target is
# reported, not failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/bench/lib.bash
source tests/bench/lib.bash
bench_init "bench terminate" "pgevict signals other users' processes" pgconns
N=${BENCH_TERM_N:-2000}
REPS=${BENCH_TERM_RUNS:-3}
POLL_US=${BENCH_TERM_POLL_US:-500}
BYSTANDERS=5
HOLD_CHUNK=1000          # sessions a pgconns helper opens (60 s budget each)
GONE_TIMEOUT_MS=60000    # a method that leaves sessions after this fails
TARGET=1.05              # pgevict within 5% of the bare kill loop

CC=${CC:-cc}
for t in runuser pkill "$CC"; do
	command -v "$t" >/dev/null || die "'$t' is not installed"
done

# --- Limits, for this process and its children only (the timer holds a
# pidfd a session, pgconns a socket a session).
bench_room $((N + BYSTANDERS)) BENCH_TERM_N

# --- The cluster.
trap pgt_cleanup EXIT
trap 'exit 130' INT           # exit runs the EXIT trap, once
trap 'exit 143' TERM
started=$(date +%s)
say "making a cluster with max_connections=$((N + 100))"
pgt_cluster_create c "max_connections=$((N + 100))" autovacuum=off
work=$c_dir/bench
mkdir -p "$work"
bindir=$(pgt_bindir)
pmpid=$(pgt_postmaster_pid c)
[[ $pmpid =~ ^[0-9]+$ ]] || die "no postmaster pid in $c_data/postmaster.pid"
pgt_sql c "create role victim login; create role bystander login" >/dev/null

# --- The timer: gonewait PIDFILE POLL_US TIMEOUT_MS CMDLOG CMD [ARG...]
# opens a pidfd on every pid (first column of PIDFILE; all must be alive),
# takes the start time, forks CMD (output to CMDLOG), and polls until every
# pid is gone: pidfd_send_signal(fd, 0) fails with ESRCH once the process
# is reaped, which a reused pid cannot fake.  Each poll goes through the
# list in order and stops at the first survivor, so it costs one syscall
# while nothing moves.  On the timeout it sends SIGTERM to CMD (its own
# child) and no further.  Prints "GONE_NS CMD_NS CMD_STATUS LEFT" (GONE_NS
# -1 on a timeout; CMD_STATUS 128+N for a signal).
cat >"$work/gonewait.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int gone(int fd)
{
	return syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0 && errno == ESRCH;
}

int main(int argc, char **argv)
{
	FILE *f;
	int *fds = NULL, pid, out, status = 0, cmd_done = 0;
	size_t n = 0, cap = 0, i = 0, left, k;
	long long poll_ns, timeout_ns, t0, t_cmd = -1, t_gone = -1, now;
	struct timespec nap;
	char line[256];
	pid_t child;

	if (argc < 6) {
		fprintf(stderr, "usage: gonewait PIDFILE POLL_US TIMEOUT_MS CMDLOG CMD [ARG...]\n");
		return 2;
	}
	poll_ns = atoll(argv[2]) * 1000;
	timeout_ns = atoll(argv[3]) * 1000000;
	nap.tv_sec = poll_ns / 1000000000;
	nap.tv_nsec = poll_ns % 1000000000;
	if (!(f = fopen(argv[1], "r")))
		return perror(argv[1]), 2;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d", &pid) != 1)
			continue;
		if (n == cap && !(fds = realloc(fds, (cap = cap ? 2 * cap : 1024) * sizeof(*fds))))
			return 2;
		fds[n] = (int)syscall(SYS_pidfd_open, pid, 0);
		if (fds[n] < 0 || gone(fds[n])) {
			fprintf(stderr, "gonewait: pid %d is not there before the start\n", pid);
			return 3;
		}
		n++;
	}
	fclose(f);
	out = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return perror(argv[4]), 2;
	t0 = now_ns();
	child = fork();
	if (child < 0)
		return perror("fork"), 2;
	if (child == 0) {
		dup2(out, 1);
		dup2(out, 2);
		execvp(argv[5], argv + 5);
		_exit(127);
	}
	for (;;) {
		if (!cmd_done && waitpid(child, &status, WNOHANG) == child) {
			t_cmd = now_ns() - t0;
			cmd_done = 1;
		}
		while (i < n && gone(fds[i]))
			i++;
		now = now_ns();
		if (i == n && t_gone < 0)
			t_gone = now - t0;
		if (t_gone >= 0 && cmd_done)
			break;
		if (now - t0 > timeout_ns) {
			if (!cmd_done) {
				kill(child, SIGTERM);
				waitpid(child, &status, 0);
				t_cmd = now_ns() - t0;
			}
			break;
		}
		nanosleep(&nap, NULL);
	}
	for (left = 0, k = i; k < n; k++)
		left += !gone(fds[k]);
	printf("%lld %lld %d %zu\n", t_gone, t_cmd,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), left);
	return 0;
}
EOF
"$CC" -O2 -Wall -o "$work/gonewait" "$work/gonewait.c" 2>"$work/gonewait.cc.log" ||
	{ cat "$work/gonewait.cc.log" >&2; die "cannot compile the timer"; }

# --- Sessions.
failed=0
problems=()
problem() { problems+=("$*"); failed=1; say "!!! $*"; }
victims() { pgt_sql c "select count(*) from pg_stat_activity where usename = 'victim'"; }

say "opening $BYSTANDERS bystander sessions (held throughout)"
pgt_hold c "host=127.0.0.1 user=bystander dbname=postgres" "$BYSTANDERS" idle "$work/bystander" ||
	die "could not open the bystander sessions (see $c_log)"
BY_PIDS=$(cut -d' ' -f1 "$work/bystander" | sort -n | tr '\n' ' ')
# bystanders_ok: every bystander backend still there, the same pids.
bystanders_ok() {
	local now
	now=$(pgt_sql c "select pid from pg_stat_activity where usename = 'bystander' order by pid" | sort -n | tr '\n' ' ')
	[ "$now" = "$BY_PIDS" ]
}

HOLDERS=()
# open_victims FILE: N fresh victim sessions, HOLD_CHUNK per helper; FILE
# gets their "backend_pid client_port" lines.
open_victims() {
	local file=$1 held=0 n k=0
	HOLDERS=()
	: >"$file"
	while [ "$held" -lt "$N" ]; do
		n=$((N - held))
		[ "$n" -le "$HOLD_CHUNK" ] || n=$HOLD_CHUNK
		k=$((k + 1))
		pgt_hold c "host=127.0.0.1 user=victim dbname=postgres" "$n" idle "$file.$k" ||
			die "could not open victim sessions $((held + 1))-$((held + n)) (see $c_log)"
		HOLDERS+=("$PGT_HOLD_PID")
		cat "$file.$k" >>"$file"
		held=$((held + n))
	done
	n=$(victims)
	[ "$n" = "$N" ] || die "pg_stat_activity shows $n victim sessions, expected $N"
}
release_victims() {
	local p
	for p in "${HOLDERS[@]}"; do pgt_release "$p"; done
	HOLDERS=()
}

# --- The methods.
METHODS=(pgevict pgevict_signal psql pkill loop)
declare -A LABEL
LABEL[pgevict]="pgevict terminate (default ladder)"
LABEL[pgevict_signal]="pgevict terminate --via signal"
LABEL[psql]="psql pg_terminate_backend (runuser)"
LABEL[pkill]="pkill -TERM -P postmaster -f"
LABEL[loop]="bash kill loop over known pids"
TERM_SQL="select pg_terminate_backend(pid) from pg_stat_activity where usename = 'victim'"
# method_cmd METHOD PIDFILE: the command line, in CMD (an array).
method_cmd() {
	local pids
	case $1 in
	pgevict) CMD=("$PGEVICT" --cluster "$c_port" terminate --user victim) ;;
	pgevict_signal) CMD=("$PGEVICT" --cluster "$c_port" terminate --user victim --via signal) ;;
	psql) CMD=(runuser -u postgres -- "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$c_sock"
		-p "$c_port" -U postgres -d postgres -c "$TERM_SQL") ;;
	# -P: only children of the bench's own postmaster can match.
	pkill) CMD=(pkill -TERM -P "$pmpid" -f ' victim postgres ') ;;
	loop)
		pids=$(cut -d' ' -f1 "$2" | tr '\n' ' ')
		CMD=(bash -c "for p in $pids; do kill -TERM \$p; done")
		;;
	esac
}

declare -A GONE CMDMS PRE STEPS
crash_msg="terminating any other active server processes"
# run_one METHOD REP
run_one() {
	local m=$1 rep=$2 file="$work/victims.$1.$2" log="$work/out.$1.$2" res gone_ns cmd_ns st left n last
	open_victims "$file"
	sleep 0.3                        # let the forks settle
	method_cmd "$m" "$file"
	res=$("$work/gonewait" "$file" "$POLL_US" "$GONE_TIMEOUT_MS" "$log" "${CMD[@]}") ||
		die "the timer failed on ${LABEL[$m]}"
	read -r gone_ns cmd_ns st left <<<"$res"
	if [ "$gone_ns" -lt 0 ]; then
		problem "${LABEL[$m]}, run $rep: $left of $N sessions still there after $((GONE_TIMEOUT_MS / 1000)) s"
	else
		GONE[$m]+="$(awk -v v="$gone_ns" 'BEGIN { printf "%.1f", v / 1e6 }') "
	fi
	CMDMS[$m]+="$(awk -v v="$cmd_ns" 'BEGIN { printf "%.1f", v / 1e6 }') "
	if [ "$st" != 0 ]; then
		problem "${LABEL[$m]}, run $rep: exited $st: $(grep -v '^[0-9]' "$log" | head -n 3 | tr '\n' ' ')"
	fi
	if [[ $m == pgevict* ]]; then
		n=$(awk '$5 == "gone"' "$log" | wc -l)
		[ "$n" = "$N" ] || problem "${LABEL[$m]}, run $rep: $n of $N sessions reported gone (see $log)"
		# Its MS column counts from just before its first step to each
		# session's end: the rest of its return time is start-up,
		# discovery, the pidfds, and the audit and table at the end.
		last=$(awk '$5 == "gone" && $7 > m { m = $7 } END { print m + 0 }' "$log")
		PRE[$m]+="$(awk -v c="$cmd_ns" -v l="$last" 'BEGIN { printf "%.1f", c / 1e6 - l }') "
		STEPS[$m]+="$last "
	fi
	n=$(victims)
	[ "$n" = 0 ] || problem "${LABEL[$m]}, run $rep: pg_stat_activity still shows $n victim sessions"
	if grep -qF "$crash_msg" "$c_log"; then
		problem "${LABEL[$m]}, run $rep: the postmaster log says '$crash_msg'"
	fi
	bystanders_ok || problem "${LABEL[$m]}, run $rep: a bystander session was touched"
	release_victims
	say "$(printf '%-40s run %d: gone %7.1f ms, returned %7.1f ms, exit %s' "${LABEL[$m]}" "$rep" \
		"$(awk -v v="$gone_ns" 'BEGIN { print v / 1e6 }')" "$(awk -v v="$cmd_ns" 'BEGIN { print v / 1e6 }')" "$st")"
}

# Round robin, the order rotated each round, so that no method always
# follows the same one.
nm=${#METHODS[@]}
for rep in $(seq 1 "$REPS"); do
	for j in $(seq 0 $((nm - 1))); do
		run_one "${METHODS[$(((j + rep - 1) % nm))]}" "$rep"
	done
done
[ "$(pgt_sql c "select count(*) from pg_stat_activity where usename = 'bystander'")" = "$BYSTANDERS" ] ||
	problem "the $BYSTANDERS bystander sessions are not all there at the end"

# What launching costs, apart from ending anything.
startup_ms() {
	local t0 t1
	for _ in 1 2 3 4 5; do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || true
		t1=$(date +%s%N)
		echo $((t1 - t0))
	done | sort -n | awk 'NR == 3 { printf "%.1f", $1 / 1e6 }'
}
boot_bash=$(startup_ms bash -c :)
boot_psql=$(startup_ms runuser -u postgres -- "$bindir/psql" -X -q -h "$c_sock" -p "$c_port" -U postgres -d postgres -c 'select 1')

# --- Report.
median() {
	[ -n "${1// /}" ] || { echo n/a; return; }
	tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END {
		printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
declare -A MED
for m in "${METHODS[@]}"; do MED[$m]=$(median "${GONE[$m]:-}"); done
ratio() {
	[[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] || { echo n/a; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'
}
{
	echo
	echo "pgevict terminate bench: $(nproc) CPUs, kernel $(uname -r), PostgreSQL $(cat "$c_data/PG_VERSION"), $(basename "$PGEVICT") from $BUILD/"
	echo "$N idle TCP sessions of role victim (127.0.0.1, pgconns), $BYSTANDERS of role bystander held throughout;"
	echo "fresh sessions for every run; median of $REPS runs; clock: launch -> last backend pid reaped (pidfd, polled every $POLL_US us)"
	echo
	printf '%-40s %10s %10s %11s  %s\n' method "median ms" "x loop" "returned ms" "all runs (gone ms)"
	printf '%-40s %10s %10s %11s  %s\n' "----------------------------------------" "---------" "------" "-----------" "------------------"
	for m in "${METHODS[@]}"; do
		mark=
		[ "$m" = pgevict ] && mark="   <== pgevict"
		printf '%-40s %10s %10s %11s  %s%s\n' "${LABEL[$m]}" "${MED[$m]}" "$(ratio "${MED[$m]}" "${MED[loop]}")" \
			"$(median "${CMDMS[$m]:-}")" "${GONE[$m]:-none}" "$mark"
	done
	echo
	for m in pgevict pgevict_signal; do
		echo "${LABEL[$m]}, its own split (medians): $(median "${PRE[$m]:-}") ms outside its steps (start-up, discovery, pidfds, audit, table), $(median "${STEPS[$m]:-}") ms from its first step to its last session gone (its MS column)"
	done
	echo "launch cost alone (median of 5): bash -c : ${boot_bash} ms (the loop's), runuser + psql select 1 ${boot_psql} ms (psql's)"
	echo
	if [ "$failed" = 0 ]; then
		echo "correctness: ok: every run ended all $N sessions, pgevict exited 0 and reported each gone, no crash recovery, the $BYSTANDERS bystander sessions untouched"
	else
		echo "correctness: FAILED:"
		printf '  %s\n' "${problems[@]}"
	fi
	r=$(ratio "${MED[pgevict]}" "${MED[loop]}")
	rs=$(ratio "${MED[pgevict_signal]}" "${MED[loop]}")
	if [ "$r" = n/a ]; then
		echo "target pgevict terminate within 5% of the bare kill loop: NOT MEASURED"
	elif awk -v r="$r" -v t="$TARGET" 'BEGIN { exit !(r <= t) }'; then
		echo "target pgevict terminate within 5% of the bare kill loop: HELD (x$r; --via signal x$rs)"
	else
		echo "target pgevict terminate within 5% of the bare kill loop: MISSED (x$r; --via signal x$rs)"
	fi
	echo "bench took $(($(date +%s) - started)) s before cleanup"
}
if [ "$failed" != 0 ]; then
	say "FAILED: see the correctness line"
	exit 1
fi
