# tests/: cmocka unit tests. Each tests/unit/test_<prefix>_<topic>.c is one
# binary, linked against its part's library (by prefix) and common/, so a
# part's tests build even while another part is being changed.
UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS     := $(UNIT_TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_LINK = @mkdir -p $(dir $@); $(CC) $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) \
	-Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LIBS_ALL) -lpcap -ldl -lcmocka

$(BUILD)/tests/test_emu_%: $(OBJ)/tests/unit/test_emu_%.o $(EMU_LIB) $(COMMON_LIB)
	$(TEST_LINK)
$(BUILD)/tests/test_shim_%: $(OBJ)/tests/unit/test_shim_%.o $(SHIM_LIB) $(LAYER_LIB) $(COMMON_LIB)
	$(TEST_LINK)
$(BUILD)/tests/test_layer_%: $(OBJ)/tests/unit/test_layer_%.o $(LAYER_LIB) $(COMMON_LIB)
	$(TEST_LINK)
$(BUILD)/tests/test_har_%: $(OBJ)/tests/unit/test_har_%.o $(HAR_LIB) $(COMMON_LIB)
	$(TEST_LINK)
$(BUILD)/tests/test_fl_%: $(OBJ)/tests/unit/test_fl_%.o $(LIBDIR)/libfleet.a $(COMMON_LIB)
	$(TEST_LINK)
$(BUILD)/tests/test_common_%: $(OBJ)/tests/unit/test_common_%.o $(COMMON_LIB)
	$(TEST_LINK)

unit-tests-bin: $(UNIT_TESTS)
