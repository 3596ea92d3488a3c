#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# pgevict agent on a real cluster: --check on good and bad rule files, one
# pass with SQL (idle in transaction past a limit ends, younger and other
# sessions stay; keep = 1 per role), a running agent without SQL (ends a
# session within interval plus limit, never before the limit), SIGHUP with
# a bad file keeps the old rules, SIGTERM exits 0; the systemd unit and
# its drop-in for containerised clusters.

load common
bats_require_minimum_version 1.5.0

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	pgt_cluster_create a1 || return 1
	local r
	for r in ix_old ix_other k_a k_b k_c ns_a hup_a hup_b run_a dry_a aud_a; do
		pgt_sql a1 "create role $r login" >/dev/null || return 1
	done
	export a1_dir a1_data a1_sock a1_port a1_name a1_log
	# a small one whose every slot the tests fill
	pgt_cluster_create a2 "max_connections=6" "superuser_reserved_connections=2" || return 1
	pgt_sql a2 "create role full_a login" >/dev/null
	export a2_dir a2_data a2_sock a2_port a2_name a2_log
}

teardown_file() {
	pgt_cleanup
}

setup() {
	agent_setup
}

# The clients a test opened go with it (its agent too, by pid).
teardown() {
	[ -z "${STOPPED:-}" ] || kill -CONT "$STOPPED" 2>/dev/null || true
	agent_teardown
	# what a test made itself (the file's clusters are not in its arrays)
	pgt_cleanup
}

