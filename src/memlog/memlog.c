/* memlog.c - the in-memory log API backend (refraft_memlog). */
#include <string.h>

#include "core/alloc.h"
#include "refraft/memlog.h"

/*
 * Layout.  Entries live in fixed-size chunks of MEMLOG_CHUNK_ENTRIES: the
 * entry at index i has position p = i - 1 - origin, and is slot
 * p % MEMLOG_CHUNK_ENTRIES of chunk p / MEMLOG_CHUNK_ENTRIES, so reads are
 * O(1) and an append never moves an entry already written.  origin is 0
 * until the log is compacted: a compaction frees the chunks whose entries
 * are all gone and moves origin past them (the entries of a chunk it cuts
 * into stay in memory, unreadable, until the chunk is freed), and an
 * install frees every chunk and sets origin to the snapshot's index.  Each
 * chunk keeps the record ids of its own entries in its own arena, which grows
 * (by realloc, copying only that chunk's ids) while the chunk fills; a full
 * chunk never changes again until a truncate reaches it.  The log holds a
 * growable array of chunk pointers, 8 bytes per chunk.
 *
 * CONFIG entries are rare (one per membership change) and large (up to
 * REFRAFT_MAX_PEERS ids and addresses), so they do not go into the arena:
 * each has a block of its own holding its members and their strings, and
 * the log lists the blocks in index order, so that a truncation frees the
 * ones it cuts off without looking at any other entry.  The base
 * snapshot's members have a block of the same kind.
 *
 * Sizes.  An entry takes 56 bytes, so a chunk of 2048 entries is 114,712
 * bytes, below glibc's default mmap threshold (128 KiB): chunks come from
 * the heap, where a freed chunk can serve the next allocation, rather
 * than each being mapped, faulted in and unmapped on its own.  (glibc
 * still hands the top of the heap back to the kernel once enough of it
 * is free, e.g. after a whole log is destroyed.)  The arena of a chunk of
 * 16-byte ids is 32 KiB.  Build with -DMEMLOG_CHUNK_SHIFT=n to try 2^n
 * entries a chunk.
 */
#ifndef MEMLOG_CHUNK_SHIFT
#define MEMLOG_CHUNK_SHIFT 11
#endif
#define MEMLOG_CHUNK_ENTRIES ((size_t)1 << MEMLOG_CHUNK_SHIFT)
#define MEMLOG_CHUNK_MASK (MEMLOG_CHUNK_ENTRIES - 1)

/* Most arena bytes a new or growing chunk reserves beyond what the batch
 * being appended needs, when it expects later entries to look like that
 * batch; past this, the arena grows by doubling. */
#define MEMLOG_IDS_RESERVE_MAX ((size_t)64 * 1024)

/* A CONFIG entry's members, in one block: the members array, then the
 * strings it points to (every id and address NUL-terminated; a NULL
 * address is stored as ""). */
struct memlog_config {
    refraft_index index; /* its entry's index (unused for the base) */
    size_t bytes;        /* the block's size */
    size_t n;
    refraft_member members[];
};

/* The fixed part of one entry; what it carries depends on its type.  A
 * REF's record id lives in its chunk's arena at id_off. */
struct memlog_entry {
    refraft_term term;
    union {
        struct {
            uint64_t size;
            uint8_t digest[REFRAFT_DIGEST_LEN];
        } ref;                              /* REF */
        refraft_index voided;               /* VOID */
        const struct memlog_config *config; /* CONFIG */
    } u;
    /* Where the arena ended when the entry was written (every type), so
     * truncate can cut the arena back at any entry. */
    uint32_t id_off;
    uint8_t id_len; /* 0 unless a REF */
    uint8_t type;
};

_Static_assert(REFRAFT_RECORD_ID_MAX <= UINT8_MAX, "id_len is a uint8_t");
_Static_assert(sizeof(struct memlog_entry) <= 56,
               "the sizes above assume 56-byte entries");
