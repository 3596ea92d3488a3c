#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# RST injection on real clusters and real TCP: `sever --method rst`,
# `sever --conn`, on a veth pair between two network namespaces that the
# tests make (the cluster listens inside the server's, the clients run in
# the client's; the addresses exist only there) and on loopback.  A cut
# counts when the backend exits and the client saw its connection fail;
# another session between the same two hosts must stay up.

load common
bats_require_minimum_version 1.5.0

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	id postgres >/dev/null 2>&1 || return 0
	pgt_netns_pair n || return 1
	PGT_NETNS=$n_sns PGT_LISTEN='10.201.0.1,fd00:201::1' pgt_cluster_create r1 || return 1
	pgt_cluster_create r2 || return 1
	export n_sns n_cns n_sif n_cif r1_dir r1_data r1_sock r1_port r1_log r2_dir r2_data r2_sock r2_port r2_log
}

teardown_file() {
	pgt_cleanup
}

setup() {
	need_root
	[ -n "${n_sns:-}" ] || skip "the network namespaces were not made"
}

teardown() {
	# namespaces a test made beyond the file's pair
	local ns
	[ -f "${r1_dir:-/nonexistent}/run/netns.$BATS_TEST_NUMBER" ] || return 0
	while read -r ns; do
		ip netns del "$ns" 2>/dev/null || true
	done <"$r1_dir/run/netns.$BATS_TEST_NUMBER"
	rm -f "$r1_dir/run/netns.$BATS_TEST_NUMBER"
}

# wait_gone PID: up to 10 s for the process to exit.
wait_gone() {
	local i
	for i in $(seq 1 100); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# wait_file FILE: up to 10 s for it to appear.
wait_file() {
	local i
	for i in $(seq 1 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# socket_in NS PORT: the TCP sockets with local port PORT in namespace NS.
socket_in() {
	ip netns exec "$1" ss -Htn "( sport = :$2 )"
}

# no_socket NS PORT: no TCP socket on local port PORT in namespace NS (ss
# itself must work: a failing ss proves nothing).
no_socket() {
	local s
	s=$(socket_in "$1" "$2") || return 1
	[ -z "$s" ] || { echo "still a socket in $1: $s" >&2; return 1; }
}

# The cluster in the namespace was never reset by its postmaster.
no_reset() {
	refute grep -q "terminating any other active server processes" "$1"
}

# cut_idle HOST: an idle session from the client namespace to HOST, cut
# by sever --method rst; a second session stays.
cut_idle() {
	local host=$1 w1="$r1_dir/run/idle.$BATS_TEST_NUMBER" w2="$r1_dir/run/keep.$BATS_TEST_NUMBER"
	pgt_watch r1 "host=$host user=postgres dbname=postgres" idle "$w1" "$n_cns"
	local c1=$PGT_WATCH_PID
	pgt_watch r1 "host=$host user=postgres dbname=postgres" idle "$w2" "$n_cns"
	local c2=$PGT_WATCH_PID
	local b1 b2 p2
	read -r b1 _ <"$w1"
	read -r b2 p2 <"$w2"
	run "$PGEVICT" --cluster "$r1_port" sever --pid "$b1" --method rst --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = gone ]
	[ "$(jq -r .step <<<"$output")" = rst ]
	wait_gone "$b1"
	# the client saw its connection reset
	wait_file "$w1.err"
	grep -q "^recv: Connection reset by peer" "$w1.err"
	wait_gone "$c1"
	# the other session between the same hosts is untouched
	alive "$b2"
	alive "$c2"
	[ ! -e "$w2.err" ]
	socket_in "$n_cns" "$p2" | grep -q ESTAB
	no_reset "$r1_log"
	pgt_release "$c2"
}

@test "sever --method rst cuts an idle IPv4 session from another namespace; another stays" {
	cut_idle 10.201.0.1
}

@test "sever --method rst cuts an idle IPv6 session from another namespace; another stays" {
	cut_idle fd00:201::1
}

@test "sever --method rst cuts a session streaming a large result" {
	local w="$r1_dir/run/stream" b p
	pgt_watch r1 "host=10.201.0.1 user=postgres dbname=postgres" stream "$w" "$n_cns"
	local c=$PGT_WATCH_PID
	read -r b p <"$w"
	run "$PGEVICT" --cluster "$r1_port" sever --pid "$b" --method rst --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = gone ]
	wait_gone "$b"
	wait_file "$w.err"
	grep -Eqi "reset|closed|lost" "$w.err"
	wait_gone "$c"
	no_socket "$n_cns" "$p"
	no_reset "$r1_log"
}

@test "sever --conn cuts a connection named only by its ends, from the server's namespace" {
	local w="$r1_dir/run/conn4" b p
	pgt_watch r1 "host=10.201.0.1 user=postgres dbname=postgres" idle "$w" "$n_cns"
	local c=$PGT_WATCH_PID
	read -r b p <"$w"
	run ip netns exec "$n_sns" "$PGEVICT" sever --conn "10.201.0.1:$r1_port,10.201.0.2:$p" --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = severed ]
	[ "$(jq -r .conn <<<"$output")" = "10.201.0.1:$r1_port,10.201.0.2:$p" ]
	[ "$(jq -r .step <<<"$output")" = rst ]
	[[ "$(jq -r .reason <<<"$output")" == *"remote end RST answer"* ]]
	wait_gone "$b"
	# the client side is gone as well
	wait_file "$w.err"
	no_socket "$n_cns" "$p"
	wait_gone "$c"
}

