# tests/mutants/: deliberately broken variants of the reference layer, one
# behaviour each (see docs/mutants.md). Each lwm2m_mut_*.so statically contains
# the reference layer (its archive with sl_layer_entry renamed to
# mut_ref_layer_entry) and overrides one entry of the vtable.
#
#   make mutants         every mutant (and the reference layer) against the
#                        whole catalogue; prints the matrix, fails when a
#                        mutant is caught by no scenario or the reference fails
#   make mutants-smoke   each mutant against the scenarios listed for it in
#                        tests/mutants/smoke.list (the ones that caught it)
MUT_SRCS  := $(filter-out tests/mutants/mut_base.c,$(wildcard tests/mutants/mut_*.c))
MUT_NAMES := $(MUT_SRCS:tests/mutants/mut_%.c=%)
MUT_DIR   := $(BUILD)/mutants
MUT_REF   := $(MUT_DIR)/libref_layer.a
MUT_SOS   := $(MUT_NAMES:%=$(MUT_DIR)/lwm2m_mut_%.so)
# Scenarios mostly wait (timers, deadlines a mutant makes them wait out):
# the catalogue takes ~4 s of CPU in ~60 s at 2 jobs, so the full matrix
# runs 3 scenarios per core; mutants-smoke in make test keeps JOBS.
MUT_JOBS  ?= $(shell echo $$(( $(JOBS) * 3 )))

.PHONY: mutants mutants-build mutants-smoke
mutants-build: $(MUT_SOS)

# The reference layer, with its entry point renamed so that the mutant can
# export its own sl_layer_entry and still call the original.
$(MUT_REF): $(LAYER_LIB)
	@mkdir -p $(dir $@)
	objcopy --redefine-sym sl_layer_entry=mut_ref_layer_entry $< $@

$(MUT_DIR)/lwm2m_mut_%.so: $(OBJ)/tests/mutants/mut_%.o $(OBJ)/tests/mutants/mut_base.o \
		$(MUT_REF) $(COMMON_LIB) client_shim/layer.map
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -shared -Wl,--version-script=client_shim/layer.map -o $@ \
		$(filter %.o %.a,$^) $(MBEDTLS_LIBS)

mutants: deps
	@$(MAKE) --no-print-directory all certs mutants-build
	@bash tests/mutants/run-mutants.sh --build $(BUILD) --jobs $(MUT_JOBS)

mutants-smoke: deps
	@$(MAKE) --no-print-directory all certs mutants-build
	@bash tests/mutants/run-mutants.sh --build $(BUILD) --jobs $(JOBS) \
		--smoke tests/mutants/smoke.list
