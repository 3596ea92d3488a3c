#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154  # c_dir, c_port, ...: set by pgt_cluster_create
# tests/bench/storm.sh -- does the admin get in during a connection storm?
#
# A cluster with max_connections = 50 (3 kept for superusers); a storm of
# BENCH_STORM_CLIENTS (100) clients of role storm, each opening an idle
# session as fast as it can and opening another the moment the server
# refuses or ends it (tests/helpers/pgstorm); meanwhile, every 100 ms, a
# login as the ordinary role probe over TCP and one as the superuser
# (postgres, over the Unix socket, as the DBA's `sudo -u postgres psql`).
# Each mode runs BENCH_STORM_S (30) seconds:
#   none      the storm alone
#   headroom  the agent with the shipped headroom rule (free = 5)
#   pool      the same agent, the storm's clients waiting 1 s after a
#             refusal, as a connection pool does
#   escalate  the agent with the headroom rule and lockdown-after = 5s,
#             lockdown-allow-role = probe: it locks the cluster down
#             itself once the room cannot be held (then unlocked)
#   lockdown  `pgevict lockdown --allow-role probe --kick` at the start
# It reports each probe's success rate and the agent's CPU (% of one core)
# and peak memory during the storm.
#
# Owns: one throwaway cluster, its roles, the storm, the probes, the agent
# and lockdown runs (with their state directory), the table.  Needs root.
# Exits 1 when the agent does not stop with exit 0, a lockdown is not
# undone, or the headroom agent ends a superuser's session (the probe's
# are the only other sessions: the storm's are its to end).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/bench/lib.bash
source tests/bench/lib.bash
bench_init "bench storm" "the agent reads every process's /proc; lockdown rewrites pg_hba.conf" pgstorm
SECS=${BENCH_STORM_S:-30}
CLIENTS=${BENCH_STORM_CLIENTS:-100}
[ "$SECS" -ge 5 ] || die "BENCH_STORM_S must be at least 5"
bench_room "$((CLIENTS + 64))" BENCH_STORM_CLIENTS

bench_agent_traps
say "making a cluster (max_connections = 50)"
pgt_cluster_create c max_connections=50 superuser_reserved_connections=3 autovacuum=off
pgt_sql c "create role storm login; create role probe login" >/dev/null
work=$c_dir/bench
mkdir -p "$work/rules" "$work/state"
chmod 700 "$work/rules" "$work/state"
cp rules/headroom.conf.example "$work/rules/headroom.conf"
failed=0
hz=$(getconf CLK_TCK)

# cpu_ticks PID: utime + stime of PID so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# storm_mode NAME BACKOFF_MS [AGENT|LOCKDOWN]: one storm with its probes.
storm_mode() {
	local name=$1 backoff=$2 with=${3:-} st p1 p2 t0=0 t1=0
	say "$name: $CLIENTS clients for ${SECS}s"
	"$PGT_HELPERS/pgstorm" -s -c "$CLIENTS" -b "$backoff" -t "$((SECS + 2))" -o "$work/$name.storm" \
		"host=127.0.0.1 port=$c_port user=storm dbname=postgres" </dev/null &
	st=$!
	sleep 1
	if [ "$with" = lockdown ]; then
		"$PGEVICT" --cluster "$c_port" lockdown --allow-role probe --kick --state-dir "$work/state" \
			>"$work/$name.lockdown" 2>&1 || { say "!!! lockdown failed: $(tail -n 1 "$work/$name.lockdown")"; failed=1; }
	fi
	[ "$with" != agent ] || t0=$(cpu_ticks "$AGENT")
	"$PGT_HELPERS/pgstorm" -p 100 -t "$SECS" -o "$work/$name.probe" \
		"host=127.0.0.1 port=$c_port user=probe dbname=postgres connect_timeout=2" </dev/null &
	p1=$!
	runuser -u postgres -- "$PGT_HELPERS/pgstorm" -p 100 -t "$SECS" \
		"host=$c_sock port=$c_port user=postgres dbname=postgres connect_timeout=2" </dev/null >"$work/$name.su" &
	p2=$!
	wait "$p1" "$p2"
	[ "$with" != agent ] || t1=$(cpu_ticks "$AGENT")
	wait "$st"
	echo $(( (t1 - t0) * 10000 / hz / SECS )) >"$work/$name.cpu"   # hundredths of a percent
	if [ "$with" = lockdown ]; then
		"$PGEVICT" --cluster "$c_port" unlock --state-dir "$work/state" >"$work/$name.unlock" 2>&1 ||
			{ say "!!! unlock failed: $(tail -n 1 "$work/$name.unlock")"; failed=1; }
	fi
}