@test "sever --conn from the client's namespace cuts an IPv6 connection, the server end remote" {
	local w="$r1_dir/run/conn6" b p
	pgt_watch r1 "host=fd00:201::1 user=postgres dbname=postgres" idle "$w" "$n_cns"
	local c=$PGT_WATCH_PID
	read -r b p <"$w"
	run ip netns exec "$n_cns" "$PGEVICT" sever --conn "[fd00:201::2]:$p,[fd00:201::1]:$r1_port"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *severed* ]]
	wait_gone "$b"
	wait_file "$w.err"
	grep -q "^recv: Connection reset by peer" "$w.err"
	wait_gone "$c"
	no_socket "$n_cns" "$p"
}

@test "sever --conn on a router between client and server (off the database host) cuts both ends" {
	# client2 -- router -- the server's namespace: 10.203.0.2 -> 10.203.0.1 | 10.202.0.2 -> 10.202.0.1
	local t rns cns2 w="$r1_dir/run/router" b p
	t=$(printf '%05d' $((RANDOM % 100000)))
	rns="pgev-r-$t"
	cns2="pgev-c2-$t"
	ip netns add "$rns"
	echo "$rns" >>"$r1_dir/run/netns.$BATS_TEST_NUMBER"
	ip netns add "$cns2"
	echo "$cns2" >>"$r1_dir/run/netns.$BATS_TEST_NUMBER"
	ip link add "pea$t" netns "$n_sns" type veth peer name "peb$t" netns "$rns"
	ip link add "pec$t" netns "$rns" type veth peer name "ped$t" netns "$cns2"
	ip -n "$n_sns" addr add 10.202.0.1/24 dev "pea$t"
	ip -n "$rns" addr add 10.202.0.2/24 dev "peb$t"
	ip -n "$rns" addr add 10.203.0.1/24 dev "pec$t"
	ip -n "$cns2" addr add 10.203.0.2/24 dev "ped$t"
	ip -n "$n_sns" link set "pea$t" up
	ip -n "$rns" link set lo up
	ip -n "$rns" link set "peb$t" up
	ip -n "$rns" link set "pec$t" up
	ip -n "$cns2" link set lo up
	ip -n "$cns2" link set "ped$t" up
	ip -n "$n_sns" route add 10.203.0.0/24 via 10.202.0.2
	ip -n "$rns" route add 10.201.0.1/32 via 10.202.0.1
	ip -n "$cns2" route add default via 10.203.0.1
	ip netns exec "$rns" sysctl -qw net.ipv4.ip_forward=1
	pgt_watch r1 "host=10.201.0.1 user=postgres dbname=postgres" idle "$w" "$cns2"
	local c=$PGT_WATCH_PID
	read -r b p <"$w"
	run ip netns exec "$rns" "$PGEVICT" sever --conn "10.203.0.2:$p,10.201.0.1:$r1_port" --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .reason <<<"$output")" = "on pec$t: remote end RST answer, remote end RST answer" ]
	wait_gone "$b"
	wait_file "$w.err"
	grep -q "^recv: Connection reset by peer" "$w.err"
	wait_gone "$c"
	ip -n "$n_sns" link del "pea$t"
}