@test "--check: every example rule file is valid, and says what each rule does" {
	for f in "$TOP"/rules/*.conf.example; do
		run "$PGEVICT" agent --rules "$f" --check
		[ "$status" -eq 0 ] || { echo "$f: $output"; false; }
		[[ "$output" == *"rules in 1 files: ok"* ]]
	done
	cp "$TOP/rules/one-session-per-role.conf.example" "$RULES/a.conf"
	run "$PGEVICT" agent --rules "$RULES" --check
	[ "$status" -eq 0 ]
	[[ "$output" == *"[one-session-per-role] terminate --user batch --user sync (keeps the 1 oldest per user)"* ]]
}

@test "--check: bad rule files exit 2 with file:line: what is wrong, for every bad file" {
	printf '[ok]\nmatch = --user x\naction = cancel\n' >"$RULES/a.conf"
	printf '# comment\n[idle]\nmatch = --state idle --idle-for 10\naction = terminate\n' >"$RULES/b.conf"
	printf '[x]\nmatch = --all\naction = terminate\nkeep = many\n' >"$RULES/c.conf"
	printf '[x]\nmatch = --all\naction = kill\n' >"$RULES/ignored.conf.example"
	run "$PGEVICT" agent --rules "$RULES" --check
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "pgevict: $RULES/b.conf:3: match: bad value '10' for --idle-for" ]
	[ "${lines[1]}" = "pgevict: $RULES/c.conf:4: bad keep 'many' (a number of sessions, 0 to 100000)" ]
	[ "${#lines[@]}" -eq 2 ]
	run "$PGEVICT" agent --rules "$RULES/missing" --check
	[ "$status" -eq 2 ]
	[[ "$output" == "pgevict: cannot read rules '$RULES/missing': No such file or directory" ]]
	run "$PGEVICT" agent --check
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: agent needs --rules DIR" ]
	run "$PGEVICT" agent --rules "$RULES" --via sql
	[ "$status" -eq 2 ]
}

@test "--once with SQL: idle in transaction past the limit ends; younger, idle and unnamed sessions stay" {
	need_root
	cat >"$RULES/idle.conf" <<-EOF
	[idle-xact]
	match = --user ix_old --state 'idle in transaction' --idle-for 4s
	action = terminate
	EOF
	hold a1 "host=127.0.0.1 user=ix_old dbname=postgres" 2 xact "$a1_dir/run/old"
	hold a1 "host=127.0.0.1 user=ix_old dbname=postgres" 1 idle "$a1_dir/run/idle"
	hold a1 "host=127.0.0.1 user=ix_other dbname=postgres" 1 xact "$a1_dir/run/other"
	sleep 5
	hold a1 "host=127.0.0.1 user=ix_old dbname=postgres" 1 xact "$a1_dir/run/young"
	run "$PGEVICT" --cluster "$a1_port" agent --rules "$RULES" --once --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^{')" -eq 2 ]
	[ "$(printf '%s\n' "$output" | grep '^{' | jq -r '.rule + " " + .outcome' | sort -u)" = "idle-xact gone" ]
	for p in $(pids_of "$a1_dir/run/old"); do refute alive "$p"; done
	for p in $(pids_of "$a1_dir/run/young") $(pids_of "$a1_dir/run/idle") $(pids_of "$a1_dir/run/other"); do
		alive "$p"
	done
	# a dry run of the same rules now finds only the young one, later
	sleep 4
	run "$PGEVICT" --cluster "$a1_port" agent --rules "$RULES" --once --json --dry-run
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep '^{' | jq -r .pid)" = "$(pids_of "$a1_dir/run/young")" ]
	[ "$(printf '%s\n' "$output" | grep '^{' | jq -r .outcome)" = planned ]
	alive "$(pids_of "$a1_dir/run/young")"
}

@test "--once: keep = 1 per user keeps each role's oldest session; other roles are untouched" {
	need_root
	cat >"$RULES/one.conf" <<-EOF
	[one-per-role]
	match = --user k_a --user k_b
	action = terminate
	keep = 1
	per = user
	EOF
	hold a1 "host=127.0.0.1 user=k_a dbname=postgres" 1 idle "$a1_dir/run/k2old"
	hold a1 "host=127.0.0.1 user=k_b dbname=postgres" 1 idle "$a1_dir/run/k3"
	sleep 0.5
	hold a1 "host=::1 user=k_a dbname=postgres" 2 idle "$a1_dir/run/k2new"
	hold a1 "host=127.0.0.1 user=k_c dbname=postgres" 2 idle "$a1_dir/run/k1"
	run "$PGEVICT" --cluster "$a1_port" agent --rules "$RULES" --once --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep '^{' | jq -r .pid | sort)" = "$(pids_of "$a1_dir/run/k2new" | sort)" ]
	for p in $(pids_of "$a1_dir/run/k2new"); do refute alive "$p"; done
	for p in $(pids_of "$a1_dir/run/k2old") $(pids_of "$a1_dir/run/k3") $(pids_of "$a1_dir/run/k1"); do
		alive "$p"
	done
}

@test "running without SQL: idle in transaction ends within interval plus limit, never before the limit" {
	need_root
	cat >"$RULES/idle.conf" <<-EOF
	[idle-xact]
	match = --user ns_a --state 'idle in transaction' --idle-for 3s
	action = terminate
	EOF
	start_agent a1 --no-sql --interval 1s
	hold a1 "host=127.0.0.1 user=ns_a dbname=postgres" 1 xact "$a1_dir/run/nosql"
	t0=$(date +%s%N)
	pid=$(pids_of "$a1_dir/run/nosql")
	# when it really went idle in transaction (SQL works; the agent has none)
	since=$(pgt_sql a1 "select (extract(epoch from state_change) * 1000)::bigint from pg_stat_activity where pid = $pid")
	wait_for "$RULES/out" "\"pid\":$pid" 150
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	acted=$(grep "\"pid\":$pid" "$RULES/out" | jq -r .time)
	acted_ms=$(( $(date -d "$acted" +%s%N) / 1000000 ))
	echo "ended ${ms}ms after the session was up; acted $((acted_ms - since))ms after its state began"
	[ $((acted_ms - since)) -ge 3000 ]   # never before the limit
	[ "$ms" -le 9000 ]                   # limit 3s + interval 1s, with room for a loaded host
	grep "\"pid\":$pid" "$RULES/out" | jq -e '.outcome == "gone" and .rule == "idle-xact"'
	refute alive "$pid"
	stop_agent
}

@test "running with SQL: cheap passes see the session come of age, a full pass ends it; an idle one stays" {
	need_root
	cat >"$RULES/idle.conf" <<-EOF
	[idle-xact]
	match = --user run_a --state 'idle in transaction' --idle-for 4s
	action = terminate
	EOF
	hold a1 "host=127.0.0.1 user=run_a dbname=postgres" 1 idle "$a1_dir/run/ra_idle"
	start_agent a1 --interval 1s
	wait_for "$RULES/err" "agent: 1 rules"
	hold a1 "host=127.0.0.1 user=run_a dbname=postgres" 1 xact "$a1_dir/run/ra_xact"
	t0=$(date +%s%N)
	pid=$(pids_of "$a1_dir/run/ra_xact")
	since=$(pgt_sql a1 "select (extract(epoch from state_change) * 1000)::bigint from pg_stat_activity where pid = $pid")
	wait_for "$RULES/out" "\"pid\":$pid" 150
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	acted_ms=$(( $(date -d "$(grep "\"pid\":$pid" "$RULES/out" | jq -r .time)" +%s%N) / 1000000 ))
	echo "ended ${ms}ms after the session was up; acted $((acted_ms - since))ms after its state began"
	[ $((acted_ms - since)) -ge 4000 ]
	[ "$ms" -le 10000 ]
	refute alive "$pid"
	alive "$(pids_of "$a1_dir/run/ra_idle")"
	stop_agent
	# most passes were cheap ones: the full ones are few
	full=$(sed -n 's/.*stopping after \([0-9]*\) passes.*/\1/p' "$RULES/err")
	cheap=$(sed -n 's/.*(and \([0-9]*\) cheap passes.*/\1/p' "$RULES/err")
	echo "full $full cheap $cheap"
	[ "$cheap" -gt "$full" ]
}

