/*
 * A C client of actok.h, written against the header alone (not the examples): the acceptance
 * list of issue 14. Built exactly as
 *
 *     gcc -std=c11 -I rust/actok-c/include client.c target/release/libactok_c.a -lpthread -ldl -lm
 *
 * and run as `./a.out FIXTURES` on the directory scripts/make_c_fixtures.py wrote (tokenizers
 * saved by the Python package, chunks, and the ids and actions Python computed for them).
 * Checks: ids identical to Python's (float32 and float64, batch of one and whole batches),
 * decoded actions within 1e-12 of Python's (float64); the code and a non-empty message for each
 * bad input (NULL pointers, missing directory, missing normalizer file, bad flags, too-small
 * stride, out-of-range and NaN chunks, invalid ids, truncated and over-long sequences, zero
 * horizon); correct results from 4 threads sharing one handle; zero heap allocations in 1,000
 * batch-1 encode and 1,000 decode calls after one warm-up call (malloc interposed below).
 * Exits 0 when every check passes, 1 otherwise, printing each failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actok.h"

/* ---- counting allocator: every heap allocation of the calling thread is counted (glibc) ---- */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);

static _Thread_local unsigned long allocations;

void *malloc(size_t size) {
    allocations++;
    return __libc_malloc(size);
}
void *calloc(size_t count, size_t size) {
    allocations++;
    return __libc_calloc(count, size);
}
void *realloc(void *ptr, size_t size) {
    allocations++;
    return __libc_realloc(ptr, size);
}
void *aligned_alloc(size_t alignment, size_t size) {
    allocations++;
    return __libc_memalign(alignment, size);
}
void *memalign(size_t alignment, size_t size) {
    allocations++;
    return __libc_memalign(alignment, size);
}
int posix_memalign(void **out, size_t alignment, size_t size) {
    allocations++;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) {
        return 12; /* ENOMEM */
    }
    *out = p;
    return 0;
}
void free(void *ptr) { __libc_free(ptr); }

/* ---- checks ---- */

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

/* `status` is `code`, and the thread's message is not empty (printed, as the report). */
static void expect_error(int status, int code, const char *what) {
    const char *message = actok_last_error();
    CHECK(status == code, "%s: status %d, expected %d (%s)", what, status, code, message);
    CHECK(message != NULL && message[0] != '\0', "%s: empty message", what);
    if (status == code) {
        printf("  ok %-44s %d: %.110s\n", what, status, message);
    }
}

/* ---- fixtures ---- */

typedef struct {
    size_t batch, horizon, dim, stride;
    double *chunks;
    float *chunks32;
    int32_t *ids, *ids32; /* rows of `stride` */
    size_t *lengths, *lengths32;
    double *decoded;
} Case;

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    snprintf(path, n, "%s/%s", dir, name);
    return path;
}

static void *read_binary(const char *dir, const char *name, size_t bytes) {
    char *path = join(dir, name);
    FILE *f = fopen(path, "rb");
    void *data = malloc(bytes);
    if (f == NULL || fread(data, 1, bytes, f) != bytes) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    free(path);
    return data;
}

/* Reads ids_*.txt into rows of `stride`; sets the shape from its first line. */
static void read_ids(const char *dir, const char *name, Case *c, int32_t **ids, size_t **lengths) {
    char *path = join(dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL || fscanf(f, "%zu %zu %zu", &c->batch, &c->horizon, &c->dim) != 3) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    c->stride = 4 * c->horizon * c->dim; /* at least actok_max_tokens for any vocabulary */
    *ids = calloc(c->batch * c->stride, sizeof(int32_t));
    *lengths = calloc(c->batch, sizeof(size_t));
    for (size_t b = 0; b < c->batch; b++) {
        if (fscanf(f, "%zu", &(*lengths)[b]) != 1 || (*lengths)[b] > c->stride) {
            fprintf(stderr, "bad line %zu in %s\n", b, path);
            exit(2);
        }
        for (size_t i = 0; i < (*lengths)[b]; i++) {
            if (fscanf(f, "%d", &(*ids)[b * c->stride + i]) != 1) {
                fprintf(stderr, "bad id in %s\n", path);
                exit(2);
            }
        }
    }
    fclose(f);
    free(path);
}