_Static_assert(MEMLOG_CHUNK_SHIFT >= 1 && MEMLOG_CHUNK_SHIFT <= 20,
               "chunk size out of range");
_Static_assert(((size_t)REFRAFT_RECORD_ID_MAX << MEMLOG_CHUNK_SHIFT) <=
                   UINT32_MAX,
               "id_off is a uint32_t");

struct memlog_chunk {
    uint8_t *ids;   /* ids of this chunk's entries, in order; NULL if none */
    size_t ids_len; /* bytes in use */
    size_t ids_cap;
    struct memlog_entry e[MEMLOG_CHUNK_ENTRIES];
};

struct refraft_memlog {
    /* chunks[c] holds the entries of positions c * MEMLOG_CHUNK_ENTRIES
     * on; exactly ceil(n_entries / MEMLOG_CHUNK_ENTRIES) are allocated.
     * n_entries counts positions, the unreadable ones before the base
     * included: the last index is origin + n_entries. */
    struct memlog_chunk **chunks;
    size_t n_chunks;
    size_t chunks_cap;
    size_t n_entries;
    refraft_index origin;
    /* The base snapshot (refraft_log_api.base); members NULL when it
     * carries none. */
    refraft_index base_index;
    refraft_term base_term;
    refraft_index base_config_index;
    struct memlog_config *base_members;
    /* The blocks of the CONFIG entries in the log, in index order. */
    struct memlog_config **configs;
    size_t n_configs;
    size_t configs_cap;
    /* What the readable entries take (refraft_log_api.size): see
     * entry_bytes. */
    uint64_t bytes;
    refraft_term term;
    char voted_for[REFRAFT_ID_MAX + 1]; /* "" for no vote */
    int fail_code;                      /* see refraft_memlog_fail_writes */
};

static void chunk_free(struct memlog_chunk *c)
{
    if (c == NULL)
        return;
    refraft_free(c->ids);
    refraft_free(c);
}

/* The entry at 0-based position pos (index pos + 1); pos < n_entries. */
static const struct memlog_entry *
entry_at(const refraft_memlog *log, size_t pos)
{
    return &log->chunks[pos >> MEMLOG_CHUNK_SHIFT]->e[pos & MEMLOG_CHUNK_MASK];
}

/* What an entry counts for in the log's size: its fixed part, its id and
 * its CONFIG block.  Not the chunks' unused slots and arena room: the
 * size says what the entries take, so that it shrinks with them. */
static uint64_t entry_bytes(const struct memlog_entry *e)
{
    uint64_t bytes = sizeof(*e) + e->id_len;
    if (e->type == REFRAFT_ENTRY_CONFIG)
        bytes += e->u.config->bytes;
    return bytes;
}

/* What the entries at positions from..to-1 count for. */
static uint64_t bytes_between(const refraft_memlog *log, size_t from, size_t to)
{
    uint64_t bytes = 0;
    for (size_t pos = from; pos < to; pos++)
        bytes += entry_bytes(entry_at(log, pos));
    return bytes;
}

int refraft_memlog_create(refraft_memlog **out)
{
    if (out == NULL)
        return REFRAFT_EINVAL;
    refraft_memlog *log = refraft_calloc(1, sizeof(*log));
    if (log == NULL)
        return REFRAFT_ENOMEM;
    *out = log;
    return 0;
}

void refraft_memlog_destroy(refraft_memlog *log)
{
    if (log == NULL)
        return;
    for (size_t c = 0; c < log->n_chunks; c++)
        chunk_free(log->chunks[c]);
    for (size_t k = 0; k < log->n_configs; k++)
        refraft_free(log->configs[k]);
    refraft_free(log->base_members);
    refraft_free(log->chunks);
    refraft_free(log->configs);
    refraft_free(log);
}

void refraft_memlog_fail_writes(refraft_memlog *log, int code)
{
    log->fail_code = code;
}

