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
