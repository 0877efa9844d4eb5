# simd - a shopper simulation daemon.  Plain GNU make with pkg-config.

.DEFAULT_GOAL := all
VERSION    = 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
DESTDIR   ?=

CC        ?= cc
PKG_CONFIG ?= pkg-config
# What each binary links, and nothing more (tests/integration/build.sh checks it).
SIMD_PKGS  = libevent jansson sqlite3 libpq libcurl libcrypto
CTL_PKGS   = jansson
HAVE_SYSTEMD := $(shell $(PKG_CONFIG) --exists libsystemd 2>/dev/null && echo 1)
ifeq ($(HAVE_SYSTEMD),1)
SIMD_PKGS += libsystemd
SYSTEMD_CFLAGS = -DHAVE_SYSTEMD=1
endif
# The tests and their tools also use the libraries of parts simd does not link yet.
TEST_PKGS  = $(SIMD_PKGS)
PKGS       = $(TEST_PKGS)

WARN      = -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
            -Wno-unused-parameter
OPT       ?= -O2 -g
CFLAGS    ?= $(OPT)
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) \
             -Iinclude -DSIMD_VERSION='"$(VERSION)"' $(SYSTEMD_CFLAGS) \
             $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS       = $(shell $(PKG_CONFIG) --libs $(SIMD_PKGS) 2>/dev/null) -lm -pthread
TEST_LIBS  = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null) -lm -pthread
CTL_LIBS   = $(shell $(PKG_CONFIG) --libs $(CTL_PKGS) 2>/dev/null) -lm
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=address,undefined
endif

