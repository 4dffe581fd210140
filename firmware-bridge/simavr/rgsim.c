/* rgsim runs the board's firmware in the simavr emulator, in real time, with
 * its UART on a pseudo-terminal, and lets a test (or the simulated room)
 * drive its pins over stdin:
 *
 *   adc CH MV          the voltage on ADC channel CH, in millivolts
 *   pin PORT BIT 0|1   drive an input pin (e.g. "pin D 2 0": lock 0's bolt thrown)
 *   reset              an external reset (MCUSR EXTRF set, as a reset button would)
 *   off, on            the board's power: off, the MCU stands still; on, it
 *                      starts again from a power-on reset (MCUSR PORF)
 *   quit
 *
 * On stdout: "pty PATH" once the UART is there, "clock MCU HZ", and
 * "out PORT BIT LEVEL EMU_US" whenever an output pin changes (EMU_US: the
 * emulator's clock, in microseconds). Lines of simavr's own are not ours. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim_avr.h"
#include "sim_elf.h"
#include "avr_adc.h"
#include "avr_ioport.h"
#include "parts/uart_pty.h"

#define MCUSR_ADDR 0x54 /* ATmega328P: MCUSR is I/O 0x34, data 0x54 */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char queue[64][64];
static int qn;
static avr_t *avr;
/* after a reset: wire the inputs again once the firmware has set its ports
 * up (5 ms); avr_reset may set the cycle count back, so a flag and a
 * deadline rather than a cycle stamp */
static int rewire;
static uint64_t rewire_at;

static void rewire_later(void)
{
	rewire = 1;
	rewire_at = avr->cycle + avr->frequency / 200;
}

static void *read_stdin(void *arg)
{
	(void)arg;
	char line[64];
	while (fgets(line, sizeof line, stdin)) {
		pthread_mutex_lock(&mu);
		if (qn < 64)
			strcpy(queue[qn++], line);
		pthread_mutex_unlock(&mu);
	}
	pthread_mutex_lock(&mu);
	strcpy(queue[qn < 64 ? qn++ : 63], "quit\n"); /* stdin closed: the test is gone */
	pthread_mutex_unlock(&mu);
	return NULL;
}

static uint64_t emu_us(void) { return avr->cycle * 1000000ull / avr->frequency; }

static void output_changed(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	printf("out B %d %u %llu\n", (int)(intptr_t)param, value, (unsigned long long)emu_us());
	fflush(stdout);
}

/* what is wired to the inputs, kept so a reset finds the same wiring */
static int pin_level[3][8] = {{-1, -1, -1, -1, -1, -1, -1, -1}, {-1, -1, -1, -1, -1, -1, -1, -1}, {-1, -1, -1, -1, -1, -1, -1, -1}};
static int adc_mv[8] = {-1, -1, -1, -1, -1, -1, -1, -1};

static void pin(char port, int bit, int level)
{
	if (port >= 'B' && port <= 'D')
		pin_level[port - 'B'][bit] = level;
	avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(port), bit), level);
}

static void adc(int ch, int mv)
{
	adc_mv[ch] = mv;
	avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + ch), mv);
}

/* rewire drives every input again as it was wired. simavr does not pass on
 * an IRQ raised with the value it already holds, and a reset clears the
 * port's PIN register but not that value: each pin is first raised to the
 * other level (no cycle runs in between, so the firmware never sees it). */
static void rewire_all(void)
{
	for (int p = 0; p < 3; p++)
		for (int b = 0; b < 8; b++)
			if (pin_level[p][b] >= 0) {
				int level = pin_level[p][b];
				pin((char)('B' + p), b, !level);
				pin((char)('B' + p), b, level);
			}
	for (int ch = 0; ch < 8; ch++)
		if (adc_mv[ch] >= 0)
			adc(ch, adc_mv[ch]);
}

/* the board as installed, for every input a test has not wired yet: every
 * zone normal (2.5 V), each lock's bolt thrown, door closed, cover closed
 * (low), battery good (high) */
static void installed(void)
{
	for (int ch = 0; ch < 4; ch++)
		if (adc_mv[ch] < 0)
			adc_mv[ch] = 2500;
	for (int b = 2; b <= 7; b++)
		if (pin_level['D' - 'B'][b] < 0)
			pin_level['D' - 'B'][b] = 0;
	for (int b = 2; b <= 3; b++)
		if (pin_level[0][b] < 0)
			pin_level[0][b] = 1;
	rewire_all();
}

