/* Host tests of board.c's decisions (built and run by firmware_test.go). */
#include <stdio.h>
#include <string.h>
#include "board.h"

static int failed, passed;

#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		if (cond) {                                                                                            \
			passed++;                                                                                      \
		} else {                                                                                               \
			failed++;                                                                                      \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                    \
			printf(__VA_ARGS__);                                                                           \
			printf("\n");                                                                                  \
		}                                                                                                      \
	} while (0)

static void no_send(const uint8_t *b, uint8_t n) { (void)b, (void)n; }
static void no_out(uint8_t i, uint8_t on) { (void)i, (void)on; }

static void boot(struct board *b)
{
	memset(b, 0, sizeof *b);
	b->send = no_send;
	b->release = no_out;
	b->set_relay = no_out;
	board_start(b);
}

/* Issue 16: after a power cycle or a watchdog reset every lock was reported
 * as L_TAMPER (cover open) on the first tick, before its inputs were
 * debounced. A lock now waits for its first debounced reading, as a zone
 * does. */
static void test_boot_waits_for_debounced_locks(void)
{
	struct board b;
	boot(&b);
	const uint16_t adc[NZONES] = {512, 512, 512, 512};
	const struct lock_inputs shut[NLOCKS] = {{1, 1, 1, 0}, {1, 1, 1, 0}};
	for (int t = 1; t < LOCK_DEBOUNCE; t++) {
		b.now += TICK_MS;
		board_tick(&b, adc, shut);
		for (int i = 0; i < NLOCKS; i++)
			CHECK(!b.lock_due[i], "tick %d: lock %d due (state %d) before its inputs are debounced", t, i, b.lock_state[i]);
	}
	b.now += TICK_MS;
	board_tick(&b, adc, shut);
	for (int i = 0; i < NLOCKS; i++) {
		CHECK(b.lock_due[i], "lock %d not due once debounced", i);
		CHECK(b.lock_state[i] == L_LOCKED, "lock %d state %d, want locked", i, b.lock_state[i]);
	}
}

/* A cover really open at boot is told once debounced. */
static void test_boot_with_a_cover_open(void)
{
	struct board b;
	boot(&b);
	const uint16_t adc[NZONES] = {512, 512, 512, 512};
	const struct lock_inputs in[NLOCKS] = {{1, 1, 0, 0}, {1, 1, 1, 0}};
	for (int t = 0; t < LOCK_DEBOUNCE; t++) {
		b.now += TICK_MS;
		board_tick(&b, adc, in);
	}
	CHECK(b.lock_due[0] && b.lock_state[0] == L_TAMPER, "lock 0 state %d due %d, want tamper", b.lock_state[0], b.lock_due[0]);
	CHECK(b.lock_due[1] && b.lock_state[1] == L_LOCKED, "lock 1 state %d due %d, want locked", b.lock_state[1], b.lock_due[1]);
}

int main(void)
{
	test_boot_waits_for_debounced_locks();
	test_boot_with_a_cover_open();
	printf("board: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
