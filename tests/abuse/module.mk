# tests/abuse/: bounded flood and abuse checks of lwm2m-emulator on loopback
# (issue 7): spoofed ClientHello floods with cookies, amplification with and
# without cookies, garbage into a live CID session, control socket mode.
#   make abuse     build, then run tests/abuse/test-abuse.sh (TAP, < 90 s)
ABUSE_FLOOD := $(BUILD)/tests/abuse_flood
CTL_PIPE    := $(BUILD)/tests/ctl_pipe

$(ABUSE_FLOOD): $(OBJ)/tests/abuse/abuse_flood.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

$(CTL_PIPE): $(OBJ)/tests/abuse/ctl_pipe.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

# Built with the unit tests so that `make test` has them.
unit-tests-bin: $(ABUSE_FLOOD) $(CTL_PIPE)

.PHONY: abuse
abuse: all $(ABUSE_FLOOD) $(CTL_PIPE)
	@BUILD=$(BUILD) bash tests/abuse/test-abuse.sh