/* The entry at index, base_index < index <= the last index. */
static const struct memlog_entry *
entry_of(const refraft_memlog *log, refraft_index index)
{
    return entry_at(log, (size_t)(index - 1 - log->origin));
}

static refraft_index last_of(const refraft_memlog *log)
{
    return log->origin + (refraft_index)log->n_entries;
}

static refraft_term last_term_of(const refraft_memlog *log)
{
    refraft_index last = last_of(log);
    return last > log->base_index ? entry_of(log, last)->term : log->base_term;
}

static refraft_index memlog_first_index(void *ctx)
{
    const refraft_memlog *log = ctx;
    return log->base_index + 1;
}

static refraft_index memlog_last_index(void *ctx)
{
    return last_of(ctx);
}

static int memlog_term_at(void *ctx, refraft_index index, refraft_term *term)
{
    const refraft_memlog *log = ctx;
    if (term == NULL)
        return REFRAFT_EINVAL;
    if (index < log->base_index || index > last_of(log))
        return REFRAFT_ENOTFOUND;
    /* The base lies just before the first entry (index 0 with term 0 in
     * a log never compacted). */
    *term =
        index == log->base_index ? log->base_term : entry_of(log, index)->term;
    return 0;
}

/* Each entry reads back with what its type carries and the rest zeroed:
 * only a REF has a ref, only a VOID a voided index, only a CONFIG
 * members (which point into its block). */
static void read_entry(const struct memlog_chunk *c,
                       const struct memlog_entry *e, refraft_entry *out)
{
    memset(out, 0, sizeof(*out));
    out->term = e->term;
    out->type = e->type;
    switch (e->type) {
    case REFRAFT_ENTRY_REF:
        out->ref.id = c->ids + e->id_off;
        out->ref.id_len = e->id_len;
        out->ref.size = e->u.ref.size;
        memcpy(out->ref.digest, e->u.ref.digest, REFRAFT_DIGEST_LEN);
        break;
    case REFRAFT_ENTRY_VOID:
        out->voided = e->u.voided;
        break;
    case REFRAFT_ENTRY_CONFIG:
        out->members = e->u.config->members;
        out->n_members = e->u.config->n;
        break;
    default:
        break;
    }
}

static int memlog_get(void *ctx, refraft_index from, size_t max,
                      refraft_entry *out, size_t *n)
{
    const refraft_memlog *log = ctx;
    if (n == NULL || (out == NULL && max > 0))
        return REFRAFT_EINVAL;
    if (from <= log->base_index)
        return REFRAFT_ENOTFOUND;
    *n = 0;
    if (from > last_of(log))
        return 0;
    size_t pos = (size_t)(from - 1 - log->origin);
    size_t count = log->n_entries - pos;
    if (count > max)
        count = max;
    /* One chunk at a time: a run of slots within a chunk is contiguous. */
    for (size_t done = 0; done < count;) {
        const struct memlog_chunk *c = log->chunks[pos >> MEMLOG_CHUNK_SHIFT];
        size_t slot = pos & MEMLOG_CHUNK_MASK;
        size_t run = MEMLOG_CHUNK_ENTRIES - slot;
        if (run > count - done)
            run = count - done;
        for (size_t i = 0; i < run; i++)
            read_entry(c, &c->e[slot + i], &out[done + i]);
        done += run;
        pos += run;
    }
    *n = count;
    return 0;
}

/* Why a single entry cannot be appended at index after a term of
 * prev_term, or 0. */
