#include "board.h"

/* PROTOCOL.md "Zones": a 4.7 kΩ pull-up to 5 V, 4.7 kΩ alarm and end-of-line
 * resistors. Normal is 2.5 V (512), alarm 3.33 V (682); the bands leave a
 * margin for resistor tolerance and long cables, and what falls between
 * them is a fault. */
uint8_t zone_band(uint16_t adc)
{
	if (adc < 205)
		return Z_SHORT;
	if (adc >= 410 && adc <= 613)
		return Z_NORMAL;
	if (adc >= 634 && adc <= 818)
		return Z_ALARM;
	if (adc > 921)
		return Z_CUT;
	return Z_FAULT;
}

static uint8_t lock_of(const struct board *b, uint8_t i)
{
	const struct lock_inputs *in = &b->lock_in[i];
	if (!in->cover_closed)
		return L_TAMPER;
	if (!in->door_closed)
		return L_OPEN;
	if (b->jammed[i])
		return L_JAMMED;
	return in->bolt_thrown ? L_LOCKED : L_UNLOCKED;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

void board_start(struct board *b)
{
	b->hello_due = 1;
	b->next_seq = 1;
	for (uint8_t i = 0; i < NZONES; i++)
		b->zone_state[i] = 0xFF; /* unknown: the first debounced reading is sent */
	for (uint8_t i = 0; i < NLOCKS; i++) {
		b->lock_state[i] = 0xFF; /* unknown: the first debounced reading is sent */
		b->lock_known[i] = 0;
	}
}

void board_tick(struct board *b, const uint16_t adc[NZONES], const struct lock_inputs in[NLOCKS])
{
	for (uint8_t i = 0; i < NZONES; i++) {
		uint8_t s = zone_band(adc[i]);
		if (s != b->zone_cand[i]) {
			b->zone_cand[i] = s;
			b->zone_count[i] = 0;
		}
		if (b->zone_count[i] < ZONE_DEBOUNCE)
			b->zone_count[i]++;
		if (b->zone_count[i] == ZONE_DEBOUNCE && s != b->zone_state[i]) {
			b->zone_state[i] = s;
			b->zone_adc[i] = adc[i];
			b->zone_due[i] = 1;
		}
	}
	for (uint8_t i = 0; i < NLOCKS; i++) {
		const struct lock_inputs *n = &in[i], *c = &b->lock_cand[i];
		if (n->bolt_thrown != c->bolt_thrown || n->door_closed != c->door_closed || n->cover_closed != c->cover_closed ||
		    n->battery_low != c->battery_low) {
			b->lock_cand[i] = *n;
			b->lock_count[i] = 0;
		}
		if (b->lock_count[i] < LOCK_DEBOUNCE)
			b->lock_count[i]++;
		if (b->lock_count[i] == LOCK_DEBOUNCE) {
			if (b->lock_cand[i].bolt_thrown != b->lock_in[i].bolt_thrown) {
				b->bolt_moved[i] = 1;
				b->jammed[i] = 0; /* the bolt moves: not jammed */
			}
			b->lock_in[i] = b->lock_cand[i];
			b->lock_known[i] = 1;
		}
		/* the end of a release pulse: jammed if the bolt never withdrew */
		if (b->pulse_until[i] && (int32_t)(b->now - b->pulse_until[i]) >= 0) {
			b->pulse_until[i] = 0;
			b->release(i, 0);
			if (!b->bolt_moved[i] && b->lock_in[i].bolt_thrown)
				b->jammed[i] = 1;
		}
		/* unknown until the first debounced reading: lock_in starts all
		 * zero, which reads as a cover open (issue 16: a false tamper at
		 * every boot) */
		if (!b->lock_known[i])
			continue;
		uint8_t s = lock_of(b, i);
		if (s != b->lock_state[i] || b->lock_in[i].battery_low != b->lock_low[i]) {
			b->lock_state[i] = s;
			b->lock_low[i] = b->lock_in[i].battery_low;
			b->lock_due[i] = 1;
		}
	}
}

static void refuse(struct board *b, uint8_t code, const struct frame *f, uint8_t detail)
{
	if (b->err_n >= sizeof b->err_q / sizeof b->err_q[0])
		return; /* the queue is full: the gateway's own retry will ask again */
	struct frame *e = &b->err_q[b->err_n++];
	e->type = T_ERROR;
	e->len = 4;
	e->payload[0] = code;
	e->payload[1] = f->type;
	e->payload[2] = f->seq;
	e->payload[3] = detail;
}

static void send_now(struct board *b, const struct frame *f)
{
	uint8_t buf[PROTO_MAX_ENCODED + 1];
	uint8_t n = (uint8_t)proto_encode(f, buf);
	b->send(buf, n);
}

static void carry_out(struct board *b, const struct frame *f)
{
	switch (f->type) {
	case T_UNLOCK: {
		uint8_t i = f->payload[0];
		uint16_t ms = (uint16_t)f->payload[1] << 8 | f->payload[2];
		if (i >= NLOCKS)
			refuse(b, E_NO_SUCH, f, i);
		else if (ms < 100 || ms > 10000)
			refuse(b, E_BAD_VALUE, f, 0);
		else if (b->pulse_until[i])
			refuse(b, E_BUSY, f, i);
		else {
			b->bolt_moved[i] = 0;
			b->pulse_until[i] = (b->now + ms) | 1; /* never 0 */
			b->release(i, 1);
		}
		break;
	}
	case T_RELAY: {
		uint8_t i = f->payload[0], on = f->payload[1];
		if (i >= NRELAYS)
			refuse(b, E_NO_SUCH, f, i);
		else if (on > 1)
			refuse(b, E_BAD_VALUE, f, on);
		else {
			b->relay[i] = on;
			b->set_relay(i, on);
		}
		break;
	}
	default:
		refuse(b, E_UNKNOWN_TYPE, f, 0); /* a frame the gateway should not send */
	}
}

static void received(struct board *b, const struct frame *f)
{
	if (f->type == T_ACK) {
		if (b->out_len && f->payload[0] == b->out_seq)
			b->out_len = 0; /* through */
		return;
	}
	if (f->type == T_SYNC) {
		b->host_last = 0;
		b->hello_due = 1;
		for (uint8_t i = 0; i < NZONES; i++)
			b->zone_due[i] = b->zone_state[i] != 0xFF;
		for (uint8_t i = 0; i < NLOCKS; i++)
			b->lock_due[i] = 1;
		return;
	}
	if (!f->seq)
		return; /* an unsequenced frame the board has no use for (HEARTBEAT) */
	uint8_t next = b->host_last == 255 ? 1 : b->host_last + 1;
	struct frame ack = {.type = T_ACK, .seq = 0, .len = 1, .payload = {f->seq}};
	if (b->host_last && f->seq == b->host_last) {
		b->dup++; /* our ACK was lost: again, without doing it twice */
		send_now(b, &ack);
		return;
	}
	if (b->host_last && f->seq != next) {
		b->dup++; /* replayed or stray */
		return;
	}
	b->host_last = f->seq;
	send_now(b, &ack);
	carry_out(b, f);
}

void board_rx(struct board *b, uint8_t c)
{
	struct frame f;
	enum proto_result res;
	if (!splitter_feed(&b->rx, c, &f, &res))
		return;
	if (res == PROTO_BAD_CRC)
		b->bad_crc++;
	else if (res != PROTO_OK)
		b->bad_frame++;
	else
		received(b, &f);
}

/* next_frame picks the next sequenced frame to send, if any. */
static int next_frame(struct board *b, struct frame *f)
{
	f->seq = b->next_seq;
	if (b->hello_due) {
		b->hello_due = 0;
		f->type = T_HELLO;
		f->len = 10;
		uint8_t *p = f->payload;
		p[0] = PROTO_VERSION, p[1] = FW_MAJOR, p[2] = FW_MINOR, p[3] = 7, p[4] = NZONES, p[5] = NLOCKS, p[6] = NRELAYS;
		p[7] = b->reset_cause;
		put16(p + 8, b->boots);
		return 1;
	}
	if (b->err_n) {
		*f = b->err_q[0];
		f->seq = b->next_seq;
		b->err_q[0] = b->err_q[1];
		b->err_n--;
		return 1;
	}
	for (uint8_t i = 0; i < NZONES; i++) {
		if (b->zone_due[i]) {
			b->zone_due[i] = 0;
			f->type = T_ZONE;
			f->len = 4;
			f->payload[0] = i;
			f->payload[1] = b->zone_state[i];
			put16(f->payload + 2, b->zone_adc[i]);
			return 1;
		}
	}
	for (uint8_t i = 0; i < NLOCKS; i++) {
		if (b->lock_due[i]) {
			b->lock_due[i] = 0;
			f->type = T_LOCK;
			f->len = 3;
			f->payload[0] = i;
			f->payload[1] = b->lock_state[i];
			f->payload[2] = b->lock_low[i];
			return 1;
		}
	}
	return 0;
}

void board_poll(struct board *b, uint32_t now)
{
	b->now = now;
	if (now - b->last_heartbeat >= HEARTBEAT_MS || !b->last_heartbeat) {
		b->last_heartbeat = now | 1;
		struct frame h = {.type = T_HEARTBEAT, .seq = 0, .len = 12};
		h.payload[0] = (uint8_t)(now >> 24), h.payload[1] = (uint8_t)(now >> 16);
		h.payload[2] = (uint8_t)(now >> 8), h.payload[3] = (uint8_t)now;
		put16(h.payload + 4, b->bad_crc);
		put16(h.payload + 6, b->bad_frame);
		put16(h.payload + 8, b->dup);
		put16(h.payload + 10, b->retx);
		send_now(b, &h);
	}
	if (b->out_len) {
		if (now - b->out_at >= RETRANSMIT_MS) {
			b->retx++;
			b->out_at = now;
			b->send(b->out_buf, b->out_len);
		}
		return;
	}
	struct frame f;
	if (!next_frame(b, &f))
		return;
	b->out_seq = f.seq;
	b->next_seq = b->next_seq == 255 ? 1 : b->next_seq + 1;
	b->out_len = (uint8_t)proto_encode(&f, b->out_buf);
	b->out_at = now;
	b->send(b->out_buf, b->out_len);
}
