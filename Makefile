# pgevict -- see README.md.  `make`, `make check`, `make demo`, `make bench`.
#
# Everything but src/main.c goes into one static library that the binary,
# the unit tests and the fuzzers link (the OpenSSH habit).

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

PKGS    := libproc2 libnl-3.0 libnl-route-3.0 libpq json-c libpcap inih libsystemd
# Recursive (=) so that pkg-config runs after `make deps` installed them.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Werror
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CFLAGS  ?=
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) -Iinclude $(PKG_CFLAGS) \
             -DPGEVICT_VERSION=\"$(VERSION)\" -MMD -MP $(CFLAGS)
LDFLAGS ?=
# Full RELRO for the program: the GOT is read-only once it has started.
PROG_LDFLAGS := -Wl,-z,relro,-z,now
VERSION := 0.1.0

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
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

$(BUILD)/libpgevict.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/pgevict: $(BUILD)/obj/main.o $(BUILD)/libpgevict.a
	$(CC) $(SANLD) $(PROG_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libpgevict.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SANLD) -o $@ $< $(BUILD)/libpgevict.a $(PKG_LIBS) -lcmocka

# The fuzz targets, replayed over their corpus by a plain driver, so that
# `make check` runs them with any compiler; `make fuzz` builds libFuzzer ones.
$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(BUILD)/libpgevict.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SANLD) -o $@ $< tests/fuzz/replay.c $(BUILD)/libpgevict.a $(PKG_LIBS)

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

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/main.d
