/*
 * Example: load a tokenizer directory the Python package wrote, encode chunks one at a time (the
 * control-loop path: caller buffers, no allocation after the first call), check the ids against
 * the ids Python wrote, decode them back and report the reconstruction error.
 *
 *     cc -std=c11 -I rust/actok-c/include examples/c/roundtrip.c \
 *        target/release/libactok_c.a -lpthread -ldl -lm -o roundtrip
 *     ./roundtrip CASE_DIR     # e.g. the lift/ case of scripts/make_c_fixtures.py
 *
 * CASE_DIR holds tokenizer/, chunks_f64.bin (float64, row-major (B, H, D)) and ids_f64.txt (a
 * line "B H D", then per chunk: the count, then the ids).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actok.h"

static int fail(const char *what) {
    fprintf(stderr, "%s: %s\n", what, actok_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE_DIR\n", argv[0]);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/ids_f64.txt", argv[1]);
    FILE *expected = fopen(path, "r");
    size_t batch, horizon, dim;
    if (expected == NULL || fscanf(expected, "%zu %zu %zu", &batch, &horizon, &dim) != 3) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    size_t chunk = horizon * dim;
    double *chunks = malloc(batch * chunk * sizeof(double));
    snprintf(path, sizeof path, "%s/chunks_f64.bin", argv[1]);
    FILE *f = fopen(path, "rb");
    if (f == NULL || fread(chunks, sizeof(double), batch * chunk, f) != batch * chunk) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    fclose(f);

    snprintf(path, sizeof path, "%s/tokenizer", argv[1]);
    actok_tokenizer *tok = NULL;
    if (actok_tokenizer_load(path, &tok) != ACTOK_OK) {
        return fail("load");
    }
    /* Buffers sized once, before the loop. */
    size_t capacity = actok_max_tokens(tok, horizon, dim);
    int32_t *ids = malloc(capacity * sizeof(int32_t));
    double *decoded = malloc(chunk * sizeof(double));
    double worst = 0.0;
    size_t total = 0;
    for (size_t b = 0; b < batch; b++) {
        size_t n = 0;
        if (actok_encode_f64(tok, chunks + b * chunk, 1, horizon, dim, ACTOK_OVERFLOW_RAISE, ids,
                             capacity, &n) != ACTOK_OK) {
            return fail("encode");
        }
        size_t want_n = 0;
        if (fscanf(expected, "%zu", &want_n) != 1 || want_n != n) {
            fprintf(stderr, "chunk %zu: %zu ids, Python wrote %zu\n", b, n, want_n);
            return 1;
        }
        for (size_t i = 0; i < n; i++) {
            int want = 0;
            if (fscanf(expected, "%d", &want) != 1 || want != ids[i]) {
                fprintf(stderr, "chunk %zu: id %zu is %d, Python wrote %d\n", b, i, ids[i], want);
                return 1;
            }
        }
        uint8_t valid = 0;
        if (actok_decode_f64(tok, ids, capacity, &n, 1, horizon, dim, ACTOK_DECODE_RAISE, decoded,
                             &valid) != ACTOK_OK) {
            return fail("decode");
        }
        for (size_t i = 0; i < chunk; i++) {
            worst = fmax(worst, fabs(decoded[i] - chunks[b * chunk + i]));
        }
        total += n;
    }
    fclose(expected);
    printf("C example: %zu chunks of %zux%zu, %.1f tokens per chunk, ids identical to Python's; "
           "largest round-trip error %.4f (raw units; FAST quantization is lossy)\n",
           batch, horizon, dim, (double)total / (double)batch, worst);
    actok_tokenizer_free(tok);
    free(chunks);
    free(ids);
    free(decoded);
    return 0;
}
