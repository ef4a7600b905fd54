# certs/: the test PKI (see certs/README.md), generated into $(CERTS_DIR).
# gen-pki.sh itself decides whether $(CERTS_DIR) is current (same generator,
# config and openssl; every file present; nothing that should be valid
# expiring within RENEW_BEFORE_DAYS), so the target always runs it: when up to
# date that is a single index.json read. Expiry is a matter of the clock, not
# of file times, which is why this is not a plain file rule.
CERTS_DIR := $(BUILD)/certs
CERTS_GEN := certs/gen-pki.sh

.PHONY: certs certs-force test-certs
certs:
	@bash $(CERTS_GEN) $(CERTS_DIR)

# Regenerate now, whatever the state.
certs-force:
	@bash $(CERTS_GEN) --force $(CERTS_DIR)

# Checks of the PKI itself, including DTLS handshakes with Debian's libcoap.
test-certs: certs
	@bash tests/certs/test-pki.sh $(CERTS_DIR)

# tests/certs/pki_mbedtls_check.c: test-pki.sh asks Mbed TLS itself (the
# emulator's and reference layer's stack) about each chain and key. Built
# with the unit tests so that `make test` has it.
PKI_CHECK := $(BUILD)/tests/pki-mbedtls-check

$(PKI_CHECK): $(OBJ)/tests/certs/pki_mbedtls_check.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(MBEDTLS_LIBS)

unit-tests-bin: $(PKI_CHECK)
test-certs: $(PKI_CHECK)