static Case read_case(const char *dir) {
    Case c;
    read_ids(dir, "ids_f64.txt", &c, &c.ids, &c.lengths);
    read_ids(dir, "ids_f32.txt", &c, &c.ids32, &c.lengths32);
    size_t n = c.batch * c.horizon * c.dim;
    c.chunks = read_binary(dir, "chunks_f64.bin", n * sizeof(double));
    c.chunks32 = read_binary(dir, "chunks_f32.bin", n * sizeof(float));
    c.decoded = read_binary(dir, "decoded_f64.bin", n * sizeof(double));
    return c;
}

static actok_tokenizer *load(const char *dir, const char *name) {
    char *path = join(dir, name);
    actok_tokenizer *tok = NULL;
    int status = actok_tokenizer_load(path, &tok);
    if (status != ACTOK_OK) {
        fprintf(stderr, "cannot load %s: %s\n", path, actok_last_error());
        exit(2);
    }
    free(path);
    return tok;
}

static int same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && memcmp(a, b, na * sizeof(int32_t)) == 0;
}

/* ---- 1. ids and actions identical to Python's ---- */

static void check_parity(const actok_tokenizer *tok, const Case *c, const char *name) {
    size_t chunk = c->horizon * c->dim;
    size_t stride = actok_max_tokens(tok, c->horizon, c->dim);
    CHECK(stride > 0 && stride <= c->stride, "%s: max_tokens %zu", name, stride);
    int32_t *ids = calloc(c->batch * stride, sizeof(int32_t));
    size_t *lengths = calloc(c->batch, sizeof(size_t));
    double *actions = calloc(c->batch * chunk, sizeof(double));
    float *actions32 = calloc(c->batch * chunk, sizeof(float));
    uint8_t *valid = calloc(c->batch, 1);
    size_t mismatches = 0, mismatches32 = 0;
    double worst = 0.0, worst32 = 0.0;
    /* Batch of one, each chunk. */
    for (size_t b = 0; b < c->batch; b++) {
        size_t n = 0;
        int s = actok_encode_f64(tok, c->chunks + b * chunk, 1, c->horizon, c->dim,
                                 ACTOK_OVERFLOW_RAISE, ids, stride, &n);
        CHECK(s == ACTOK_OK, "%s chunk %zu: %s", name, b, actok_last_error());
        mismatches += !same_ids(ids, n, c->ids + b * c->stride, c->lengths[b]);
        s = actok_encode_f32(tok, c->chunks32 + b * chunk, 1, c->horizon, c->dim,
                             ACTOK_OVERFLOW_RAISE, ids, stride, &n);
        CHECK(s == ACTOK_OK, "%s chunk %zu (f32): %s", name, b, actok_last_error());
        mismatches32 += !same_ids(ids, n, c->ids32 + b * c->stride, c->lengths32[b]);
        s = actok_decode_f64(tok, c->ids + b * c->stride, c->stride, &c->lengths[b], 1, c->horizon,
                             c->dim, ACTOK_DECODE_RAISE, actions, valid);
        CHECK(s == ACTOK_OK && valid[0] == 1, "%s decode %zu: %s", name, b, actok_last_error());
        for (size_t i = 0; i < chunk; i++) {
            worst = fmax(worst, fabs(actions[i] - c->decoded[b * chunk + i]));
        }
    }
    CHECK(mismatches == 0, "%s: %zu of %zu chunks with other ids than Python (f64)", name,
          mismatches, c->batch);
    CHECK(mismatches32 == 0, "%s: %zu of %zu chunks with other ids than Python (f32)", name,
          mismatches32, c->batch);
    /* The whole batch in one call (rows of the C stride), and decode of Python's rows. */
    int s = actok_encode_f64(tok, c->chunks, c->batch, c->horizon, c->dim, ACTOK_OVERFLOW_RAISE,
                             ids, stride, lengths);
    CHECK(s == ACTOK_OK, "%s batch encode: %s", name, actok_last_error());
    for (size_t b = 0; b < c->batch; b++) {
        CHECK(same_ids(ids + b * stride, lengths[b], c->ids + b * c->stride, c->lengths[b]),
              "%s batch chunk %zu: other ids than Python", name, b);
    }
    s = actok_decode_f64(tok, c->ids, c->stride, c->lengths, c->batch, c->horizon, c->dim,
                         ACTOK_DECODE_RAISE, actions, valid);
    CHECK(s == ACTOK_OK, "%s batch decode: %s", name, actok_last_error());
    s = actok_decode_f32(tok, c->ids, c->stride, c->lengths, c->batch, c->horizon, c->dim,
                         ACTOK_DECODE_RAISE, actions32, NULL);
    CHECK(s == ACTOK_OK, "%s batch decode f32: %s", name, actok_last_error());
    for (size_t i = 0; i < c->batch * chunk; i++) {
        worst = fmax(worst, fabs(actions[i] - c->decoded[i]));
        /* float: the double result rounded once. */
        worst32 = fmax(worst32, fabs(actions32[i] - (float)c->decoded[i]) /
                                    fmax(1.0, fabs(c->decoded[i])));
    }
    CHECK(worst <= 1e-12, "%s: decoded actions differ from Python's by %g", name, worst);
    CHECK(worst32 <= 1e-6, "%s: float decode differs by %g", name, worst32);
    printf("  ok %s: %zu chunks (%zux%zu), ids == Python's (f64, f32; batch 1 and %zu), decoded "
           "within %.1e of Python's\n",
           name, c->batch, c->horizon, c->dim, c->batch, worst);
    free(ids);
    free(lengths);
    free(actions);
    free(actions32);
    free(valid);
}

