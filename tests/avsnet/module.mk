# tests/avsnet/: the catalogue against avs_commons' own avs_net layers and a
# custom backend (tests/avsnet/test-avsnet.sh, docs/avsnet.md).
#
# The custom backend test (custom_forget_resume.c) forwards to avs_commons'
# Mbed TLS socket loaded from this shared object: the whole avs_net of the
# Mbed TLS build, exported, so that it can live beside the custom build's
# own avs_net in one process (dlopen RTLD_LOCAL; -Bsymbolic binds it to itself).
AVSNET_INNER := $(BUILD)/avsnet/inner/libavs_net_mbedtls_inner.so

.PHONY: avsnet-inner
avsnet-inner: $(AVSNET_INNER)

$(AVSNET_INNER): $(BUILD)/avsnet/avs_commons-mbedtls/stamp
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -shared -Wl,-Bsymbolic -o $@ -Wl,--whole-archive \
		$$(cat $(BUILD)/avsnet/avs_commons-mbedtls/libs) -Wl,--no-whole-archive \
		$(MBEDTLS_LIBS) -lpthread -lm
