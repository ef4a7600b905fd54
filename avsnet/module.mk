# avsnet/: the sl_layer.h host layer over avs_commons' avs_net (D)TLS sockets
# (docs/avsnet.md). Not part of `make all`: it needs an avs_commons tree.
#
#   make layer-avsnet AVS_COMMONS_SRC=path [AVSNET_BACKEND=mbedtls|openssl|custom]
#        [AVSNET_TLS_SRCS="tls_impl.c ..."] [AVSNET_TLS_CFLAGS=...] [AVSNET_TLS_LIBS=...]
#        [AVSNET_LACKS="cid context_resumption ..."] [AVSNET_NAME=dir] [AVSNET_LIB_MBEDTLS=1]
#   -> $(BUILD)/avsnet/$(AVSNET_NAME)/liblwm2m_layer_avsnet.so, for --layer
#
# AVSNET_BACKEND=custom builds avs_commons with WITH_CUSTOM_TLS=ON and links
# AVSNET_TLS_SRCS, which must define _avs_net_create_dtls_socket,
# _avs_net_create_ssl_socket, _avs_net_initialize_global_ssl_state and
# _avs_net_cleanup_global_ssl_state (avs_commons_config.h). AVSNET_LACKS
# names what the backend cannot do (sl_layer.h SL_LACKS_*, lower case).
AVS_COMMONS_SRC ?=
AVSNET_BACKEND  ?= mbedtls
AVSNET_NAME     ?= $(AVSNET_BACKEND)
AVSNET_TLS_SRCS ?=
AVSNET_TLS_CFLAGS ?=
AVSNET_TLS_LIBS ?=
AVSNET_LACKS_mbedtls := keylog
AVSNET_LACKS_openssl := cid context_resumption keylog
AVSNET_LACKS_custom  := keylog
AVSNET_LACKS    ?= $(AVSNET_LACKS_$(AVSNET_BACKEND))
AVSNET_LIBS_mbedtls := $(MBEDTLS_LIBS)
AVSNET_LIBS_openssl := -lssl -lcrypto
AVSNET_LIBS_custom  :=
# Whether AVS_NET_SSL_LIB_ERROR_CATEGORY codes are negated Mbed TLS codes
# (avs_commons' Mbed TLS socket); a custom backend built on Mbed TLS may say 1.
AVSNET_LIB_MBEDTLS ?= $(if $(filter mbedtls,$(AVSNET_BACKEND)),1,)

AVSNET_DIR   := $(BUILD)/avsnet/$(AVSNET_NAME)
AVSNET_AVS   := $(BUILD)/avsnet/avs_commons-$(AVSNET_BACKEND)
AVSNET_SO    := $(AVSNET_DIR)/liblwm2m_layer_avsnet.so
AVSNET_SRCS  := $(wildcard avsnet/layer_avsnet*.c)
AVSNET_OBJS  := $(AVSNET_SRCS:%.c=$(AVSNET_DIR)/obj/%.o)
AVSNET_TOBJS := $(foreach s,$(AVSNET_TLS_SRCS),$(AVSNET_DIR)/tls/$(notdir $(basename $(s))).o)
AVSNET_INC   := -isystem $(AVSNET_AVS)/include_public -isystem $(AVS_COMMONS_SRC)/include_public
AVSNET_SPACE := $(eval) $(eval)
AVSNET_LACKS_FLAGS := $(if $(strip $(AVSNET_LACKS)),$(subst $(AVSNET_SPACE),|,$(strip \
	$(foreach l,$(AVSNET_LACKS),SL_LACKS_$(shell echo $(l) | tr a-z A-Z)))),0)
AVSNET_DEFS  := -DLAYER_AVSNET_NAME='"avsnet-$(AVSNET_NAME)"' \
	-DLAYER_AVSNET_LACKS='($(AVSNET_LACKS_FLAGS))' $(if $(AVSNET_LIB_MBEDTLS),-DLAYER_AVSNET_LIB_MBEDTLS)

.PHONY: layer-avsnet avsnet-check avsnet-force
layer-avsnet: avsnet-check $(AVSNET_SO)
	@echo "avsnet: $(AVSNET_SO) (backend $(AVSNET_BACKEND), lacks: $(or $(AVSNET_LACKS),nothing))"

avsnet-check:
	@if [ -z "$(AVS_COMMONS_SRC)" ]; then \
		echo "avsnet: AVS_COMMONS_SRC is not set: name an unpacked avs_commons 5.x tree," >&2; \
		echo "        e.g. make layer-avsnet AVS_COMMONS_SRC=../avs_commons AVSNET_BACKEND=mbedtls" >&2; \
		exit 1; fi
	@if [ "$(AVSNET_BACKEND)" = custom ] && [ -z "$(strip $(AVSNET_TLS_SRCS))" ]; then \
		echo "avsnet: AVSNET_BACKEND=custom needs AVSNET_TLS_SRCS (your _avs_net_create_dtls_socket ...)" >&2; \
		exit 1; fi
	@for f in $(AVSNET_TLS_SRCS); do [ -f "$$f" ] || { \
		echo "avsnet: AVSNET_TLS_SRCS: $$f: no such file" >&2; exit 1; }; done

# avs_commons itself, cached by the script (same tree + backend: no work).
$(AVSNET_AVS)/stamp: avsnet-force | avsnet-check
	@bash avsnet/build-avs-commons.sh "$(AVS_COMMONS_SRC)" $(AVSNET_AVS) $(AVSNET_BACKEND)

$(AVSNET_DIR)/obj/%.o: %.c $(AVSNET_AVS)/stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(AVSNET_INC) $(AVSNET_DEFS) -c $< -o $@

# A team's own TLS sources: their code, built without our -Werror.
$(AVSNET_DIR)/tls/%.o: $(AVSNET_TLS_SRCS) $(AVSNET_AVS)/stamp
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(OPT) $(SAN) -fPIC -I. $(AVSNET_INC) $(AVSNET_TLS_CFLAGS) \
		-c $(firstword $(filter $*.c %/$*.c,$(AVSNET_TLS_SRCS))) -o $@

$(AVSNET_SO): $(AVSNET_OBJS) $(AVSNET_TOBJS) $(AVSNET_AVS)/stamp client_shim/layer.map
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -shared -Wl,--version-script=client_shim/layer.map -o $@ \
		$(AVSNET_OBJS) $(AVSNET_TOBJS) -Wl,--start-group $$(cat $(AVSNET_AVS)/libs) \
		-Wl,--end-group $(AVSNET_TLS_LIBS) $(AVSNET_LIBS_$(AVSNET_BACKEND)) -lpthread -lm -ldl
-include $(shell find $(BUILD)/avsnet -name "*.d" 2>/dev/null)
