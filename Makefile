# lwm2m-harness: build, certificates, scenarios, tests.
#
# Non-recursive: each part contributes a fragment (server/module.mk, ...)
# that appends to the lists below. Everything goes to $(BUILD).
#
#   make              build the three programs into build/bin/
#   make scenarios    install missing deps, build, make certs, run the suite
#   make test         install missing deps, build, run every test
#   make deps         install missing dependencies (apt-get, as root)
#   make certs        generate the test PKI into build/certs/
#   make install      install programs (PREFIX, DESTDIR honoured)
#   make clean

BUILD    ?= build
BIN      := $(BUILD)/bin
OBJ      := $(BUILD)/obj
LIBDIR   := $(BUILD)/lib
PREFIX   ?= /usr/local
DESTDIR  ?=
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

CC       ?= cc
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror
OPT      ?= -O2 -g
SAN      ?=
PKGS     := libcoap-3-notls jansson libcbor libxml-2.0 libmicrohttpd

# Mbed TLS 3.6 with DTLS Connection ID. MBEDTLS_PREFIX points at another
# build of it (include/ and lib/ below it) when the system one lacks CID.
ifdef MBEDTLS_PREFIX
MBEDTLS_CFLAGS := -I$(MBEDTLS_PREFIX)/include
MBEDTLS_LIBS   := -L$(MBEDTLS_PREFIX)/lib -Wl,-rpath,$(abspath $(MBEDTLS_PREFIX)/lib) \
                  -lmbedtls -lmbedx509 -lmbedcrypto
