/*
 * ckptcodec.h - how a checkpoint's contents are encoded, apart from the file
 * that holds them (checkpoint.c): the agents' states as a blob with an
 * explicit little-endian layout (no struct padding, no host byte order) and a
 * CRC-32, the run's parameters and counters as JSON text (the sqlite3 shell
 * can read them).  Everything read back is checked before the engine sees it.
 *
 *	header:    u32 magic "SCKP", u16 encoding version (1), u16 0, u32 agents
 *	per agent: u32 done_cycle, u8 redeemed, u8 ncart,
 *	           ncart x (u32 product_id, u16 quantity)
 */
#ifndef SIM_CKPTCODEC_H
#define SIM_CKPTCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "sim/engine.h"

/* What decoding can find besides success. */
enum { CKPT_OK = 0, CKPT_DAMAGED = -1, CKPT_NOMEM = -2 };

/* The CRC-32 (IEEE, as zlib's) tables, sliced by 8: built once, kept by the caller. */
struct ckpt_crc {
	uint32_t t[8][256];
};
void ckpt_crc_init(struct ckpt_crc *c);
uint32_t ckpt_crc32(const struct ckpt_crc *c, const unsigned char *p, size_t n);

/*
 * Checks what a checkpoint of rs must hold (parameters, counters, times, the
 * reason) and returns the bytes of its encoded state, or 0 with why.
 */
size_t ckpt_state_check(const struct run_state *rs, const char *reason, char *why, size_t len);
/* Encodes rs's agents into b (ckpt_state_check's size). */
void ckpt_state_encode(unsigned char *b, const struct run_state *rs);
/* Decodes n bytes of state for agents agents into a new array *out (calloc'd). */
int ckpt_state_decode(const unsigned char *b, size_t n, uint32_t agents, struct agent_state **out,
    char *why, size_t len);

/* JSON text of the parameters and the counters (malloc'd), NULL out of memory. */
char *ckpt_params_text(const struct run_params *p);
char *ckpt_counts_text(const struct engine_counts *k);
/* Parse and check them: CKPT_OK, CKPT_DAMAGED (with why) or CKPT_NOMEM. */
int ckpt_params_parse(const char *text, size_t n, struct run_params *p, char *why, size_t len);
int ckpt_counts_parse(const char *text, size_t n, struct engine_counts *k, char *why, size_t len);

#endif
