/* fl_fleet: the fleet of virtual LwM2M devices behind lwm2m-load. N devices
 * live in one process and one epoll loop; a device is a compact record
 * (struct fl_dev, ~100 bytes) and, while idle, the serialized DTLS context
 * (mbedtls_ssl_context_save, a few hundred bytes): the ~38 KB live context is
 * only allocated while the device handshakes, sends or answers. With CID,
 * devices hold no socket when idle: their records go out of a small pool of
 * sockets (the server follows the address change by the CID, RFC 9146) and
 * come back tagged with the device's own 4-byte CID, which names it.
 * Reuses bench/'s Mbed TLS setup (bl_tls), CoAP codec (bl_coap),
 * percentiles (bl_stats) and /proc readers (bl_proc). */
#ifndef FL_FLEET_H
#define FL_FLEET_H

#include "bl_coap.h"
#include "fl_addr.h"
#include "bl_stats.h"
#include "bl_tls.h"

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

#define FL_CID_LEN 4	   /* the device's own CID: its index + 1, big-endian */
#define FL_LOCATION_MAX 32 /* Location-Path kept per device ("/rd/5a3f") */
#define FL_NO_POS UINT32_MAX

enum fl_state {
	FL_NEW,	      /* not started yet (ramp-up) */
	FL_HANDSHAKE, /* DTLS handshake (full, or the resumed one) */
	FL_REGISTER,  /* Register sent */
	FL_IDLE,      /* registered, nothing in flight: hibernated */
	FL_UPDATE,    /* Update (or re-Register) sent */
	FL_FAILED,    /* gave up; counted */
};

/* The operations whose latency is measured. */
enum fl_op { FL_OP_HANDSHAKE, FL_OP_RESUME, FL_OP_REGISTER, FL_OP_UPDATE, FL_OP_COUNT };

/* What a device does when its turn comes (--mix). */
enum fl_action { FL_ACT_UPDATE, FL_ACT_REREGISTER, FL_ACT_RECONNECT, FL_ACT_COUNT };

/* Device flags. */
#define FL_F_RESUME 0x01   /* in the --resume share */
#define FL_F_RESUMING 0x02 /* the second, abbreviated handshake is running */
#define FL_F_OBSERVED 0x04 /* the server observes one resource */
#define FL_F_REREG 0x08	   /* the request in flight is a re-Register */

/* Only while a device is awake: its Mbed TLS context and handshake bits. */
struct fl_live {
	mbedtls_ssl_context ssl;
	struct bl_timer timer;
	struct fl_fleet *f;
	struct fl_dev *d;
	mbedtls_ssl_session *resume; /* the first session, for the resumed handshake */
	int sent_cke;		     /* a ClientKeyExchange went out: a full handshake */
	int last_errno;		     /* of a failed send/recv (ECONNREFUSED: port closed) */
	int conf_slot;		     /* the config borrowed for the handshake, -1: none */
};

struct fl_dev {
	struct fl_live *live; /* NULL while hibernated */
	uint8_t *blob;	      /* mbedtls_ssl_context_save output while hibernated */
	int64_t op_start_us;
	int64_t wake_us; /* the request's next retransmission */
	uint32_t idx;
	uint32_t active_pos; /* in fleet->active, FL_NO_POS when not there */
	uint32_t obs_seq;
	int32_t fd; /* own socket (handshake; every state without CID), -1 */
	uint16_t blob_len;
	uint16_t mid;	  /* the last MID used */
	uint16_t req_mid; /* of the Register or Update in flight (its retransmissions) */
	uint16_t pool;	  /* the pool socket the device last sent from */
	uint8_t state, flags;
	uint8_t tries; /* retransmissions of the request in flight */
	uint8_t token[BL_COAP_TOKEN_LEN];
	uint8_t obs_token[8];
	uint8_t obs_token_len;
	uint16_t obs_cf;  /* the observation's Content-Format (fl_fmt.h) */
	uint16_t obs_mid; /* of the last notification: a Reset to it cancels */
	char location[FL_LOCATION_MAX];
	char obs_path[25]; /* "/65535/65535/65535/65535" at most */
};

