#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# pgevict top on real clusters: --batch read back as text, and the
# full-screen view driven in a real terminal (a tmux pane, 160x40, read
# back with capture-pane): start, filter, sort, mark, terminate with a
# confirmation (the sessions gone, checked in /proc), resize, quit with the
# terminal restored; the same with every connection slot taken.

load common
bats_require_minimum_version 1.5.0

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	pgt_cluster_create t1 || return 1
	pgt_sql t1 "create role app login; create role bob login" >/dev/null
	export t1_dir t1_data t1_sock t1_port t1_name
}

teardown_file() {
	# a cluster made inside a test (a subshell) is not in pgt_cleanup's list
	local v d p start
	for v in t2 t3; do
		[ -s "$BATS_FILE_TMPDIR/$v" ] || continue
		d=$(cat "$BATS_FILE_TMPDIR/$v")
		# its clients (a failed test left them), by pid while the start
		# time still says it is the same process
		if [ -f "${d%/data}/run/pids" ]; then
			while read -r p start; do
				[ "$(cut -d' ' -f22 "/proc/$p/stat" 2>/dev/null)" = "$start" ] || continue
				kill -TERM "$p" 2>/dev/null || true
			done <"${d%/data}/run/pids"
		fi
		pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$d" -m fast -w stop >/dev/null 2>&1 || true
		# and its directory (the data directory's parent, one of ours)
		case "${d%/data}" in /tmp/pgevict-test.*) rm -rf "${d%/data}" ;; esac
	done
	pgt_cleanup
}

setup() {
	need_root
	command -v tmux >/dev/null || skip "needs tmux (tests/deps.sh installs it)"
	TSOCK="$BATS_TEST_TMPDIR/tmux.sock"
	SD="$BATS_TEST_TMPDIR/state"
	mkdir -p "$SD"
}