static int
check_entry(const refraft_entry *e, refraft_index index, refraft_term prev_term)
{
    /* Term 0 belongs to index 0 alone; terms never go back (Raft §5.3). */
    if (e->term == 0 || e->term < prev_term)
        return REFRAFT_EINVAL;
    if (e->type == REFRAFT_ENTRY_NOOP)
        return 0;
    /* A VOID abandons an earlier entry, never itself or a later one. */
    if (e->type == REFRAFT_ENTRY_VOID)
        return e->voided >= 1 && e->voided < index ? 0 : REFRAFT_EINVAL;
    if (e->type == REFRAFT_ENTRY_CONFIG)
        return refraft_check_members(e->members, e->n_members, NULL, 0);
    if (e->type != REFRAFT_ENTRY_REF)
        return REFRAFT_EINVAL;
    if (e->ref.id == NULL || e->ref.id_len == 0 ||
        e->ref.id_len > REFRAFT_RECORD_ID_MAX)
        return REFRAFT_EINVAL;
    return 0;
}

/* Validate a whole batch before touching anything, so append stays all or
 * nothing. */
static int
check_batch(const refraft_memlog *log, const refraft_entry *entries, size_t n)
{
    refraft_term prev_term = last_term_of(log);
    for (size_t i = 0; i < n; i++) {
        refraft_index index = last_of(log) + 1 + i;
        int rv = check_entry(&entries[i], index, prev_term);
        if (rv != 0)
            return rv;
        prev_term = entries[i].term;
    }
    return 0;
}

/* Arena bytes the ids of entries[0..n) take (validated entries). */
static size_t id_bytes(const refraft_entry *entries, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (entries[i].type == REFRAFT_ENTRY_REF)
            bytes += entries[i].ref.id_len;
    }
    return bytes;
}

/*
 * The arena capacity for a chunk whose arena holds cap bytes (used of
 * them taken) when this batch adds count entries with bytes of ids to it
 * and leaves room slots free.  A chunk this batch fills gets exactly what it
 * needs; one with room left reserves for more entries like these (up to
 * MEMLOG_IDS_RESERVE_MAX bytes) and at least doubles, so a chunk filled by
 * many small appends reallocates O(log) times.
 */
static size_t
ids_cap_for(size_t cap, size_t used, size_t bytes, size_t count, size_t room)
{
    size_t need = used + bytes;
    if (need <= cap)
        return cap;
    size_t limit = need + room * REFRAFT_RECORD_ID_MAX;
    size_t avg = (bytes + count - 1) / count;
    size_t reserve = room * avg;
    if (reserve > MEMLOG_IDS_RESERVE_MAX)
        reserve = MEMLOG_IDS_RESERVE_MAX;
    size_t want = need + reserve;
    if (want < 2 * cap)
        want = 2 * cap;
    return want < limit ? want : limit;
}

/* A new, empty chunk whose arena holds ids_cap bytes; NULL on failure. */
static struct memlog_chunk *chunk_new(size_t ids_cap)
{
    struct memlog_chunk *c = refraft_malloc(sizeof(*c));
    if (c == NULL)
        return NULL;
    c->ids = NULL;
    c->ids_len = 0;
    c->ids_cap = 0;
    if (ids_cap > 0) {
        c->ids = refraft_malloc(ids_cap);
        if (c->ids == NULL) {
            refraft_free(c);
            return NULL;
        }
        c->ids_cap = ids_cap;
    }
    return c;
}

/* A CONFIG entry's block, its members and strings copied from e
 * (validated); NULL on failure. */
static struct memlog_config *
config_new(const refraft_member *members, size_t n, refraft_index index)
{
    size_t strings = 0;
    for (size_t i = 0; i < n; i++) {
        const refraft_member *m = &members[i];
        strings += strlen(m->id) + 1;
        strings += (m->address != NULL ? strlen(m->address) : 0) + 1;
    }
    size_t head = sizeof(struct memlog_config) + n * sizeof(refraft_member);
    struct memlog_config *cfg = refraft_malloc(head + strings);
    if (cfg == NULL)
        return NULL;
    cfg->index = index;
    cfg->bytes = head + strings;
    cfg->n = n;
    char *tail = (char *)cfg + head;
    for (size_t i = 0; i < n; i++) {
        const refraft_member *m = &members[i];
        const char *address = m->address != NULL ? m->address : "";
        size_t id_len = strlen(m->id) + 1;
        size_t address_len = strlen(address) + 1;
        memcpy(tail, m->id, id_len);
        cfg->members[i].id = tail;
        tail += id_len;
        memcpy(tail, address, address_len);
        cfg->members[i].address = tail;
        tail += address_len;
        cfg->members[i].voter = m->voter;
    }
    return cfg;
}