/* ---- 2. bad inputs: the code and a message ---- */

static void check_errors(const char *fixtures, const actok_tokenizer *tok, const Case *c) {
    size_t h = c->horizon, d = c->dim, chunk = h * d;
    size_t stride = actok_max_tokens(tok, h, d);
    int32_t *ids = calloc(stride + 1, sizeof(int32_t));
    double *actions = calloc(chunk, sizeof(double));
    double *bad = malloc(chunk * sizeof(double));
    size_t n = 0, len = c->lengths[0];
    const int32_t *good = c->ids;
    uint8_t valid = 7;
    actok_tokenizer *out = (actok_tokenizer *)&n;

    printf("bad inputs:\n");
    expect_error(actok_tokenizer_load(NULL, &out), ACTOK_ERROR_ARGUMENT, "load(NULL dir)");
    CHECK(out == NULL, "a failed load leaves *out NULL");
    expect_error(actok_tokenizer_load(fixtures, NULL), ACTOK_ERROR_ARGUMENT, "load(NULL out)");
    expect_error(actok_tokenizer_load("/nonexistent/actok", &out), ACTOK_ERROR_LOAD,
                 "load(missing directory)");
    CHECK(strstr(actok_last_error(), "/nonexistent/actok") != NULL, "the message names the path");
    char *broken = join(fixtures, "lift-no-normalizer");
    expect_error(actok_tokenizer_load(broken, &out), ACTOK_ERROR_LOAD,
                 "load(normalizer file missing)");
    free(broken);
    expect_error(actok_tokenizer_load(fixtures, &out), ACTOK_ERROR_LOAD, "load(not a tokenizer)");

    expect_error(actok_encode_f64(NULL, c->chunks, 1, h, d, 0, ids, stride, &n),
                 ACTOK_ERROR_ARGUMENT, "encode(NULL tok)");
    expect_error(actok_encode_f64(tok, NULL, 1, h, d, 0, ids, stride, &n), ACTOK_ERROR_ARGUMENT,
                 "encode(NULL actions)");
    expect_error(actok_encode_f32(tok, c->chunks32, 1, h, d, 0, NULL, stride, &n),
                 ACTOK_ERROR_ARGUMENT, "encode(NULL ids)");
    expect_error(actok_encode_f64(tok, c->chunks, 1, h, d, 0, ids, stride, NULL),
                 ACTOK_ERROR_ARGUMENT, "encode(NULL lengths)");
    expect_error(actok_decode_f64(NULL, good, c->stride, &len, 1, h, d, 0, actions, NULL),
                 ACTOK_ERROR_ARGUMENT, "decode(NULL tok)");
    expect_error(actok_decode_f64(tok, NULL, c->stride, &len, 1, h, d, 0, actions, NULL),
                 ACTOK_ERROR_ARGUMENT, "decode(NULL ids)");
    expect_error(actok_decode_f64(tok, good, c->stride, NULL, 1, h, d, 0, actions, NULL),
                 ACTOK_ERROR_ARGUMENT, "decode(NULL lengths)");
    expect_error(actok_decode_f32(tok, good, c->stride, &len, 1, h, d, 0, NULL, NULL),
                 ACTOK_ERROR_ARGUMENT, "decode(NULL actions)");
    CHECK(actok_max_tokens(NULL, h, d) == 0, "max_tokens(NULL) is 0");
    expect_error(actok_tokenizer_shape(NULL, NULL, NULL), ACTOK_ERROR_ARGUMENT, "shape(NULL)");
    actok_tokenizer_free(NULL); /* a no-op */

    expect_error(actok_encode_f64(tok, c->chunks, 1, h, d, 7, ids, stride, &n),
                 ACTOK_ERROR_ARGUMENT, "encode(on_overflow 7)");
    expect_error(actok_encode_f64(tok, c->chunks, 1, h, d, -1, ids, stride, &n),
                 ACTOK_ERROR_ARGUMENT, "encode(on_overflow -1)");
    expect_error(actok_decode_f64(tok, good, c->stride, &len, 1, h, d, 9, actions, NULL),
                 ACTOK_ERROR_ARGUMENT, "decode(on_error 9)");

    /* A row too short for the chunk: refused, and nothing written past it. */
    ids[1] = 12345;
    expect_error(actok_encode_f64(tok, c->chunks, 1, h, d, 0, ids, 1, &n), ACTOK_ERROR_ARGUMENT,
                 "encode(ids_stride 1)");
    CHECK(ids[1] == 12345, "the entry past the row was written");
    expect_error(actok_decode_f64(tok, good, 1, &len, 1, h, d, 0, actions, NULL),
                 ACTOK_ERROR_ARGUMENT, "decode(length > ids_stride)");

    expect_error(actok_encode_f64(tok, c->chunks, 1, 0, d, 0, ids, stride, &n),
                 ACTOK_ERROR_ARGUMENT, "encode(horizon 0)");
    expect_error(actok_decode_f64(tok, good, c->stride, &len, 1, 0, d, 0, actions, NULL),
                 ACTOK_ERROR_ARGUMENT, "decode(horizon 0)");
    expect_error(actok_encode_f64(tok, c->chunks, 1, h - 1, d, 0, ids, stride, &n),
                 ACTOK_ERROR_ARGUMENT, "encode(other shape than recorded)");
    CHECK(actok_encode_f64(tok, c->chunks, 1, h - 1, d, ACTOK_ENCODE_ANY_SHAPE, ids, stride,
                           &n) == ACTOK_OK,
          "ACTOK_ENCODE_ANY_SHAPE encodes another horizon: %s", actok_last_error());
    expect_error(actok_encode_f64(tok, c->chunks, 1, h, d - 1, ACTOK_ENCODE_ANY_SHAPE, ids,
                                  stride, &n),
                 ACTOK_ERROR_ARGUMENT, "encode(other dim than the normalizer's)");

    memcpy(bad, c->chunks, chunk * sizeof(double));
    bad[3 * d + 2] = NAN;
    expect_error(actok_encode_f64(tok, bad, 1, h, d, 0, ids, stride, &n), ACTOK_ERROR_ENCODE,
                 "encode(NaN)");
    CHECK(strstr(actok_last_error(), "chunk 0") != NULL, "the NaN message names the chunk");
    bad[3 * d + 2] = 1e9;
    expect_error(actok_encode_f64(tok, bad, 1, h, d, 0, ids, stride, &n), ACTOK_ERROR_ENCODE,
                 "encode(out of the normalizer's range)");
    expect_error(actok_encode_f64(tok, bad, 1, h, d, ACTOK_OVERFLOW_CLIP, ids, stride, &n),
                 ACTOK_ERROR_ENCODE, "encode(far out of range, clip)");
    bad[3 * d + 2] = INFINITY;
    expect_error(actok_encode_f64(tok, bad, 1, h, d, ACTOK_OVERFLOW_CLIP, ids, stride, &n),
                 ACTOK_ERROR_ENCODE, "encode(infinity, clip)");

    /* Sequences that do not decode: raise, then pad and zeros with `valid`. */
    memcpy(ids, good, len * sizeof(int32_t));
    ids[len / 2] = 1 << 20;
    expect_error(actok_decode_f64(tok, ids, stride, &len, 1, h, d, 0, actions, NULL),
                 ACTOK_ERROR_DECODE, "decode(unknown id)");
    ids[len / 2] = -1;
    expect_error(actok_decode_f64(tok, ids, stride, &len, 1, h, d, 0, actions, NULL),
                 ACTOK_ERROR_DECODE, "decode(negative id)");
    memcpy(ids, good, len * sizeof(int32_t));
    size_t truncated = len - 1, longer = len + 1;
    expect_error(actok_decode_f64(tok, ids, stride, &truncated, 1, h, d, 0, actions, NULL),
                 ACTOK_ERROR_DECODE, "decode(truncated sequence)");
    ids[len] = good[0];
    expect_error(actok_decode_f64(tok, ids, stride, &longer, 1, h, d, 0, actions, NULL),
                 ACTOK_ERROR_DECODE, "decode(over-long sequence)");
    CHECK(actok_decode_f64(tok, ids, stride, &longer, 1, h, d, ACTOK_DECODE_ZEROS, actions,
                           &valid) == ACTOK_OK && valid == 0,
          "zeros: status and valid %d", valid);
    int zero = 1;
    for (size_t i = 0; i < chunk; i++) {
        zero &= actions[i] == 0.0;
    }
    CHECK(zero, "ACTOK_DECODE_ZEROS gives zeros");
    valid = 7;
    CHECK(actok_decode_f64(tok, ids, stride, &truncated, 1, h, d, ACTOK_DECODE_PAD, actions,
                           &valid) == ACTOK_OK && valid == 0,
          "pad: status and valid %d", valid);
    CHECK(actok_decode_f64(tok, good, c->stride, &len, 1, h, d, ACTOK_DECODE_PAD, actions,
                           &valid) == ACTOK_OK && valid == 1,
          "pad of a good sequence: valid %d", valid);
    free(ids);
    free(actions);
    free(bad);
}