@test "every slot taken, the superuser's too: the agent still ends the sessions its rule names" {
	need_root
	printf '[full]\nmatch = --user full_a\naction = terminate\n' >"$RULES/full.conf"
	used=$(pgt_sql a2 "select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()")
	hold a2 "host=127.0.0.1 user=full_a dbname=postgres" $((6 - 2 - used)) idle "$a2_dir/run/full"
	PGT_OSUSER=postgres hold a2 "host=$a2_sock user=postgres dbname=postgres" 2 idle "$a2_dir/run/fullsu"
	run pgt_sql a2 "select 1"
	[ "$status" -ne 0 ]
	run "$PGEVICT" --cluster "$a2_port" agent --rules "$RULES" --once --json
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no SQL for"* ]]
	out=$(printf '%s\n' "${lines[@]}" | grep '^{')
	[ "$(printf '%s\n' "$out" | wc -l)" -eq $((6 - 2 - used)) ]
	[ "$(printf '%s\n' "$out" | jq -r '.outcome + " " + .step' | sort -u)" = "gone signal" ]
	for p in $(pids_of "$a2_dir/run/full"); do refute alive "$p"; done
	for p in $(pids_of "$a2_dir/run/fullsu"); do alive "$p"; done
}

@test "SIGHUP with a bad rule file keeps the old rules; SIGTERM stops with exit 0" {
	need_root
	printf '[end-a]\nmatch = --user hup_a\naction = terminate\n' >"$RULES/a.conf"
	start_agent a1 --interval 1s
	wait_for "$RULES/err" "1 rules from 1 files"
	printf '[broken]\nmatch = --user hup_a\naction = terminate\nvia = sql,bogus\n' >"$RULES/b.conf"
	kill -HUP "$AGENT"
	wait_for "$RULES/err" "b.conf:4: bad via 'sql,bogus'"
	wait_for "$RULES/err" "keeping the 1 rules in force"
	# the old rule still acts
	hold a1 "host=127.0.0.1 user=hup_a dbname=postgres" 1 idle "$a1_dir/run/hup"
	pid=$(pids_of "$a1_dir/run/hup")
	wait_for "$RULES/out" "\"pid\":$pid"
	grep "\"pid\":$pid" "$RULES/out" | jq -e '.rule == "end-a" and .outcome == "gone"'
	# a good reload replaces them: hup_a is left alone now
	printf '[end-b]\nmatch = --user hup_b\naction = terminate\n' >"$RULES/b.conf"
	rm "$RULES/a.conf"
	kill -HUP "$AGENT"
	wait_for "$RULES/err" "reload: 1 rules from 1 files"
	hold a1 "host=127.0.0.1 user=hup_a dbname=postgres" 1 idle "$a1_dir/run/hup2"
	sleep 2.5
	alive "$(pids_of "$a1_dir/run/hup2")"
	stop_agent
	grep -q "agent: stopping after" "$RULES/err"
}

