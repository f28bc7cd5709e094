/*
 * The milter protocol, version 6 as libmilter speaks it, MTA side: packets
 * we send are built here, and the filter's replies are framed and decoded
 * here with hard limits.  Pure code, no I/O, so the decoder can be fuzzed.
 * Trust boundary: a filter is a separate program behind a socket; every
 * reply octet is checked before the session acts on it.
 */
#ifndef RELAY_MILTER_PROTO_H
#define RELAY_MILTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define MILTER_VERSION 6
#define MILTER_CHUNK 65535 /* body chunk we send */
/* A packet's payload (command octet and data), both ways: 64 KiB. */
#define MILTER_PKT_MAX (1 + 65535)

/* Commands (MTA to filter). */
#define MILTER_C_ABORT 'A'
#define MILTER_C_BODY 'B'
#define MILTER_C_CONNECT 'C'
#define MILTER_C_MACRO 'D'
#define MILTER_C_EOB 'E'
#define MILTER_C_HELO 'H'
#define MILTER_C_HEADER 'L'
#define MILTER_C_MAIL 'M'
#define MILTER_C_EOH 'N'
#define MILTER_C_OPTNEG 'O'
#define MILTER_C_QUIT 'Q'
#define MILTER_C_RCPT 'R'
#define MILTER_C_DATA 'T'

/* Replies (filter to MTA). */
#define MILTER_R_ADDRCPT '+'
#define MILTER_R_DELRCPT '-'
#define MILTER_R_ADDRCPT_PAR '2'
#define MILTER_R_SHUTDOWN '4'
#define MILTER_R_ACCEPT 'a'
#define MILTER_R_REPLBODY 'b'
#define MILTER_R_CONTINUE 'c'
#define MILTER_R_DISCARD 'd'
#define MILTER_R_CHGFROM 'e'
#define MILTER_R_CONN_FAIL 'f'
#define MILTER_R_ADDHEADER 'h'
#define MILTER_R_INSHEADER 'i'
#define MILTER_R_SETSYMLIST 'l'
#define MILTER_R_CHGHEADER 'm'
#define MILTER_R_OPTNEG 'O'
#define MILTER_R_PROGRESS 'p'
#define MILTER_R_QUARANTINE 'q'
#define MILTER_R_REJECT 'r'
#define MILTER_R_SKIP 's'
#define MILTER_R_TEMPFAIL 't'
#define MILTER_R_REPLYCODE 'y'

/* Actions a filter may take at end of message (SMFIF_*). */
#define MILTER_A_ADDHDRS 0x001
#define MILTER_A_CHGBODY 0x002
#define MILTER_A_ADDRCPT 0x004
#define MILTER_A_DELRCPT 0x008
#define MILTER_A_CHGHDRS 0x010
#define MILTER_A_QUARANTINE 0x020
#define MILTER_A_CHGFROM 0x040
#define MILTER_A_ADDRCPT_PAR 0x080
#define MILTER_A_SETSYMLIST 0x100
#define MILTER_A_ALL 0x1ff /* what we offer */

/* Protocol steps the filter may skip or not answer (SMFIP_*). */
#define MILTER_P_NOCONNECT 0x000001
#define MILTER_P_NOHELO 0x000002
#define MILTER_P_NOMAIL 0x000004
#define MILTER_P_NORCPT 0x000008
#define MILTER_P_NOBODY 0x000010
#define MILTER_P_NOHDRS 0x000020
#define MILTER_P_NOEOH 0x000040
#define MILTER_P_NR_HDR 0x000080
#define MILTER_P_NOUNKNOWN 0x000100
#define MILTER_P_NODATA 0x000200
#define MILTER_P_SKIP 0x000400
#define MILTER_P_RCPT_REJ 0x000800
#define MILTER_P_NR_CONN 0x001000
#define MILTER_P_NR_HELO 0x002000
#define MILTER_P_NR_MAIL 0x004000
#define MILTER_P_NR_RCPT 0x008000
#define MILTER_P_NR_DATA 0x010000
#define MILTER_P_NR_UNKN 0x020000
#define MILTER_P_NR_EOH 0x040000
#define MILTER_P_NR_BODY 0x080000
#define MILTER_P_HDR_LEADSPC 0x100000
#define MILTER_P_ALL 0x1fffff /* what we offer: no bigger packets */

/* A packet being built: 4 octets of length, then the payload. */
struct milter_pkt {
	size_t len; /* octets in buf, length field included */
	int err; /* sticky: -E2BIG past MILTER_PKT_MAX */
	unsigned char buf[4 + MILTER_PKT_MAX];
};

void milter_pkt_start(struct milter_pkt *p, char cmd);
void milter_pkt_add(struct milter_pkt *p, const void *data, size_t len);
/* A string with its NUL. */
void milter_pkt_str(struct milter_pkt *p, const char *s);
void milter_pkt_u32(struct milter_pkt *p, uint32_t v);
void milter_pkt_u16(struct milter_pkt *p, uint16_t v);
/* Set the length field; 0, or the sticky -E2BIG. */
int milter_pkt_finish(struct milter_pkt *p);

/*
 * One decoded reply; pointers go into the caller's payload buffer.
 * s1/s2: the strings of the reply, each checked to end in a NUL inside
 * the packet.  For a reply code, s1 is the SMTP reply text and code its
 * number (421..554, the class matching 4 or 5).
 */
struct milter_reply {
	char cmd;
	uint32_t version, actions, protocol; /* OPTNEG */
	uint32_t index; /* INSHEADER, CHGHEADER */
	int code; /* REPLYCODE */
	const char *s1, *s2;
	const unsigned char *data; /* REPLBODY */
	size_t len;
};

/*
 * The payload length from a 4-octet length field: -EMSGSIZE for 0 or
 * more than MILTER_PKT_MAX (a filter cannot make us allocate or wait for
 * more), else 0 with *len set.
 */
int milter_frame_len(const unsigned char hdr[4], size_t *len);

/*
 * Decode one payload buf[0..len) (command octet first).  Every reply we
 * know is checked for its exact form: fixed fields present, strings NUL
 * terminated within the packet, no data where none belongs, a reply code
 * well formed.  Returns 0, or -EPROTO with *r unusable.
 */
int milter_reply_decode(
    const unsigned char *buf, size_t len, struct milter_reply *r);

#endif /* RELAY_MILTER_PROTO_H */
