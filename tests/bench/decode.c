/* decode.c - refraft-bench decode: what a follower's decoder costs for an
 * AppendEntries and the records that travel with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "refraft/refraft.h"
#include "refraft/wire.h"

#define RUNS_MAX 1000
#define ID_LEN 17 /* "r" and 16 hex digits, as the cluster's ids */

typedef struct decode_args {
    double seconds;  /* per run */
    uint32_t repeat; /* runs */
    uint32_t entries;
    uint32_t size; /* of each record */
} decode_args;

static void usage(void)
{
    fprintf(stderr,
            "usage: refraft-bench decode [--entries N] [--size S] "
            "[--seconds T] [--repeat R]\n"
            "Decodes an AppendEntries of N REF entries (default 1024) and "
            "the batch of their\n"
            "N records of S bytes (default 256) again and again, R runs "
            "(default 5) of T s\n"
            "(default 1) each: body pairs per second and ns per entry "
            "(medians), and the\n"
            "allocations one pair takes.\n");
}

static int parse_args(int argc, char **argv, decode_args *a)
{
    double seconds = 1.0, repeat = 5, entries = 1024, size = 256;
    const bench_opt opts[] = {{"--seconds", 1e-3, 3600, &seconds},
                              {"--repeat", 1, RUNS_MAX, &repeat},
                              {"--entries", 1, 65536, &entries},
                              {"--size", 1, 65536, &size}};
    if (bench_parse_opts(argc, argv, opts, sizeof opts / sizeof opts[0]) != 0)
        return -1;
    *a = (decode_args){seconds, (uint32_t)repeat, (uint32_t)entries,
                       (uint32_t)size};
    return 0;
}

/* The two bodies a leader sends a follower for n entries. */
typedef struct bodies {
    refraft_wire_buf msg, records;
} bodies;

static int encode(const decode_args *a, bodies *out)
{
    size_t n = a->entries;
    refraft_entry *e = calloc(n, sizeof *e);
    refraft_wire_record *r = calloc(n, sizeof *r);
    char *ids = malloc(n * (ID_LEN + 1));
    uint8_t *bytes = malloc(a->size);
    int rv = -1;
    if (e == NULL || r == NULL || ids == NULL || bytes == NULL)
        goto out;
    memset(bytes, 'x', a->size);
    for (size_t i = 0; i < n; i++) {
        char *id = ids + i * (ID_LEN + 1);
        snprintf(id, ID_LEN + 1, "r%016zx", 100000 + i);
        refraft_ref ref = {
            .id = (const uint8_t *)id, .id_len = ID_LEN, .size = a->size};
        if (refraft_digest(bytes, a->size, ref.digest) != 0)
            goto out;
        e[i] =
            (refraft_entry){.term = 3, .type = REFRAFT_ENTRY_REF, .ref = ref};
        r[i] = (refraft_wire_record){.ref = ref, .bytes = bytes};
    }
    refraft_msg m = {.type = REFRAFT_MSG_APPEND_ENTRIES};
    m.u.append_entries = (refraft_append_entries){.term = 3,
                                                  .leader_id = "n1",
                                                  .prev_log_index = 100,
                                                  .prev_log_term = 3,
                                                  .leader_commit = 100,
                                                  .entries = e,
                                                  .n_entries = n};
    if (refraft_wire_encode_msg(&m, &out->msg) == 0 &&
        refraft_wire_encode_records("n1", 3, r, n, &out->records) == 0)
        rv = 0;
out:
    if (rv != 0)
        fprintf(stderr,
                "refraft-bench decode: cannot encode %zu entries "
                "of %u-byte records (out of memory, or over the "
                "body cap)\n",
                n, a->size);
    free(e);
    free(r);
    free(ids);
    free(bytes);
    return rv;
}

/* Decode both bodies once and free them; 0 or -1 (printed). */
static int decode_pair(const bodies *b)
{
    char err[REFRAFT_ERRMSG_LEN];
    refraft_wire_msg m;
    refraft_wire_records r;
    int rv =
        refraft_wire_decode_msg(b->msg.data, b->msg.len, &m, err, sizeof err);
    if (rv == 0) {
        rv = refraft_wire_decode_records(b->records.data, b->records.len, &r,
                                         err, sizeof err);
        refraft_wire_msg_free(&m);
        if (rv == 0)
            refraft_wire_records_free(&r);
    }
    if (rv != 0)
        fprintf(stderr, "refraft-bench decode: %s\n", err);
    return rv == 0 ? 0 : -1;
}

static long allocations;
static void *count_malloc(void *ctx, size_t size)
{
    (void)ctx;
    allocations++;
    return malloc(size);
}
static void *count_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    allocations += ptr == NULL;
    return realloc(ptr, size);
}
static void count_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

/* The allocations of the second of two decodes under a counting
 * allocator: what a follower pays per message once it has decoded one. */
static long count_allocations(const bodies *b)
{
    refraft_allocator counting = {NULL, count_malloc, count_realloc,
                                  count_free};
    refraft_set_allocator(&counting);
    long n = -1;
    if (decode_pair(b) == 0) {
        allocations = 0;
        if (decode_pair(b) == 0)
            n = allocations;
    }
    refraft_set_allocator(NULL);
    return n;
}

int bench_decode(int argc, char **argv)
{
    decode_args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage();
        return 2;
    }
    bodies b = {{NULL, 0}, {NULL, 0}};
    double *per_s = calloc(a.repeat, sizeof *per_s);
    int status = 1;
    if (per_s == NULL || encode(&a, &b) != 0)
        goto out;
    long allocs = count_allocations(&b);
    if (allocs < 0)
        goto out;
    for (uint32_t run = 0; run < a.repeat; run++) {
        uint64_t start = bench_now_us(), end = start;
        uint64_t pairs = 0;
        while (end - start < (uint64_t)(a.seconds * 1e6)) {
            if (decode_pair(&b) != 0)
                goto out;
            pairs++;
            end = bench_now_us();
        }
        per_s[run] = (double)pairs * 1e6 / (double)(end - start);
    }
    double med = bench_median(per_s, a.repeat);
    printf("{\"bench\":\"decode\",\"entries\":%u,\"record_bytes\":%u,"
           "\"body_bytes\":%zu,\"runs\":%u,\"pairs_per_s\":%.0f,"
           "\"min\":%.0f,\"max\":%.0f,\"ns_per_entry\":%.1f,"
           "\"allocations_per_pair\":%ld}\n",
           a.entries, a.size, b.msg.len + b.records.len, a.repeat, med,
           per_s[0], per_s[a.repeat - 1], 1e9 / med / a.entries, allocs);
    status = 0;
out:
    refraft_wire_free(&b.msg);
    refraft_wire_free(&b.records);
    free(per_s);
    return status;
}
