#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Discovery on a hostile host: an unprivileged account (nobody) plants
# things that look like a postmaster, and the postgres account edits its
# configuration.  Root must take none of them for a cluster it acts on.
#
# - a fake postmaster: a bash process run as nobody whose cwd holds a
#   postmaster.pid with its own pid, the real cluster's port, one child
#   titled like the real cluster's checkpointer, hba_file on its command
#   line and a pg_hba.conf symlinked to a root-only file;
# - a FIFO named postmaster.pid in such a fake's directory;
# - a fake whose postmaster.pid data directory line carries escape bytes;
# - a real server run by nobody, whose postmaster.pid then names another
#   cluster's data directory, or whose data directory it opens to all;
# - two real clusters with one cluster_name;
# - a real cluster whose hba_file comes from a conf.d include, and then an
#   hba_file staged in postgresql.auto.conf (ALTER SYSTEM, no restart).

load common

bats_require_minimum_version 1.5.0

# fake_postmaster VAR PIDFILE_KIND: start a fake as nobody in a new
# directory.  Sets ${VAR}_dir, ${VAR}_data, ${VAR}_pid (the fake),
# ${VAR}_secret (a root-only file its pg_hba.conf points at).
# PIDFILE_KIND: "file" (its own pid on line 1, c1's port), "fifo", or
# "escape" (line 2 holds terminal escapes).
fake_postmaster() {
	local var=$1 kind=$2 dir data pid i
	dir=$(mktemp -d /tmp/pgevict-test.XXXXXX) || return 1
	PGT_DIRS+=("$dir")
	chmod 755 "$dir"
	mkdir -p "$dir/run" "$dir/data"
	chmod 1777 "$dir/run"
	data="$dir/data"
	chown nobody:nogroup "$data"
	chmod 700 "$data"
	# A file only root can read or write, that the fake wants overwritten.
	head -c 64 /dev/urandom | base64 >"$dir/secret"
	chmod 600 "$dir/secret"
	setpriv --reuid=nobody --regid=nogroup --clear-groups ln -s "$dir/secret" "$data/pg_hba.conf"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		sh -c "echo \"cluster_name = '$c1_name'\" >'$data/postgresql.conf'; echo \"hba_file = '$dir/secret'\" >'$data/postgresql.auto.conf'"
	# The fake writes its own pid, starts a child titled like a
	# checkpointer, and waits.  hba_file on its command line, as a
	# postmaster's -c would have it.
	# shellcheck disable=SC2016
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		bash -c '
			cd "$1" || exit 1
			case "$2" in
			file) printf "%s\n%s\n%s\n%s\n%s\n%s\n  0 0\nready   \n" $$ "$PWD" "$(date +%s)" "$3" /tmp 127.0.0.1 >postmaster.pid ;;
			fifo) mkfifo postmaster.pid ;;
			escape) printf "%s\n%s\n%s\n%s\n%s\n%s\n  0 0\nready   \n" $$ "$(printf "/x\033]0;pwned\007\033[2J")" "$(date +%s)" "$3" /tmp 127.0.0.1 >postmaster.pid ;;
			esac
			(exec -a "postgres: $4: checkpointer " sleep 300) &
			echo $! >"$5/child"
			echo ready >"$5/ready"
			wait
		' fakepg "$data" "$kind" "$c1_port" "$c1_name" "$dir/run" -c "hba_file=$data/pg_hba.conf" \
		</dev/null >/dev/null 2>&1 3>&- 4>&- &
	pid=$!
	for i in $(seq 1 100); do
		[ -s "$dir/run/ready" ] && break
		sleep 0.05
	done
	[ -s "$dir/run/ready" ] || { echo "fake did not start" >&2; return 1; }
	printf -v "${var}_dir" '%s' "$dir"
	printf -v "${var}_data" '%s' "$data"
	printf -v "${var}_pid" '%s' "$pid"
	printf -v "${var}_secret" '%s' "$dir/secret"
	pgt_track "$var" "$pid"
	pgt_track "$var" "$(cat "$dir/run/child")"
}

# file_id PATH: what must not change: sha256, owner, mode.
file_id() { echo "$(sha256sum <"$1") $(stat -c '%u:%g %a' "$1")"; }

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	id nobody >/dev/null 2>&1 || return 0
	pgt_cluster_create c1 || return 1
	export c1_dir c1_data c1_sock c1_port c1_name
}

teardown_file() {
	pgt_cleanup
}