@test "SIGTERM during an action: the action is finished and reported, then exit 0" {
	need_root
	printf '[stopped]\nmatch = --user ns_a --state idle\naction = terminate\nvia = signal,destroy\nstep-timeout = 3s\n' \
		>"$RULES/a.conf"
	hold a1 "host=127.0.0.1 user=ns_a dbname=postgres" 1 idle "$a1_dir/run/stopped"
	STOPPED=$(pids_of "$a1_dir/run/stopped")
	kill -STOP "$STOPPED"
	t0=$(date +%s%N)
	start_agent a1 --interval 1s
	wait_for "$RULES/err" "agent: 1 rules"
	sleep 1                      # the first pass is waiting out SIGTERM's 3s
	rc=0
	stop_agent || rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	cat "$RULES/out" "$RULES/err"
	[ "$rc" -eq 0 ]
	[ "$ms" -ge 3000 ]
	jq -e "select(.pid == $STOPPED) | .outcome == \"severed\" and .step == \"destroy\"" "$RULES/out"
	grep -q "agent: stopping after 1 passes, 1 actions" "$RULES/err"
}

@test "a running --dry-run agent reports a standing plan once, and touches nothing" {
	need_root
	printf '[dry]\nmatch = --user dry_a\naction = terminate\n' >"$RULES/dry.conf"
	hold a1 "host=127.0.0.1 user=dry_a dbname=postgres" 1 idle "$a1_dir/run/dry"
	pid=$(pids_of "$a1_dir/run/dry")
	start_agent a1 --interval 300ms --dry-run
	wait_for "$RULES/out" "\"pid\":$pid"
	sleep 2                      # several more passes, each a full one
	stop_agent
	cat "$RULES/out" "$RULES/err"
	[ "$(grep -c "\"pid\":$pid" "$RULES/out")" -eq 1 ]
	jq -e 'select(.pid == '"$pid"') | .outcome == "planned"' "$RULES/out"
	passes=$(sed -n 's/.*stopping after \([0-9]*\) passes.*/\1/p' "$RULES/err")
	[ "$passes" -ge 4 ]
	alive "$pid"
}

