#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# `pgevict hba check` against PostgreSQL itself: generated pg_hba.conf
# files (tests/helpers/hbagen.c: realistic, targeted, boundary, mutated)
# judged by pgevict and by a real server's pg_hba_file_rules, which reads
# the file on disk (tests/helpers/hbaoracle.c writes each one over the
# test cluster's own pg_hba.conf; nothing is reloaded).  Then the lockdown
# file of every accepted file, by default and with --allow-*, must be
# accepted by the server too.
#
# HBA_DIFF_N files (default 300; `make fuzz-hba` runs thousands) from
# HBA_DIFF_SEED (default 1).  The cluster runs with ssl = on (a throwaway
# self-signed certificate): the server Debian sets up does, and with
# ssl = off pg_hba_file_rules marks hostssl lines that a reload loads.

load common
bats_require_minimum_version 1.5.0

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	pgt_cluster_create h1 || return 1
	openssl req -new -x509 -days 2 -nodes -subj "/CN=pgevict-test" -keyout "$h1_data/server.key" \
		-out "$h1_data/server.crt" >/dev/null 2>&1 || return 1
	chown postgres:postgres "$h1_data/server.key" "$h1_data/server.crt"
	chmod 600 "$h1_data/server.key"
	pgt_sql h1 "alter system set ssl = on" >/dev/null
	pgt_sql h1 "select pg_reload_conf()" >/dev/null
	sleep 0.5
	[ "$(pgt_sql h1 "show ssl")" = on ] || return 1
	cp -p "$h1_data/pg_hba.conf" "$h1_dir/hba.orig"
	mkdir -p "$h1_dir/gen"
	chmod 755 "$h1_dir/gen"
	export h1_dir h1_data h1_sock h1_port
}

teardown_file() {
	if [ -n "${h1_dir:-}" ] && [ -f "${h1_dir}/hba.orig" ]; then
		cp -p "$h1_dir/hba.orig" "$h1_data/pg_hba.conf"
	fi
	pgt_cleanup
}

setup() {
	need_root
}

# oracle FILE...: the server's verdicts, one "FILE ok|refused ..." a line.
oracle() {
	"$PGT_HELPERS/hbaoracle" -c "host=127.0.0.1 port=$h1_port user=postgres dbname=postgres" \
		-t "$h1_data/pg_hba.conf" "$@"
}

@test "hba check agrees with PostgreSQL on every generated file" {
	local n=${HBA_DIFF_N:-300} seed=${HBA_DIFF_SEED:-1} gen="$h1_dir/gen"
	"$PGT_HELPERS/hbagen" -s "$seed" -n "$n" -d "$gen"
	oracle "$gen"/f*.conf >"$h1_dir/oracle.txt"
	local rc=0
	"$PGEVICT" --json hba check "$gen"/f*.conf >"$h1_dir/check.json" 2>"$h1_dir/check.err" || rc=$?
	[ "$rc" -le 1 ] || { cat "$h1_dir/check.err" >&2; false; }
	jq -r .file <"$h1_dir/check.json" >"$h1_dir/check.files"
	sort -u "$h1_dir/check.files" >"$h1_dir/pgevict.refused"
	awk '$2 == "refused" { print $1 }' "$h1_dir/oracle.txt" >"$h1_dir/oracle.files"
	sort -u "$h1_dir/oracle.files" >"$h1_dir/server.refused"
	comm -3 "$h1_dir/pgevict.refused" "$h1_dir/server.refused" >"$h1_dir/disagree"
	local total refused
	total=$(wc -l <"$h1_dir/oracle.txt")
	refused=$(wc -l <"$h1_dir/server.refused")
	echo "# $total files (seed $seed), $refused refused by PostgreSQL, $(wc -l <"$h1_dir/disagree") disagreements" >&3
	if [ -s "$h1_dir/disagree" ]; then
		local f
		while read -r f; do
			f=${f#"${f%%[! 	]*}"}
			echo "disagree: $f"
			echo "  server:  $(grep -F "$f " "$h1_dir/oracle.txt" | head -n 1)"
			echo "  pgevict: $(grep -F "\"$f\"" "$h1_dir/check.json" | head -n 1)"
		done <"$h1_dir/disagree" | head -n 60
		false
	fi
	[ "$total" -eq "$n" ]
}

@test "the lockdown file of every accepted file is accepted by PostgreSQL" {
	local gen="$h1_dir/gen" f out=() n=0
	[ -s "$h1_dir/oracle.txt" ] || skip "the first test made no files"
	mkdir -p "$gen/lock"
	while read -r f verdict _; do
		[ "$verdict" = ok ] || continue
		local b=${f##*/}
		"$PGEVICT" hba lockdown "$f" >"$gen/lock/$b.default" 2>/dev/null
		"$PGEVICT" hba lockdown --allow-role app --allow-role "a b" --allow-host 10.0.0.0/8 \
			--allow-host fd00::/8 "$f" >"$gen/lock/$b.allow" 2>/dev/null
		"$PGEVICT" hba lockdown --total "$f" >"$gen/lock/$b.total" 2>/dev/null
		out+=("$gen/lock/$b.default" "$gen/lock/$b.allow" "$gen/lock/$b.total")
		n=$((n + 1))
	done <"$h1_dir/oracle.txt"
	[ "$n" -gt 0 ]
	oracle "${out[@]}" >"$h1_dir/lock.txt"
	echo "# ${#out[@]} lockdown files of $n accepted files" >&3
	if grep -v ' ok$' "$h1_dir/lock.txt" >"$h1_dir/lock.refused"; then
		head -n 20 "$h1_dir/lock.refused"
		false
	fi
}

@test "hba check: exit 0, 1 and 2, one line per refused line" {
	local d="$h1_dir/cli"
	mkdir -p "$d"
	printf 'local all all peer\n' >"$d/good.conf"
	printf 'local all all peer\nhost all all 127.1 255.255.255 md5\nhost all all 10.0.0.0/8 bsd\n' >"$d/bad.conf"
	run "$PGEVICT" hba check "$d/good.conf"
	[ "$status" -eq 0 ] && [ -z "$output" ]
	run "$PGEVICT" hba check "$d/good.conf" "$d/bad.conf"
	[ "$status" -eq 1 ]
	[ "$output" = "$d/bad.conf:3: invalid authentication method \"bsd\": not supported by this build" ]
	run "$PGEVICT" hba check "$d/good.conf" "$d/nosuch.conf"
	[ "$status" -eq 2 ]
	run "$PGEVICT" --json hba check "$d/bad.conf"
	[ "$status" -eq 1 ]
	[ "$(jq -r .line <<<"$output")" = 3 ]
	# without FILE: the cluster's own
	cp -p "$h1_dir/hba.orig" "$h1_data/pg_hba.conf"
	run "$PGEVICT" --cluster "$h1_data" hba check
	[ "$status" -eq 0 ]
}
