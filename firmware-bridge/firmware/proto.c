#include "proto.h"

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF; check("123456789") = 0x29B1. */
uint16_t proto_crc16(const uint8_t *b, size_t n)
{
	uint16_t crc = 0xFFFF;
	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)b[i] << 8;
		for (uint8_t k = 0; k < 8; k++)
			crc = (crc & 0x8000) ? (uint16_t)(crc << 1) ^ 0x1021 : (uint16_t)(crc << 1);
	}
	return crc;
}

/* the payload length and whether a seq is carried, per type; -1: unknown */
static int spec(uint8_t type, uint8_t *sequenced)
{
	switch (type) {
	case T_HELLO: *sequenced = 1; return 10;
	case T_HEARTBEAT: *sequenced = 0; return 12;
	case T_ZONE: *sequenced = 1; return 4;
	case T_LOCK: *sequenced = 1; return 3;
	case T_ERROR: *sequenced = 1; return 4;
	case T_ACK: *sequenced = 0; return 1;
	case T_UNLOCK: *sequenced = 1; return 3;
	case T_RELAY: *sequenced = 1; return 2;
	case T_SYNC: *sequenced = 0; return 0;
	}
	return -1;
}

size_t proto_encode(const struct frame *f, uint8_t *out)
{
	uint8_t raw[PROTO_MAX_FRAME];
	size_t n = 0;
	raw[n++] = PROTO_VERSION;
	raw[n++] = f->type;
	raw[n++] = f->seq;
	for (uint8_t i = 0; i < f->len && i < PROTO_MAX_PAYLOAD; i++)
		raw[n++] = f->payload[i];
	uint16_t crc = proto_crc16(raw, n);
	raw[n++] = (uint8_t)(crc >> 8);
	raw[n++] = (uint8_t)crc;

	/* COBS (Cheshire & Baker 1999); a frame is far shorter than one 254-byte block */
	size_t o = 0, code = o++;
	uint8_t run = 1;
	for (size_t i = 0; i < n; i++) {
		if (raw[i] == 0) {
			out[code] = run;
			code = o++;
			run = 1;
		} else {
			out[o++] = raw[i];
			run++;
		}
	}
	out[code] = run;
	out[o++] = 0;
	return o;
}

enum proto_result proto_decode(const uint8_t *enc, size_t n, struct frame *f)
{
	uint8_t raw[PROTO_MAX_FRAME];
	size_t r = 0;
	if (n > PROTO_MAX_ENCODED)
		return PROTO_BAD_FRAME;
	for (size_t i = 0; i < n;) {
		uint8_t code = enc[i];
		if (code == 0 || i + code > n)
			return PROTO_BAD_FRAME;
		for (size_t k = i + 1; k < i + code; k++) {
			if (enc[k] == 0 || r >= sizeof raw)
				return PROTO_BAD_FRAME;
			raw[r++] = enc[k];
		}
		i += code;
		if (code < 0xFF && i < n) {
			if (r >= sizeof raw)
				return PROTO_BAD_FRAME;
			raw[r++] = 0;
		}
	}
	if (r < 5)
		return PROTO_BAD_FRAME;
	uint16_t crc = (uint16_t)raw[r - 2] << 8 | raw[r - 1];
	if (crc != proto_crc16(raw, r - 2))
		return PROTO_BAD_CRC;
	uint8_t sequenced;
	int want = spec(raw[1], &sequenced);
	size_t len = r - 5;
	if (raw[0] != PROTO_VERSION || want < 0 || (size_t)want != len || sequenced != (raw[2] != 0))
		return PROTO_BAD_FRAME;
	f->type = raw[1];
	f->seq = raw[2];
	f->len = (uint8_t)len;
	for (size_t i = 0; i < len; i++)
		f->payload[i] = raw[3 + i];
	return PROTO_OK;
}

int splitter_feed(struct splitter *s, uint8_t c, struct frame *f, enum proto_result *res)
{
	if (c != 0) {
		if (s->n < sizeof s->buf)
			s->buf[s->n++] = c;
		else
			s->overlong = 1;
		return 0;
	}
	int got = 1;
	if (s->overlong)
		*res = PROTO_BAD_FRAME;
	else if (s->n > 0)
		*res = proto_decode(s->buf, s->n, f);
	else
		got = 0; /* line idle between two delimiters */
	s->n = 0;
	s->overlong = 0;
	return got;
}
