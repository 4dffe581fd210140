/* Feeds the shared vectors (../testdata/vectors.txt) to the firmware's
 * decoder, built for the host: `cc -std=c99 proto.c vectors_test.c`.
 * Prints "N passed, M failed"; exits 1 on a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto.h"

static int unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s);
	if (n % 2 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

int main(int argc, char **argv)
{
	FILE *in = fopen(argc > 1 ? argv[1] : "../testdata/vectors.txt", "r");
	if (!in) {
		perror("vectors");
		return 2;
	}
	if (proto_crc16((const uint8_t *)"123456789", 9) != 0x29B1) {
		printf("crc check value wrong\n");
		return 1;
	}
	char line[1024], kind[8], wirehex[600], payhex[200], expect[16];
	int passed = 0, failed = 0;
	while (fgets(line, sizeof line, in)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		uint8_t wire[300];
		int type = 0, seq = 0, got = 0;
		if (sscanf(line, "%7s %599s", kind, wirehex) != 2) {
			failed++;
			continue;
		}
		int n = unhex(wirehex, wire, sizeof wire);
		struct splitter s = {0};
		struct frame f;
		enum proto_result res = PROTO_OK;
		for (int i = 0; i < n; i++)
			got += splitter_feed(&s, wire[i], &f, &res);
		int ok = got == 1;
		if (strcmp(kind, "ok") == 0) {
			sscanf(line, "%*s %*s %d %d %199s", &type, &seq, payhex);
			uint8_t pay[64];
			int pn = strcmp(payhex, "-") == 0 ? 0 : unhex(payhex, pay, sizeof pay);
			ok = ok && res == PROTO_OK && f.type == type && f.seq == seq && f.len == pn && memcmp(f.payload, pay, (size_t)pn) == 0;
			uint8_t enc[PROTO_MAX_ENCODED + 1];
			size_t en = ok ? proto_encode(&f, enc) : 0;
			ok = ok && (int)en == n && memcmp(enc, wire, en) == 0;
		} else {
			sscanf(line, "%*s %*s %15s", expect);
			ok = ok && res == (strcmp(expect, "crc") == 0 ? PROTO_BAD_CRC : PROTO_BAD_FRAME);
		}
		if (ok) {
			passed++;
		} else {
			failed++;
			printf("FAIL (got %d frames, result %d): %s", got, res, line);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
