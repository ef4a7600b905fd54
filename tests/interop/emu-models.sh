#!/usr/bin/env bash
# Object models of lwm2m-emulator (--models DIR, $.models; issue 13): the
# DDF files are read at start, and a bad one stops it with exit status 2
# and a message naming the file, the line and the element (from the flag
# and from a config file, with the JSON path); a DDF for a built-in object
# replaces it and says so (model_loaded event and its human line). The
# typed decoding itself is tested in tests/unit/test_emu_model.c (with the
# emulator end to end) and tests/interop/wakaama-client.sh (a real client).
#
# usage: tests/interop/emu-models.sh   (BUILD=build)
# TAP output ("ok N - ...", "not ok N - ..."); exit 1 if any check failed.
set -uo pipefail

# shellcheck source=tests/interop/lib.bash
source "$(dirname "$0")/lib.bash"

N=0
pass() {
	N=$((N + 1))
	printf 'ok %d - %s\n' "$N" "$1"
	PASSED=$((PASSED + 1))
}
fail() {
	N=$((N + 1))
	printf 'not ok %d - %s\n' "$N" "$1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | head -8 | sed 's/^/  # /'
	FAILED=$((FAILED + 1))
}
finish() {
	echo "1..$N"
	echo "# $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# item ID TYPE: one <Item> of a DDF.
item() {
	printf '<Item ID="%s"><Name>r%s</Name><Operations>R</Operations>' "$1" "$1"
	printf '<MultipleInstances>Single</MultipleInstances><Type>%s</Type></Item>\n' "$2"
}
# ddf ID NAME ITEMS: a DDF file's text (the <Resources> on line 4).
ddf() {
	printf '<?xml version="1.0"?>\n<LWM2M>\n<Object><Name>%s</Name><ObjectID>%s</ObjectID>' "$2" "$1"
	printf '<MultipleInstances>Single</MultipleInstances>\n<Resources>\n%s</Resources></Object></LWM2M>\n' "$3"
}

# refused WHAT EXPECT ARGS...: the emulator exits 2 at start and its error
# contains EXPECT (a fixed string).
refused() {
	local expect=$1 out rc
	shift
	out=$(timeout 10 "$EMULATOR" --bind 127.0.0.1 --coap-port off --dtls-port 0 \
		--tls-port off "$@" 2>&1)
	rc=$?
	[ "$rc" -eq 2 ] || {
		echo "exit status $rc, expected 2; output: $out"
		return 1
	}
	grep -qF -- "$expect" <<<"$out" || {
		echo "expected '$expect' in: $out"
		return 1
	}
}

[ -x "$EMULATOR" ] || {
	fail "$EMULATOR built" "run: make BUILD=$BUILD all"
	finish
	exit 1
}

out=$("$EMULATOR" --models tests/models --print-config 2>&1)
check "--models tests/models: both DDFs load, --print-config names the directory" \
	jq -e '.models == "tests/models"' <<<"$out"

mkdir -p "$TMP/badtype" "$TMP/noname" "$TMP/broken" "$TMP/override" "$TMP/empty"
ddf 40000 Bad "$(item 1 Float)
$(item 2 Flot)" >"$TMP/badtype/40000.xml"
check "a <Type> the OMA schema lacks: exit 2 naming file, line 6 and <Type>" \
	refused "--models: $TMP/badtype/40000.xml:6: <Type>: expected String, Integer" \
	--models "$TMP/badtype"
printf '<LWM2M>\n<Object>\n<ObjectID>1</ObjectID>\n</Object></LWM2M>\n' >"$TMP/noname/x.xml"
check "an <Object> without <Name>: exit 2 naming file, line 2 (<Object>) and the missing element" \
	refused "$TMP/noname/x.xml:2: <Object>: missing its required <Name> element" \
	--models "$TMP/noname"
printf '<LWM2M>\n<Object>\n' >"$TMP/broken/x.xml"
check "XML that does not parse: exit 2 with libxml2's reason and line" \
	refused "$TMP/broken/x.xml:3: XML: Premature end of data" --models "$TMP/broken"
check "an empty directory: exit 2 (a wrong --models must not pass silently)" \
	refused "no *.xml DDF files" --models "$TMP/empty"
echo "{\"models\": \"$TMP/badtype\"}" >"$TMP/cfg.json"
check "\$.models in a config file: exit 2 naming the file, the JSON path and the DDF line" \
	refused "$TMP/cfg.json: \$.models: $TMP/badtype/40000.xml:6: <Type>" --config "$TMP/cfg.json"
echo '{"models": 7}' >"$TMP/cfg7.json"
check "\$.models not a string: exit 2 naming the JSON path" \
	refused "\$.models: expected a non-empty string" --config "$TMP/cfg7.json"

ddf 3 "Plant Device" "$(item 0 Integer)" >"$TMP/override/device.xml"
if start_emulator --models "$TMP/override" >"$TMP/start.out" 2>&1; then
	check "a DDF for object 3 overrides the built-in model: model_loaded event says so" \
		jq -e -s 'any(.[]; .event == "model_loaded" and .object == 3 and
		 .name == "Plant Device" and .overrides == "built-in model")' "$EVENTS"
	check "... and the human log line says so too" \
		grep -q 'model_loaded .*object=3 .*overrides=built-in model' "$TMP/emulator.log"
else
	fail "start lwm2m-emulator with a DDF for object 3" "$(cat "$TMP/start.out")"
fi
stop_emulator
finish
