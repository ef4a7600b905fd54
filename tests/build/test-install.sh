#!/usr/bin/env bash
# make install into a DESTDIR (temp): the programs, the reference layer, the
# socket-layer header and its pkg-config file, man pages and the data under
# share/lwm2m-harness, and no test or mutant layer. The installed harness
# finds its schema and catalogue with no flags (from an empty folder), lints
# the installed catalogue and runs one scenario; a trivial layer is built
# against the installed header with pkg-config and loaded by the installed
# shim. Output: TAP-style lines; exit non-zero on failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 failed=0
check() { # check DESCRIPTION COMMAND...
	n=$((n + 1))
	if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}
dest=$work/dest
prefix=/usr/local # the default: installing must not rebuild the tree's programs
p=$dest$prefix

timeout -k 5 300 make -C "$top" --no-print-directory -s BUILD="$BUILD" PREFIX="$prefix" \
	DESTDIR="$dest" install >"$work/install.log" 2>&1
status=$?
sed 's/^/# /' "$work/install.log" | tail -5
check "make install DESTDIR=... succeeds" test "$status" -eq 0
for f in bin/lwm2m-emulator bin/lwm2m-client-shim bin/lwm2m-harness \
	lib/lwm2m-harness/liblwm2m_layer_mbedtls.so include/lwm2m/sl_layer.h \
	lib/pkgconfig/lwm2m-socket-layer.pc share/lwm2m-harness/scenarios/schema.json \
	share/lwm2m-harness/certs/gen-pki.sh; do
	check "installed $f" test -s "$p/$f"
done
check "no test or mutant layer is installed" \
	test -z "$(find "$dest" -name '*nocid*' -o -name '*mutant*' -o -name 'libmut*')"
for m in man1/lwm2m-harness.1 man1/lwm2m-client-shim.1 man8/lwm2m-emulator.8; do
	name=$(basename "${m%.*}")
	check "man -l renders $m" grep -q "^NAME" <(MANWIDTH=80 man -l "$p/share/man/$m" 2>/dev/null | col -b)
	check "$m names $name" grep -q "$name" <(MANWIDTH=80 man -l "$p/share/man/$m" 2>/dev/null | col -b)
done

# From an empty folder (no ./scenarios): the installed catalogue and schema.
mkdir "$work/empty"
cd "$work/empty" || exit 1
H=$p/bin/lwm2m-harness
# ${certs} of an installed harness: with no --certs it makes its own PKI
# once, with the installed generator, in the user's cache folder (here a
# temp HOME); --certs still picks another one.
export HOME=$work/home XDG_CACHE_HOME=
mkdir -p "$HOME"
certs=()
"$H" list >"$work/list.log" 2>&1
check "installed harness lists its catalogue with no path or schema flag" \
	grep -q "share/lwm2m-harness/scenarios/handshake/psk-register-update-deregister.json" "$work/list.log"
check "... and made its PKI in ~/.cache/lwm2m-harness/certs" \
	test -s "$HOME/.cache/lwm2m-harness/certs/index.json"
check "... saying so once" grep -q "no test PKI in .* yet: making one" "$work/list.log"
"$H" lint "$p/share/lwm2m-harness/scenarios" >"$work/lint.log" 2>&1
status=$?
tail -1 "$work/lint.log" | sed 's/^/# /'
check "installed harness lints the installed catalogue with no flags" test "$status" -eq 0
check "... without making the PKI again" bash -c "! grep -q 'making one' '$work/lint.log'"
: >"$work/afile" # a file where a folder must go: no cache folder, even for root
HOME=$work/afile/home "$H" lint "$p/share/lwm2m-harness/scenarios" >"$work/lint-nocerts.log" 2>&1
check "an unwritable cache folder: lint says how to make a PKI" \
	grep -q "gen-pki.sh DIR and pass --certs DIR" "$work/lint-nocerts.log"
"$H" lint --certs "$BUILD/certs" "$p/share/lwm2m-harness/scenarios" >"$work/lint2.log" 2>&1
check "installed harness lints with --certs the build's PKI" test $? -eq 0
timeout -k 5 120 "$H" run "${certs[@]}" --results "$work/results" --name psk-register-update-deregister \
	>"$work/run.log" 2>&1
status=$?
tail -3 "$work/run.log" | sed 's/^/# /'
check "installed harness runs one scenario of its catalogue (no path, no schema)" \
	grep -q "^1 passed, 0 failed" "$work/run.log"
check "... and writes its report" test -s "$work/results/latest/report.html"

# A team's layer, built against the installed header with pkg-config.
# Every entry refuses: enough for the shim to load it and report its name.
cat >"$work/trivial_layer.c" <<'EOF'
#include "sl_layer.h"

static int t_create(sl_socket_t **out, const sl_config_t *config, sl_error_t *err)
{
	(void)config;
	(void)err;
	*out = 0;
	return -1;
}
static int t_connect(sl_socket_t *s, const char *host, const char *port, sl_error_t *err)
{
	(void)s, (void)host, (void)port, (void)err;
	return -1;
}
static int t_send(sl_socket_t *s, const void *buf, size_t len, sl_error_t *err)
{
	(void)s, (void)buf, (void)len, (void)err;
	return -1;
}
static int t_receive(sl_socket_t *s, void *buf, size_t size, size_t *out, sl_error_t *err)
{
	(void)s, (void)buf, (void)size, (void)out, (void)err;
	return -1;
}
static int t_close(sl_socket_t *s)
{
	(void)s;
	return 0;
}
static void t_cleanup(sl_socket_t **s)
{
	*s = 0;
}
static int t_fd(sl_socket_t *s)
{
	(void)s;
	return -1;
}
static int t_get(sl_socket_t *s, sl_option_t opt, sl_option_value_t *v)
{
	(void)s, (void)opt, (void)v;
	return -1;
}
static int t_set(sl_socket_t *s, sl_option_t opt, const sl_option_value_t *v)
{
	(void)s, (void)opt, (void)v;
	return -1;
}

static const sl_vtable_t vt = {SL_ABI_VERSION, sizeof(sl_vtable_t), "trivial-installed",
			       SL_LACKS_CID, t_create, t_connect, t_send, t_receive, t_close,
			       t_cleanup, t_fd, t_get, t_set};

const sl_vtable_t *sl_layer_entry(void)
{
	return &vt;
}
EOF
export PKG_CONFIG_PATH=$p/lib/pkgconfig
cflags=$(pkg-config --cflags lwm2m-socket-layer 2>&1 | sed 's/ *$//')
check "pkg-config finds lwm2m-socket-layer in the DESTDIR ($cflags)" \
	test -f "${cflags#-I}/sl_layer.h"
check "a trivial layer builds against the installed header" \
	cc $cflags -std=c11 -Wall -Wextra -Werror -shared -fPIC -o "$work/trivial.so" "$work/trivial_layer.c"
out=$(printf '{"cmd":"info","id":1}\n{"cmd":"quit","id":2}\n' |
	timeout -k 5 20 "$p/bin/lwm2m-client-shim" --layer "$work/trivial.so" 2>&1)
check "the installed shim loads it" grep -q '"layer":"trivial-installed"' <<<"$out"
exit $((failed > 0))
