# sgxpy build.  `make` builds build/sgxpy; `make asan` builds build-asan/sgxpy
# with AddressSanitizer + UBSan; `make check` runs the unit and end-to-end tests.
#
# Sources are found by wildcard: a new file in src/<stage>/ needs no edit here.

CC       ?= cc
PKGS     := libseccomp jansson sqlite3 libcrypto
VERSION  := 0.1.0
# CFLAGS/LDFLAGS are the user's (and `make asan`'s); the project's own flags
# live in SG_CFLAGS so that setting CFLAGS on the command line keeps them.
CFLAGS   ?= -O2 -g
SG_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral \
            -D_GNU_SOURCE -Isrc $(shell pkg-config --cflags $(PKGS)) \
            -DSGXPY_VERSION='"$(VERSION)"'
ALL_CFLAGS = $(SG_CFLAGS) $(CFLAGS)
# The libraries are linked statically: resolving libcrypto's symbols at every
# start cost `sgxpy run` about a millisecond per process (see bench/run_bench.sh).
# glibc stays shared (static glibc cannot be trusted with getpwnam and dlopen).
LDLIBS   += -Wl,-Bstatic $(shell pkg-config --libs-only-l $(PKGS)) -Wl,-Bdynamic -ldl -lpthread -lm

B        ?= build
LIB_SRC  := $(wildcard src/common/*.c src/trace/*.c src/manifest/*.c src/run/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
PROG_SRC := $(wildcard tests/progs/*.c)
PROG_BIN := $(PROG_SRC:tests/progs/%.c=$(B)/progs/%)

# Debian packages to build and test (`make deps`, as root).
DEB_PKGS := build-essential pkg-config libseccomp-dev libjansson-dev libsqlite3-dev libssl-dev \
            libcmocka-dev python3 python3-pytest python3-numpy python3-flask gunicorn strace \
            sqlite3 hyperfine wrk clang libclang-rt-14-dev man-db \
            python3-hypothesis python3-typing-extensions gnuplot-nox
PY       := /usr/bin/python3

.PHONY: all asan check check-asan unit e2e clean progs deps demo fuzz stress eval eval-quick man install uninstall
all: $(B)/sgxpy progs

$(B)/sgxpy: $(CLI_OBJ) $(B)/libsgxpy.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/libsgxpy.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(B)/libsgxpy.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

progs: $(PROG_BIN)
$(B)/progs/%: tests/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $< -lpthread

ASAN_VARS := CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
             LDFLAGS="-fsanitize=address,undefined"
asan:
	$(MAKE) B=build-asan $(ASAN_VARS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# End-to-end tests drive the binary named by SGXPY (default build/sgxpy).
e2e: all
	SGXPY=$(abspath $(B)/sgxpy) PROGS=$(abspath $(B)/progs) $(PY) -m pytest -q -p no:cacheprovider tests/e2e

check: all $(UNIT_BIN)
	$(MAKE) B=$(B) unit
	$(MAKE) B=$(B) e2e

deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PKGS)

# The main job on the bundled example: trace it and make its bundle in one
# go (`sgxpy build`, which keeps the trace beside it), check the bundle
# against this host, and run the app protected.
DEMO := $(B)/demo
demo: all
	@mkdir -p $(DEMO)
	$(B)/sgxpy build -o $(DEMO)/hello.bundle -- $(PY) examples/hello/app.py
	$(B)/sgxpy show $(DEMO)/hello.trace
	$(B)/sgxpy verify $(DEMO)/hello.bundle
	$(B)/sgxpy run $(DEMO)/hello.bundle -- $(PY) examples/hello/app.py

# The attack tests set LD_PRELOAD on purpose: ASan must not refuse to start
# because its runtime is then not first in the library list.
check-asan: export ASAN_OPTIONS = verify_asan_link_order=0:detect_leaks=1
check-asan:
	$(MAKE) B=build-asan $(ASAN_VARS) check

# Man pages (plain roff in man/, the version filled in) and install:
# `make install PREFIX=/usr/local DESTDIR=` puts the binary, sgxpy(1) and one
# page per command, and the bash completion under PREFIX.
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
MAN_SRC  := $(wildcard man/*.1)
MAN_OUT  := $(MAN_SRC:man/%=$(B)/man/%)

man: $(MAN_OUT)
$(B)/man/%.1: man/%.1 Makefile
	@mkdir -p $(dir $@)
	sed 's/@VERSION@/$(VERSION)/g' $< > $@

# The binary is order-only: `make install` installs what was built (and
# tested), never relinks it with other flags.
install: man | $(B)/sgxpy
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(B)/sgxpy $(DESTDIR)$(BINDIR)/sgxpy
	install -m 0644 $(MAN_OUT) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 completion/sgxpy.bash $(DESTDIR)$(BASHCOMPDIR)/sgxpy

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sgxpy $(DESTDIR)$(BASHCOMPDIR)/sgxpy \
	      $(MAN_SRC:man/%=$(DESTDIR)$(MANDIR)/man1/%)

# libFuzzer targets in fuzz/ (clang); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 20
fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

# The evaluation on NumPy's test suite, Flask under gunicorn and a pipeline:
# regenerates docs/evaluation.md and docs/evaluation.png (20-25 min; --quick: 4).
eval: all
	bench/evaluate.sh
eval-quick: all
	bench/evaluate.sh --quick

# Full-size stress runs with peak RSS (about 3 min; not for CI).
stress: all
	SGXPY=$(abspath $(B)/sgxpy) PROGS=$(abspath $(B)/progs) bench/stress.sh

clean:
	rm -rf build build-asan fuzz/out
	$(MAKE) -C fuzz clean

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
