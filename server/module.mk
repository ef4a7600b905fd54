# server/: lwm2m-emulator. Every server/*.c but the main goes into libemu.a,
# which the unit tests link against too, with the dashboard (server/www/)
# built in as a generated C table (scripts/embed-www.sh).
WWW_SRCS := $(sort $(wildcard server/www/*.html server/www/*.js server/www/*.css))
WWW_GEN  := $(BUILD)/gen/emu_www_data.c
EMU_MAIN := server/emu_main.c
EMU_SRCS := $(filter-out $(EMU_MAIN),$(wildcard server/*.c)) $(WWW_GEN)
EMU_LIB  := $(LIBDIR)/libemu.a
PART_LIBS += $(EMU_LIB)
PROGRAMS  += $(BIN)/lwm2m-emulator

$(WWW_GEN): $(WWW_SRCS) scripts/embed-www.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-www.sh $(WWW_SRCS) >$@.tmp && mv $@.tmp $@

$(EMU_LIB): $(EMU_SRCS:%.c=$(OBJ)/%.o)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BIN)/lwm2m-emulator: $(OBJ)/$(EMU_MAIN:.c=.o) $(EMU_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)