/* ---- 3. four threads, one handle ---- */

typedef struct {
    const actok_tokenizer *tok;
    const Case *c;
    int index;
    size_t wrong;
} Worker;

static void *work(void *arg) {
    Worker *w = arg;
    const Case *c = w->c;
    size_t chunk = c->horizon * c->dim, stride = actok_max_tokens(w->tok, c->horizon, c->dim);
    int32_t *ids = malloc(stride * sizeof(int32_t));
    double *actions = malloc(chunk * sizeof(double));
    for (int round = 0; round < 20; round++) {
        for (size_t k = 0; k < c->batch; k++) {
            size_t b = (k + (size_t)w->index * 16) % c->batch, n = 0;
            int s = actok_encode_f64(w->tok, c->chunks + b * chunk, 1, c->horizon, c->dim, 0, ids,
                                     stride, &n);
            w->wrong += s != ACTOK_OK || !same_ids(ids, n, c->ids + b * c->stride, c->lengths[b]);
            s = actok_decode_f64(w->tok, ids, stride, &n, 1, c->horizon, c->dim, 0, actions, NULL);
            w->wrong += s != ACTOK_OK ||
                        memcmp(actions, c->decoded + b * chunk, chunk * sizeof(double)) != 0;
        }
    }
    free(ids);
    free(actions);
    return NULL;
}