/* Errors by class. */
struct fl_errors {
	uint64_t hs_timeout, hs_failed, alerts, refused, req_timeout, coap_4xx, coap_5xx, resets,
	    other;
	uint64_t unfinished; /* handshakes and requests still unanswered at the end */
};

struct fl_counts {
	uint64_t started, hs_full, hs_resumed, resume_refused, reg_ok, upd_ok, rereg_ok, reconnects,
	    reads, observes, cancels, notifies, hibernations, restores, unmatched, retransmits;
	uint64_t refused_reads;	     /* GETs answered 4.04 (not an LwM2M path) or 4.06 (format) */
	uint64_t lost_registrations; /* Updates answered 4.04, so Registered again */
	uint64_t cid_refused;	     /* handshakes the server finished without our CID */
	uint64_t observes_declined;  /* a second Observe: answered without Observe */
	uint32_t registered;	     /* devices registered now */
	uint32_t failed;	     /* devices that gave up */
	struct fl_errors err;
};

struct fl_opts {
	uint32_t n;	     /* devices */
	uint32_t rate;	     /* handshakes started per second (ramp-up) */
	uint32_t max_hs;     /* handshakes in flight at most */
	double duration_s;   /* whole run, ramp-up included */
	double update_rate;  /* Updates (and other --mix actions) per second, fleet-wide */
	double settle_s;     /* held after the run before RSS is read */
	double notify_s;     /* an observed device notifies every this many seconds */
	uint32_t resume_pct; /* share of devices whose first connection resumes */
	uint32_t mix[FL_ACT_COUNT];
	uint32_t pool_n;   /* pool sockets (CID) */
	uint32_t per_addr; /* handshake sockets per source address */
	uint32_t req_timeout_ms;
	uint32_t lifetime;
	uint32_t identities; /* PSK identities "ID-k" the devices share round robin; 0: ID */
	int cid;
	int nosec;	 /* --auth none: plain CoAP (fl_plain.c) */
	double steady_s; /* > 0: turns start once every device registered or
			  * failed, and go on for this long */
	pid_t server_pid;
	struct fl_addr server;		    /* IPv4 or IPv6, any address */
	struct fl_addr src_base, pool_base; /* len 0: the kernel picks (fl_net.c) */
	char server_text[64];		    /* "198.18.0.2:5684", "[::1]:5684" */
	const char *ep_prefix;
	const char *json_path;
	const char *auth_name;
};

struct fl_fleet;

/* How a device's CoAP travels: one table per security mode, picked by
 * --auth (fl_dtls.c: PSK or certificates over DTLS, with hibernation;
 * fl_plain.c: NoSec, plain CoAP). fl_dev.c, the LwM2M device, sees its
 * transport only through this table. */
struct fl_transport {
	/* The device has its own socket: start the handshake, or call
	 * fl_dev_connected at once. -1 with a message: the caller counts. */
	int (*connect)(struct fl_fleet *f, struct fl_dev *d);
	/* One CoAP message: 1 sent, 0 dropped (the kernel could not take it,
	 * as on a network), -1 failed (counted, printed as what). */
	int (*write)(struct fl_fleet *f, struct fl_dev *d, const uint8_t *buf, size_t len,
		     const char *what);
	/* Datagrams for the device: the handshake, or each message to
	 * fl_dev_coap. */
	void (*readable)(struct fl_fleet *f, struct fl_dev *d);
	/* Nothing in flight any more (DTLS: hibernate). */
	void (*sleep)(struct fl_fleet *f, struct fl_dev *d);
	/* Before the device sends on its own: 0, or -1 when it failed. */
	int (*wake)(struct fl_fleet *f, struct fl_dev *d);
	/* A handshake's retransmission timer may have fired. */
	void (*tick)(struct fl_fleet *f, struct fl_dev *d);
	/* Frees what the transport holds for the device (not the socket). */
	void (*drop)(struct fl_dev *d);
};

