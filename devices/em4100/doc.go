// Package em4100 decodes the serial output of 125 kHz EM4100 readers such as
// the RDM6300 (9600 baud, 8N1, output only).
//
// A frame is 14 bytes (RDM6300 datasheet, "Output data format"):
//
//	02 | 10 ASCII hex digits: the 40-bit card ID | 2 ASCII hex digits: the XOR of
//	the 5 ID bytes | 03
//
// e.g. 02 "62E3086CED" "08" 03 is card 62E3086CED (tag 0xE3086CED, version 0x62).
// The reader repeats the frame while the card stays in the field; a Decoder
// reports one read per presentation. Noise is skipped and the decoder
// resynchronises on the next 02; every frame thrown away is counted.
package em4100