teardown() {
	[ -S "${TSOCK:-/nonexistent}" ] && tmux -S "$TSOCK" kill-server 2>/dev/null
	# a postmaster a test stopped (SIGSTOP) goes on, whatever happened
	if [ -s "$BATS_TEST_TMPDIR/stopped" ]; then
		kill -CONT "$(cat "$BATS_TEST_TMPDIR/stopped")" 2>/dev/null || true
	fi
	# a lockdown a failed test left behind: the original back, reloaded
	if [ -f "$BATS_TEST_TMPDIR/hba.orig" ]; then
		cmp -s "$BATS_TEST_TMPDIR/hba.orig" "$t1_data/pg_hba.conf" ||
			"$PGEVICT" --cluster "$t1_data" unlock --state-dir "$SD" >/dev/null 2>&1 ||
			{ cp -p "$BATS_TEST_TMPDIR/hba.orig" "$t1_data/pg_hba.conf"
			  pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$t1_data" reload >/dev/null; }
	fi
	return 0
}

TM() { tmux -S "$TSOCK" "$@"; }

# screen: the pane's text now, into $BATS_TEST_TMPDIR/screen.
screen() { TM capture-pane -p -t top >"$BATS_TEST_TMPDIR/screen"; }

# wait_screen REGEX: until the pane shows a line matching REGEX (10 s).
wait_screen() {
	local i
	for i in $(seq 1 100); do
		screen
		grep -Eq -- "$1" "$BATS_TEST_TMPDIR/screen" && return 0
		sleep 0.1
	done
	echo "the screen never showed /$1/:" >&2
	cat "$BATS_TEST_TMPDIR/screen" >&2
	return 1
}

# start_top ARGS: a shell in a 160x40 tmux pane (TOP_WIDTH columns)
# running pgevict top ARGS, then its exit status and whether the terminal
# is canonical again.
start_top() {
	TM new-session -d -s top -x "${TOP_WIDTH:-160}" -y 40 "env TERM=xterm-256color bash --norc --noprofile"
	TM send-keys -t top "$PGEVICT top --state-dir $SD --interval 300ms $*; echo -n \"EXIT=\$? \"; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo END" Enter
	wait_screen "pgevict top  [0-9:]{8}"
}

# The pids of the rows of one --batch block in $output.
batch_pids() {
	printf '%s\n' "$output" | awk '/^PID /{r=1; next} /^$/{r=0} r{print $1}' | sort -n
}

@test "--batch: a header per cluster (sessions by state, slots used/max, SQL, lockdown) and the rows of ls --json" {
	pgt_hold t1 "host=127.0.0.1 user=app dbname=postgres" 3 idle "$t1_dir/run/b1"
	h=$PGT_HOLD_PID
	run "$PGEVICT" --cluster "$t1_data" top --batch --iterations 2 --interval 200ms --state-dir "$SD"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^pgevict top ')" -eq 2 ]
	[[ "$output" == *"$t1_name (port $t1_port, $t1_data): 3 sessions (0 active, 3 idle, 0 idle in transaction, 0 other) | slots 3/50 | SQL ok | lockdown: none"* ]]
	top_pids=$(batch_pids | sort -un)
	ls_json --cluster "$t1_data"
	ls_pids=$(printf '%s\n' "$output" | jq -r .pid | sort -un)
	[ "$top_pids" = "$ls_pids" ]
	[ "$top_pids" = "$(cut -d' ' -f1 "$t1_dir/run/b1" | sort -n)" ]
	pgt_release "$h"
}

@test "--batch: rows take the selectors; CPU% and I/O rates need two samples" {
	pgt_hold t1 "host=127.0.0.1 user=app dbname=postgres" 2 idle "$t1_dir/run/b2"
	h=$PGT_HOLD_PID
	pgt_hold t1 "host=127.0.0.1 user=bob dbname=postgres" 1 active "$t1_dir/run/b3"
	h2=$PGT_HOLD_PID
	run "$PGEVICT" --cluster "$t1_data" top --user bob --batch --iterations 2 --interval 300ms --state-dir "$SD"
	[ "$status" -eq 0 ]
	[ "$(batch_pids | sort -u)" = "$(cut -d' ' -f1 "$t1_dir/run/b3")" ]
	# first block: no previous sample, "-"; second: a number
	first=$(printf '%s\n' "$output" | awk '/^PID /{n++} n==1 && /^[0-9]/{print $8; exit}')
	second=$(printf '%s\n' "$output" | awk '/^PID /{n++} n==2 && /^[0-9]/{print $8; exit}')
	[ "$first" = "-" ]
	[[ "$second" =~ ^[0-9]+\.[0-9]$ ]]
	pgt_release "$h"; pgt_release "$h2"
	# a backend in pg_sleep notices its client gone only when it next writes
	pgt_sql t1 "select pg_terminate_backend(pid) from pg_stat_activity where usename = 'bob'" >/dev/null
}

@test "--iterations and --batch are top's only; a bad count is a usage error" {
	run "$PGEVICT" ls --batch
	[ "$status" -eq 2 ]
	run "$PGEVICT" top --batch --iterations 0
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad value '0' for --iterations"* ]]
}

@test "full screen: start, filter, sort, mark, terminate with confirmation (gone in /proc), resize, q restores the terminal" {
	pgt_hold t1 "host=127.0.0.1 user=app dbname=postgres" 3 idle "$t1_dir/run/f1"
	h=$PGT_HOLD_PID
	pgt_hold t1 "host=127.0.0.1 user=bob dbname=postgres" 2 idle "$t1_dir/run/f2"
	h2=$PGT_HOLD_PID
	mapfile -t app < <(cut -d' ' -f1 "$t1_dir/run/f1" | sort -n)
	mapfile -t bob < <(cut -d' ' -f1 "$t1_dir/run/f2" | sort -n)
	start_top --cluster "$t1_data"
	wait_screen "slots [0-9]+/50 \| SQL ok"
	wait_screen "^ +${bob[0]} +bob "
	# the filter prompt: a bad selector is shown in place, a good one applies
	TM send-keys -t top "/" ; TM send-keys -t top -l -- "--usr app"; TM send-keys -t top Enter
	wait_screen "filter - .*usr"
	TM send-keys -t top C-u
	for _ in $(seq 1 9); do TM send-keys -t top BSpace; done
	TM send-keys -t top -l -- "--user app"; TM send-keys -t top Enter
	wait_screen "filter --user app"
	screen
	run ! grep -q " bob " "$BATS_TEST_TMPDIR/screen"
	# sort by pid (N), then the first two rows are the two lowest pids
	TM send-keys -t top N
	wait_screen "sort PID asc"
	grep -E "^ +[0-9]+ +app" "$BATS_TEST_TMPDIR/screen" | awk '{print $1}' >"$BATS_TEST_TMPDIR/order"
	[ "$(cat "$BATS_TEST_TMPDIR/order")" = "$(printf '%s\n' "${app[@]}")" ]
	# > moves the sort to the next column
	TM send-keys -t top ">"
	wait_screen "sort USER"
	TM send-keys -t top N
	wait_screen "sort PID asc"
	# mark the first two, terminate: the plan first, then y
	TM send-keys -t top Space Space t
	wait_screen "terminate 2 sessions: the plan"
	wait_screen "pid ${app[0]} .*steps sql"
	wait_screen "pid ${app[1]} "
	TM send-keys -t top y
	wait_screen "terminate: 2 gone, 0 severed, 0 survived"
	refute alive "${app[0]}"
	refute alive "${app[1]}"
	alive "${app[2]}"
	for p in "${bob[@]}"; do alive "$p"; done
	# resize: the view follows the new size
	TM resize-window -t top -x 100 -y 20
	sleep 0.5
	wait_screen "pgevict top"
	screen
	[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$BATS_TEST_TMPDIR/screen")" -le 100 ]
	grep -q "^q quit" "$BATS_TEST_TMPDIR/screen"
	TM send-keys -t top q
	wait_screen "EXIT=0 icanon echo END"
	pgt_release "$h"; pgt_release "$h2"
}

@test "full screen: SIGTERM and SIGINT end it with the terminal restored" {
	start_top --cluster "$t1_data"
	pane=$(TM list-panes -t top -F '#{pane_pid}')
	pid=$(pgrep -P "$pane" -x pgevict)
	kill -TERM "$pid"
	wait_screen "EXIT=143 icanon echo END"
	TM send-keys -t top clear Enter
	TM send-keys -t top "$PGEVICT top --cluster $t1_data --state-dir $SD; echo -n \"EXIT=\$? \"; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon | tr '\\n' ' '; echo END" Enter
	wait_screen "pgevict top  [0-9:]{8}"
	TM send-keys -t top C-c
	wait_screen "EXIT=130 icanon END"
}

@test "TERM=dumb: plain blocks, no screen control" {
	run env TERM=dumb script -qec "$PGEVICT top --cluster $t1_data --state-dir $SD --iterations 1" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"pgevict top "*"| SQL ok |"* ]]
	[[ "$output" != *$'\033['* ]]
}