# What a test made (fakes, their directories, the clusters of the last
# three tests) lives in the test's own arrays: end it with the test.
teardown() {
	if [ -n "${nb_data:-}" ] && [ -f "$nb_data/postmaster.pid" ]; then
		chmod 700 "$nb_data"
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$(pgt_bindir)/pg_ctl" -D "$nb_data" \
			-m fast -w -t 30 stop >/dev/null 2>&1 || true
	fi
	pgt_cleanup
}

setup() {
	need_root
	id nobody >/dev/null 2>&1 || skip "needs the nobody account"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
}

@test "a fake postmaster run by nobody is not a cluster: clusters skips it, --all says why" {
	fake_postmaster f1 file
	run --separate-stderr "$PGEVICT" clusters --json
	[ "$status" -eq 0 ]
	# the real cluster is there, verified; the fake is not
	[ "$(printf '%s\n' "$output" | jq -r --argjson p "$c1_port" 'select(.port == $p) | .data_directory')" = "$c1_data" ]
	[ "$(printf '%s\n' "$output" | jq -r --argjson p "$c1_port" 'select(.port == $p) | .verified')" = true ]
	[ -z "$(printf '%s\n' "$output" | jq -r --argjson p "$f1_pid" 'select(.pid == $p) | .pid')" ]
	[[ "$stderr" == *"process(es) look like a postmaster but are not verified (see clusters --all)"* ]]

	run --separate-stderr "$PGEVICT" clusters --all --json
	[ "$status" -eq 0 ]
	line=$(printf '%s\n' "$output" | jq -c --argjson p "$f1_pid" 'select(.pid == $p)')
	[ -n "$line" ]
	[ "$(jq -r .verified <<<"$line")" = false ]
	[ "$(jq -r .data_directory <<<"$line")" = "$f1_data" ]
	[[ "$(jq -r .unverified <<<"$line")" == "executable '"*"/bash' is not a root-owned PostgreSQL server binary" ]]
	# never read beyond postmaster.pid: no hba_file, no cluster_name from its files
	[ "$(jq -r .cluster_name <<<"$line")" = null ]
	[ "$(jq -r .hba_file <<<"$line")" = null ]

	run "$PGEVICT" clusters --all
	[ "$status" -eq 0 ]
	[[ "$output" == *"UNVERIFIED"*"is not a root-owned PostgreSQL server binary"* ]]
}

@test "--cluster naming the fake exits 2 and the root-only file behind its pg_hba.conf is untouched" {
	fake_postmaster f2 file
	before=$(file_id "$f2_secret")
	state=$(mktemp -d /tmp/pgevict-test.XXXXXX)
	PGT_DIRS+=("$state")
	run "$PGEVICT" --cluster "$f2_data" lockdown --state-dir "$state"
	[ "$status" -eq 2 ]
	[[ "$output" == *"no running cluster matches '$f2_data'"*"is not a verified cluster"* ]]
	run "$PGEVICT" --cluster "$f2_data" --no-sql lockdown --state-dir "$state"
	[ "$status" -eq 2 ]
	[ "$(file_id "$f2_secret")" = "$before" ]
	[ "$(stat -c %U "$f2_secret")" = root ]
	[ -z "$(ls -A "$state")" ]
}

@test "the real cluster is still found by port and by name while a fake copies both" {
	fake_postmaster f3 file
	for spec in "$c1_port" "$c1_name" "$c1_data"; do
		run --separate-stderr "$PGEVICT" --cluster "$spec" ls --all --json
		[ "$status" -eq 0 ]
		# every session listed is a child of the real postmaster
		pm=$(head -n 1 "$c1_data/postmaster.pid")
		[ "$(printf '%s\n' "$output" | jq -r .ppid | sort -u)" = "$pm" ]
	done
	run --separate-stderr "$PGEVICT" --cluster "$c1_port" clusters --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	[ "$(jq -r .data_directory <<<"$output")" = "$c1_data" ]
}

@test "a FIFO named postmaster.pid does not hang discovery" {
	fake_postmaster f4 fifo
	[ -p "$f4_data/postmaster.pid" ]
	start=$(date +%s)
	run --separate-stderr timeout 20 "$PGEVICT" ls
	[ "$status" -eq 0 ]
	[ $(($(date +%s) - start)) -lt 10 ]
	run --separate-stderr timeout 20 "$PGEVICT" clusters --all --json
	[ "$status" -eq 0 ]
	# not even an unverified cluster: its postmaster.pid is no file
	[ -z "$(printf '%s\n' "$output" | jq -r --argjson p "$f4_pid" 'select(.pid == $p) | .pid')" ]
}

