/* roomguard board firmware for the ATmega328P at 16 MHz (an Arduino Uno or
 * a bare chip): supervised zones on ADC0–3, two safe-lock controllers, two
 * relays, the board protocol on the UART at 57600 baud (../PROTOCOL.md). */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/eeprom.h>
#include <avr/wdt.h>
#include <util/atomic.h>

#include "board.h"

#ifdef SIMAVR
/* tells the simavr emulator the chip and its clock (a section of the ELF
 * only; not in the image that is flashed) */
#include "avr_mcu_section.h"
AVR_MCU(F_CPU, "atmega328p");
#endif

#define BAUD_UBRR 34 /* 57600 with U2X at 16 MHz: -0.8 % */

static volatile uint32_t millis;
static volatile uint8_t rx_buf[64], rx_head, rx_tail;
static volatile uint8_t tx_buf[128], tx_head, tx_tail;

ISR(TIMER0_COMPA_vect) { millis++; }

ISR(USART_RX_vect)
{
	uint8_t c = UDR0, next = (rx_head + 1) % sizeof rx_buf;
	if (next != rx_tail) { /* else dropped: the frame fails its CRC and is sent again */
		rx_buf[rx_head] = c;
		rx_head = next;
	}
}

ISR(USART_UDRE_vect)
{
	if (tx_head == tx_tail) {
		UCSR0B &= ~(1 << UDRIE0);
		return;
	}
	UDR0 = tx_buf[tx_tail];
	tx_tail = (tx_tail + 1) % sizeof tx_buf;
}

static void send(const uint8_t *b, uint8_t n)
{
	for (uint8_t i = 0; i < n; i++) {
		uint8_t next = (tx_head + 1) % sizeof tx_buf;
		while (next == tx_tail)
			; /* full: wait for the line */
		tx_buf[tx_head] = b[i];
		tx_head = next;
		UCSR0B |= 1 << UDRIE0;
	}
}

static void release(uint8_t lock, uint8_t on)
{
	uint8_t bit = lock ? PB1 : PB0;
	if (on)
		PORTB |= 1 << bit;
	else
		PORTB &= ~(1 << bit);
}

static void set_relay(uint8_t relay, uint8_t on)
{
	uint8_t bit = relay ? PB5 : PB4;
	if (on)
		PORTB |= 1 << bit;
	else
		PORTB &= ~(1 << bit);
}

static uint16_t adc_read(uint8_t ch)
{
	ADMUX = (1 << REFS0) | ch; /* AVcc reference */
	ADCSRA |= 1 << ADSC;
	while (ADCSRA & (1 << ADSC))
		;
	return ADC;
}

static uint32_t now(void)
{
	uint32_t t;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { t = millis; }
	return t;
}

static struct board b;

int main(void)
{
	uint8_t cause = MCUSR;
	MCUSR = 0;
	wdt_disable();

	uint16_t boots = eeprom_read_word((uint16_t *)0);
	if (boots == 0xFFFF)
		boots = 0; /* a new chip's erased EEPROM */
	eeprom_update_word((uint16_t *)0, ++boots);

	/* lock inputs with pull-ups: PD2–PD7, PB2–PB3; outputs PB0, PB1, PB4, PB5 */
	DDRD &= 0x03;
	PORTD |= 0xFC;
	DDRB = (1 << PB0) | (1 << PB1) | (1 << PB4) | (1 << PB5);
	PORTB = (1 << PB2) | (1 << PB3);

	TCCR0A = 1 << WGM01; /* CTC, 16 MHz / 64 / 250 = 1 kHz */
	OCR0A = 249;
	TCCR0B = (1 << CS01) | (1 << CS00);
	TIMSK0 = 1 << OCIE0A;

	ADCSRA = (1 << ADEN) | (1 << ADPS2) | (1 << ADPS1) | (1 << ADPS0); /* 125 kHz ADC clock */

	UBRR0 = BAUD_UBRR;
	UCSR0A = 1 << U2X0;
	UCSR0C = (1 << UCSZ01) | (1 << UCSZ00); /* 8N1 */
	UCSR0B = (1 << RXEN0) | (1 << TXEN0) | (1 << RXCIE0);

	b.reset_cause = cause & 0x0F;
	b.boots = boots;
	b.send = send;
	b.release = release;
	b.set_relay = set_relay;
	board_start(&b);
	sei();
	wdt_enable(WDTO_1S); /* a hung board resets, and says so in its HELLO */

	uint32_t next_tick = 0;
	for (;;) {
		wdt_reset();
		while (rx_tail != rx_head) {
			uint8_t c = rx_buf[rx_tail];
			rx_tail = (rx_tail + 1) % sizeof rx_buf;
			board_rx(&b, c);
		}
		uint32_t t = now();
		if ((int32_t)(t - next_tick) >= 0) {
			next_tick = t + TICK_MS;
			uint16_t adc[NZONES];
			for (uint8_t i = 0; i < NZONES; i++)
				adc[i] = adc_read(i);
			uint8_t d = PIND, pb = PINB;
			struct lock_inputs in[NLOCKS] = {
				/* closed to ground: low is true */
				{!(d & (1 << PD2)), !(d & (1 << PD3)), !(d & (1 << PD4)), !(pb & (1 << PB2))},
				{!(d & (1 << PD5)), !(d & (1 << PD6)), !(d & (1 << PD7)), !(pb & (1 << PB3))},
			};
			b.now = t;
			board_tick(&b, adc, in);
		}
		board_poll(&b, t);
	}
}
