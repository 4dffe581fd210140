// Package pn532 reads 13.56 MHz ISO 14443A cards (MIFARE, CPU cards such as
// the Chinese resident and campus cards' UIDs) through an NXP PN532 on its
// high-speed UART (HSU, 115200 8N1).
//
// Frames (PN532 User Manual UM0701-02, §6.2.1):
//
//	00 00 FF LEN LCS TFI PD0…PDn DCS 00
//
// LEN counts TFI and the data; LEN+LCS ≡ 0 and TFI+PD0+…+PDn+DCS ≡ 0 (mod
// 256); TFI is D4 from the host, D5 from the PN532. Besides: ACK 00 00 FF 00
// FF 00, NACK 00 00 FF FF 00 00, and the error frame 00 00 FF 01 FF 7F 81 00.
// Extended frames (LEN > 254) are not used by the commands here and are
// thrown away.
//
// The host wakes the PN532 from its power-down with a long preamble of 55 55
// 00 … (§7.2.11 "HSU wake up condition"), sets the SAM to normal mode
// (SAMConfiguration, 0x14), bounds the passive activation retries
// (RFConfiguration 0x32 item 5) so InListPassiveTarget (0x4A) returns with no
// target instead of waiting for a card forever, and then polls. UIDs of 4 and
// 7 bytes are read. A chip that does not acknowledge three commands in a row
// is reported silent.
package pn532