static void check_threads(const actok_tokenizer *tok, const Case *c) {
    pthread_t threads[4];
    Worker workers[4];
    for (int t = 0; t < 4; t++) {
        workers[t] = (Worker){tok, c, t, 0};
        CHECK(pthread_create(&threads[t], NULL, work, &workers[t]) == 0, "pthread_create");
    }
    size_t wrong = 0;
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        wrong += workers[t].wrong;
    }
    CHECK(wrong == 0, "4 threads: %zu wrong results", wrong);
    printf("  ok 4 threads x 20 rounds x %zu chunks on one handle: ids and actions as Python's "
           "(decoded bit for bit as on one thread)\n",
           c->batch);
}

/* ---- 4. no allocation after warm-up ---- */

static void check_allocations(const actok_tokenizer *tok, const Case *c) {
    size_t chunk = c->horizon * c->dim, stride = actok_max_tokens(tok, c->horizon, c->dim);
    int32_t *ids = malloc(stride * sizeof(int32_t));
    double *actions = malloc(chunk * sizeof(double));
    float *actions32 = malloc(chunk * sizeof(float));
    uint8_t valid;
    size_t n = 0;
    unsigned long before = allocations;
    /* Warm-up: one encode and one decode on this thread. */
    actok_encode_f64(tok, c->chunks, 1, c->horizon, c->dim, 0, ids, stride, &n);
    actok_decode_f64(tok, ids, stride, &n, 1, c->horizon, c->dim, 0, actions, &valid);
    unsigned long warm = allocations;
    int ok = 1;
    for (int i = 0; i < 1000; i++) {
        size_t b = (size_t)i % c->batch;
        if (i % 2) {
            ok &= actok_encode_f32(tok, c->chunks32 + b * chunk, 1, c->horizon, c->dim, 0, ids,
                                   stride, &n) == ACTOK_OK;
            ok &= actok_decode_f32(tok, ids, stride, &n, 1, c->horizon, c->dim, 0, actions32,
                                   &valid) == ACTOK_OK;
        } else {
            ok &= actok_encode_f64(tok, c->chunks + b * chunk, 1, c->horizon, c->dim, 0, ids,
                                   stride, &n) == ACTOK_OK;
            ok &= actok_decode_f64(tok, ids, stride, &n, 1, c->horizon, c->dim, 0, actions,
                                   &valid) == ACTOK_OK;
        }
    }
    unsigned long after = allocations;
    CHECK(ok, "allocation run: a call failed: %s", actok_last_error());
    /* The thread's first calls allocate its buffers: proof that the counter sees actok's. */
    CHECK(warm > before, "the warm-up allocated nothing: is malloc interposed?");
    CHECK(after == warm, "%lu heap allocations in 1,000 batch-1 encode + decode calls after warm-up",
          after - warm);
    printf("  ok %zux%zu, new thread: warm-up (one encode, one decode) %lu allocations; then "
           "1,000 batch-1 encode + 1,000 decode calls: %lu\n",
           c->horizon, c->dim, warm - before, after - warm);
    free(ids);
    free(actions);
    free(actions32);
}

