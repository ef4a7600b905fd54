/* Preprocessed (never compiled) by the Makefile before any build: it stops
 * the build with one readable line per missing Mbed TLS feature. */
#include <mbedtls/version.h>

#if !defined(MBEDTLS_VERSION_NUMBER) || MBEDTLS_VERSION_NUMBER < 0x03060000
#error "Mbed TLS older than 3.6 found (Debian bookworm ships 2.28, which has no Connection ID); 3.6 or newer is required"
#else
#include <mbedtls/build_info.h>
#if !defined(MBEDTLS_SSL_DTLS_CONNECTION_ID)
#error "MBEDTLS_SSL_DTLS_CONNECTION_ID (RFC 9146 Connection ID) is not enabled"
#endif
#if !defined(MBEDTLS_SSL_CONTEXT_SERIALIZATION)
#error "MBEDTLS_SSL_CONTEXT_SERIALIZATION (needed to save CID sessions) is not enabled"
#endif
#if !defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY) || !defined(MBEDTLS_SSL_COOKIE_C)
#error "MBEDTLS_SSL_DTLS_HELLO_VERIFY and MBEDTLS_SSL_COOKIE_C (HelloVerifyRequest cookies) are not enabled"
#endif
#endif