@test "escape bytes in a fake's postmaster.pid never reach the terminal" {
	fake_postmaster f5 escape
	run "$PGEVICT" clusters --all
	[ "$status" -eq 0 ]
	[[ "$output" == *"UNVERIFIED"* ]]
	if printf '%s' "$output" | grep -q "$(printf '\033')"; then false; fi
	if printf '%s' "$output" | grep -q "$(printf '\007')"; then false; fi
	run "$PGEVICT" --cluster "$(printf '/x\033]0;pwned\007\033[2J')" ls
	[ "$status" -eq 2 ]
	[[ "$output" == *"is not a verified cluster"* ]]
	if printf '%s' "$output" | grep -q "$(printf '\033')"; then false; fi
	# JSON keeps the exact bytes
	run --separate-stderr "$PGEVICT" clusters --all --json
	[ "$(printf '%s\n' "$output" | jq -r --argjson p "$f5_pid" 'select(.pid == $p) | .data_directory')" = "$(printf '/x\033]0;pwned\007\033[2J')" ]
}

@test "two real clusters with one cluster_name: --cluster NAME exits 2 naming both" {
	name="pgevict_dup_$$"
	pgt_cluster_create d1 "cluster_name='$name'"
	pgt_cluster_create d2 "cluster_name='$name'"
	run "$PGEVICT" --cluster "$name" ls
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "pgevict: --cluster '$name' matches 2 clusters: "* ]]
	[[ "$output" == *"$d1_data (port $d1_port)"* ]]
	[[ "$output" == *"$d2_data (port $d2_port)"* ]]
	state=$(mktemp -d /tmp/pgevict-test.XXXXXX)
	PGT_DIRS+=("$state")
	run "$PGEVICT" --cluster "$name" lockdown --state-dir "$state"
	[ "$status" -eq 2 ]
	[ -z "$(ls -A "$state")" ]
	# the agent acts on neither, and says why
	rules=$(mktemp -d /tmp/pgevict-test.XXXXXX)
	PGT_DIRS+=("$rules")
	printf '[everyone]\nmatch = --all\naction = terminate\n' >"$rules/all.conf"
	pgt_hold d1 "host=127.0.0.1 user=postgres dbname=postgres" 1 idle "$rules/held" || return 1
	held=$PGT_HOLD_PID
	run --separate-stderr "$PGEVICT" --cluster "$name" agent --rules "$rules" --once
	echo "$stderr"
	[[ "$stderr" == *"--cluster '$name' matches 2 running clusters; acting on none until it names one"* ]]
	# the held session lives
	kill -0 "$(cut -d' ' -f1 "$rules/held")"
	pgt_release "$held"
	# each is still reachable by port
	run --separate-stderr "$PGEVICT" --cluster "$d1_port" clusters --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .data_directory <<<"$output")" = "$d1_data" ]
}

@test "hba_file from a conf.d include is found without SQL; one staged in postgresql.auto.conf is a conflict" {
	pgt_cluster_create h1
	bin=$(pgt_bindir)
	# Debian's layout: include_dir 'conf.d' and a file there naming hba_file.
	pgt_as_postgres mkdir "$h1_data/conf.d"
	pgt_as_postgres cp "$h1_data/pg_hba.conf" "$h1_data/hba_other.conf"
	pgt_as_postgres sh -c "echo \"hba_file = '$h1_data/hba_other.conf'\" >'$h1_data/conf.d/50-hba.conf'"
	pgt_as_postgres sh -c "echo \"hba_file = '$h1_data/not_read.conf'\" >'$h1_data/conf.d/.hidden.conf'"
	echo "include_dir = 'conf.d'" >>"$h1_data/postgresql.conf"
	pgt_as_postgres "$bin/pg_ctl" -D "$h1_data" -l "$h1_log" -w -t 60 restart >/dev/null
	[ "$(pgt_sql h1 "show hba_file")" = "$h1_data/hba_other.conf" ]

	for sql in --no-sql ""; do
		run --separate-stderr "$PGEVICT" $sql --cluster "$h1_port" clusters --json
		[ "$status" -eq 0 ]
		[ "$(jq -r .hba_file <<<"$output")" = "$h1_data/hba_other.conf" ]
		[ "$(jq -r .hba_conflict <<<"$output")" = null ]
	done

	# A file only root can read is never read for the owner's cluster: an
	# include of it (added after the start, as the server never read it)
	# changes nothing.
	rootonly="$h1_dir/rootonly.conf"
	echo "hba_file = '/tmp/pgevict-rootonly-$$'" >"$rootonly"
	chmod 600 "$rootonly"
	pgt_as_postgres sh -c "echo \"include '$rootonly'\" >'$h1_data/conf.d/60-root.conf'"
	run --separate-stderr "$PGEVICT" --no-sql --cluster "$h1_port" clusters --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .hba_file <<<"$output")" = "$h1_data/hba_other.conf" ]
	[ "$(jq -r .hba_conflict <<<"$output")" = null ]
	rm -f "$h1_data/conf.d/60-root.conf"

	# The postgres account stages another hba_file and does not restart.
	pgt_sql h1 "alter system set hba_file = '/tmp/pgevict-staged-$$'" >/dev/null
	grep -q "pgevict-staged-$$" "$h1_data/postgresql.auto.conf"
	run --separate-stderr "$PGEVICT" --no-sql --cluster "$h1_port" clusters --json
	[ "$status" -eq 0 ]
	conflict=$(jq -r .hba_conflict <<<"$output")
	[ "$conflict" = "hba_file is '$h1_data/hba_other.conf' in '$h1_data/conf.d/50-hba.conf' but '/tmp/pgevict-staged-$$' in '$h1_data/postgresql.auto.conf'" ]
	run "$PGEVICT" --no-sql --cluster "$h1_port" clusters
	[ "$status" -eq 0 ]
	[[ "$output" == *"hba_file is '$h1_data/hba_other.conf'"* ]]
	# With SQL the server says which file it uses: no conflict.
	run --separate-stderr "$PGEVICT" --cluster "$h1_port" clusters --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .hba_file <<<"$output")" = "$h1_data/hba_other.conf" ]
	[ "$(jq -r .hba_conflict <<<"$output")" = null ]
	pgt_sql h1 "alter system reset hba_file" >/dev/null
}

