#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154  # c_dir, c_port, n_sns, ...: set by pgcluster.bash
# tests/bench/rst.sh -- how long it takes to cut one idle TCP connection:
# pgevict's RST injection (the ladder step, and `sever --conn`), next to
# SOCK_DESTROY (`sever --method destroy`) and to tcpkill (dsniff), the
# tool the runbooks use.
#
# Owns: a server and a client network namespace joined by a veth pair
# (tests/lib/pgcluster.bash pgt_netns_pair; addresses only inside them),
# one throwaway cluster listening in the server's, idle sessions opened
# from the client's by the pgwatch helper (a fresh one for every run), the
# timings and the table.  tests/bench/run.sh calls it at its end; it also
# runs alone.
#
# A run counts as cut when the client saw "Connection reset by peer" and
# the backend exited.  Clocks: launch of the command -> the client's recv
# failing with ECONNRESET (pgwatch notes the time: the cut), and -> the
# command's return (after verifying, and after the kernel's teardown of
# its sockets: closing a packet socket waits for an RCU grace period);
# pgevict's own elapsed_ms (its start of the step to the verified cut) is
# shown too.  The target is on the cut.  tcpkill only learns sequence numbers from passing traffic, so
# on an idle connection it is given BENCH_RST_TCPKILL_S (5) seconds and
# the table says whether the connection was cut in that time.
#
# Needs root.  Settings: BENCH_RST_RUNS (11 per pgevict method),
# BENCH_RST_TCPKILL_S (5).  Exits 1 when a pgevict method failed to cut a
# connection or disturbed the bystander session; missing the speed target
# (median under 50 ms for rst) is reported, not failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/bench/lib.bash
source tests/bench/lib.bash
bench_init "bench rst" "network namespaces, raw sockets" pgwatch
RUNS=${BENCH_RST_RUNS:-11}
TCPKILL_S=${BENCH_RST_TCPKILL_S:-5}
TCPKILL=${TCPKILL:-/usr/sbin/tcpkill}
TARGET_MS=50

command -v ip >/dev/null || die "'ip' is not installed (iproute2)"
HAVE_TCPKILL=1
[ -x "$TCPKILL" ] || HAVE_TCPKILL=0

trap pgt_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=$(date +%s)
say "making two network namespaces and a cluster in one of them"
pgt_netns_pair n
PGT_NETNS=$n_sns PGT_LISTEN='10.201.0.1' pgt_cluster_create c autovacuum=off
work=$c_dir/bench
mkdir -p "$work"
CONNINFO="host=10.201.0.1 user=postgres dbname=postgres"

# the bystander: a session between the same two hosts, held throughout
pgt_watch c "$CONNINFO" idle "$work/bystander" "$n_cns"
read -r by_pid by_port <"$work/bystander"

alive() { kill -0 "$1" 2>/dev/null; }

# cut_seen OUT PID SECONDS: the client of OUT saw a reset and the backend
# PID exited, within SECONDS.
cut_seen() {
	local out=$1 pid=$2 i
	for i in $(seq 1 $(($3 * 100))); do
		if [ -s "$out.err" ] && ! alive "$pid"; then
			grep -q "^recv: Connection reset by peer" "$out.err"
			return
		fi
		sleep 0.01
	done
	return 1
}

declare -A LABEL WALL OWN CUT SEEN
METHODS=(rst conn destroy)
LABEL[rst]="pgevict sever --pid B --method rst"
LABEL[conn]="pgevict sever --conn A:P,B:Q (rst)"
LABEL[destroy]="pgevict sever --pid B --method destroy"
failed=0

for m in "${METHODS[@]}"; do
	WALL[$m]=""
	SEEN[$m]=""
	OWN[$m]=""
	CUT[$m]=0
	for i in $(seq 1 "$RUNS"); do
		w="$work/$m.$i"
		pgt_watch c "$CONNINFO" idle "$w" "$n_cns"
		cpid=$PGT_WATCH_PID
		read -r b p <"$w"
		case $m in
		rst) cmd=("$PGEVICT" --json --cluster "$c_port" sever --pid "$b" --method rst) ;;
		destroy) cmd=("$PGEVICT" --json --cluster "$c_port" sever --pid "$b" --method destroy) ;;
		conn) cmd=(ip netns exec "$n_sns" "$PGEVICT" --json sever --conn "10.201.0.1:$c_port,10.201.0.2:$p") ;;
		esac
		sleep 0.2                    # idle for real: nothing in flight
		t0=$(date +%s%N)
		rc=0
		"${cmd[@]}" >"$w.json" 2>"$w.stderr" || rc=$?
		t1=$(date +%s%N)
		ms=$(awk -v v="$((t1 - t0))" 'BEGIN { printf "%.1f", v / 1e6 }')
		own=$(sed -n 's/.*"elapsed_ms":\([0-9]*\).*/\1/p' "$w.json" | head -n 1)
		seen=n/a
		if [ "$rc" = 0 ] && cut_seen "$w" "$b" 5; then
			at=$(sed -n 's/^at_ns: //p' "$w.err")
			seen=$(awk -v v="$((at - t0))" 'BEGIN { printf "%.1f", v / 1e6 }')
			CUT[$m]=$((CUT[$m] + 1))
			WALL[$m]+="$ms "
			SEEN[$m]+="$seen "
			OWN[$m]+="${own:-0} "
		else
			say "!!! ${LABEL[$m]} run $i: exit $rc, not cut: $(head -c 300 "$w.json" "$w.stderr")"
			failed=1
		fi
		say "$(printf '%-40s run %2d: cut %7s ms, returned %7.1f ms (pgevict says %s ms)' "${LABEL[$m]}" "$i" \
			"$seen" "$ms" "${own:-?}")"
		pgt_release "$cpid"
	done