# fake_syslog DIR: a stand-in for the syslog socket (the lines in
# DIR/syslog, LOGGER its pid) and DIR/pgevict, a wrapper that runs pgevict
# with it at /dev/log in a mount namespace of its own (this host's /dev is
# not touched).
fake_syslog() {
	local L=$1
	"$PGT_HELPERS/notifysock" "$L/log" 60 >"$L/syslog" 2>&1 </dev/null 3>&- 4>&- &
	LOGGER=$!
	pgt_track t1 "$LOGGER"
	for _ in $(seq 1 50); do [ -S "$L/log" ] && break; sleep 0.1; done
	cat >"$L/pgevict" <<-WRAP
	#!/bin/sh
	exec unshare --mount --propagation private sh -ec '
		mkdir -p "\$1/olddev"
		mount --rbind /dev "\$1/olddev"
		mount -t tmpfs -o size=64k,mode=755 pgevict-test-dev /dev
		touch /dev/null /dev/log
		mount --bind "\$1/olddev/null" /dev/null
		mount --bind "\$1/log" /dev/log
		shift
		exec "\$@"' sh "$L" "$PGEVICT" "\$@"
	WRAP
	chmod +x "$L/pgevict"
}

@test "the ladder from top leaves the CLI's audit trail in syslog" {
	command -v unshare >/dev/null || skip "no unshare (util-linux)"
	pgt_hold t1 "host=127.0.0.1 user=app dbname=postgres" 1 idle "$t1_dir/run/aud"
	h=$PGT_HOLD_PID
	pid=$(cut -d' ' -f1 "$t1_dir/run/aud")
	L="$BATS_TEST_TMPDIR"
	fake_syslog "$L"
	PGEVICT="$L/pgevict" start_top --cluster "$t1_data" --pid "$pid"
	wait_screen "^ +$pid +app "
	TM send-keys -t top t
	wait_screen "terminate 1 session: the plan"
	TM send-keys -t top y
	wait_screen "terminate: 1 gone"
	TM send-keys -t top q
	wait_screen "EXIT=0 icanon echo END"
	kill -TERM "$LOGGER"
	wait "$LOGGER" || true
	refute alive "$pid"
	grep -q "pgevict\[[0-9]*\]: terminate pid=$pid start=[0-9]* cluster=$t1_data user=app database=postgres client=127.0.0.1:[0-9]* step=sql sent" "$L/syslog"
	grep -q "terminate pid=$pid .* outcome=gone" "$L/syslog"
	pgt_release "$h"
}