@test "an hba_file staged in postgresql.auto.conf of a cluster that names none elsewhere is a conflict" {
	pgt_sql c1 "alter system set hba_file = '/tmp/pgevict-staged2-$$'" >/dev/null
	run --separate-stderr "$PGEVICT" --no-sql --cluster "$c1_port" clusters --json
	pgt_sql c1 "alter system reset hba_file" >/dev/null
	[ "$status" -eq 0 ]
	[ "$(jq -r .hba_conflict <<<"$output")" = "hba_file is '$c1_data/pg_hba.conf' by default but '/tmp/pgevict-staged2-$$' in '$c1_data/postgresql.auto.conf'" ]
}

@test "a real server run by nobody is verified until its postmaster.pid names another directory or its data directory is opened" {
	bin=$(pgt_bindir)
	dir=$(mktemp -d /tmp/pgevict-test.XXXXXX)
	PGT_DIRS+=("$dir")
	chmod 755 "$dir"
	mkdir "$dir/data" "$dir/sock"
	chown nobody:nogroup "$dir/data" "$dir/sock"
	chmod 700 "$dir/data"
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	as_nobody "$bin/initdb" -D "$dir/data" -U nobody --auth=trust --no-instructions >"$dir/initdb.log" 2>&1
	port=$(pgt_free_port)
	as_nobody sh -c "printf \"port = $port\nlisten_addresses = ''\nunix_socket_directories = '$dir/sock'\nfsync = off\nshared_buffers = 16MB\n\" >>'$dir/data/postgresql.conf'"
	as_nobody "$bin/pg_ctl" -D "$dir/data" -l "$dir/sock/log" -w -t 60 start >/dev/null
	nb_data="$dir/data"
	pm=$(head -n 1 "$nb_data/postmaster.pid")

	run --separate-stderr "$PGEVICT" --no-sql clusters --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r --argjson p "$pm" 'select(.pid == $p) | .owner')" = nobody ]

	# nobody points its postmaster.pid at the real cluster's directory
	as_nobody sed -i "2s|.*|$c1_data|" "$nb_data/postmaster.pid"
	run --separate-stderr "$PGEVICT" --no-sql clusters --all --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r --argjson p "$pm" 'select(.pid == $p) | .unverified')" = \
	  "postmaster.pid names '$c1_data' but the process runs in '$nb_data'" ]
	run --separate-stderr "$PGEVICT" --no-sql --cluster "$c1_data" clusters --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r .pid)" = "$(head -n 1 "$c1_data/postmaster.pid")" ]
	as_nobody sed -i "2s|.*|$nb_data|" "$nb_data/postmaster.pid"

	# a data directory others can write is no PostgreSQL data directory
	chmod 777 "$nb_data"
	run --separate-stderr "$PGEVICT" --no-sql clusters --all --json
	chmod 700 "$nb_data"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r --argjson p "$pm" 'select(.pid == $p) | .unverified')" = \
	  "data directory '$nb_data' has mode 0777 (PostgreSQL requires 0700 or 0750)" ]
}
