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