# app_tcp: a new connection as an ordinary role over TCP; $output, $status.
app_tcp() {
	run env PGCONNECT_TIMEOUT=5 psql -X -At -h 127.0.0.1 -p "$t1_port" -U app -d postgres -c 'select 42'
}

@test "full screen: L shows the lockdown plan; n changes nothing; y locks down (refused, header locked); L and y unlock (the file byte for byte); syslog has both" {
	command -v unshare >/dev/null || skip "no unshare (util-linux)"
	hba="$t1_data/pg_hba.conf"
	cp -p "$hba" "$BATS_TEST_TMPDIR/hba.orig"
	orig=$(sha256sum <"$hba")
	app_tcp
	[ "$status" -eq 0 ] && [ "$output" = 42 ]
	L="$BATS_TEST_TMPDIR"
	fake_syslog "$L"
	# wide enough for the header's end (the data directory is long)
	PGEVICT="$L/pgevict" TOP_WIDTH=250 start_top --cluster "$t1_data"
	wait_screen "$t1_name .*\| lockdown: none"
	# the plan first: the file, what stays allowed; n: nothing changes
	TM send-keys -t top L
	wait_screen "lockdown of cluster $t1_name \(port $t1_port, $t1_data\): the plan"
	wait_screen "'$hba' is replaced by the file below"
	wait_screen "^ +local +all +postgres +peer"
	wait_screen "^ +host +all +all +0\.0\.0\.0/0 +reject"
	TM send-keys -t top n
	wait_screen "^lockdown: nothing done"
	[ "$(sha256sum <"$hba")" = "$orig" ]
	run ! compgen -G "$SD/*/state.json"
	app_tcp
	[ "$status" -eq 0 ] && [ "$output" = 42 ]
	# again, y: locked down, proven, refused, said in the header
	TM send-keys -t top L
	wait_screen "lockdown of cluster $t1_name .*: the plan"
	TM send-keys -t top y
	wait_screen "^lockdown proven \(probe as \"pgevict_probe\""
	wait_screen "$t1_name .*\| lockdown: locked"
	app_tcp
	[ "$status" -ne 0 ] && [[ "$output" == *"pg_hba.conf rejects connection"* ]]
	[ "$(sha256sum <"$hba")" != "$orig" ]
	# L on a locked cluster offers unlock
	TM send-keys -t top L
	wait_screen "unlock of cluster $t1_name .*: the plan"
	wait_screen "'$hba' goes back to the original, byte for byte"
	TM send-keys -t top y
	wait_screen "^unlock proven"
	wait_screen "$t1_name .*\| lockdown: none"
	app_tcp
	[ "$status" -eq 0 ] && [ "$output" = 42 ]
	cmp "$hba" "$BATS_TEST_TMPDIR/hba.orig"
	TM send-keys -t top q
	wait_screen "EXIT=0 icanon echo END"
	kill -TERM "$LOGGER"
	wait "$LOGGER" || true
	grep -q "pgevict\[[0-9]*\]: lockdown cluster=$t1_data file=$hba sha256=[0-9a-f]\{64\} original=" "$L/syslog"
	grep -q "pgevict\[[0-9]*\]: unlock cluster=$t1_data file=$hba sha256=${orig%% *}" "$L/syslog"
}

@test "every slot taken: --batch says no SQL; the full screen lists, filters and terminates from /proc alone" {
	pgt_cluster_create t2 "max_connections=8" "superuser_reserved_connections=2"
	echo "$t2_data" >"$BATS_FILE_TMPDIR/t2"
	pgt_sql t2 "create role app login" >/dev/null
	pgt_hold t2 "host=127.0.0.1 user=app dbname=postgres" 6 idle "$t2_dir/run/full"
	ha=$PGT_HOLD_PID
	PGT_OSUSER=postgres pgt_hold t2 "host=$t2_sock user=postgres dbname=postgres" 2 idle "$t2_dir/run/fullsu"
	hs=$PGT_HOLD_PID
	run pgt_sql t2 "select 1"
	[ "$status" -ne 0 ] && [[ "$output" == *"too many clients"* ]]
	run "$PGEVICT" --cluster "$t2_data" top --batch --iterations 1 --state-dir "$SD"
	[ "$status" -eq 0 ]
	[[ "$output" == *"8 sessions (0 active, 8 idle, 0 idle in transaction, 0 other) | slots 8/8 | no SQL"* ]]
	[ "$(batch_pids)" = "$(cat "$t2_dir/run/full" "$t2_dir/run/fullsu" | cut -d' ' -f1 | sort -n)" ]
	mapfile -t app < <(cut -d' ' -f1 "$t2_dir/run/full" | sort -n)
	start_top --cluster "$t2_data" 2>/dev/null
	wait_screen "slots 8/8 \| no SQL"
	TM send-keys -t top "/"; TM send-keys -t top -l -- "--user app"; TM send-keys -t top Enter
	wait_screen "filter --user app"
	TM send-keys -t top N
	wait_screen "sort PID asc"
	TM send-keys -t top Space Space t
	wait_screen "terminate 2 sessions: the plan"
	TM send-keys -t top y
	wait_screen "terminate: 2 gone"
	refute alive "${app[0]}"
	refute alive "${app[1]}"
	for p in "${app[@]:2}"; do alive "$p"; done
	for p in $(cut -d' ' -f1 "$t2_dir/run/fullsu"); do alive "$p"; done
	TM send-keys -t top q
	wait_screen "EXIT=0 icanon echo END"
	refute grep -q "terminating any other active server processes" "$t2_log"
	pgt_release "$ha"; pgt_release "$hs"
	pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$t2_data" -m fast -w stop >/dev/null
}