extern const struct fl_transport fl_dtls_transport;  /* fl_dtls.c */
extern const struct fl_transport fl_plain_transport; /* fl_plain.c */

struct fl_fleet {
	struct fl_opts o;
	const struct fl_transport *tr;
	struct bl_tls tls;
	/* --psk-identities: Mbed TLS takes a client's PSK identity from its
	 * config, so each handshake in flight borrows one of max_hs configs
	 * and sets its device's identity there; the key is the same. */
	mbedtls_ssl_config *confs;
	uint32_t *free_confs, n_free_confs;
	const char *psk_identity;
	int epfd;
	struct fl_dev *devs;
	int *pool_fd;
	uint32_t pool_next;
	uint32_t *active; /* devices with something in flight (timers) */
	uint32_t n_active;
	uint32_t in_hs; /* handshakes in flight */
	uint32_t launched;
	uint32_t upd_cursor, mix_cursor;
	int running;		    /* new operations may start */
	int64_t run_t0, ramp_t1;    /* start; all registered or failed (0: not yet) */
	int64_t turns_t0, turns_t1; /* when turns were on (0: never) */
	struct bl_stats lat[FL_OP_COUNT];
	struct fl_counts c;
	unsigned errors_printed;
	/* the datagram a pool socket delivered, for the device it names */
	const uint8_t *rx_buf;
	size_t rx_len;
};

/* fl_dev.c: one device. */
int fl_dev_start(struct fl_fleet *f, struct fl_dev *d);
/* For transports: the handshake (if any) is done; the device Registers. */
void fl_dev_connected(struct fl_fleet *f, struct fl_dev *d);
/* For transports: one CoAP message the server sent the device. */
void fl_dev_coap(struct fl_fleet *f, struct fl_dev *d, const uint8_t *buf, size_t len);
/* For transports: a device that gave up (error counted by the caller). */
void fl_dev_fail(struct fl_fleet *f, struct fl_dev *d);
void fl_dev_set_state(struct fl_fleet *f, struct fl_dev *d, enum fl_state s);
void fl_dev_readable(struct fl_fleet *f, struct fl_dev *d);
void fl_dev_tick(struct fl_fleet *f, struct fl_dev *d, int64_t now);
/* Its turn in the schedule: an action of the mix; 0 when it could start one. */
int fl_dev_act(struct fl_fleet *f, struct fl_dev *d, enum fl_action a);
void fl_dev_drop(struct fl_fleet *f, struct fl_dev *d);
void fl_error(struct fl_fleet *f, const struct fl_dev *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fl_net.c: sockets, the pool, the loop's input. */
/* Opens one socket the way a device would (its source, connected to the
 * server) and closes it: a source the host does not have fails here, once,
 * instead of in every device. -1 with errno. */
int fl_net_probe(const struct fl_opts *o);
int fl_net_init(struct fl_fleet *f);
void fl_net_free(struct fl_fleet *f);
int fl_net_own_socket(struct fl_fleet *f, struct fl_dev *d);
void fl_net_close_own(struct fl_fleet *f, struct fl_dev *d);
void fl_net_poll(struct fl_fleet *f, int timeout_ms);
void fl_active_add(struct fl_fleet *f, struct fl_dev *d);
void fl_active_del(struct fl_fleet *f, struct fl_dev *d);

/* fl_report.c: the table, the JSON file, the progress line. */
struct fl_report {
	double secs, ramp_secs, turn_secs;
	long server_rss_kb, server_rss0_kb, client_rss_kb;
	double client_cpu_s; /* the generator's own CPU time (user + system) */
	uint64_t unfinished;
	uint64_t blob_bytes;
	uint32_t hibernated;
};
uint64_t fl_errors_total(const struct fl_errors *e);
void fl_report_print(struct fl_fleet *f, const struct fl_report *r);
int fl_report_json(struct fl_fleet *f, const struct fl_report *r, const char *path);
void fl_progress(const struct fl_fleet *f, double secs, int final);

#endif
