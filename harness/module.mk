# harness/: lwm2m-harness. Every harness/*.c but the main goes into
# libharness.a, which the unit tests link against too.
HAR_MAIN := harness/har_main.c
HAR_SRCS := $(filter-out $(HAR_MAIN),$(wildcard harness/*.c))
HAR_LIB  := $(LIBDIR)/libharness.a
PART_LIBS += $(HAR_LIB)
PROGRAMS  += $(BIN)/lwm2m-harness

$(HAR_LIB): $(HAR_SRCS:%.c=$(OBJ)/%.o)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BIN)/lwm2m-harness: $(OBJ)/$(HAR_MAIN:.c=.o) $(HAR_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL) -lpcap

# The installed data dir (catalogue, schema), compiled into har_scenario.o;
# the stamp is rewritten only when it changes, so `make install PREFIX=...`
# rebuilds exactly that object.
HAR_DATADIR ?= $(PREFIX)/share/lwm2m-harness
HAR_DATADIR_STAMP := $(BUILD)/gen/har_datadir
$(HAR_DATADIR_STAMP): FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(HAR_DATADIR)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(OBJ)/harness/har_scenario.o: $(HAR_DATADIR_STAMP)
$(OBJ)/harness/har_scenario.o: PART_CFLAGS = -DHAR_DATADIR='"$(HAR_DATADIR)"'