# ms_since T0: milliseconds since T0 (date +%s%N).
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# rows_pids: the PIDs of the rows on the screen, in order.
rows_pids() {
	awk '/^ +PID +USER/{r=1; next} r && /^[ *] +[0-9]+ /{print ($1 == "*") ? $2 : $1}' "$BATS_TEST_TMPDIR/screen" | tr '\n' ' '
}

@test "a slow server never freezes the screen: with the postmaster stopped, keys sort at once, the header says no SQL, q and SIGTERM end it within a second, the terminal restored" {
	pgt_cluster_create t3
	echo "$t3_data" >"$BATS_FILE_TMPDIR/t3"
	pgt_sql t3 "create role app login" >/dev/null
	pgt_hold t3 "host=127.0.0.1 user=app dbname=postgres" 3 idle "$t3_dir/run/slow"
	h=$PGT_HOLD_PID
	mapfile -t app < <(cut -d' ' -f1 "$t3_dir/run/slow" | sort -n)
	pm=$(pgt_postmaster_pid t3)
	TOP_WIDTH=250 start_top --cluster "$t3_data"
	wait_screen "$t3_name .*\\| SQL ok \\|"
	wait_screen "^ +${app[2]} +app "
	# the test's own postmaster stopped: a new connection (the refresh's
	# SQL) now waits for its 3 s deadline; backends go on
	echo "$pm" >"$BATS_TEST_TMPDIR/stopped"
	kill -STOP "$pm"
	# a second into a refresh that waits 3 s: keys answer at once
	wait_screen "\\[refreshing 1s\\]"
	t0=$(date +%s%N)
	TM send-keys -t top N
	wait_screen "sort PID asc.*\\[refreshing"
	[ "$(ms_since "$t0")" -lt 1000 ]
	[ "$(rows_pids)" = "${app[0]} ${app[1]} ${app[2]} " ]
	TM send-keys -t top r
	wait_screen "sort PID desc.*\\[refreshing"
	[ "$(ms_since "$t0")" -lt 1500 ]
	[ "$(rows_pids)" = "${app[2]} ${app[1]} ${app[0]} " ]
	# the stuck refresh ends at its deadline and says so; the next one
	# waits again: q then ends it within a second
	wait_screen "$t3_name .*\\| no SQL: .*did not answer"
	wait_screen "\\[refreshing 1s\\]"
	t0=$(date +%s%N)
	TM send-keys -t top q
	wait_screen "EXIT=0 icanon echo END"
	[ "$(ms_since "$t0")" -lt 1000 ]
	# SIGTERM likewise (the first refresh, before the screen, waits its
	# deadline too)
	TM send-keys -t top clear Enter
	TM send-keys -t top "$PGEVICT top --cluster $t3_data --state-dir $SD --interval 300ms; echo -n \"EXIT=\$? \"; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo END" Enter
	wait_screen "\\[refreshing 1s\\]"
	pane=$(TM list-panes -t top -F '#{pane_pid}')
	pid=$(pgrep -P "$pane" -x pgevict)
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait_screen "EXIT=143 icanon echo END"
	[ "$(ms_since "$t0")" -lt 1000 ]
	refute alive "$pid"
	kill -CONT "$pm"
	rm -f "$BATS_TEST_TMPDIR/stopped"
	for p in "${app[@]}"; do alive "$p"; done
	pgt_sql t3 "select 1" >/dev/null
	pgt_release "$h"
	pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$t3_data" -m fast -w stop >/dev/null
}
