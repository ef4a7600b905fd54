# fuzz/: libFuzzer targets (clang, Debian's libclang-rt-14-dev) over the real
# emulator and harness code. Every fuzz/fuzz_<target>.c is one target; the
# sources it exercises are compiled again with coverage, ASan and UBSan into
# $(BUILD)/fuzz/ (the normal build is left alone).
#
#   make fuzz-smoke            each target for FUZZ_SMOKE_S (10) seconds (CI), after
#                              replaying fuzz/regressions/<target>/; fails on a crash
#   make fuzz T=record S=600   one target for S seconds (long runs)
#   make fuzz-build            build the targets only
#
# Seeds: fuzz/corpus/<target>/ (read-only); what a run learns goes to
# $(BUILD)/fuzz/work/<target>/, crashes to $(BUILD)/fuzz/crashes/<target>/.
FUZZ_CC      ?= clang-14
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_OBJ     := $(FUZZ_DIR)/obj
FUZZ_SAN_OFF ?=
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all $(FUZZ_SAN_OFF)
FUZZ_CFLAGS   = $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) \
                -fsanitize=fuzzer-no-link -MMD -MP -I. -Icommon -Iserver -Iharness \
                $(MBEDTLS_CFLAGS) $(PKG_CFLAGS)
FUZZ_LDFLAGS := $(FUZZ_SAN) -fsanitize=fuzzer
FUZZ_SMOKE_S ?= 10
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

# The code under test: the emulator and harness libraries' sources (no main).
FUZZ_EMU_OBJS  := $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(EMU_SRCS) $(COMMON_SRCS))
FUZZ_HAR_OBJS  := $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(HAR_SRCS) $(COMMON_SRCS))
FUZZ_HELPERS   := $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(wildcard fuzz/fz_emu*.c))
# lwm2m-load's CoAP codec and value formats (fuzz_fleet*): no TLS needed.
FUZZ_FLEET_OBJS := $(patsubst %.c,$(FUZZ_OBJ)/%.o,bench/bl_coap.c bench/fl_fmt.c)

.PHONY: fuzz fuzz-build fuzz-smoke
# Objects and programs depend on a stamp named after the flags, so changing
# FUZZ_SAN_OFF or the compiler rebuilds everything. It is made while the
# Makefile is read: the top Makefile's .SECONDARY would otherwise let a
# missing stamp count as up to date.
FUZZ_STAMP := $(FUZZ_DIR)/.flags-$(shell echo '$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LDFLAGS)' | md5sum | cut -c1-12)
ifneq ($(filter fuzz%,$(MAKECMDGOALS)),)
$(shell mkdir -p $(FUZZ_DIR) && { test -f $(FUZZ_STAMP) || { rm -f $(FUZZ_DIR)/.flags-*; touch $(FUZZ_STAMP); }; })
endif

$(FUZZ_OBJ)/%.o: %.c $(FUZZ_STAMP) | $(MBEDTLS_OK)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

# Harness targets (fuzz_scenario*) link the harness, fleet ones (fuzz_fleet*)
# lwm2m-load's codec; the rest the emulator.
FUZZ_HAR_BINS := $(filter $(FUZZ_DIR)/fuzz_scenario%,$(FUZZ_BINS))
FUZZ_FLEET_BINS := $(filter $(FUZZ_DIR)/fuzz_fleet%,$(FUZZ_BINS))
FUZZ_EMU_BINS := $(filter-out $(FUZZ_HAR_BINS) $(FUZZ_FLEET_BINS),$(FUZZ_BINS))
$(FUZZ_FLEET_BINS): $(FUZZ_DIR)/fuzz_%: $(FUZZ_OBJ)/fuzz/fuzz_%.o $(FUZZ_FLEET_OBJS) $(FUZZ_STAMP)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $(filter %.o,$^)
$(FUZZ_HAR_BINS): $(FUZZ_DIR)/fuzz_%: $(FUZZ_OBJ)/fuzz/fuzz_%.o $(FUZZ_HAR_OBJS) $(FUZZ_STAMP)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS_ALL) -lpcap
$(FUZZ_EMU_BINS): $(FUZZ_DIR)/fuzz_%: $(FUZZ_OBJ)/fuzz/fuzz_%.o $(FUZZ_EMU_OBJS) $(FUZZ_HELPERS) $(FUZZ_STAMP)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS_ALL)

fuzz-build: $(FUZZ_BINS)

fuzz-smoke: fuzz-build
	@bash fuzz/run-fuzz.sh --smoke "$(FUZZ_DIR)" $(FUZZ_SMOKE_S) $(FUZZ_TARGETS)

fuzz:
	@test -n "$(T)" || { echo "usage: make fuzz T=<target> S=<seconds>  (targets: $(FUZZ_TARGETS))" >&2; exit 2; }
	@$(MAKE) --no-print-directory $(FUZZ_DIR)/fuzz_$(T)
	@bash fuzz/run-fuzz.sh --long "$(FUZZ_DIR)" $(or $(S),300) $(T)

-include $(shell find $(FUZZ_OBJ) -name '*.d' 2>/dev/null)
