/* memlog.c - the in-memory log API backend (refraft_memlog). */
#include <string.h>

#include "core/alloc.h"
#include "refraft/memlog.h"

/*
 * The fixed part of one entry.  Its record id lives in the log's id arena
 * at id_off, so appending an entry never allocates on its own: the two
 * arrays grow by doubling and the cost is O(1) amortized per entry.
 */
struct memlog_entry {
    refraft_term term;
    uint64_t size;
    size_t id_off;
    uint8_t digest[REFRAFT_DIGEST_LEN];
    uint16_t id_len;
    uint8_t type;
};

struct refraft_memlog {
    struct memlog_entry *entries; /* entries[i] has index i + 1 */
    size_t n_entries;
    size_t entries_cap;
    uint8_t *ids; /* record ids of all entries, in index order */
    size_t ids_len;
    size_t ids_cap;
    refraft_term term;
    char voted_for[REFRAFT_ID_MAX + 1]; /* "" for no vote */
    int fail_code;                      /* see refraft_memlog_fail_writes */
};

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
    refraft_free(log->entries);
    refraft_free(log->ids);
    refraft_free(log);
}

void refraft_memlog_fail_writes(refraft_memlog *log, int code)
{
    log->fail_code = code;
}

/* The memlog never compacts, so its first index is always 1. */
static refraft_index memlog_first_index(void *ctx)
{
    (void)ctx;
    return 1;
}

static refraft_index memlog_last_index(void *ctx)
{
    const refraft_memlog *log = ctx;
    return (refraft_index)log->n_entries;
}

static int memlog_term_at(void *ctx, refraft_index index, refraft_term *term)
{
    const refraft_memlog *log = ctx;
    if (term == NULL)
        return REFRAFT_EINVAL;
    if (index > log->n_entries)
        return REFRAFT_ENOTFOUND;
    /* Index 0 lies just before the first entry; Raft gives it term 0. */
    *term = index == 0 ? 0 : log->entries[index - 1].term;
    return 0;
}

/* A NOOP carries no reference, so it reads back with an all-zero ref. */
static void read_entry(const refraft_memlog *log, const struct memlog_entry *e,
                       refraft_entry *out)
{
    memset(out, 0, sizeof(*out));
    out->term = e->term;
    out->type = e->type;
    if (e->type != REFRAFT_ENTRY_REF)
        return;
    out->ref.id = log->ids + e->id_off;
    out->ref.id_len = e->id_len;
    out->ref.size = e->size;
    memcpy(out->ref.digest, e->digest, REFRAFT_DIGEST_LEN);
}

static int memlog_get(void *ctx, refraft_index from, size_t max,
                      refraft_entry *out, size_t *n)
{
    const refraft_memlog *log = ctx;
    if (n == NULL || (out == NULL && max > 0))
        return REFRAFT_EINVAL;
    if (from == 0)
        return REFRAFT_ENOTFOUND;
    *n = 0;
    if (from > log->n_entries)
        return 0;
    size_t first = (size_t)(from - 1);
    size_t count = log->n_entries - first;
    if (count > max)
        count = max;
    for (size_t i = 0; i < count; i++)
        read_entry(log, &log->entries[first + i], &out[i]);
    *n = count;
    return 0;
}

/* Why a single entry cannot be appended after a term of prev_term, or 0. */
static int check_entry(const refraft_entry *e, refraft_term prev_term)
{
    /* Term 0 belongs to index 0 alone; terms never go back (Raft §5.3). */
    if (e->term == 0 || e->term < prev_term)
        return REFRAFT_EINVAL;
    if (e->type == REFRAFT_ENTRY_NOOP)
        return 0;
    if (e->type != REFRAFT_ENTRY_REF)
        return REFRAFT_EINVAL;
    if (e->ref.id == NULL || e->ref.id_len == 0 ||
        e->ref.id_len > REFRAFT_RECORD_ID_MAX)
        return REFRAFT_EINVAL;
    return 0;
}

/* Validate a whole batch before touching anything, so append stays all or
 * nothing; *id_bytes gets the arena space its ids need. */
static int check_batch(const refraft_memlog *log, const refraft_entry *entries,
                       size_t n, size_t *id_bytes)
{
    refraft_term prev_term =
        log->n_entries > 0 ? log->entries[log->n_entries - 1].term : 0;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        int rv = check_entry(&entries[i], prev_term);
        if (rv != 0)
            return rv;
        if (entries[i].type == REFRAFT_ENTRY_REF)
            bytes += entries[i].ref.id_len;
        prev_term = entries[i].term;
    }
    *id_bytes = bytes;
    return 0;
}

/*
 * Make room for n more entries holding id_bytes of ids.  If the second
 * array cannot grow, the first keeps its larger capacity: that changes no
 * content, and the next append will use it.
 */
static int reserve(refraft_memlog *log, size_t n, size_t id_bytes)
{
    if (n > SIZE_MAX - log->n_entries || id_bytes > SIZE_MAX - log->ids_len)
        return REFRAFT_ENOMEM;
    if (refraft_grow((void **)&log->entries, &log->entries_cap,
                     log->n_entries + n, sizeof(*log->entries)) != 0)
        return REFRAFT_ENOMEM;
    if (refraft_grow((void **)&log->ids, &log->ids_cap, log->ids_len + id_bytes,
                     1) != 0)
        return REFRAFT_ENOMEM;
    return 0;
}

/* Copy one validated entry to the end of the log. */
static void push_entry(refraft_memlog *log, const refraft_entry *in)
{
    struct memlog_entry *e = &log->entries[log->n_entries++];
    memset(e, 0, sizeof(*e));
    e->term = in->term;
    e->type = in->type;
    /* Every entry records where the arena ends, so truncate can cut the
     * arena back at any entry, NOOPs included. */
    e->id_off = log->ids_len;
    if (in->type != REFRAFT_ENTRY_REF)
        return;
    e->id_len = in->ref.id_len;
    e->size = in->ref.size;
    memcpy(e->digest, in->ref.digest, REFRAFT_DIGEST_LEN);
    memcpy(log->ids + log->ids_len, in->ref.id, in->ref.id_len);
    log->ids_len += in->ref.id_len;
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
    size_t id_bytes;
    int rv = check_batch(log, entries, n, &id_bytes);
    if (rv != 0)
        return rv;
    rv = reserve(log, n, id_bytes);
    if (rv != 0)
        return rv;
    for (size_t i = 0; i < n; i++)
        push_entry(log, &entries[i]);
    return 0;
}

/* Truncation only shortens the arrays; it never reallocates, so it cannot
 * fail for lack of memory. */
static int memlog_truncate(void *ctx, refraft_index from)
{
    refraft_memlog *log = ctx;
    if (log->fail_code != 0)
        return log->fail_code;
    if (from == 0 || from > (refraft_index)log->n_entries + 1)
        return REFRAFT_EINVAL;
    size_t keep = (size_t)(from - 1);
    if (keep < log->n_entries) {
        log->ids_len = log->entries[keep].id_off;
        log->n_entries = keep;
    }
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
}