LIB_SRC   = $(sort $(wildcard lib/*.c))
LIB_OBJ   = $(LIB_SRC:.c=.o)
SIMD_OBJ  = $(patsubst %.c,%.o,$(wildcard daemon/*.c))
CTL_OBJ   = $(patsubst %.c,%.o,$(wildcard ctl/*.c))
UNIT_SRC  = $(sort $(wildcard tests/unit/*.c))
UNIT_BIN  = $(UNIT_SRC:.c=)
HEADERS   = $(wildcard include/sim/*.h)

# A build with other flags must not reuse objects of the last one.
FLAGS_STAMP = .build-flags
FLAGS_TEXT  = $(subst ',,$(subst ",,$(CC) $(ALL_CFLAGS) $(LDFLAGS)))
# Rewritten only when the flags change, so objects rebuild only then.
$(FLAGS_STAMP): FORCE
	@echo '$(FLAGS_TEXT)' | cmp -s - $@ || echo '$(FLAGS_TEXT)' > $@
FORCE:
.PHONY: FORCE

.PHONY: all check unit integration demo bench install install-files uninstall clean format deps \
	deb
.PHONY: print-pkgs
print-pkgs:
	@echo $(SIMD_PKGS)
all: deps-check simd simctl contrib/shopd/shopd

deps-check:
	@$(PKG_CONFIG) --exists $(PKGS) 2>/dev/null || { \
	  echo "simd: build dependencies missing; running packaging/deps.sh"; \
	  sh packaging/deps.sh; }
.PHONY: deps-check

%.o: %.c $(HEADERS) $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The commit built (simd -V, simctl --version, the version method): compiled into
# lib/version.o alone, so a new commit rebuilds one file.  Empty outside git.
COMMIT := $(shell c=$$(git rev-parse --short=12 HEAD 2>/dev/null) && \
	{ git diff --quiet HEAD -- 2>/dev/null || c=$$c-dirty; echo $$c; })
COMMIT_STAMP = lib/.commit
$(COMMIT_STAMP): FORCE
	@echo '$(COMMIT)' | cmp -s - $@ || echo '$(COMMIT)' > $@

lib/version.o: lib/version.c $(HEADERS) $(FLAGS_STAMP) $(COMMIT_STAMP)
	$(CC) $(ALL_CFLAGS) -DSIMD_COMMIT='"$(COMMIT)"' -c -o $@ $<

lib/libsim.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

simd: $(SIMD_OBJ) lib/libsim.a
	$(CC) $(LDFLAGS) -o $@ $(SIMD_OBJ) lib/libsim.a $(LIBS)

simctl: $(CTL_OBJ) lib/libsim.a
	$(CC) $(LDFLAGS) -o $@ $(CTL_OBJ) lib/libsim.a $(CTL_LIBS)

tests/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) lib/libsim.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< lib/libsim.a $(TEST_LIBS)

TOOLS     = tests/tools/rawsock tests/tools/notifyrecv tests/tools/llmd tests/tools/jwtmint \
            tests/tools/substream tests/tools/dropproxy

tests/tools/%: tests/tools/%.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

# The LLM test double: several files, and simd's persona code from the library.
LLMD_SRC  = tests/tools/llmd.c tests/tools/llmd_chat.c tests/tools/llmd_model.c \
            tests/tools/llmd_persona.c
tests/tools/llmd: $(LLMD_SRC) tests/tools/llmd.h lib/libsim.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(LLMD_SRC) lib/libsim.a $(TEST_LIBS)

# Its unit test includes the double's I/O-free parts.
tests/unit/llmd: tests/tools/llmd_model.c tests/tools/llmd_persona.c tests/tools/llmd.h

# ---- contrib/shopd: the reference shop backend of docs/shop-api.md ----
SHOPD_OBJ = $(patsubst %.c,%.o,$(sort $(wildcard contrib/shopd/*.c)))

contrib/shopd/%.o: contrib/shopd/%.c $(wildcard contrib/shopd/*.h) $(HEADERS) $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

contrib/shopd/shopd: $(SHOPD_OBJ) lib/libsim.a
	$(CC) $(LDFLAGS) -o $@ $(SHOPD_OBJ) lib/libsim.a $(TEST_LIBS)

tests/tools/jwtmint: tests/tools/jwtmint.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_LIBS)

# A proxy that loses an order's answer after the backend committed it (shopapi test).
tests/tools/dropproxy: tests/tools/dropproxy.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_LIBS)
# ---- end of contrib/shopd ----

# The benchmarks' control-socket probe speaks through the client side simctl uses.
bench/ctlprobe: bench/ctlprobe.c lib/libsim.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< lib/libsim.a $(LIBS)

# ---- tests/fuzz: libFuzzer harnesses (tests/README.md) ----
# The library again, instrumented, in tests/fuzz/obj/: the normal build is untouched.
FUZZ_CC     ?= clang
FUZZ_SECS   ?= 60
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) -O1 -g -Iinclude \
               -DSIMD_VERSION='"$(VERSION)"' $(SYSTEMD_CFLAGS) $(FUZZ_SAN) \
               $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
FUZZ_SRC     = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     = $(FUZZ_SRC:.c=)
FUZZ_OBJ     = $(patsubst lib/%.c,tests/fuzz/obj/%.o,$(LIB_SRC))
FUZZ_STAMP   = tests/fuzz/obj/.build-flags
FUZZ_TEXT    = $(subst ',,$(subst ",,$(FUZZ_CC) $(FUZZ_CFLAGS)))

$(FUZZ_STAMP): FORCE
	@mkdir -p tests/fuzz/obj
	@echo '$(FUZZ_TEXT)' | cmp -s - $@ || echo '$(FUZZ_TEXT)' > $@

tests/fuzz/obj/%.o: lib/%.c $(HEADERS) $(FUZZ_STAMP)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

tests/fuzz/obj/libsim.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^

tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/fuzz/obj/libsim.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< tests/fuzz/obj/libsim.a $(TEST_LIBS)

fuzz-build: $(FUZZ_BIN)

# Each harness for FUZZ_SECS seconds from its seeds; fails on any finding.
fuzz: fuzz-build
	@FUZZ_SECS=$(FUZZ_SECS) sh tests/fuzz/run.sh $(FUZZ_BIN)
.PHONY: fuzz fuzz-build
# ---- end of tests/fuzz ----

# The tests also need tools that are not libraries (a PostgreSQL server, sqlite3):
# deps.sh says "all present" at once when nothing is missing.
check: test-deps all $(UNIT_BIN) $(TOOLS)
	@sh tests/run.sh $(UNIT_BIN)

test-deps:
	@sh packaging/deps.sh
.PHONY: test-deps

unit: all $(UNIT_BIN)
	@SIMD_UNIT_ONLY=1 sh tests/run.sh $(UNIT_BIN)

demo: test-deps all
	@sh tests/demo.sh

# A long paced run on PostgreSQL under kill -9, server restarts, control traffic and SIGHUP,
# then a report (tests/README.md); not part of check.  SOAK_MINUTES (60), SOAK_AGENTS (10000), ...
soak: test-deps all tests/tools/rawsock tests/tools/substream
	@sh tests/soak.sh
.PHONY: soak

bench:
	@$(MAKE) --no-print-directory clean
	@$(MAKE) --no-print-directory OPT='-O3 -DNDEBUG -g' all bench/ctlprobe
	@sh bench/run.sh

install: all install-files install-examples

UNITS = simd.service simd@.service
# simd.conf as the systemd units want it on Linux (packaging/simd.conf.sed); elsewhere
# (launchd on macOS: no /run, no group simd) the example as it is.
ifeq ($(shell uname -s),Linux)
CONF_FILTER = sed -f packaging/simd.conf.sed
else
CONF_FILTER = cat
endif

# Only copies: the tests call it without rebuilding under other flags.
install-files:
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR) \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0755 simd $(DESTDIR)$(SBINDIR)/simd
	install -m 0755 simctl $(DESTDIR)$(BINDIR)/simctl
	install -m 0644 man/simctl.1 $(DESTDIR)$(MANDIR)/man1/simctl.1
	install -m 0644 man/simd.conf.5 $(DESTDIR)$(MANDIR)/man5/simd.conf.5
	install -m 0644 man/simd.8 $(DESTDIR)$(MANDIR)/man8/simd.8
	install -m 0644 etc/simd.conf $(DESTDIR)$(SYSCONFDIR)/simd.conf.example
	@# completion scripts made from simctl's own tables
	./simctl completion bash > $(DESTDIR)$(BASHCOMPDIR)/simctl
	./simctl completion zsh > $(DESTDIR)$(ZSHCOMPDIR)/_simctl
	chmod 0644 $(DESTDIR)$(BASHCOMPDIR)/simctl $(DESTDIR)$(ZSHCOMPDIR)/_simctl
	@# the service reads simd.conf: give it one, never overwriting the admin's
	test -e $(DESTDIR)$(SYSCONFDIR)/simd.conf || { \
	    $(CONF_FILTER) etc/simd.conf > $(DESTDIR)$(SYSCONFDIR)/simd.conf && \
	    chmod 0644 $(DESTDIR)$(SYSCONFDIR)/simd.conf; }
	for u in $(UNITS); do \
	    sed 's|@SBINDIR@|$(SBINDIR)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' packaging/$$u \
	        > $(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done

# contrib/shopd, an example: the reference shop backend and its contract (not in the
# Debian package, which installs with install-files).
install-examples:
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PREFIX)/share/doc/simd
	install -m 0755 contrib/shopd/shopd $(DESTDIR)$(BINDIR)/simd-shopd
	install -m 0644 docs/shop-api.md $(DESTDIR)$(PREFIX)/share/doc/simd/shop-api.md
.PHONY: install-examples

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/simd $(DESTDIR)$(BINDIR)/simctl \
	    $(DESTDIR)$(MANDIR)/man1/simctl.1 $(DESTDIR)$(MANDIR)/man5/simd.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/simd.8 $(DESTDIR)$(SYSCONFDIR)/simd.conf.example \
	    $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
	    $(DESTDIR)$(BASHCOMPDIR)/simctl $(DESTDIR)$(ZSHCOMPDIR)/_simctl
	rm -f $(DESTDIR)$(BINDIR)/simd-shopd $(DESTDIR)$(PREFIX)/share/doc/simd/shop-api.md

# The Debian package (debian/): dpkg-buildpackage leaves its output beside the tree;
# it is moved to dist/.  debian/rules runs "make clean" first and then builds with
# Debian's flags, so this removes the objects of an earlier build.
deb:
	@command -v dpkg-buildpackage >/dev/null 2>&1 && command -v dh >/dev/null 2>&1 || { \
	  echo "simd: dpkg-buildpackage or debhelper missing; running packaging/deps.sh"; \
	  sh packaging/deps.sh; }
	dpkg-buildpackage -us -uc -b
	v=$$(dpkg-parsechangelog -S Version) && mkdir -p dist && \
	    mv ../simd_$${v}_*.deb ../simd_$${v}_*.changes ../simd_$${v}_*.buildinfo dist/ && \
	    { ! ls ../simd-dbgsym_$${v}_*.deb >/dev/null 2>&1 || \
	      mv ../simd-dbgsym_$${v}_*.deb dist/; } && \
	    ls dist/simd_$${v}_*.deb

# every C file of the tree; tests/integration/format.sh checks them against .clang-format
FORMAT_SRC = $(sort $(wildcard lib/*.c daemon/*.c ctl/*.[ch] include/sim/*.h tests/unit/*.[ch] \
	tests/tools/*.c tests/fuzz/*.c contrib/shopd/*.[ch] bench/*.c))

format:
	clang-format -i $(FORMAT_SRC)

.PHONY: print-format-src
print-format-src:
	@echo $(FORMAT_SRC)

clean:
	rm -f lib/*.o lib/.commit lib/libsim.a daemon/*.o ctl/*.o simd simctl bench/ctlprobe $(UNIT_BIN) $(TOOLS) $(FLAGS_STAMP)
	rm -f contrib/shopd/*.o contrib/shopd/shopd
	rm -rf tests/fuzz/obj $(FUZZ_BIN)