else
MBEDTLS_CFLAGS :=
MBEDTLS_LIBS   := -lmbedtls -lmbedx509 -lmbedcrypto
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# PART_CFLAGS: set per object by a part's fragment (e.g. a generated header).
CFLAGS_ALL  = $(CSTD) $(WARN) $(OPT) $(SAN) -fPIC -MMD -MP -I. -Icommon \
              $(MBEDTLS_CFLAGS) $(PKG_CFLAGS) $(PART_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(SAN) $(LDFLAGS)
LIBS_ALL    = $(PKG_LIBS) $(MBEDTLS_LIBS) -lm $(LIBS)

# Parts append to these.
PROGRAMS  :=
SHLIBS    :=
UNIT_TESTS :=
PART_LIBS  :=
CLEAN_EXTRA :=

# The stamp names the prefix, so switching MBEDTLS_PREFIX checks again.
MBEDTLS_OK := $(BUILD)/.mbedtls-ok$(subst /,_,$(MBEDTLS_PREFIX))

.SECONDARY:
.PHONY: all deps certs scenarios test unit-tests-bin programs clean install asan asan-build FORCE
all: $(MBEDTLS_OK) programs

include common/module.mk
include server/module.mk
include client_shim/module.mk
include harness/module.mk
include certs/module.mk
include tests/module.mk
include avsnet/module.mk
# Optional parts own their fragments: tests/mutants/, fuzz/, bench/, ...
include $(sort $(wildcard tests/*/module.mk fuzz/module.mk bench/module.mk))

programs: $(PROGRAMS) $(SHLIBS)

# Refuse an Mbed TLS without what the product needs, with one clear message
# instead of a wall of compiler errors.
$(MBEDTLS_OK): scripts/check-mbedtls.c
	@mkdir -p $(BUILD)
	@if ! out=$$($(CC) $(CSTD) $(MBEDTLS_CFLAGS) -E scripts/check-mbedtls.c -o /dev/null 2>&1); then \
		echo "error: unusable Mbed TLS headers$(if $(MBEDTLS_PREFIX), in $(MBEDTLS_PREFIX)/include):" >&2; \
		echo "$$out" | sed -n 's/.*#error "\(.*\)"/  - \1/p; /No such file/s/^/  - /p' | sort -u >&2; \
		echo "Fix: run 'make deps' as root (installs Mbed TLS 3.6 from Debian trixie, pinned)," >&2; \
		echo "     or point MBEDTLS_PREFIX at an Mbed TLS >= 3.6 build with MBEDTLS_SSL_DTLS_CONNECTION_ID" >&2; \
		echo "     and MBEDTLS_SSL_CONTEXT_SERIALIZATION enabled." >&2; \
		exit 1; \
	fi
	@touch $@

$(OBJ)/%.o: %.c | $(MBEDTLS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

deps:
	@bash scripts/install-deps.sh

# The two entry points a fresh machine uses: each installs what is missing,
# builds, makes certificates and runs.
scenarios: deps
	@$(MAKE) --no-print-directory all certs
	$(BIN)/lwm2m-harness run --jobs $(JOBS) scenarios

# The build runs $(JOBS) compilers at a time (the normal, ASan, fuzz and
# mutant builds are independent). Its wall time and CPU (the shell's
# `times`) go to the runner's summary as BUILD_TIMES="NANOSECONDS USER SYS".
# The runner is on its own line, without $(MAKE), so that `make -n test`
# does not run it.
test: deps
	@mkdir -p $(BUILD) && t0=$$(date +%s%N) && \
	$(MAKE) -j$(JOBS) --no-print-directory all certs unit-tests-bin asan-build fuzz-build mutants-build && \
	times >$(BUILD)/.build-times && echo "$$t0 $$(date +%s%N)" >>$(BUILD)/.build-times
	@set -- $$(cat $(BUILD)/.build-times) && BUILD_TIMES="$$(($$6 - $$5)) $$3 $$4" \
	ASAN_BUILD=$(ASAN_BUILD) bash scripts/run-tests.sh $(BUILD)

# Everything built with ASan+UBSan into build/asan, then the scenario suite
# run with those programs: a sanitizer report or an unclean exit of the
# emulator or the shim fails its scenario (the harness checks both).
ASAN_BUILD := build/asan
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The sanitizer build shares the main build's test PKI (its ${certs}).
asan-build: certs
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" all
	@ln -sfn $(abspath $(CERTS_DIR)) $(ASAN_BUILD)/certs

asan: deps asan-build
	$(ASAN_ENV) $(ASAN_BUILD)/bin/lwm2m-harness run --jobs $(JOBS) --results results/asan scenarios

# make install [PREFIX=/usr/local] [DESTDIR=]: the three programs, the
# reference layer, the socket-layer header and its pkg-config file, man
# pages, and the data the harness needs (catalogue, schema, certificate
# generator) under share/lwm2m-harness, where the installed harness finds
# them with no flags (HAR_DATADIR, or next to the program for a DESTDIR or
# moved install). Test and mutant layers are not installed.
VERSION      := 0.1.0
INSTALL_BINS := $(BIN)/lwm2m-emulator $(BIN)/lwm2m-client-shim $(BIN)/lwm2m-harness \
                $(BIN)/lwm2m-load
INSTALL_DATA := $(DESTDIR)$(PREFIX)/share/lwm2m-harness
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lwm2m-harness \
		$(DESTDIR)$(PREFIX)/include/lwm2m $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(INSTALL_DATA)/certs
	install -m 0755 $(INSTALL_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(LAYER_SO) $(DESTDIR)$(PREFIX)/lib/lwm2m-harness/
	install -m 0644 client_shim/include/sl_layer.h $(DESTDIR)$(PREFIX)/include/lwm2m/
	sed 's/@VERSION@/$(VERSION)/' pkgconfig/lwm2m-socket-layer.pc.in \
		>$(DESTDIR)$(PREFIX)/lib/pkgconfig/lwm2m-socket-layer.pc
	install -m 0644 man/lwm2m-harness.1 man/lwm2m-client-shim.1 man/lwm2m-load.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/lwm2m-emulator.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	rm -rf $(INSTALL_DATA)/scenarios
	cp -R scenarios $(INSTALL_DATA)/scenarios
	install -m 0755 certs/gen-pki.sh $(INSTALL_DATA)/certs/
	install -m 0644 certs/pki.conf certs/x509.cnf certs/README.md $(INSTALL_DATA)/certs/

FORCE:

clean:
	rm -rf $(BUILD) $(CLEAN_EXTRA)

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
