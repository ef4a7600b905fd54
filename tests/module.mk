# tests/: cmocka unit tests. Each tests/unit/test_<name>.c is one binary,
# linked against every part's library, so a test can reach any module.
UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS     := $(UNIT_TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(PART_LIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< -Wl,--start-group $(PART_LIBS) $(COMMON_LIB) -Wl,--end-group \
		$(LIBS_ALL) -lpcap -ldl -lcmocka

unit-tests-bin: $(UNIT_TESTS)