@test "sever --conn with --iface names the interface to capture on" {
	local w="$r1_dir/run/iface" b p
	pgt_watch r1 "host=10.201.0.1 user=postgres dbname=postgres" idle "$w" "$n_cns"
	read -r b p <"$w"
	run ip netns exec "$n_sns" "$PGEVICT" sever --conn "10.201.0.1:$r1_port,10.201.0.2:$p" --iface "$n_sif" --json
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$(jq -r .reason <<<"$output")" == "on $n_sif:"* ]]
	wait_gone "$b"
}

@test "sever --method rst cuts a loopback session; a second one stays" {
	local w1="$r2_dir/run/lo1" w2="$r2_dir/run/lo2" b1 b2 p2
	pgt_watch r2 "host=127.0.0.1 user=postgres dbname=postgres" idle "$w1"
	local c1=$PGT_WATCH_PID
	pgt_watch r2 "host=127.0.0.1 user=postgres dbname=postgres" idle "$w2"
	local c2=$PGT_WATCH_PID
	read -r b1 _ <"$w1"
	read -r b2 p2 <"$w2"
	run "$PGEVICT" --cluster "$r2_port" sever --pid "$b1" --method rst --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = gone ]
	wait_gone "$b1"
	wait_file "$w1.err"
	grep -q "^recv: Connection reset by peer" "$w1.err"
	wait_gone "$c1"
	alive "$b2"
	[ ! -e "$w2.err" ]
	ss -Htn state established "( sport = :$p2 )" | grep -q .
	no_reset "$r2_log"
	pgt_release "$c2"
}

@test "sever --conn cuts an IPv6 loopback connection, both ends verified by a dump" {
	local w="$r2_dir/run/lo6" b p
	pgt_watch r2 "host=::1 user=postgres dbname=postgres" idle "$w"
	local c=$PGT_WATCH_PID
	read -r b p <"$w"
	run "$PGEVICT" sever --conn "[::1]:$p,[::1]:$r2_port" --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .reason <<<"$output")" = "on lo: local end socket dump, local end socket dump" ]
	wait_gone "$b"
	wait_file "$w.err"
	wait_gone "$c"
}

@test "terminate --via rst ends the session (the ladder's rst step)" {
	local w="$r1_dir/run/via" b
	pgt_watch r1 "host=10.201.0.1 user=postgres dbname=postgres" idle "$w" "$n_cns"
	read -r b _ <"$w"
	run "$PGEVICT" --cluster "$r1_port" terminate --pid "$b" --via rst --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = gone ]
	[ "$(jq -r .step <<<"$output")" = rst ]
	wait_gone "$b"
}