done

# tcpkill on the server's veth, on an idle connection.
tk_result="not installed ($TCPKILL)"
if [ "$HAVE_TCPKILL" = 1 ]; then
	w="$work/tcpkill"
	pgt_watch c "$CONNINFO" idle "$w" "$n_cns"
	cpid=$PGT_WATCH_PID
	read -r b p <"$w"
	say "tcpkill on an idle connection, for ${TCPKILL_S} s"
	t0=$(date +%s%N)
	ip netns exec "$n_sns" timeout "$TCPKILL_S" "$TCPKILL" -i "$n_sif" -3 \
		"host 10.201.0.2 and port $p" >"$w.out" 2>&1 || true
	t1=$(date +%s%N)
	if cut_seen "$w" "$b" 1; then
		tk_result="cut within $(awk -v v="$((t1 - t0))" 'BEGIN { printf "%.0f", v / 1e6 }') ms"
	else
		tk_result="NOT cut within ${TCPKILL_S} s (it learns sequence numbers only from passing traffic)"
	fi
	pgt_release "$cpid"
fi

# the bystander never noticed
if [ -e "$work/bystander.err" ] || ! alive "$by_pid" ||
	! ip netns exec "$n_cns" ss -Htn state established "( sport = :$by_port )" | grep -q .; then
	say "!!! the bystander session was disturbed"
	failed=1
fi

median() {
	[ -n "${1// /}" ] || { echo n/a; return; }
	tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END {
		printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minmax() {
	[ -n "${1// /}" ] || { echo n/a; return; }
	tr ' ' '\n' <<<"$1" | grep . | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%s-%s", a, b }'
}

{
	echo
	echo "rst bench: $(nproc) CPUs, kernel $(uname -r), PostgreSQL $(cat "$c_data/PG_VERSION"), $(basename "$PGEVICT") from $BUILD/"
	echo "one idle TCP session a run, from a client namespace over a veth to a cluster in a server namespace;"
	echo "$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l) processes on the host (the --pid forms run discovery over all of them first)"
	echo "a fresh session every run, $RUNS runs a method, medians; a run counts when the client saw"
	echo "'Connection reset by peer' and the backend exited.  cut: command launch -> the client's recv failed;"
	echo "returned: launch -> the command's exit; pgevict: its own elapsed_ms (the step's start -> verified)"
	echo
	printf '%-42s %6s %8s %13s %9s %9s\n' method runs "cut ms" "cut range" "returned" "pgevict"
	printf '%-42s %6s %8s %13s %9s %9s\n' "------------------------------------------" "-----" "------" "------------" "--------" "-------"
	for m in "${METHODS[@]}"; do
		printf '%-42s %6s %8s %13s %9s %9s\n' "${LABEL[$m]}" "${CUT[$m]}/$RUNS" "$(median "${SEEN[$m]}")" \
			"$(minmax "${SEEN[$m]}")" "$(median "${WALL[$m]}")" "$(median "${OWN[$m]}")"
	done
	printf '%-42s %s\n' "tcpkill -3 (dsniff), idle connection" "$tk_result"
	echo
	med=$(median "${SEEN[rst]}")
	if [[ $med =~ ^[0-9.]+$ ]] && awk -v m="$med" -v t="$TARGET_MS" 'BEGIN { exit !(m < t) }'; then
		echo "target rst median under $TARGET_MS ms: HELD ($med ms)"
	else
		echo "target rst median under $TARGET_MS ms: MISSED ($med ms)"
	fi
	echo "bench took $(($(date +%s) - started)) s before cleanup"
}
[ "$failed" = 0 ] || { say "FAILED: see above"; exit 1; }
