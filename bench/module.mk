# bench/: load generator and in-memory handshake bound (see bench/README.md).
#   make bench        build, make certs, run bench/run-bench.sh (prints a table)
# BENCH_SCALE=N multiplies the sessions and durations of `make bench`.
BENCH_LOAD  := $(BIN)/bench_load
BENCH_BOUND := $(BIN)/bench_bound
BENCH_COMMON := $(addprefix $(OBJ)/bench/,bl_tls.o)
BENCH_LOAD_OBJS := $(addprefix $(OBJ)/bench/,bench_load.o bl_client.o bl_coap.o bl_proc.o \
	bl_stats.o bl_ivl.o) $(BENCH_COMMON)

# lwm2m-load: the fleet mode (N virtual devices), on the same bl_* modules.
# A user-facing program: built by `make` and installed with the others.
LWM2M_LOAD := $(BIN)/lwm2m-load
PROGRAMS += $(LWM2M_LOAD)
LWM2M_LOAD_OBJS := $(addprefix $(OBJ)/bench/,lwm2m_load.o fl_dev.o fl_dtls.o fl_plain.o \
	fl_addr.o fl_fmt.o fl_net.o fl_report.o \
	bl_client.o bl_coap.o bl_proc.o bl_stats.o) $(BENCH_COMMON)

# The fleet without its main(), for tests/unit/test_fl_*.c.
FLEET_LIB := $(LIBDIR)/libfleet.a
$(FLEET_LIB): $(filter-out %/lwm2m_load.o,$(LWM2M_LOAD_OBJS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LWM2M_LOAD): $(LWM2M_LOAD_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(MBEDTLS_LIBS)

$(BENCH_LOAD): $(BENCH_LOAD_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(MBEDTLS_LIBS)

$(BENCH_BOUND): $(OBJ)/bench/bench_bound.o $(BENCH_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(MBEDTLS_LIBS)

# Built with the unit tests so that `make test` has them for the smoke test.
unit-tests-bin: $(BENCH_LOAD) $(BENCH_BOUND) $(LWM2M_LOAD)

.PHONY: bench bench-build
bench-build: all certs $(BENCH_LOAD) $(BENCH_BOUND) $(LWM2M_LOAD)

bench: deps
	@$(MAKE) --no-print-directory bench-build
	@BUILD=$(BUILD) bash bench/run-bench.sh