@test "sever --method rst on a stopped backend: severed, the client reset, the process still there" {
	local w="$r1_dir/run/stopped" b p
	pgt_watch r1 "host=10.201.0.1 user=postgres dbname=postgres" idle "$w" "$n_cns"
	read -r b p <"$w"
	kill -STOP "$b"
	run "$PGEVICT" --cluster "$r1_port" sever --pid "$b" --method rst --step-timeout 500ms --json
	kill -CONT "$b"
	echo "$output"
	[ "$status" -eq 3 ]
	[ "$(jq -r .outcome <<<"$output")" = severed ]
	[ "$(jq -r .step <<<"$output")" = rst ]
	wait_file "$w.err"
	no_socket "$n_cns" "$p"
	wait_gone "$b"
}

@test "sever --conn for a connection that does not exist: exit 1, one line" {
	run "$PGEVICT" sever --conn "127.0.0.1:$r2_port,127.0.0.1:1"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "pgevict: cannot cut "*"no such connection"* ]]
}

@test "bad sever options exit 2 with one line" {
	local args
	for args in "--conn 10.0.0.1:1" "--conn 10.0.0.1:1,[::1]:2" "--conn 1.2.3.4:5,1.2.3.5:6 --pid 1" \
		"--method bogus --all" "--method sql --all" "--method rst --via destroy --all" \
		"--conn 1.2.3.4:5,1.2.3.5:6 --iface abcdefghijklmnopq" "--conn 1.2.3.4:5,1.2.3.5:6 --method rst" \
		"--conn 127.0.0.1:1,127.0.0.1:2 --iface nosuchif0" "--cluster $r2_port --all --iface nosuchif0"; do
		# shellcheck disable=SC2086
		run "$PGEVICT" sever $args
		echo "$args: $output"
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
	done
	for args in "--method rst" "--conn 1.2.3.4:5,1.2.3.5:6" "--iface lo"; do
		# shellcheck disable=SC2086
		run "$PGEVICT" terminate --all $args
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
	done
}

@test "sever --conn --dry-run touches nothing" {
	run "$PGEVICT" sever --conn "127.0.0.1:1,127.0.0.1:2" --dry-run --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = planned ]
}

@test "--iface naming no interface: exit 2, one line, nothing cut" {
	run "$PGEVICT" sever --conn "127.0.0.1:1,127.0.0.1:2" --iface nosuchif0
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "pgevict: --iface: no such interface 'nosuchif0'" ]
	pgt_hold r2 "host=127.0.0.1 user=postgres dbname=postgres" 1 idle "$r2_dir/run/noif"
	h=$PGT_HOLD_PID
	read -r p _ <"$r2_dir/run/noif"
	run "$PGEVICT" --cluster "$r2_port" sever --pid "$p" --iface nosuchif0
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no such interface 'nosuchif0'"* ]]
	alive "$p"
	pgt_release "$h"
}

@test "terminate, cancel and sever show a CLUSTER column when the sessions are of more than one cluster" {
	PGT_OSUSER=postgres pgt_hold r1 "host=$r1_sock user=postgres dbname=postgres" 1 idle "$r1_dir/run/two"
	h1=$PGT_HOLD_PID
	PGT_OSUSER=postgres pgt_hold r2 "host=$r2_sock user=postgres dbname=postgres" 1 idle "$r2_dir/run/two"
	h2=$PGT_HOLD_PID
	read -r p1 _ <"$r1_dir/run/two"
	read -r p2 _ <"$r2_dir/run/two"
	for cmd in terminate cancel sever; do
		run --separate-stderr "$PGEVICT" "$cmd" --pid "$p1" --pid "$p2" --dry-run
		[ "$status" -eq 0 ]
		[[ "${lines[0]}" == PID*CLUSTER*USER* ]]
		[[ "$output" == *" $r1_port "* || "$output" == *"r1"* ]]
		run --separate-stderr "$PGEVICT" "$cmd" --pid "$p1" --dry-run
		[ "$status" -eq 0 ]
		[[ "${lines[0]}" == PID*USER* ]]
		refute grep -q CLUSTER <<<"${lines[0]}"
	done
	alive "$p1"; alive "$p2"
	pgt_release "$h1"; pgt_release "$h2"
}