/*
 * Make the blocks of the CONFIG entries among entries[0..n) (to be
 * appended at position first), in log->configs past n_configs, where they
 * count only once the append is done; *count gets how many.  Returns 0, or
 * REFRAFT_ENOMEM with none made.
 */
static int reserve_configs(refraft_memlog *log, const refraft_entry *entries,
                           size_t n, size_t first, size_t *count)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += entries[i].type == REFRAFT_ENTRY_CONFIG;
    *count = k;
    if (k == 0)
        return 0;
    if (refraft_grow((void **)&log->configs, &log->configs_cap,
                     log->n_configs + k, sizeof(*log->configs)) != 0)
        return REFRAFT_ENOMEM;
    size_t made = 0;
    for (size_t i = 0; i < n; i++) {
        if (entries[i].type != REFRAFT_ENTRY_CONFIG)
            continue;
        struct memlog_config *cfg =
            config_new(entries[i].members, entries[i].n_members,
                       log->origin + first + i + 1);
        if (cfg == NULL)
            goto err_after_blocks;
        log->configs[log->n_configs + made++] = cfg;
    }
    return 0;
err_after_blocks:
    while (made-- > 0)
        refraft_free(log->configs[log->n_configs + made]);
    return REFRAFT_ENOMEM;
}

/*
 * Allocate everything entries[0..n) need, changing no content: the chunk
 * pointer array grows, new chunks are made past n_chunks and CONFIG blocks
 * past n_configs (both become part of the log only once everything
 * succeeded), and the partly filled last chunk's arena grows last of all,
 * so that a failure never moves the ids that get has handed out.  Returns
 * 0 or REFRAFT_ENOMEM with every new chunk and block freed.
 */
static int reserve(refraft_memlog *log, const refraft_entry *entries, size_t n,
                   size_t *end_chunks, size_t *n_configs)
{
    size_t first = log->n_entries;
    if (n > SIZE_MAX - MEMLOG_CHUNK_ENTRIES - first)
        return REFRAFT_ENOMEM;
    size_t end = first + n;
    size_t chunks = (end + MEMLOG_CHUNK_MASK) >> MEMLOG_CHUNK_SHIFT;
    /* Grows the pointer array only: a failure leaves its content alone. */
    if (refraft_grow((void **)&log->chunks, &log->chunks_cap, chunks,
                     sizeof(*log->chunks)) != 0)
        return REFRAFT_ENOMEM;
    size_t c;
    for (c = log->n_chunks; c < chunks; c++) {
        size_t lo = c << MEMLOG_CHUNK_SHIFT, hi = lo + MEMLOG_CHUNK_ENTRIES;
        size_t room = hi > end ? hi - end : 0;
        if (lo < first)
            lo = first;
        if (hi > end)
            hi = end;
        size_t bytes = id_bytes(entries + (lo - first), hi - lo);
        log->chunks[c] = chunk_new(ids_cap_for(0, 0, bytes, hi - lo, room));
        if (log->chunks[c] == NULL)
            goto err_after_chunks;
    }
    if (reserve_configs(log, entries, n, first, n_configs) != 0)
        goto err_after_chunks;
    /* The last chunk of the log, if it has free slots, takes the batch's
     * first entries. */
    if ((first & MEMLOG_CHUNK_MASK) != 0) {
        struct memlog_chunk *tail = log->chunks[first >> MEMLOG_CHUNK_SHIFT];
        size_t hi = (first | MEMLOG_CHUNK_MASK) + 1;
        size_t room = hi > end ? hi - end : 0;
        if (hi > end)
            hi = end;
        size_t bytes = id_bytes(entries, hi - first);
        size_t cap =
            ids_cap_for(tail->ids_cap, tail->ids_len, bytes, hi - first, room);
        if (cap > tail->ids_cap) {
            uint8_t *ids = refraft_realloc(tail->ids, cap);
            if (ids == NULL)
                goto err_after_configs;
            tail->ids = ids;
            tail->ids_cap = cap;
        }
    }
    *end_chunks = chunks;
    return 0;
err_after_configs:
    for (size_t k = 0; k < *n_configs; k++)
        refraft_free(log->configs[log->n_configs + k]);
err_after_chunks:
    while (c-- > log->n_chunks) {
        chunk_free(log->chunks[c]);
        log->chunks[c] = NULL;
    }
    return REFRAFT_ENOMEM;
}