@test "audit: every step and outcome goes to syslog, tagged with the rule" {
	need_root
	command -v unshare >/dev/null || skip "no unshare (util-linux)"
	printf '[audit-me]\nmatch = --user aud_a\naction = terminate\n' >"$RULES/a.conf"
	hold a1 "host=127.0.0.1 user=aud_a dbname=postgres" 1 idle "$a1_dir/run/aud"
	pid=$(pids_of "$a1_dir/run/aud")
	# a stand-in for the syslog socket, put at /dev/log in a mount
	# namespace of the agent's own (this host's /dev is not touched)
	"$PGT_HELPERS/notifysock" "$RULES/log" 30 >"$RULES/syslog" 2>&1 </dev/null 3>&- 4>&- &
	LOGGER=$!
	pgt_track a1 "$LOGGER"
	for i in $(seq 1 50); do [ -S "$RULES/log" ] && break; sleep 0.1; done
	run unshare --mount --propagation private sh -ec '
		mkdir "$1/olddev"
		mount --rbind /dev "$1/olddev"
		mount -t tmpfs -o size=64k,mode=755 pgevict-test-dev /dev
		touch /dev/null /dev/log
		mount --bind "$1/olddev/null" /dev/null
		mount --bind "$1/log" /dev/log
		shift
		exec "$@"' sh "$RULES" "$PGEVICT" --cluster "$a1_port" agent --rules "$RULES" --once --json
	kill -TERM "$LOGGER"
	wait "$LOGGER" || true
	[[ "$output" != *"mount:"* ]] || skip "cannot make a private /dev here: $output"
	echo "$output"
	cat "$RULES/syslog"
	[ "$status" -eq 0 ]
	grep -q "pgevict\[[0-9]*\]: rule=audit-me terminate pid=$pid start=[0-9]* cluster=$a1_data user=aud_a database=postgres client=127.0.0.1:[0-9]* step=sql sent" "$RULES/syslog"
	grep -q "rule=audit-me terminate pid=$pid .* outcome=gone" "$RULES/syslog"
	refute alive "$pid"
}

@test "SIGINT stops a running agent with exit 0, also with no rules at all" {
	need_root
	start_agent a1 --interval 200ms
	wait_for "$RULES/err" "no rules in"
	sleep 0.5
	stop_agent INT
}

@test "under systemd: READY, WATCHDOG every half WATCHDOG_USEC, RELOADING on SIGHUP, STOPPING" {
	need_root
	sock="$RULES/notify"
	"$PGT_HELPERS/notifysock" "$sock" 20 >"$RULES/notes" 2>&1 </dev/null 3>&- 4>&- &
	NOTIFY=$!
	pgt_track a1 "$NOTIFY"
	for i in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
	NOTIFY_SOCKET=$sock WATCHDOG_USEC=1000000 start_agent a1 --interval 10s
	wait_for "$RULES/notes" "READY=1"
	sleep 2.2
	kill -HUP "$AGENT"
	wait_for "$RULES/notes" "RELOADING=1"
	stop_agent
	wait_for "$RULES/notes" "STOPPING=1"
	kill -TERM "$NOTIFY"
	wait "$NOTIFY" || true
	cat "$RULES/notes"
	# one pass every 10s, yet the watchdog was fed every 0.5s
	[ "$(grep -c '^WATCHDOG=1' "$RULES/notes")" -ge 4 ]
	[ "$(grep -c '^READY=1' "$RULES/notes")" -eq 2 ]
	grep -q '^STATUS=0 rules; 1 passes, 0 actions' "$RULES/notes"
	# the order: READY first, STOPPING last
	[ "$(head -n 1 "$RULES/notes")" = "READY=1" ]
	[ "$(tail -n 1 "$RULES/notes")" = "STOPPING=1" ]
}

