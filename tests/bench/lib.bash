# SPDX-License-Identifier: MIT
# tests/bench/lib.bash -- what the benchmarks share: their set-up
# (bench_init), their messages (say, die) and room for N backends
# (bench_room).  Sourced from the top of the repository, first thing.

ROOT=$(pwd)
BUILD=${BUILD:-build}
PGEVICT=$ROOT/$BUILD/pgevict
export PGT_HELPERS=$ROOT/$BUILD/tests
BENCH_PREFIX=bench
# shellcheck source=tests/lib/pgcluster.bash
source "$ROOT/tests/lib/pgcluster.bash"
unset PGT_OSUSER PGT_HOLD_SQL      # sessions are root's pgconns, plain

say() { printf '%s: %s\n' "$BENCH_PREFIX" "$*" >&2; }
die() { say "$*"; exit 1; }

# bench_init PREFIX WHY [HELPER...]: messages start with PREFIX; without
# root the script ends here, saying it skipped (WHY: what root is for); it
# dies when pgevict or a named test helper is not built.
bench_init() {
	local h
	BENCH_PREFIX=$1
	if [ "$(id -u)" != 0 ]; then
		say "SKIPPED: needs root ($2)"
		exit 0
	fi
	[ -x "$PGEVICT" ] || die "cannot run '$PGEVICT': build it with make"
	for h in "${@:3}"; do
		[ -x "$PGT_HELPERS/$h" ] || die "cannot run '$PGT_HELPERS/$h': build it with make bench"
	done
}

# bench_room N KNOB: raise RLIMIT_NOFILE and RLIMIT_NPROC for this process
# and its children to hold N more sessions (one socket or pidfd each, one
# process each), and stop with the system-wide setting to change when
# pid_max, threads-max, the local port range or free memory is too small.
# KNOB names the environment setting that lowers N.
bench_room() {
	local n=$1 knob=$2 need nprocs port_lo port_hi mem_mb
	need=$((n + 256))
	if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$need" ]; then
		ulimit -Hn "$need" 2>/dev/null || die "cannot raise RLIMIT_NOFILE to $need (fs.nr_open?)"
	fi
	if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$need" ]; then
		ulimit -Sn "$need"
	fi
	need=$((n + 512))           # the postmaster forks as postgres
	if [ "$(ulimit -Hu)" != unlimited ] && [ "$(ulimit -Hu)" -lt "$need" ]; then
		ulimit -Hu "$need" 2>/dev/null || die "cannot raise RLIMIT_NPROC to $need"
	fi
	if [ "$(ulimit -Su)" != unlimited ] && [ "$(ulimit -Su)" -lt "$need" ]; then
		ulimit -Su "$need"
	fi
	# a process that exits while find walks /proc makes it fail (pipefail)
	nprocs=$(find /proc -maxdepth 1 -name '[0-9]*' 2>/dev/null | wc -l || true)
	[ $((nprocs + n + 512)) -lt "$(cat /proc/sys/kernel/pid_max)" ] ||
		die "kernel.pid_max is too low for $n more processes: sysctl -w kernel.pid_max=$((4 * (nprocs + n)))"
	[ $((nprocs + n + 512)) -lt "$(cat /proc/sys/kernel/threads-max)" ] ||
		die "kernel.threads-max is too low for $n more processes"
	read -r port_lo port_hi </proc/sys/net/ipv4/ip_local_port_range
	[ $((port_hi - port_lo)) -gt $((n + 1000)) ] ||
		die "net.ipv4.ip_local_port_range ($port_lo-$port_hi) has too few ports for $n sessions"
	mem_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
	[ "$mem_mb" -gt $((n * 3)) ] ||     # about 3 MB a backend, to be safe
		die "only ${mem_mb} MB available: $n backends need about $((n * 3)) MB (set $knob lower)"
}

# bench_agent_traps: AGENT (empty) for a script that runs `pgevict agent`
# in the background, stop_agent (SIGTERM, wait, its exit status; 0 when
# none runs), and the traps: on exit the agent is stopped and the
# clusters removed; INT and TERM exit with 130 and 143.
bench_agent_traps() {
	AGENT=
	trap 'stop_agent || true; pgt_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

stop_agent() {
	local rc=0
	[ -n "$AGENT" ] || return 0
	kill -TERM "$AGENT" 2>/dev/null || true
	wait "$AGENT" || rc=$?
	AGENT=
	return "$rc"
}