/* Copy one validated entry into slot of chunk c, whose arena has room; a
 * CONFIG entry takes the next block reserved past log->n_configs. */
static void write_entry(refraft_memlog *log, struct memlog_chunk *c,
                        size_t slot, const refraft_entry *in)
{
    struct memlog_entry *e = &c->e[slot];
    e->term = in->term;
    e->type = in->type;
    e->id_off = (uint32_t)c->ids_len;
    e->id_len = 0;
    switch (in->type) {
    case REFRAFT_ENTRY_REF:
        e->id_len = (uint8_t)in->ref.id_len;
        e->u.ref.size = in->ref.size;
        memcpy(e->u.ref.digest, in->ref.digest, REFRAFT_DIGEST_LEN);
        memcpy(c->ids + c->ids_len, in->ref.id, in->ref.id_len);
        c->ids_len += in->ref.id_len;
        break;
    case REFRAFT_ENTRY_VOID:
        e->u.voided = in->voided;
        break;
    case REFRAFT_ENTRY_CONFIG:
        e->u.config = log->configs[log->n_configs++];
        break;
    default:
        break;
    }
}

static int memlog_append(void *ctx, const refraft_entry *entries, size_t n)
{
    refraft_memlog *log = ctx;
    if (log->fail_code != 0)
        return log->fail_code;
    if (n == 0)
        return 0;
    if (entries == NULL)
        return REFRAFT_EINVAL;
    int rv = check_batch(log, entries, n);
    if (rv != 0)
        return rv;
    size_t end_chunks, n_configs;
    rv = reserve(log, entries, n, &end_chunks, &n_configs);
    if (rv != 0)
        return rv;
    /* Nothing can fail from here on. */
    log->n_chunks = end_chunks;
    size_t pos = log->n_entries;
    for (size_t done = 0; done < n;) {
        struct memlog_chunk *c = log->chunks[pos >> MEMLOG_CHUNK_SHIFT];
        size_t slot = pos & MEMLOG_CHUNK_MASK;
        size_t run = MEMLOG_CHUNK_ENTRIES - slot;
        if (run > n - done)
            run = n - done;
        for (size_t i = 0; i < run; i++) {
            write_entry(log, c, slot + i, &entries[done + i]);
            log->bytes += entry_bytes(&c->e[slot + i]);
        }
        done += run;
        pos += run;
    }
    log->n_entries = pos;
    return 0;
}

/* Truncation frees the chunks wholly past the cut and the blocks of the
 * CONFIG entries it removes, and shortens the chunk it falls in; it never
 * allocates, so it cannot fail for lack of memory. */
