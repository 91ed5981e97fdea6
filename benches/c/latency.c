/*
 * Batch-1 latency of the C ABI: actok_encode_f64/f32 and actok_decode_f64 of one chunk on the
 * calling thread, each call timed alone (CLOCK_MONOTONIC, about 20-40 ns of timer overhead per
 * reading included), median and 99th percentile. Run by benches/bench_c_latency.py, which also
 * times the Python calls on the same machine; by hand:
 *
 *     cc -std=c11 -O2 -I rust/actok-c/include benches/c/latency.c \
 *        target/release/libactok_c.a -lpthread -ldl -lm -o latency
 *     ./latency CASE_DIR [CALLS]      # a case of scripts/make_c_fixtures.py; CALLS >= 10000
 *
 * Prints one line per operation: "op median_us p99_us calls".
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "actok.h"

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void report(const char *op, uint64_t *ns, size_t calls) {
    qsort(ns, calls, sizeof *ns, by_value);
    printf("%s %.3f %.3f %zu\n", op, (double)ns[calls / 2] / 1e3,
           (double)ns[(calls * 99) / 100] / 1e3, calls);
}

static void die(const char *what) {
    fprintf(stderr, "%s: %s\n", what, actok_last_error());
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CASE_DIR [CALLS]\n", argv[0]);
        return 2;
    }
    size_t calls = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 20000;
    char path[4096];
    snprintf(path, sizeof path, "%s/ids_f64.txt", argv[1]);
    FILE *f = fopen(path, "r");
    size_t batch, horizon, dim;
    if (f == NULL || fscanf(f, "%zu %zu %zu", &batch, &horizon, &dim) != 3 || calls == 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    fclose(f);
    size_t chunk = horizon * dim;
    double *chunks = malloc(batch * chunk * sizeof(double));
    float *chunks32 = malloc(batch * chunk * sizeof(float));
    snprintf(path, sizeof path, "%s/chunks_f64.bin", argv[1]);
    f = fopen(path, "rb");
    if (f == NULL || fread(chunks, sizeof(double), batch * chunk, f) != batch * chunk) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    fclose(f);
    for (size_t i = 0; i < batch * chunk; i++) {
        chunks32[i] = (float)chunks[i];
    }
    snprintf(path, sizeof path, "%s/tokenizer", argv[1]);
    actok_tokenizer *tok = NULL;
    if (actok_tokenizer_load(path, &tok) != ACTOK_OK) {
        die("load");
    }
    size_t stride = actok_max_tokens(tok, horizon, dim);
    int32_t *ids = malloc(batch * stride * sizeof(int32_t));
    size_t *lengths = malloc(batch * sizeof(size_t));
    double *out = malloc(chunk * sizeof(double));
    uint64_t *ns = malloc(calls * sizeof(uint64_t));
    /* Every chunk's ids, which the decode loop then cycles through (also the warm-up). */
    if (actok_encode_f64(tok, chunks, batch, horizon, dim, 0, ids, stride, lengths) != ACTOK_OK) {
        die("encode");
    }
    size_t total = 0;
    for (size_t b = 0; b < batch; b++) {
        total += lengths[b];
    }
    size_t n = 0;
    for (size_t i = 0; i < calls; i++) {
        const double *x = chunks + (i % batch) * chunk;
        uint64_t t0 = now_ns();
        int s = actok_encode_f64(tok, x, 1, horizon, dim, 0, ids, stride, &n);
        ns[i] = now_ns() - t0;
        if (s != ACTOK_OK) {
            die("encode");
        }
    }
    printf("shape %zu %zu tokens_per_chunk %.1f\n", horizon, dim, (double)total / (double)batch);
    report("encode_f64", ns, calls);
    for (size_t i = 0; i < calls; i++) {
        const float *x = chunks32 + (i % batch) * chunk;
        uint64_t t0 = now_ns();
        int s = actok_encode_f32(tok, x, 1, horizon, dim, 0, ids, stride, &n);
        ns[i] = now_ns() - t0;
        if (s != ACTOK_OK) {
            die("encode");
        }
    }
    report("encode_f32", ns, calls);
    actok_encode_f64(tok, chunks, batch, horizon, dim, 0, ids, stride, lengths);
    for (size_t i = 0; i < calls; i++) {
        size_t b = i % batch;
        uint64_t t0 = now_ns();
        int s = actok_decode_f64(tok, ids + b * stride, stride, &lengths[b], 1, horizon, dim, 0,
                                 out, NULL);
        ns[i] = now_ns() - t0;
        if (s != ACTOK_OK) {
            die("decode");
        }
    }
    report("decode_f64", ns, calls);
    actok_tokenizer_free(tok);
    return 0;
}
