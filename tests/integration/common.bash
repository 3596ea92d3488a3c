# SPDX-License-Identifier: MIT
# tests/integration/common.bash -- loaded by every .bats file.
#
# Real clusters come from tests/lib/pgcluster.bash.  Tests that need root
# (reading other users' /proc/PID/fd, initdb as postgres) skip, saying so,
# when they do not have it.

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BUILD=${BUILD:-build}
PGEVICT="$TOP/$BUILD/pgevict"
PGT_HELPERS="$TOP/$BUILD/tests"
# shellcheck source=../lib/pgcluster.bash
source "$TOP/tests/lib/pgcluster.bash"

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (run the integration tests as root)"
	id postgres >/dev/null 2>&1 || skip "needs the postgres OS user (apt-get install postgresql)"
}

# ls_json [ARGS]: pgevict ls --json, output in $output, status checked.
bats_require_minimum_version 1.5.0

ls_json() {
	# stderr apart: notes about other clusters on the host (no SQL, a
	# look-alike) are not JSON
	run --separate-stderr "$PGEVICT" ls --json "$@"
	[ "$status" -eq 0 ] || { echo "pgevict ls failed ($status): $output" >&2; return 1; }
}

# jfield PID FIELD: a field of the JSON line for PID in $output.
jfield() {
	printf '%s\n' "$output" | jq -r --argjson p "$1" "select(.pid == \$p) | .$2"
}

# refute CMD [ARGS]: fail, saying so, when CMD succeeds.  In a bats test a
# bare `! cmd` fails nothing unless it is the test's last command (errexit
# ignores a negated command), so claims that something did NOT happen use
# this, `run ! cmd`, or `if cmd; then false; fi`; tests/run.sh rejects a
# bare `! cmd` anywhere else.
refute() {
	if "$@"; then
		echo "refute: this succeeded but must not: $*" >&2
		return 1
	fi
}

# alive PID: the process is there.
alive() { kill -0 "$1" 2>/dev/null; }

# pids_of FILE: the backend pids a pgt_hold or pgt_watch wrote to FILE
# (the first column), one a line.
pids_of() { cut -d' ' -f1 "$1"; }

# hold VAR CONNINFO N MODE OUT: pgt_hold, its client remembered in HOLDS
# for agent_teardown (or the file's own teardown) to release.  Called
# directly, not in $(...), like pgt_hold.
hold() {
	pgt_hold "$@" || return 1
	HOLDS+=("$PGT_HOLD_PID")
}

# wait_for FILE PATTERN [TENTHS]: until FILE has a line matching PATTERN
# (grep), up to TENTHS tenths of a second (150: 15 s); otherwise fails,
# printing FILE.
wait_for() {
	local i
	for i in $(seq 1 "${3:-150}"); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "waited in vain for '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

# A running agent, as the agent*.bats files start it (agent_storm.bats
# too).  A file that uses these:
#   setup()    { agent_setup; ...; }
#   teardown() { agent_teardown; ...; pgt_cleanup; }
# and in a test:
#   printf '[r]\nmatch = --user u\naction = terminate\n' >"$RULES/r.conf"
#   hold a1 "host=127.0.0.1 user=u dbname=postgres" 2 idle "$a1_dir/run/u"
#   start_agent a1 --interval 1s
#   wait_for "$RULES/err" "agent: 1 rules"
#   wait_for "$RULES/out" '"rule":"r"'
#   for p in $(pids_of "$a1_dir/run/u"); do refute alive "$p"; done
#   stop_agent                 # fails the test unless the agent exits 0

# agent_setup: RULES a new, empty rules directory (the agent reads only
# its *.conf files, so its output goes there too); no HOLDS, no AGENT.
agent_setup() {
	RULES=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/rules.XXXXXX")
	HOLDS=()
	AGENT=
}

# agent_teardown: ends the test's agent (by its pid) and releases the
# clients it held; the caller's pgt_cleanup removes what it made.
agent_teardown() {
	local p
	[ -z "${AGENT:-}" ] || { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; } || true
	for p in "${HOLDS[@]}"; do pgt_release "$p"; done
}

# start_agent VAR [WRAPPER... --] [ARGS...]: `pgevict --cluster PORT agent
# --rules $RULES --json ARGS` on the cluster VAR (pgt_cluster_create's
# name: a1, e1...) in the background, under WRAPPER when given (everything
# before the first bare `--`: `start_agent e1 unshare -n -- --interval
# 2s`; ARGS themselves have no bare `--`).  Its stdout in $RULES/out, its
# stderr in $RULES/err; AGENT its pid, tracked with the cluster.  Called
# directly, not in $(...).  Environment given before it reaches the agent
# (`NOTIFY_SOCKET=... start_agent a1 ...`).
start_agent() {
	local port="${1}_port" var=$1 i
	local -a wrap=()
	shift
	for ((i = 1; i <= $#; i++)); do
		if [ "${!i}" = -- ]; then
			wrap=("${@:1:i-1}")
			shift "$i"
			break
		fi
	done
	"${wrap[@]}" "$PGEVICT" --cluster "${!port}" agent --rules "$RULES" --json "$@" \
		>"$RULES/out" 2>"$RULES/err" </dev/null 3>&- 4>&- &
	AGENT=$!
	pgt_track "$var" "$AGENT"
}

# stop_agent [SIGNAL]: sends AGENT SIGNAL (TERM), waits for it and
# returns its exit status; AGENT is then empty.
stop_agent() {
	local rc=0
	kill "-${1:-TERM}" "$AGENT"
	wait "$AGENT" || rc=$?
	AGENT=
	return "$rc"
}