/* the board's power: off, the MCU stands still and says nothing */
static int powered = 1;

static int apply(const char *line)
{
	char port;
	int a, b;
	if (sscanf(line, "adc %d %d", &a, &b) == 2 && a >= 0 && a < 8)
		adc(a, b);
	else if (sscanf(line, "pin %c %d %d", &port, &a, &b) == 3 && a >= 0 && a < 8)
		pin(port, a, b != 0);
	else if (strncmp(line, "reset", 5) == 0) {
		avr_reset(avr);
		avr->data[MCUSR_ADDR] |= 1 << 1; /* EXTRF */
		rewire_later();
	} else if (strncmp(line, "off", 3) == 0) {
		powered = 0;
	} else if (strncmp(line, "on", 2) == 0 && !powered) {
		avr_reset(avr);
		avr->data[MCUSR_ADDR] |= 1 << 0; /* PORF */
		rewire_later();
		powered = 1;
	} else if (strncmp(line, "quit", 4) == 0)
		return 0;
	else {
		fprintf(stderr, "rgsim: not a command: %s", line);
	}
	return 1;
}

static uint64_t real_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: rgsim FIRMWARE.elf\n");
		return 2;
	}
	elf_firmware_t fw = {{0}};
	if (elf_read_firmware(argv[1], &fw) != 0 || !fw.mmcu[0] || !fw.frequency) {
		fprintf(stderr, "rgsim: %s: not a firmware with its .mmcu section (build with -DSIMAVR)\n", argv[1]);
		return 2;
	}
	avr = avr_make_mcu_by_name(fw.mmcu);
	if (!avr) {
		fprintf(stderr, "rgsim: unknown MCU %s\n", fw.mmcu);
		return 2;
	}
	avr_init(avr);
	avr_load_firmware(avr, &fw);
	avr->vcc = avr->avcc = avr->aref = 5000;
	avr->data[MCUSR_ADDR] |= 1 << 0; /* PORF: powered on */

	static uart_pty_t pty;
	uart_pty_init(avr, &pty);
	uart_pty_connect(&pty, '0');
	for (int bit = 0; bit < 8; bit++)
		if (bit == 0 || bit == 1 || bit == 4 || bit == 5)
			avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('B'), bit), output_changed, (void *)(intptr_t)bit);

	printf("clock %s %u\npty %s\n", fw.mmcu, (unsigned)avr->frequency, pty.pty.slavename);
	fflush(stdout);
	pthread_t t;
	pthread_create(&t, NULL, read_stdin, NULL);

	uint64_t start = real_us();
	int wired = 0;
	for (;;) {
		/* the inputs are wired once the firmware has set its ports up (its
		 * pull-up writes would otherwise override them) */
		if (!wired && emu_us() > 5000) {
			installed();
			wired = 1;
		}
		if (rewire && avr->cycle >= rewire_at) {
			rewire_all();
			rewire = 0;
		}
		pthread_mutex_lock(&mu);
		int n = qn, go = 1;
		char cmds[64][64];
		memcpy(cmds, queue, sizeof cmds);
		qn = 0;
		pthread_mutex_unlock(&mu);
		for (int i = 0; i < n; i++)
			go = go && apply(cmds[i]);
		if (!go)
			break;
		if (!powered) {
			/* the emulated clock stands still: so does the real-time pace */
			uint64_t before = real_us();
			usleep(1000);
			start += real_us() - before;
			continue;
		}
		for (int i = 0; i < 2000; i++) {
			int state = avr_run(avr);
			if (state == cpu_Done || state == cpu_Crashed) {
				fprintf(stderr, "rgsim: the MCU stopped (state %d)\n", state);
				return 1;
			}
		}
		/* real time: the emulated clock never runs ahead of the wall clock */
		uint64_t e = emu_us(), r = real_us() - start;
		if (e > r + 1000)
			usleep((useconds_t)(e - r));
	}
	/* Not uart_pty_stop: it stops its thread with pthread_kill(SIGINT), which
	 * ends the whole harness by that signal ("signal: interrupt" at every
	 * clean stop of the gateway). Exiting closes the pty all the same. */
	return 0;
}
