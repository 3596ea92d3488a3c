# SPDX-License-Identifier: MIT
# pgevict -- see README.md.  `make`, `make check`, `make demo`, `make bench`.
#
# src/ has one folder per layer, and each layer is a static library:
#   core    pure: no I/O (libcore.a)
#   os      one adapter per outside system (libos.a)
#   engine  what changes things and finds them, over the adapters (libengine.a)
#   cmd     the command line and the commands (libcmd.a, and main.c)
# A layer may call only itself and the layers below it, and the build makes
# that hold: the program links cmd engine os core in that order, and a unit
# test (or fuzz target) links only its own module's layer and those below,
# so test_title links libcore.a alone.  A core file that calls an adapter
# fails to link.

PREFIX  ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
CC      ?= cc

ifeq ($(SANITIZE),1)
BUILD   ?= build-san
OPT     ?= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SANLD   := -fsanitize=address,undefined
else
BUILD   ?= build
OPT     ?= -O2 -g
SANLD   :=
endif

PKGS    := libproc2 libnl-3.0 libnl-route-3.0 libpq json-c libpcap inih libsystemd ncursesw
# Recursive (=) so that pkg-config runs after `make deps` installed them.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Werror
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CFLAGS  ?=
# -pthread: top refreshes on a thread of its own (src/cmd/top_worker.c).
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -pthread $(OPT) $(WARN) $(HARDEN) -Iinclude $(PKG_CFLAGS) \
             -DPGEVICT_VERSION=\"$(VERSION)\" -MMD -MP $(CFLAGS)
LDFLAGS ?=
# Full RELRO for the program: the GOT is read-only once it has started.
PROG_LDFLAGS := -pthread -Wl,-z,relro,-z,now
VERSION := 0.1.0

LAYERS   := core os engine cmd
LIB_SRC  := $(filter-out src/cmd/main.c,$(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c)))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
# The archives a layer links, highest first.
USES_core   := core
USES_os     := os core
USES_engine := engine os core
USES_cmd    := cmd engine os core
# The layer of module $(1) (a test named test_$(1) or fuzz_$(1) is its).
layer_of = $(firstword $(foreach l,core os engine,$(if $(wildcard src/$(l)/$(1).c),$(l))) cmd)
libs_for = $(foreach l,$(USES_$(call layer_of,$(1))),$(BUILD)/lib$(l).a)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/tests/replay_%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/fuzz/fuzz_%)
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/%)

.PHONY: all check check-build demo bench install clean deps fuzz fuzz-hba unit

all: $(BUILD)/pgevict

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

define layer_lib
$(BUILD)/lib$(1).a: $(patsubst src/%.c,$(BUILD)/obj/%.o,$(filter-out src/cmd/main.c,$(wildcard src/$(1)/*.c)))
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_lib,$(l))))

$(BUILD)/pgevict: $(BUILD)/obj/cmd/main.o $(foreach l,$(USES_cmd),$(BUILD)/lib$(l).a)
	$(CC) $(SANLD) $(PROG_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

.SECONDEXPANSION:
$(BUILD)/tests/test_%: tests/unit/test_%.c $$(call libs_for,$$*)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SANLD) -o $@ $< $(call libs_for,$*) $(PKG_LIBS) -lcmocka

# The fuzz targets, replayed over their corpus by a plain driver, so that
# `make check` runs them with any compiler; `make fuzz` builds libFuzzer ones.
$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $$(call libs_for,$$*)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SANLD) -o $@ $< tests/fuzz/replay.c $(call libs_for,$*) $(PKG_LIBS)

$(BUILD)/tests/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SANLD) -o $@ $< $(PKG_LIBS)

FUZZ_CC := clang
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -g -O1 $(WARN) -Iinclude $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(LIB_SRC) $(PKG_LIBS)

fuzz: $(FUZZ_BIN)

check-build: all $(UNIT_BIN) $(REPLAY_BIN) $(HELPER_BIN)

# Installs what it needs (Debian 12, as root), builds, runs every suite.
check: deps
	$(MAKE) --no-print-directory check-build
	BUILD=$(BUILD) tests/run.sh

unit: check-build
	BUILD=$(BUILD) tests/run.sh unit

demo: deps
	$(MAKE) --no-print-directory all $(HELPER_BIN)
	BUILD=$(BUILD) tests/demo.sh

bench: deps
	$(MAKE) --no-print-directory all $(HELPER_BIN)
	BUILD=$(BUILD) tests/bench/run.sh

# The differential test of `hba check` against PostgreSQL at scale (root):
# HBA_DIFF_N files (default 3000) from HBA_DIFF_SEED (default 1).
fuzz-hba: deps
	$(MAKE) --no-print-directory all $(HELPER_BIN)
	HBA_DIFF_N=$${HBA_DIFF_N:-3000} BUILD=$(BUILD) bats tests/integration/hba_diff.bats

deps:
	@tests/deps.sh

# The unit runs the binary where PREFIX put it; the example rules go to
# $(SYSCONFDIR)/pgevict/rules.d as *.conf.example: none is in force until
# an operator copies it to a *.conf name.  Likewise the drop-in for
# containerised clusters (systemd/README): containers.conf.example in the
# unit's drop-in directory under $(SYSCONFDIR), in force once named .conf.
install: all
	install -D -m 0755 $(BUILD)/pgevict $(DESTDIR)$(PREFIX)/sbin/pgevict
	install -D -m 0644 src/pgevict.8 $(DESTDIR)$(PREFIX)/share/man/man8/pgevict.8
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/pgevict/rules.d
	sed -e 's|/usr/local/sbin/pgevict|$(PREFIX)/sbin/pgevict|g' \
	    -e 's|/etc/pgevict/rules.d|$(SYSCONFDIR)/pgevict/rules.d|g' \
	    systemd/pgevict-agent.service >$(DESTDIR)$(UNITDIR)/pgevict-agent.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/pgevict-agent.service
	install -m 0644 rules/*.conf.example rules/README $(DESTDIR)$(SYSCONFDIR)/pgevict/rules.d/
	install -D -m 0644 systemd/pgevict-agent.service.d/containers.conf \
	    $(DESTDIR)$(SYSCONFDIR)/systemd/system/pgevict-agent.service.d/containers.conf.example
	install -D -m 0644 systemd/pgevict-agent.service.d/lockdown.conf \
	    $(DESTDIR)$(SYSCONFDIR)/systemd/system/pgevict-agent.service.d/lockdown.conf.example

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/cmd/main.d
