# simd - a shopper simulation daemon.  Plain GNU make with pkg-config.

.DEFAULT_GOAL := all
VERSION    = 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system
DESTDIR   ?=

CC        ?= cc
PKG_CONFIG ?= pkg-config
PKGS       = libevent jansson sqlite3 libpq libcurl libcrypto
HAVE_SYSTEMD := $(shell $(PKG_CONFIG) --exists libsystemd 2>/dev/null && echo 1)
ifeq ($(HAVE_SYSTEMD),1)
PKGS      += libsystemd
SYSTEMD_CFLAGS = -DHAVE_SYSTEMD=1
endif

WARN      = -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
            -Wno-unused-parameter
OPT       ?= -O2 -g
CFLAGS    ?= $(OPT)
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) \
             -Iinclude -DSIMD_VERSION='"$(VERSION)"' $(SYSTEMD_CFLAGS) \
             $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS       = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm
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

.PHONY: all check unit integration demo bench install install-files uninstall clean format deps
all: deps-check simd simctl contrib/shopd/shopd

deps-check:
	@$(PKG_CONFIG) --exists $(PKGS) 2>/dev/null || { \
	  echo "simd: build dependencies missing; running packaging/deps.sh"; \
	  sh packaging/deps.sh; }
.PHONY: deps-check

%.o: %.c $(HEADERS) $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

lib/libsim.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

simd: $(SIMD_OBJ) lib/libsim.a
	$(CC) $(LDFLAGS) -o $@ $(SIMD_OBJ) lib/libsim.a $(LIBS)

simctl: $(CTL_OBJ) lib/libsim.a
	$(CC) $(LDFLAGS) -o $@ $(CTL_OBJ) lib/libsim.a $(LIBS)

tests/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) lib/libsim.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< lib/libsim.a $(LIBS)

TOOLS     = tests/tools/rawsock tests/tools/notifyrecv tests/tools/jwtmint

tests/tools/%: tests/tools/%.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

# ---- contrib/shopd: the reference shop backend of docs/shop-api.md ----
SHOPD_OBJ = $(patsubst %.c,%.o,$(sort $(wildcard contrib/shopd/*.c)))

contrib/shopd/%.o: contrib/shopd/%.c $(wildcard contrib/shopd/*.h) $(HEADERS) $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

contrib/shopd/shopd: $(SHOPD_OBJ) lib/libsim.a
	$(CC) $(LDFLAGS) -o $@ $(SHOPD_OBJ) lib/libsim.a $(LIBS)

tests/tools/jwtmint: tests/tools/jwtmint.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS)
# ---- end of contrib/shopd ----

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

bench:
	@$(MAKE) --no-print-directory clean
	@$(MAKE) --no-print-directory OPT='-O3 -DNDEBUG -g' all
	@sh bench/run.sh

install: all install-files

# Only copies: the tests call it without rebuilding under other flags.
install-files:
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR) \
	    $(DESTDIR)$(UNITDIR)
	install -m 0755 simd $(DESTDIR)$(SBINDIR)/simd
	install -m 0755 simctl $(DESTDIR)$(BINDIR)/simctl
	install -m 0644 man/simctl.1 $(DESTDIR)$(MANDIR)/man1/simctl.1
	install -m 0644 man/simd.conf.5 $(DESTDIR)$(MANDIR)/man5/simd.conf.5
	install -m 0644 man/simd.8 $(DESTDIR)$(MANDIR)/man8/simd.8
	install -m 0644 etc/simd.conf $(DESTDIR)$(SYSCONFDIR)/simd.conf.example
	@# the unit reads simd.conf: give it one, never overwriting the admin's
	test -e $(DESTDIR)$(SYSCONFDIR)/simd.conf || \
	    install -m 0644 etc/simd.conf $(DESTDIR)$(SYSCONFDIR)/simd.conf
	sed 's|@SBINDIR@|$(SBINDIR)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' packaging/simd.service \
	    > $(DESTDIR)$(UNITDIR)/simd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/simd.service
	@# contrib/shopd, an example: the reference shop backend and its contract
	install -d $(DESTDIR)$(PREFIX)/share/doc/simd
	install -m 0755 contrib/shopd/shopd $(DESTDIR)$(BINDIR)/simd-shopd
	install -m 0644 docs/shop-api.md $(DESTDIR)$(PREFIX)/share/doc/simd/shop-api.md

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/simd $(DESTDIR)$(BINDIR)/simctl \
	    $(DESTDIR)$(MANDIR)/man1/simctl.1 $(DESTDIR)$(MANDIR)/man5/simd.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/simd.8 $(DESTDIR)$(SYSCONFDIR)/simd.conf.example \
	    $(DESTDIR)$(UNITDIR)/simd.service
	rm -f $(DESTDIR)$(BINDIR)/simd-shopd $(DESTDIR)$(PREFIX)/share/doc/simd/shop-api.md

format:
	clang-format -i $(LIB_SRC) $(wildcard daemon/*.c ctl/*.c include/sim/*.h tests/unit/*.c)

clean:
	rm -f lib/*.o lib/libsim.a daemon/*.o ctl/*.o simd simctl $(UNIT_BIN) $(TOOLS) $(FLAGS_STAMP)
	rm -f contrib/shopd/*.o contrib/shopd/shopd
