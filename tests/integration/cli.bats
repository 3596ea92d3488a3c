#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The command line itself (src/cmd/main.c): usage errors are one line and exit
# 2, however many options come first; an option a command does not take is
# refused; a write error on stdout is an error.  No cluster is needed: each
# of these ends before discovery (the last test runs `clusters`, as root).

load common

# pe_full ARGS: pgevict ARGS with stdout on /dev/full; stderr in $output.
pe_full() {
	run bash -c '"$0" "$@" >/dev/full' "$PGEVICT" "$@"
}

@test "an option after 64 others is still checked against the command" {
	local args=() i
	for i in $(seq 64); do args+=(--pid 1); done
	run "$PGEVICT" ls "${args[@]}" --total
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: 'ls' does not take --total" ]
	for i in $(seq 500); do args+=(--user "u$i"); done
	run "$PGEVICT" "${args[@]}" --kick ls
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: 'ls' does not take --kick" ]
	run "$PGEVICT" terminate "${args[@]}" --interval 1s
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: 'terminate' does not take --interval" ]
}

@test "an option given to a command that does not take it: exit 2, one line naming both" {
	local cmd opt
	while read -r cmd opt; do
		# shellcheck disable=SC2086
		run "$PGEVICT" $cmd $opt
		echo "$cmd $opt: $status $output"
		[ "$status" -eq 2 ]
		[ "$output" = "pgevict: '$cmd' does not take ${opt%% *}" ]
	done <<-EOF
	clusters --pid 1
	ls --total
	ls --via sql
	tree --all
	tree --state-dir /tmp
	cancel --cancel-first
	cancel --method rst
	terminate --kick
	terminate --conn 1.2.3.4:5,1.2.3.5:6
	sever --cancel-first
	lockdown --pid 1
	lockdown --rules /tmp
	unlock --total
	unlock --dry-run
	status --allow-role app
	agent --via sql
	agent --user x
	hba --pid 1
	unlock --owner x
	EOF
}

@test "usage errors keep their words and exit 2" {
	run "$PGEVICT" ls --bogus
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: unknown option '--bogus'" ]
	run "$PGEVICT" ls --pid
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: option '--pid' needs a value" ]
	run "$PGEVICT" bogus
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: unknown command 'bogus' (see pgevict --help)" ]
	run "$PGEVICT" ls tree
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: unexpected argument 'tree'" ]
	run "$PGEVICT" agent --interval 1
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: bad value '1' for --interval (e.g. 1s, 30s; 100ms to 1d)" ]
	run "$PGEVICT" lockdown --hba-file relative
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: bad value for --hba-file: an absolute path, on one line" ]
	run "$PGEVICT" sever --all --method rst --via destroy
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: --method and --via both name steps; give one" ]
	run "$PGEVICT"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "usage: pgevict [--json] [--cluster SPEC] [--no-sql] [--dsn CONNINFO] COMMAND [OPTIONS]" ]
}

@test "a network with host bits set is refused, both readings named" {
	run "$PGEVICT" ls --client 10.1.2.3/8
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: bad value '10.1.2.3/8' for --client: bits set right of the /8 mask (write 10.0.0.0/8 for the network, 10.1.2.3 for the host)" ]
	run "$PGEVICT" terminate --client 2001:db8::1/32
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"write 2001:db8::/32 for the network, 2001:db8::1 for the host)" ]]
	run "$PGEVICT" lockdown --allow-host 192.168.1.129/25
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: bad value '192.168.1.129/25' for --allow-host: bits set right of the /25 mask (write 192.168.1.128/25 for the network, 192.168.1.129 for the host)" ]
}

@test "help and version on a full disk: exit 1, one line" {
	pe_full --help
	[ "$status" -eq 1 ]
	[ "$output" = "pgevict: cannot write to standard output: No space left on device" ]
	pe_full --version
	[ "$status" -eq 1 ]
	[ "$output" = "pgevict: cannot write to standard output: No space left on device" ]
	run "$PGEVICT" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"without --cluster: every cluster on this host"* ]]
}

@test "a command whose output hits a full disk exits 1 with one line" {
	[ "$(id -u)" = 0 ] || skip "needs root (clusters reads other users' /proc entries)"
	# clusters writes to stdout either way: the table, or that none runs.
	# (clusters other tests left running may add their own notes first)
	pe_full clusters
	[ "$status" -eq 1 ]
	[ "${lines[-1]}" = "pgevict: cannot write to standard output: No space left on device" ]
	[ "$(grep -c 'cannot write' <<<"$output")" -eq 1 ]
	# a usage error writes nothing to stdout: still exit 2, one line
	pe_full clusters --pid 1
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: 'clusters' does not take --pid" ]
}