@test "the systemd unit passes systemd-analyze verify; its security exposure is printed" {
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze (package systemd)"
	unit="$TOP/systemd/pgevict-agent.service"
	# verify needs the ExecStart binary where the unit says it is: use a
	# copy of the unit pointing at this build.
	# and Documentation=man:pgevict(8) installed: MANPATH finds this one.
	d=$(mktemp -d)
	mkdir -p "$d/man/man8"
	cp "$TOP/src/pgevict.8" "$d/man/man8/"
	sed "s|/usr/local/sbin/pgevict|$TOP/$BUILD/pgevict|g" "$unit" >"$d/pgevict-agent.service"
	run env MANPATH="$d/man" systemd-analyze verify "$d/pgevict-agent.service"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run systemd-analyze security --offline=true "$d/pgevict-agent.service"
	printf '%s\n' "$output" >&3
	rm -r "$d"
	exposure=$(printf '%s\n' "$output" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	[ -n "$exposure" ]
	echo "# exposure $exposure" >&3
	# 2.5 when written; a root daemon that signals other users' processes
	# and cuts their sockets cannot get much lower
	awk -v e="$exposure" 'BEGIN { exit !(e <= 3.0) }'
}

@test "the unit's capabilities are enough: --once as root with only that bounding set, SQL included" {
	need_root
	command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$TOP/systemd/pgevict-agent.service" |
		tr ' ' '\n' | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd, -)
	[ -n "$caps" ]
	printf '[caps]\nmatch = --user k_c --state idle\naction = terminate\n' >"$RULES/caps.conf"
	hold a1 "host=127.0.0.1 user=k_c dbname=postgres" 2 idle "$a1_dir/run/caps"
	run setpriv --bounding-set="-all,$caps" --inh-caps=-all \
		"$PGEVICT" --cluster "$a1_port" agent --rules "$RULES" --once --json
	echo "$output"
	[ "$status" -eq 0 ]
	refute grep -q "no SQL for" <<<"$output"
	[ "$(printf '%s\n' "$output" | grep '^{' | jq -r .outcome | sort -u)" = gone ]
	# the first step that worked was SQL (peer authentication as the owner)
	[ "$(printf '%s\n' "$output" | grep '^{' | jq -r .step | sort -u)" = sql ]
	for p in $(pids_of "$a1_dir/run/caps"); do refute alive "$p"; done
	# and without CAP_KILL the signal step is refused, which the agent says
	printf '[caps]\nmatch = --user k_c --state idle\naction = terminate\nvia = signal\n' >"$RULES/caps.conf"
	hold a1 "host=127.0.0.1 user=k_c dbname=postgres" 1 idle "$a1_dir/run/caps2"
	run setpriv --bounding-set="-all,${caps/+kill,/}" --inh-caps=-all \
		"$PGEVICT" --cluster "$a1_port" agent --rules "$RULES" --once --json
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$(printf '%s\n' "$output" | grep '^{' | jq -r .outcome)" = survived ]
	alive "$(pids_of "$a1_dir/run/caps2")"
}

# unit_copy DIR: the unit in DIR, its ExecStart pointing at this build
# (verify wants the binary where the unit says), and the man page its
# Documentation= names in DIR/man.
unit_copy() {
	mkdir -p "$1/man/man8"
	cp "$TOP/src/pgevict.8" "$1/man/man8/"
	sed "s|/usr/local/sbin/pgevict|$TOP/$BUILD/pgevict|g" "$TOP/systemd/pgevict-agent.service" \
		>"$1/pgevict-agent.service"
}

# dropin_scores DIR NAME: the unit copied to DIR (unit_copy), systemd's
# view of its confinement in DIR/alone.json; then with the drop-in NAME
# beside it, where systemd looks for NAME.service.d: it must pass verify
# with nothing to say, and its view goes to DIR/merged.json.
dropin_scores() {
	local d=$1
	unit_copy "$d"
	run systemd-analyze security --offline=true --json=short "$d/pgevict-agent.service"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$d/alone.json"
	mkdir "$d/pgevict-agent.service.d"
	cp "$TOP/systemd/pgevict-agent.service.d/$2" "$d/pgevict-agent.service.d/"
	run env MANPATH="$d/man" systemd-analyze verify "$d/pgevict-agent.service"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run systemd-analyze security --offline=true --json=short "$d/pgevict-agent.service"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$d/merged.json"
}

