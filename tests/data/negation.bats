#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/data/negation.bats -- fixture for the negation lint in tests/run.sh
# (never run by bats).  Every line the lint must flag ends in the comment
# flag (or the comment line before it is flag-next); the self-check
# compares the two sets.

# a helper: a bare negation as its last command returns the status
gone() {
	kill -0 "$1" 2>/dev/null
	! grep -q x "$1"
}

# a helper whose negation is not its last command
bad_helper() {
	! grep -q x "$1"   # flag
	true
}

one_liner() { [ -n "$1" ] && ! grep -q x "$1"; }   # flag

@test "a negation in the middle of a test" {
	run true
	! grep -q y file   # flag
	[ "$status" -eq 0 ]
}

@test "negations that do fail" {
	run ! grep -q y file
	if grep -q y file; then false; fi
	if ! grep -q y file; then echo fine; fi
	while ! [ -e file ]; do sleep 1; done
	[ ! -e file ] && [[ ! -e file ]]
	cat <<-EOT
	! this is text in a here-document
	EOT
	# ! a comment
	! grep -q y file
}

@test "inside a loop or a list" {
	for p in 1 2; do ! kill -0 "$p"; done   # flag
	for p in 1 2; do
		! kill -0 "$p"   # flag
	done
	true; ! false   # flag
	# flag-next
	! ls \
		/nonexistent
	true
}

@test "in an if body, the last line still cannot fail the test" {
	if true; then
		! false   # flag
	fi
}

@test "a last line continued over several lines" {
	true
	! printf '%s\n' a |
		grep -q b
}