typedef struct {
    const actok_tokenizer *tok;
    const Case *c;
} AllocationRun;

static void *allocation_thread(void *arg) {
    AllocationRun *run = arg;
    check_allocations(run->tok, run->c);
    return NULL;
}

/* On a fresh thread, so that the warm-up is that thread's first call. */
static void check_allocations_on_a_new_thread(const actok_tokenizer *tok, const Case *c) {
    AllocationRun run = {tok, c};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, allocation_thread, &run) == 0, "pthread_create");
    pthread_join(thread, NULL);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURES (see scripts/make_c_fixtures.py)\n", argv[0]);
        return 2;
    }
    const char *fixtures = argv[1];
    printf("actok %s, client test on %s\n", actok_version(), fixtures);
    CHECK(actok_last_error()[0] == '\0', "no error yet, but \"%s\"", actok_last_error());

    char *lift_dir = join(fixtures, "lift");
    char *bench_dir = join(fixtures, "bench-50x14");
    Case lift = read_case(lift_dir), bench = read_case(bench_dir);
    actok_tokenizer *lift_tok = load(lift_dir, "tokenizer");
    actok_tokenizer *bench_tok = load(bench_dir, "tokenizer");
    size_t horizon = 0, dim = 0;
    CHECK(actok_tokenizer_shape(lift_tok, &horizon, &dim) == ACTOK_OK && horizon == lift.horizon &&
              dim == lift.dim,
          "recorded shape %zu x %zu", horizon, dim);

    printf("parity with Python:\n");
    check_parity(lift_tok, &lift, "lift (quantile normalizer)");
    check_parity(bench_tok, &bench, "bench-50x14 (no normalizer)");
    check_errors(fixtures, lift_tok, &lift);
    /* Without a normalizer, a coefficient beyond the vocabulary: encode error, or clip. */
    double *big = malloc(bench.horizon * bench.dim * sizeof(double));
    memcpy(big, bench.chunks, bench.horizon * bench.dim * sizeof(double));
    big[0] = 1e4;
    int32_t *ids = malloc(actok_max_tokens(bench_tok, 50, 14) * sizeof(int32_t));
    size_t n = 0;
    expect_error(actok_encode_f64(bench_tok, big, 1, 50, 14, 0, ids,
                                  actok_max_tokens(bench_tok, 50, 14), &n),
                 ACTOK_ERROR_ENCODE, "encode(coefficient beyond the vocabulary)");
    CHECK(actok_encode_f64(bench_tok, big, 1, 50, 14, ACTOK_OVERFLOW_CLIP, ids,
                           actok_max_tokens(bench_tok, 50, 14), &n) == ACTOK_OK,
          "clip: %s", actok_last_error());
    free(big);
    free(ids);

    printf("threads:\n");
    check_threads(lift_tok, &lift);
    printf("allocations:\n");
    check_allocations_on_a_new_thread(lift_tok, &lift);
    check_allocations_on_a_new_thread(bench_tok, &bench);

    actok_tokenizer_free(lift_tok);
    actok_tokenizer_free(bench_tok);
    free(lift_dir);
    free(bench_dir);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("client test: all checks passed\n");
    return 0;
}