start_agent() {
	"$PGEVICT" --cluster "$c_port" agent --rules "$work/rules" --interval 5s --json --state-dir "$work/state" \
		>"$work/agent.out" 2>"$work/agent.err" </dev/null &
	AGENT=$!
	sleep 1
}

storm_mode none 0
start_agent
storm_mode headroom 0 agent
storm_mode pool 1000 agent
peak_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT/status")
rc=0
stop_agent || rc=$?
[ "$rc" = 0 ] || { say "!!! the agent exited $rc on SIGTERM"; failed=1; }
if jq -e 'select(.user == "postgres" or .user == "probe")' "$work/agent.out" >/dev/null 2>&1; then
	say "!!! the headroom agent ended a session that was not the storm's"
	failed=1
fi
# the same rule, with its last step
printf 'lockdown-after = 5s\nlockdown-allow-role = probe\n' >>"$work/rules/headroom.conf"
start_agent
storm_mode escalate 0 agent
rc=0
stop_agent || rc=$?
[ "$rc" = 0 ] || { say "!!! the agent exited $rc on SIGTERM"; failed=1; }
grep -q "locked down" "$work/agent.err" || { say "!!! the agent did not lock the cluster down"; failed=1; }
"$PGEVICT" --cluster "$c_port" unlock --state-dir "$work/state" >"$work/escalate.unlock" 2>&1 ||
	{ say "!!! unlock after the agent's lockdown failed: $(tail -n 1 "$work/escalate.unlock")"; failed=1; }
storm_mode lockdown 0 lockdown

# rate FILE: "ok/attempts (P%)" of a probe's result
rate() { awk 'NR == 1 { printf "%d/%d (%.0f%%)", $4, $2, $2 ? 100 * $4 / $2 : 0 }' "$1"; }
cpu() { awk '{ printf "%.2f%%", $1 / 100 }' "$1"; }
{
	echo
	echo "pgevict storm bench: $(nproc) CPUs, kernel $(uname -r), PostgreSQL $(cat "$c_data/PG_VERSION")"
	echo "max_connections 50 (3 for superusers), $CLIENTS storm clients, ${SECS}s per mode, a login every 100 ms per probe"
	echo
	printf '%-10s %-22s %-22s %-24s %10s\n' mode "probe (ordinary role)" "superuser (socket)" "storm accepted/cut" "agent CPU"
	for m in none headroom pool escalate lockdown; do
		a=$(awk '{ print $4 "/" $8 }' "$work/$m.storm")
		c=-
		[ "$m" = none ] || [ "$m" = lockdown ] || c=$(cpu "$work/$m.cpu")
		printf '%-10s %-22s %-22s %-24s %10s\n' "$m" "$(rate "$work/$m.probe")" "$(rate "$work/$m.su")" "$a" "$c"
	done
	echo
	echo "agent peak memory (headroom, pool): $((peak_kb / 1024)) MB"
	echo "escalate: $(grep -o "locked down: fewer than [^;]*" "$work/agent.err" | head -n 1)"
	[ "$failed" = 0 ] && echo "correctness: ok: the agent ended only the storm's sessions and exited 0; the lockdown was undone" ||
		echo "correctness: FAILED (see above)"
}
[ "$failed" = 0 ] || exit 1
