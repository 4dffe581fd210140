/* What the board decides, apart from the hardware: zone bands and
 * debouncing, lock states, and the sending of sequenced frames (stop and
 * wait, the latest state of each zone and lock). Plain C99: the host tests
 * can build it; main.c ties it to the ATmega328P. */
#ifndef ROOMGUARD_BOARD_H
#define ROOMGUARD_BOARD_H

#include <stdint.h>
#include "proto.h"

#define FW_MAJOR 1
#define FW_MINOR 0
#define NZONES 4
#define NLOCKS 2
#define NRELAYS 2

#define TICK_MS 10         /* zones and locks are read every tick */
#define ZONE_DEBOUNCE 5    /* ticks in a row: 50 ms */
#define LOCK_DEBOUNCE 3    /* 30 ms */
#define HEARTBEAT_MS 500   /* PROTOCOL.md: at least every second */
#define RETRANSMIT_MS 200

enum zone_state { Z_NORMAL, Z_ALARM, Z_SHORT, Z_CUT, Z_FAULT };
enum lock_state { L_LOCKED, L_UNLOCKED, L_OPEN, L_JAMMED, L_TAMPER };
enum error_code { E_UNKNOWN_TYPE = 1, E_BAD_LENGTH = 2, E_NO_SUCH = 3, E_BAD_VALUE = 4, E_BUSY = 5 };

/* zone_band classifies a 10-bit reading (PROTOCOL.md "Zones"). */
uint8_t zone_band(uint16_t adc);

/* lock inputs, each true when its switch is closed */
struct lock_inputs {
	uint8_t bolt_thrown, door_closed, cover_closed, battery_low;
};

struct board {
	uint32_t now; /* ms */

	/* zones */
	uint16_t zone_adc[NZONES];
	uint8_t zone_state[NZONES], zone_cand[NZONES], zone_count[NZONES];
	/* locks */
	struct lock_inputs lock_in[NLOCKS], lock_cand[NLOCKS];
	uint8_t lock_count[NLOCKS];
	uint8_t lock_known[NLOCKS]; /* its inputs were debounced once since start */
	uint8_t lock_state[NLOCKS], lock_low[NLOCKS];
	uint8_t jammed[NLOCKS], bolt_moved[NLOCKS];
	uint32_t pulse_until[NLOCKS]; /* 0: not pulsing */
	uint8_t relay[NRELAYS];

	/* sending: what waits, and the one frame out */
	uint8_t hello_due, zone_due[NZONES], lock_due[NLOCKS];
	struct frame err_q[2];
	uint8_t err_n;
	uint8_t out_seq, next_seq;
	uint8_t out_buf[PROTO_MAX_ENCODED + 1], out_len;
	uint32_t out_at;

	/* receiving */
	struct splitter rx;
	uint8_t host_last; /* 0: none yet (after start or SYNC) */
	uint32_t last_heartbeat;

	/* counters (HEARTBEAT) */
	uint16_t bad_crc, bad_frame, dup, retx;

	/* HELLO */
	uint8_t reset_cause;
	uint16_t boots;

	/* the hardware side */
	void (*send)(const uint8_t *b, uint8_t n);
	void (*release)(uint8_t lock, uint8_t on);
	void (*set_relay)(uint8_t relay, uint8_t on);
};

void board_start(struct board *b);
/* board_tick feeds the readings of one tick (every TICK_MS). */
void board_tick(struct board *b, const uint16_t adc[NZONES], const struct lock_inputs in[NLOCKS]);
/* board_rx feeds one received byte. */
void board_rx(struct board *b, uint8_t c);
/* board_poll sends what is due; call it often with the time. */
void board_poll(struct board *b, uint32_t now);

#endif
