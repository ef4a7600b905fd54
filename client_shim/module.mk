# client_shim/: the socket-layer ABI (include/), the Mbed TLS reference layer
# (linked into the shim and also built as a loadable .so) and lwm2m-client-shim.
SHIM_MAIN   := client_shim/shim_main.c
LAYER_SRCS  := $(wildcard client_shim/layer_mbedtls*.c)
SHIM_SRCS   := $(filter-out $(SHIM_MAIN) $(LAYER_SRCS),$(wildcard client_shim/*.c))
SHIM_LIB    := $(LIBDIR)/libshim.a
LAYER_LIB   := $(LIBDIR)/liblayer_mbedtls.a
LAYER_SO    := $(LIBDIR)/liblwm2m_layer_mbedtls.so
PART_LIBS   += $(SHIM_LIB) $(LAYER_LIB)
NOCID_SO    := $(LIBDIR)/liblwm2m_layer_nocid.so
PROGRAMS    += $(BIN)/lwm2m-client-shim
SHLIBS      += $(LAYER_SO) $(NOCID_SO)

$(SHIM_LIB): $(SHIM_SRCS:%.c=$(OBJ)/%.o)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LAYER_LIB): $(LAYER_SRCS:%.c=$(OBJ)/%.o)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LAYER_SO): $(LAYER_SRCS:%.c=$(OBJ)/%.o) $(COMMON_LIB) client_shim/layer.map
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -shared -Wl,--version-script=client_shim/layer.map -o $@ \
		$(filter %.o %.a,$^) $(MBEDTLS_LIBS)

$(BIN)/lwm2m-client-shim: $(OBJ)/$(SHIM_MAIN:.c=.o) $(SHIM_LIB) $(LAYER_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -rdynamic -o $@ $^ $(LIBS_ALL) -ldl

# A layer derived from the reference one that lacks CID (testlayer/): the
# harness and the interop tests use it to check "unsupported" becomes a skip.
$(NOCID_SO): $(OBJ)/client_shim/testlayer/layer_nocid.o \
		$(filter-out %/layer_mbedtls_entry.o,$(LAYER_SRCS:%.c=$(OBJ)/%.o)) $(COMMON_LIB) \
		client_shim/layer.map
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -shared -Wl,--version-script=client_shim/layer.map -o $@ \
		$(filter %.o,$^) $(COMMON_LIB) $(MBEDTLS_LIBS)
