/* The board protocol (../PROTOCOL.md): frames, COBS, CRC-16. Plain C99 with
 * no AVR dependency, so the host tests build it too and feed it the shared
 * vectors (../testdata/vectors.txt). */
#ifndef ROOMGUARD_PROTO_H
#define ROOMGUARD_PROTO_H

#include <stdint.h>
#include <stddef.h>

#define PROTO_VERSION 1
#define PROTO_MAX_PAYLOAD 48
#define PROTO_MAX_FRAME (3 + PROTO_MAX_PAYLOAD + 2) /* 53 */
#define PROTO_MAX_ENCODED (PROTO_MAX_FRAME + 1)     /* 54, without the 0x00 */

enum proto_type {
	T_HELLO = 0x01,
	T_HEARTBEAT = 0x02,
	T_ZONE = 0x03,
	T_LOCK = 0x04,
	T_ERROR = 0x05,
	T_ACK = 0x06,
	T_UNLOCK = 0x10,
	T_RELAY = 0x11,
	T_SYNC = 0x12,
};

enum proto_result {
	PROTO_OK = 0,
	PROTO_BAD_FRAME = 1, /* COBS, length, version, type, seq */
	PROTO_BAD_CRC = 2,
};

struct frame {
	uint8_t type;
	uint8_t seq;
	uint8_t len;
	uint8_t payload[PROTO_MAX_PAYLOAD];
};

uint16_t proto_crc16(const uint8_t *b, size_t n);

/* proto_encode writes f as sent on the line (COBS, then 0x00) into out,
 * which holds PROTO_MAX_ENCODED + 1 bytes; it returns the length. */
size_t proto_encode(const struct frame *f, uint8_t *out);

/* proto_decode reads one encoded frame (without its 0x00) into f. */
enum proto_result proto_decode(const uint8_t *enc, size_t n, struct frame *f);

/* A splitter cuts the byte stream at each 0x00; an overlong run is thrown
 * away up to the next 0x00 and reported as a bad frame. */
struct splitter {
	uint8_t buf[PROTO_MAX_ENCODED];
	uint8_t n;
	uint8_t overlong;
};

/* splitter_feed takes one byte; at a delimiter it returns 1 with the
 * decoding's result in *res and the frame in *f, else 0. */
int splitter_feed(struct splitter *s, uint8_t c, struct frame *f, enum proto_result *res);

#endif