@test "containers.conf: the unit with it passes verify; systemd's merge adds CAP_SYS_ADMIN and network namespaces, nothing else" {
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze (package systemd)"
	d=$(mktemp -d)
	dropin_scores "$d" containers.conf
	# "set": true means the restriction holds (~CAP_SYS_ADMIN: not in the
	# bounding set; ~net: no network namespaces)
	[ "$(jq -r '.[] | select(.json_field == "CapabilityBoundingSet_CAP_SYS_ADMIN") | .set' "$d/alone.json")" = true ]
	[ "$(jq -r '.[] | select(.json_field == "CapabilityBoundingSet_CAP_SYS_ADMIN") | .set' "$d/merged.json")" = false ]
	[ "$(jq -r '.[] | select(.json_field == "RestrictNamespaces_net") | .set' "$d/alone.json")" = true ]
	[ "$(jq -r '.[] | select(.json_field == "RestrictNamespaces_net") | .set' "$d/merged.json")" = false ]
	# every other check systemd makes comes out the same
	jq -r '.[] | "\(.json_field) \(.set)"' "$d/alone.json" | sort >"$d/alone.txt"
	jq -r '.[] | "\(.json_field) \(.set)"' "$d/merged.json" | sort >"$d/merged.txt"
	[ "$(wc -l <"$d/alone.txt")" -gt 50 ]
	run diff "$d/alone.txt" "$d/merged.txt"
	echo "$output"
	[ "$(printf '%s\n' "$output" | grep -c '^>')" -eq 2 ]
	[ "$(printf '%s\n' "$output" | grep '^>' | sort | tr '\n' ' ')" = "> CapabilityBoundingSet_CAP_SYS_ADMIN false > RestrictNamespaces_net false " ]
	# setns itself was allowed all along (@system-service holds @process)
	run systemd-analyze syscall-filter @system-service
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | grep -qx '    @process'
	run systemd-analyze syscall-filter @process
	printf '%s\n' "$output" | grep -qx '    setns'
	run systemd-analyze security --offline=true "$d/pgevict-agent.service"
	exposure=$(printf '%s\n' "$output" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	echo "# exposure with containers.conf $exposure" >&3
	[ -n "$exposure" ]
	# 2.8 when written: CAP_SYS_ADMIN is the price
	awk -v e="$exposure" 'BEGIN { exit !(e <= 3.3) }'
	rm -r "$d"
}

@test "containers.conf's bounding set reaches a cluster in its own network namespace; the unit's alone does not" {
	need_root
	command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
	# the cluster of a container: its own network namespace, listening on
	# an address that exists only there; its client in another one
	pgt_netns_pair ct || return 1
	PGT_NETNS=$ct_sns PGT_LISTEN=10.201.0.1 pgt_cluster_create x1 || return 1
	pgt_sql x1 "create role ct_a login" >/dev/null
	printf '[ct]\nmatch = --user ct_a\naction = terminate\nvia = destroy\n' >"$RULES/ct.conf"
	pgt_watch x1 "host=10.201.0.1 user=ct_a dbname=postgres" idle "$RULES/w" "$ct_cns" || return 1
	backend=$(cut -d' ' -f1 "$RULES/w")
	unit=$(sed -n 's/^CapabilityBoundingSet=//p' "$TOP/systemd/pgevict-agent.service" |
		tr ' ' '\n' | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd, -)
	# systemd merges the drop-in's list into the unit's
	merged=$(sed -n 's/^CapabilityBoundingSet=//p' "$TOP/systemd/pgevict-agent.service" \
		"$TOP/systemd/pgevict-agent.service.d/containers.conf" |
		tr ' ' '\n' | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd, -)
	[[ ",$merged," == *",+sys_admin,"* ]]
	refute grep -q sys_admin <<<"$unit"
	# the unit alone: no way into the namespace, so no socket to destroy
	run --separate-stderr setpriv --bounding-set="-all,$unit" --inh-caps=-all \
		"$PGEVICT" --cluster "$x1_port" agent --rules "$RULES" --once --json
	echo "$output $stderr"
	refute grep -q '"outcome":"gone"' <<<"$output"
	alive "$backend"
	# and it says why, naming what is missing
	[[ "$stderr" == *"cannot read its sockets in its network namespace: Operation not permitted (entering it needs CAP_SYS_ADMIN); the clients of its sessions are unknown"* ]]
	# with the drop-in: the destroy step cuts it
	run setpriv --bounding-set="-all,$merged" --inh-caps=-all \
		"$PGEVICT" --cluster "$x1_port" agent --rules "$RULES" --once --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep '^{' | jq -r '"\(.pid) \(.outcome) \(.step)"')" = "$backend gone destroy" ]
	refute alive "$backend"
}