static int memlog_truncate(void *ctx, refraft_index from)
{
    refraft_memlog *log = ctx;
    if (log->fail_code != 0)
        return log->fail_code;
    if (from <= log->base_index || from > last_of(log) + 1)
        return REFRAFT_EINVAL;
    size_t keep = (size_t)(from - 1 - log->origin);
    if (keep == log->n_entries)
        return 0;
    /* Before their CONFIG blocks go. */
    log->bytes -= bytes_between(log, keep, log->n_entries);
    while (log->n_configs > 0 &&
           log->configs[log->n_configs - 1]->index >= from)
        refraft_free(log->configs[--log->n_configs]);
    size_t chunks = (keep + MEMLOG_CHUNK_MASK) >> MEMLOG_CHUNK_SHIFT;
    while (log->n_chunks > chunks)
        chunk_free(log->chunks[--log->n_chunks]);
    if ((keep & MEMLOG_CHUNK_MASK) != 0) {
        struct memlog_chunk *c = log->chunks[keep >> MEMLOG_CHUNK_SHIFT];
        c->ids_len = c->e[keep & MEMLOG_CHUNK_MASK].id_off;
    }
    log->n_entries = keep;
    return 0;
}

/* Length of s if it is at most max bytes, else max + 1; reads no further
 * than that, so an unterminated buffer is safe. */
static size_t bounded_len(const char *s, size_t max)
{
    size_t len = 0;
    while (len <= max && s[len] != '\0')
        len++;
    return len;
}

static int
memlog_save_hard_state(void *ctx, refraft_term term, const char *voted_for)
{
    refraft_memlog *log = ctx;
    if (log->fail_code != 0)
        return log->fail_code;
    size_t len = voted_for != NULL ? bounded_len(voted_for, REFRAFT_ID_MAX) : 0;
    if (len > REFRAFT_ID_MAX)
        return REFRAFT_EINVAL;
    log->term = term;
    memcpy(log->voted_for, voted_for != NULL ? voted_for : "", len);
    log->voted_for[len] = '\0';
    return 0;
}

static int
memlog_load_hard_state(void *ctx, refraft_term *term, char *voted_for)
{
    const refraft_memlog *log = ctx;
    if (term == NULL || voted_for == NULL)
        return REFRAFT_EINVAL;
    *term = log->term;
    memcpy(voted_for, log->voted_for, sizeof(log->voted_for));
    return 0;
}

/* ---- compaction (log API version 5) ----------------------------------- */

/* Whether meta describes a snapshot: an entry of index and term 1 or
 * more, and a configuration at or before it: the initial one (index 0, no
 * members) or a CONFIG entry's, with valid members. */
static bool meta_ok(const refraft_snapshot_meta *meta)
{
    if (meta->last_index == 0 || meta->last_term == 0 ||
        meta->config_index > meta->last_index)
        return false;
    if (meta->config_index == 0 || meta->n_members == 0)
        return meta->config_index == 0 && meta->n_members == 0;
    return refraft_check_members(meta->members, meta->n_members, NULL, 0) == 0;
}

/* Make meta the base, its members in members (made by the caller). */
static void set_base(refraft_memlog *log, const refraft_snapshot_meta *meta,
                     struct memlog_config *members)
{
    refraft_free(log->base_members);
    log->base_members = members;
    log->base_index = meta->last_index;
    log->base_term = meta->last_term;
    log->base_config_index = meta->config_index;
}

/* A block for meta's members; *out NULL when it has none.  Returns 0 or
 * REFRAFT_ENOMEM. */
static int
base_members_new(const refraft_snapshot_meta *meta, struct memlog_config **out)
{
    *out = NULL;
    if (meta->n_members == 0)
        return 0;
    *out = config_new(meta->members, meta->n_members, meta->config_index);
    return *out != NULL ? 0 : REFRAFT_ENOMEM;
}

/* Entries up to meta->last_index go; the chunks that held only such
 * entries are freed, the CONFIG blocks of those entries too.  Nothing is
 * allocated after the members block, so a failure changes nothing. */
