/* Refused renegotiations on open DTLS sessions; see emu_reneg.h. */
#include "emu_reneg.h"

#include "emu_events.h"
#include "emu_server.h"
#include "lh_addr.h"
#include "lh_event.h"

#define RENEG_CT_ALERT 21
#define RENEG_CT_CID 25
/* An alert in a tls12_cid record: 2 bytes + the inner content type,
 * padded to Mbed TLS's CID padding granularity (16). */
#define RENEG_CID_ALERT_MAX 16

/* Whether buf is one record holding an alert: its type says so, or (CID)
 * it is one record too short for anything but an alert. */
static int alert_only(struct emu_session *s, const uint8_t *buf, size_t len)
{
	unsigned char cid[MBEDTLS_SSL_CID_OUT_LEN_MAX];
	size_t cid_len = 0;
	int enabled = MBEDTLS_SSL_CID_DISABLED;
	if (len == 0 || (buf[0] != RENEG_CT_ALERT && buf[0] != RENEG_CT_CID))
		return 0;
	if (buf[0] == RENEG_CT_CID &&
	    mbedtls_ssl_get_peer_cid(&s->ssl, &enabled, cid, &cid_len) != 0)
		return 0;
	size_t hdr = 13 + cid_len;
	if (len < hdr || len != hdr + (((size_t)buf[hdr - 2] << 8) | buf[hdr - 1]))
		return 0;
	int expansion = mbedtls_ssl_get_record_expansion(&s->ssl);
	return buf[0] == RENEG_CT_ALERT ||
	       (expansion > 0 && len <= (size_t)expansion + RENEG_CID_ALERT_MAX);
}

void emu_reneg_note_output(struct emu_session *s, const uint8_t *buf, size_t len)
{
	if (s->state == EMU_SESS_OPEN && s->srv->current == s && alert_only(s, buf, len))
		s->alerts_in_read++;
}

int emu_reneg_read(struct emu_session *s, unsigned char *buf, size_t len)
{
	char peer[LH_ADDR_STRLEN];
	s->alerts_in_read = 0;
	s->srv->current = s;
	int ret = mbedtls_ssl_read(&s->ssl, buf, len);
	s->srv->current = NULL;
	if (s->alerts_in_read == 0 ||
	    (ret < 0 && ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE))
		return ret;
	lh_event_emitf("renegotiation_refused", "{s:I, s:s, s:s, s:o}", "session",
		       (json_int_t)s->id, "peer",
		       lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer)), "message",
		       "client_hello", "alert_sent",
		       emu_alert_json(MBEDTLS_SSL_ALERT_LEVEL_WARNING,
				      MBEDTLS_SSL_ALERT_MSG_NO_RENEGOTIATION));
	return ret;
}
