// Package bridge is the gateway's side of the board protocol (PROTOCOL.md):
// a microcontroller board that reads supervised alarm zones with its ADC
// and runs safe-lock controllers, on a serial line. It holds the frames
// (COBS, CRC-16, versioned), the messages, and Link, which keeps a board's
// sequenced frames reliable over any io.ReadWriter.
//
// The board's firmware (firmware/, C for the ATmega328P) implements the
// same protocol; both are checked against testdata/vectors.txt.
package bridge