@test "lockdown.conf: the unit with it passes verify; the merge adds IPv4/IPv6 to loopback and write access, nothing else" {
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze (package systemd)"
	d=$(mktemp -d)
	dropin_scores "$d" lockdown.conf
	set_of() { jq -r --arg f "$2" '.[] | select(.json_field == $f) | .set' "$d/$1.json"; }
	[ "$(set_of alone RestrictAddressFamilies_AF_INET_INET6)" = true ]
	[ "$(set_of merged RestrictAddressFamilies_AF_INET_INET6)" = false ]
	[ "$(set_of alone IPAddressDeny)" = true ]
	[ "$(set_of merged IPAddressDeny)" = false ]
	# everything else systemd scores stays as the unit has it
	diff <(jq -r '.[] | select(.json_field | test("^(RestrictAddressFamilies_AF_INET_INET6|IPAddressDeny)$") | not) | "\(.json_field) \(.set)"' "$d/alone.json") \
		<(jq -r '.[] | select(.json_field | test("^(RestrictAddressFamilies_AF_INET_INET6|IPAddressDeny)$") | not) | "\(.json_field) \(.set)"' "$d/merged.json")
	# loopback only, and the writable paths are the ones it says
	[ "$(sed -n 's/^IPAddressAllow=//p' "$TOP/systemd/pgevict-agent.service.d/lockdown.conf")" = localhost ]
	[ "$(sed -n 's/^ReadWritePaths=//p' "$TOP/systemd/pgevict-agent.service.d/lockdown.conf")" = "-/etc/postgresql -/var/lib/postgresql -/var/lib/pgevict" ]
}

@test "make install honours DESTDIR and PREFIX: binary, man page, unit, example rules (none in force)" {
	d=$(mktemp -d)
	run make -C "$TOP" --no-print-directory install BUILD="$BUILD" DESTDIR="$d" PREFIX=/opt/pge SYSCONFDIR=/etc
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ -x "$d/opt/pge/sbin/pgevict" ]
	[ -f "$d/opt/pge/share/man/man8/pgevict.8" ]
	unit="$d/opt/pge/lib/systemd/system/pgevict-agent.service"
	grep -qx 'ExecStart=/opt/pge/sbin/pgevict agent --rules /etc/pgevict/rules.d --interval 5s' "$unit"
	[ "$(ls "$d/etc/pgevict/rules.d/"*.conf.example | wc -l)" -eq 6 ]
	# the containers drop-in, not in force until copied to a .conf name
	cmp "$TOP/systemd/pgevict-agent.service.d/containers.conf" \
		"$d/etc/systemd/system/pgevict-agent.service.d/containers.conf.example"
	cmp "$TOP/systemd/pgevict-agent.service.d/lockdown.conf" \
		"$d/etc/systemd/system/pgevict-agent.service.d/lockdown.conf.example"
	[ "$(ls "$d/etc/systemd/system/pgevict-agent.service.d" | paste -sd' ')" = "containers.conf.example lockdown.conf.example" ]
	run "$d/opt/pge/sbin/pgevict" agent --rules "$d/etc/pgevict/rules.d" --check
	[ "$status" -eq 0 ]
	[ "$output" = "0 rules in 0 files: ok" ]
	rm -rf "$d"
}
