# tests/abuse/: bounded flood and abuse checks of lwm2m-emulator on loopback
# (issue 7): spoofed ClientHello floods with cookies, amplification with and
# without cookies, garbage into a live CID session, control socket mode.
#   make abuse     build, then run tests/abuse/test-abuse.sh (TAP, < 90 s)
ABUSE_FLOOD := $(BUILD)/tests/abuse_flood

$(ABUSE_FLOOD): $(OBJ)/tests/abuse/abuse_flood.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

# Built with the unit tests so that `make test` has it.
unit-tests-bin: $(ABUSE_FLOOD)

.PHONY: abuse
abuse: all $(ABUSE_FLOOD)
	@BUILD=$(BUILD) bash tests/abuse/test-abuse.sh
