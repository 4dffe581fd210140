// Package wiegand reads Wiegand badge readers on two GPIO lines, D0 and D1.
//
// Both lines idle high; the reader pulls D0 low for a 0 bit and D1 low for a
// 1 bit (a pulse of about 50 µs every 1–2 ms). A frame ends when no bit has
// come for 25 ms. Its length names the format (HID's format definitions, as
// also decoded by the Proxmark3 client), bit 0 first as sent:
//
//	H10301 26 bits: P(even over 1–12) FC(8) CN(16) P(odd over 13–24)
//	H10306 34 bits: P(even over 1–16) FC(16) CN(16) P(odd over 17–32)
//	H10304 37 bits: P(even over 1–18) FC(16) CN(19) P(odd over 18–35)
//
// e.g. H10301 facility 90 card 324 is 0 01011010 0000000101000100 0. Frames of
// another length or with a parity error are counted and thrown away.
package wiegand