static int memlog_compact(void *ctx, const refraft_snapshot_meta *meta)
{
    refraft_memlog *log = ctx;
    if (log->fail_code != 0)
        return log->fail_code;
    if (meta == NULL || !meta_ok(meta) || meta->last_index <= log->base_index ||
        meta->last_index > last_of(log) ||
        entry_of(log, meta->last_index)->term != meta->last_term)
        return REFRAFT_EINVAL;
    struct memlog_config *members;
    if (base_members_new(meta, &members) != 0)
        return REFRAFT_ENOMEM;
    log->bytes -= bytes_between(log, (size_t)(log->base_index - log->origin),
                                (size_t)(meta->last_index - log->origin));
    size_t gone = 0;
    while (gone < log->n_configs &&
           log->configs[gone]->index <= meta->last_index)
        refraft_free(log->configs[gone++]);
    if (gone > 0 && gone < log->n_configs)
        memmove(log->configs, log->configs + gone,
                (log->n_configs - gone) * sizeof(*log->configs));
    log->n_configs -= gone;
    size_t dead = (size_t)(meta->last_index - log->origin);
    size_t chunks = dead >> MEMLOG_CHUNK_SHIFT;
    for (size_t c = 0; c < chunks; c++)
        chunk_free(log->chunks[c]);
    if (chunks > 0 && chunks < log->n_chunks)
        memmove(log->chunks, log->chunks + chunks,
                (log->n_chunks - chunks) * sizeof(*log->chunks));
    log->n_chunks -= chunks;
    log->n_entries -= chunks << MEMLOG_CHUNK_SHIFT;
    log->origin += (refraft_index)(chunks << MEMLOG_CHUNK_SHIFT);
    set_base(log, meta, members);
    return 0;
}

/* Every entry goes; the next append lands at meta->last_index + 1, in a
 * new chunk's first slot. */
static int memlog_install(void *ctx, const refraft_snapshot_meta *meta)
{
    refraft_memlog *log = ctx;
    if (log->fail_code != 0)
        return log->fail_code;
    if (meta == NULL || !meta_ok(meta) || meta->last_index < log->base_index)
        return REFRAFT_EINVAL;
    struct memlog_config *members;
    if (base_members_new(meta, &members) != 0)
        return REFRAFT_ENOMEM;
    while (log->n_configs > 0)
        refraft_free(log->configs[--log->n_configs]);
    while (log->n_chunks > 0)
        chunk_free(log->chunks[--log->n_chunks]);
    log->n_entries = 0;
    log->bytes = 0;
    log->origin = meta->last_index;
    set_base(log, meta, members);
    return 0;
}

static int memlog_base(void *ctx, refraft_snapshot_meta *out)
{
    const refraft_memlog *log = ctx;
    if (out == NULL)
        return REFRAFT_EINVAL;
    memset(out, 0, sizeof(*out));
    out->last_index = log->base_index;
    out->last_term = log->base_term;
    out->config_index = log->base_config_index;
    if (log->base_members != NULL) {
        out->members = log->base_members->members;
        out->n_members = log->base_members->n;
    }
    return 0;
}

static int memlog_size(void *ctx, uint64_t *bytes)
{
    const refraft_memlog *log = ctx;
    if (bytes == NULL)
        return REFRAFT_EINVAL;
    *bytes = log->bytes;
    return 0;
}

void refraft_memlog_api(refraft_memlog *log, refraft_log_api *api)
{
    memset(api, 0, sizeof(*api));
    api->version = REFRAFT_LOG_API_VERSION;
    api->ctx = log;
    api->first_index = memlog_first_index;
    api->last_index = memlog_last_index;
    api->term_at = memlog_term_at;
    api->get = memlog_get;
    api->append = memlog_append;
    api->truncate = memlog_truncate;
    api->save_hard_state = memlog_save_hard_state;
    api->load_hard_state = memlog_load_hard_state;
    api->compact = memlog_compact;
    api->install = memlog_install;
    api->base = memlog_base;
    api->size = memlog_size;
}
