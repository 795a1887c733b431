/* log.c - the log API over the store: entries, truncation, hard state. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "store.h"

/*
 * An entry is stored under its index as 8 big-endian bytes, so LMDB's
 * byte order is index order and appends go in with MDB_APPEND.  Its value
 * starts with the term (8 bytes) and the type (1); what follows depends
 * on the type.
 *
 * NOOP, REF and VOID: size (8), digest (32) and the record id, whose
 * length is what remains (none for a NOOP or VOID).  A VOID keeps its
 * voided index where a REF keeps its size; a NOOP keeps zeros there.
 *
 * CONFIG (format 2 stores only; see STORE_FORMAT_CONFIG): a layout byte
 * (LOG_CONFIG_LAYOUT, so that the layout can change without a new store
 * format), the member count (1..REFRAFT_MAX_PEERS), then per member a
 * flags byte (bit 0: voter; the other bits 0), the id's length (1..64),
 * the address's length (0..255), the id and the address, neither with a
 * NUL.  Nothing follows the last member.  A CONFIG entry needs no size
 * or digest, so it does not pay for them: one of three members with
 * 20-byte addresses takes about 90 bytes.
 */
#define LOG_CONFIG_LAYOUT 1
#define MEMBER_VOTER 0x01

_Static_assert(REFRAFT_MAX_PEERS <= UINT8_MAX, "the count is one byte");
_Static_assert(REFRAFT_ID_MAX <= UINT8_MAX, "an id's length is one byte");
_Static_assert(REFRAFT_ADDRESS_MAX <= UINT8_MAX,
               "an address's length is one byte");
/* keep_staged writes each value's length in two bytes. */
_Static_assert(LOG_VALUE_MAX <= UINT16_MAX, "a value's length fits 2 bytes");

typedef struct log_key {
    uint8_t b[8];
    MDB_val val;
} log_key;

static void key_init(log_key *k, refraft_index index)
{
    store_put_u64(k->b, index);
    k->val.mv_size = sizeof(k->b);
    k->val.mv_data = k->b;
}

static int corrupt(refstore *store, refraft_index index, const char *why)
{
    return store_errorf(store, REFRAFT_ECORRUPT, "store %s: log entry %llu %s",
                        store->path, (unsigned long long)index, why);
}

static int corruptf(refstore *store, refraft_index index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int corruptf(refstore *store, refraft_index index, const char *fmt, ...)
{
    char why[REFRAFT_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return corrupt(store, index, why);
}

/* A VOID holds no record id and abandons an entry before its own. */
static int decode_void(refstore *store, refraft_index index, const uint8_t *p,
                       size_t id_len, refraft_entry *e)
{
    if (id_len != 0)
        return corrupt(store, index, "is a VOID with a record id");
    e->voided = store_get_u64(p + 9);
    if (e->voided == 0 || e->voided >= index)
        return corrupt(store, index,
                       "is a VOID whose voided index is 0 or not below "
                       "its own");
    return 0;
}

/* Copy len bytes at p into *s as a string (NUL-terminated) and advance
 * *s past it. */
static const char *take_string(char **s, const uint8_t *p, size_t len)
{
    char *str = *s;
    memcpy(str, p, len);
    str[len] = '\0';
    *s += len + 1;
    return str;
}

/* Member i of a CONFIG entry, at p[*at] in a value of len bytes: its
 * bytes checked against the layout, its strings copied into *s.  Every
 * length is checked before the bytes it counts are read. */
static int decode_member(refstore *store, refraft_index index, size_t i,
                         const uint8_t *p, size_t len, size_t *at,
                         refraft_member *m, char **s)
{
    if (len - *at < LOG_MEMBER_HEAD_LEN)
        return corruptf(store, index,
                        "is a CONFIG entry cut short in member %zu", i);
    uint8_t flags = p[*at];
    size_t id_len = p[*at + 1], addr_len = p[*at + 2];
    *at += LOG_MEMBER_HEAD_LEN;
    if ((flags & ~MEMBER_VOTER) != 0)
        return corruptf(store, index,
                        "is a CONFIG entry whose member %zu has unknown "
                        "flags 0x%02x",
                        i, flags);
    if (id_len == 0 || id_len > REFRAFT_ID_MAX)
        return corruptf(store, index,
                        "is a CONFIG entry whose member %zu has an id of "
                        "%zu bytes",
                        i, id_len);
    if (len - *at < id_len + addr_len)
        return corruptf(store, index,
                        "is a CONFIG entry cut short in member %zu", i);
    if (memchr(p + *at, '\0', id_len + addr_len) != NULL)
        return corruptf(store, index,
                        "is a CONFIG entry whose member %zu has a NUL in "
                        "its id or address",
                        i);
    m->id = take_string(s, p + *at, id_len);
    m->address = take_string(s, p + *at + id_len, addr_len);
    m->voter = (flags & MEMBER_VOTER) != 0;
    *at += id_len + addr_len;
    return 0;
}

/* A CONFIG entry of len bytes at p: its members into buf, checked byte
 * by byte against the layout, then as refraft_check_members checks the
 * members of an append. */
static int decode_config(refstore *store, refraft_index index, const uint8_t *p,
                         size_t len, refraft_entry *e, log_entry_buf *buf)
{
    if (len < LOG_CONFIG_HEAD_LEN)
        return corrupt(store, index, "is a CONFIG entry cut short");
    if (p[9] != LOG_CONFIG_LAYOUT)
        return corruptf(store, index,
                        "is a CONFIG entry of layout %u; this library "
                        "reads layout %d",
                        p[9], LOG_CONFIG_LAYOUT);
    size_t n = p[10];
    if (n == 0 || n > REFRAFT_MAX_PEERS)
        return corruptf(store, index,
                        "is a CONFIG entry of %zu members, not 1 to %d", n,
                        REFRAFT_MAX_PEERS);
    size_t at = LOG_CONFIG_HEAD_LEN;
    char *s = buf->strings;
    for (size_t i = 0; i < n; i++) {
        int rv =
            decode_member(store, index, i, p, len, &at, &buf->members[i], &s);
        if (rv != 0)
            return rv;
    }
    if (at != len)
        return corruptf(store, index,
                        "is a CONFIG entry with %zu bytes after its last "
                        "member",
                        len - at);
    char why[REFRAFT_ERRMSG_LEN];
    if (refraft_check_members(buf->members, n, why, sizeof(why)) != 0)
        return corruptf(store, index,
                        "is a CONFIG entry whose members are bad: %s", why);
    e->members = buf->members;
    e->n_members = n;
    return 0;
}

int log_decode(refstore *store, refraft_index index, const MDB_val *v,
               refraft_entry *e, log_entry_buf *buf)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < 9)
        return corrupt(store, index, "has a value of the wrong size");
    memset(e, 0, sizeof(*e));
    e->term = store_get_u64(p);
    e->type = p[8];
    if (e->term == 0)
        return corrupt(store, index, "has term 0");
    if (e->type == REFRAFT_ENTRY_CONFIG)
        return decode_config(store, index, p, v->mv_size, e, buf);
    if (v->mv_size < LOG_HEAD_LEN || v->mv_size > LOG_REF_VALUE_MAX)
        return corrupt(store, index, "has a value of the wrong size");
    size_t id_len = v->mv_size - LOG_HEAD_LEN;
    if (e->type == REFRAFT_ENTRY_NOOP && id_len == 0)
        return 0;
    if (e->type == REFRAFT_ENTRY_VOID)
        return decode_void(store, index, p, id_len, e);
    if (e->type != REFRAFT_ENTRY_REF || id_len == 0)
        return corrupt(store, index, "has a bad type or record id");
    e->ref.size = store_get_u64(p + 9);
    memcpy(e->ref.digest, p + 17, REFRAFT_DIGEST_LEN);
    memcpy(buf->id, p + LOG_HEAD_LEN, id_len);
    e->ref.id = buf->id;
    e->ref.id_len = (uint16_t)id_len;
    return 0;
}

/* A member's address: NULL stands for "" (unknown). */
static size_t address_len(const refraft_member *m)
{
    return m->address != NULL ? strlen(m->address) : 0;
}

/* The length of a validated entry's value. */
static size_t encoded_len(const refraft_entry *e)
{
    if (e->type == REFRAFT_ENTRY_REF)
        return LOG_HEAD_LEN + e->ref.id_len;
    if (e->type != REFRAFT_ENTRY_CONFIG)
        return LOG_HEAD_LEN;
    size_t len = LOG_CONFIG_HEAD_LEN;
    for (size_t i = 0; i < e->n_members; i++)
        len += LOG_MEMBER_HEAD_LEN + strlen(e->members[i].id) +
               address_len(&e->members[i]);
    return len;
}

static size_t encode_config(const refraft_entry *e, uint8_t *buf)
{
    buf[9] = LOG_CONFIG_LAYOUT;
    buf[10] = (uint8_t)e->n_members;
    size_t at = LOG_CONFIG_HEAD_LEN;
    for (size_t i = 0; i < e->n_members; i++) {
        const refraft_member *m = &e->members[i];
        size_t id_len = strlen(m->id), addr_len = address_len(m);
        buf[at] = m->voter ? MEMBER_VOTER : 0;
        buf[at + 1] = (uint8_t)id_len;
        buf[at + 2] = (uint8_t)addr_len;
        at += LOG_MEMBER_HEAD_LEN;
        memcpy(buf + at, m->id, id_len);
        if (addr_len > 0)
            memcpy(buf + at + id_len, m->address, addr_len);
        at += id_len + addr_len;
    }
    return at;
}

size_t log_encode(const refraft_entry *e, uint8_t *buf)
{
    store_put_u64(buf, e->term);
    buf[8] = e->type;
    if (e->type == REFRAFT_ENTRY_CONFIG)
        return encode_config(e, buf);
    memset(buf + 9, 0, LOG_HEAD_LEN - 9);
    if (e->type == REFRAFT_ENTRY_VOID)
        store_put_u64(buf + 9, e->voided);
    if (e->type != REFRAFT_ENTRY_REF)
        return LOG_HEAD_LEN;
    store_put_u64(buf + 9, e->ref.size);
    memcpy(buf + 17, e->ref.digest, REFRAFT_DIGEST_LEN);
    memcpy(buf + LOG_HEAD_LEN, e->ref.id, e->ref.id_len);
    return LOG_HEAD_LEN + e->ref.id_len;
}

/* The log holds exactly the indexes base + 1..last: checked at open, so
 * that reads need not look for holes. */
int log_load(refstore *store, MDB_txn *txn)
{
    int rv = base_load(store, txn);
    if (rv != 0)
        return rv;
    refraft_index base = store->base.last_index;
    store->last_index = base;
    store->last_term = store->base.last_term;
    MDB_cursor *cur;
    MDB_val k, v;
    MDB_stat st;
    int rc = mdb_cursor_open(txn, store->db_log, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the log");
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == MDB_NOTFOUND) {
        mdb_cursor_close(cur);
        return 0;
    }
    if (rc == 0 && k.mv_size == 8) {
        refraft_entry e;
        log_entry_buf buf;
        store->last_index = store_get_u64(k.mv_data);
        rv = log_decode(store, store->last_index, &v, &e, &buf);
        store->last_term = rv == 0 ? e.term : 0;
    }
    if (rc == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (rc == 0)
        rc = mdb_stat(txn, store->db_log, &st);
    mdb_cursor_close(cur);
    if (rv != 0)
        return rv;
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the log");
    if (k.mv_size != 8 || store_get_u64(k.mv_data) != base + 1 ||
        store->last_index <= base || st.ms_entries != store->last_index - base)
        return store_errorf(store, REFRAFT_ECORRUPT,
                            "store %s: the log does not hold exactly the "
                            "indexes %llu..%llu",
                            store->path, (unsigned long long)base + 1,
                            (unsigned long long)store->last_index);
    return 0;
}

/* ---- Reads ------------------------------------------------------------ */

/* The first entry follows the base (1 for a log that never compacted). */
static refraft_index log_first_index(void *ctx)
{
    const refstore *store = ctx;
    return store->base.last_index + 1;
}

static refraft_index log_last_index(void *ctx)
{
    const refstore *store = ctx;
    return store->last_index;
}

typedef struct entry_arg {
    refraft_index index;
    refraft_entry *entry;
    log_entry_buf *buf;
} entry_arg;

static int entry_op(refstore *store, MDB_txn *txn, void *arg)
{
    entry_arg *a = arg;
    log_key k;
    MDB_val v;
    key_init(&k, a->index);
    int rc = mdb_get(txn, store->db_log, &k.val, &v);
    if (rc == MDB_NOTFOUND)
        return corrupt(store, a->index, "is missing");
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the log");
    return log_decode(store, a->index, &v, a->entry, a->buf);
}

int log_read_entry(refstore *store, refraft_index index, refraft_entry *entry,
                   log_entry_buf *buf)
{
    entry_arg a = {index, entry, buf};
    return txn_read(store, entry_op, &a);
}

typedef struct term_arg {
    refraft_index index;
    refraft_term term;
} term_arg;

static int term_op(refstore *store, MDB_txn *txn, void *arg)
{
    term_arg *t = arg;
    refraft_entry e;
    log_entry_buf buf;
    entry_arg a = {t->index, &e, &buf};
    int rv = entry_op(store, txn, &a);
    if (rv == 0)
        t->term = e.term;
    return rv;
}

static int log_term_at(void *ctx, refraft_index index, refraft_term *term)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (term == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "term is NULL");
    if (index > store->last_index)
        return store_errorf(
            store, REFRAFT_ENOTFOUND, "index %llu is past the last index %llu",
            (unsigned long long)index, (unsigned long long)store->last_index);
    refraft_index base = store->base.last_index;
    if (index < base)
        return store_errorf(store, REFRAFT_ENOTFOUND,
                            "index %llu was compacted away (the log starts "
                            "after %llu)",
                            (unsigned long long)index,
                            (unsigned long long)base);
    /* The base lies just before the first entry: index 0 with term 0 for
     * a log that never compacted, else the snapshot's last entry (Raft
     * §7: its index and term stay known for the consistency check). */
    if (index == base || index == store->last_index) {
        *term = index == base ? store->base.last_term : store->last_term;
        return 0;
    }
    term_arg a = {index, 0};
    rv = txn_read(store, term_op, &a);
    if (rv == 0)
        *term = a.term;
    return rv;
}

typedef struct get_arg {
    refraft_index from;
    size_t count;
    refraft_entry *out;
} get_arg;

/* What the entries of a get point to, and where it goes in the arena: an
 * array of every CONFIG entry's members first (so that it is aligned as
 * malloc aligns), then the bytes of the record ids and of the members'
 * strings. */
typedef struct arena_use {
    size_t members;
    size_t bytes;
} arena_use;

/* Move what e points to (into a decoding buffer) into the arena, after
 * what *used counts, and point e there; count it into *used.  The first
 * walk sized the arena for all of it (*total). */
static void to_arena(refstore *store, refraft_entry *e, const arena_use *total,
                     arena_use *used)
{
    /* Only now, with something to copy: a get of NOOPs alone leaves the
     * arena unallocated. */
    if (e->type != REFRAFT_ENTRY_REF && e->type != REFRAFT_ENTRY_CONFIG)
        return;
    uint8_t *bytes = store->arena + total->members * sizeof(refraft_member);
    if (e->type == REFRAFT_ENTRY_REF) {
        memcpy(bytes + used->bytes, e->ref.id, e->ref.id_len);
        e->ref.id = bytes + used->bytes;
        used->bytes += e->ref.id_len;
        return;
    }
    refraft_member *members = (refraft_member *)(void *)store->arena;
    refraft_member *m = members + used->members;
    for (size_t i = 0; i < e->n_members; i++) {
        const refraft_member *from = &e->members[i];
        size_t id_size = strlen(from->id) + 1;
        size_t addr_size = strlen(from->address) + 1;
        char *s = (char *)(bytes + used->bytes);
        memcpy(s, from->id, id_size);
        memcpy(s + id_size, from->address, addr_size);
        m[i].id = s;
        m[i].address = s + id_size;
        m[i].voter = from->voter;
        used->bytes += id_size + addr_size;
    }
    e->members = m;
    used->members += e->n_members;
}

/* What e points to, counted into *use. */
static void count_use(const refraft_entry *e, arena_use *use)
{
    use->bytes += e->ref.id_len;
    use->members += e->n_members;
    for (size_t i = 0; i < e->n_members; i++)
        use->bytes +=
            strlen(e->members[i].id) + 1 + strlen(e->members[i].address) + 1;
}

/*
 * Walk the count entries from a->from.  Without out, only check them and
 * total in *use what they point to; with it, decode them, copying what
 * they point to into the arena (which the first walk sized for *total),
 * so that a failure leaves out untouched.
 */
static int walk(refstore *store, MDB_txn *txn, const get_arg *a,
                refraft_entry *out, const arena_use *total, arena_use *use)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->db_log, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the log");
    log_key k;
    key_init(&k, a->from);
    MDB_val key = k.val, v;
    MDB_cursor_op op = MDB_SET_KEY;
    log_entry_buf buf;
    int rv = 0;
    for (size_t i = 0; i < a->count; i++, op = MDB_NEXT) {
        refraft_index index = a->from + i;
        refraft_entry e;
        rc = mdb_cursor_get(cur, &key, &v, op);
        if (rc == 0 &&
            (key.mv_size != 8 || store_get_u64(key.mv_data) != index))
            rc = MDB_NOTFOUND;
        if (rc == MDB_NOTFOUND)
            rv = corrupt(store, index, "is missing");
        else if (rc != 0)
            rv = store_mdb_error(store, rc, "reading the log");
        else
            rv = log_decode(store, index, &v, &e, &buf);
        if (rv != 0)
            break;
        if (out == NULL) {
            count_use(&e, use);
            continue;
        }
        to_arena(store, &e, total, use);
        out[i] = e;
    }
    mdb_cursor_close(cur);
    return rv;
}

static int get_op(refstore *store, MDB_txn *txn, void *arg)
{
    const get_arg *a = arg;
    arena_use need = {0, 0}, used = {0, 0};
    int rv = walk(store, txn, a, NULL, NULL, &need);
    if (rv != 0)
        return rv;
    bool fits =
        need.members <= (SIZE_MAX - need.bytes) / sizeof(refraft_member);
    size_t room = fits ? need.members * sizeof(refraft_member) + need.bytes : 0;
    if (!fits ||
        refraft_grow((void **)&store->arena, &store->arena_cap, room, 1) != 0)
        return store_errorf(store, REFRAFT_ENOMEM,
                            "out of memory for %zu members and %zu bytes of "
                            "record ids and member strings",
                            need.members, need.bytes);
    return walk(store, txn, a, a->out, &need, &used);
}

static int log_get(void *ctx, refraft_index from, size_t max,
                   refraft_entry *out, size_t *n)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (n == NULL || (out == NULL && max > 0))
        return store_errorf(store, REFRAFT_EINVAL, "n or out is NULL");
    if (from <= store->base.last_index)
        return store_errorf(store, REFRAFT_ENOTFOUND,
                            "index %llu is before the first index %llu",
                            (unsigned long long)from,
                            (unsigned long long)store->base.last_index + 1);
    if (from > store->last_index || max == 0) {
        *n = 0;
        return 0;
    }
    refraft_index left = store->last_index - from + 1;
    get_arg a = {from, left < max ? (size_t)left : max, out};
    rv = txn_read(store, get_op, &a);
    if (rv == 0)
        *n = a.count;
    return rv;
}

/* ---- Append and truncate ---------------------------------------------- */

/* Why e cannot go at index after an entry of prev_term (memlog's rules),
 * or NULL.  A CONFIG entry's members are check_batch's. */
static const char *
bad_entry(const refraft_entry *e, refraft_index index, refraft_term prev_term)
{
    /* Term 0 belongs to index 0 alone; terms never go back (Raft §5.3). */
    if (e->term == 0)
        return "has term 0";
    if (e->term < prev_term)
        return "has a term below the entry before it";
    if (e->type == REFRAFT_ENTRY_NOOP || e->type == REFRAFT_ENTRY_CONFIG)
        return NULL;
    /* A VOID abandons an earlier entry, never itself or a later one. */
    if (e->type == REFRAFT_ENTRY_VOID)
        return e->voided >= 1 && e->voided < index
                   ? NULL
                   : "is a VOID whose voided index is 0 or not below its "
                     "own";
    if (e->type != REFRAFT_ENTRY_REF)
        return "has a type other than NOOP, REF, VOID and CONFIG";
    if (e->ref.id == NULL || e->ref.id_len == 0 ||
        e->ref.id_len > REFRAFT_RECORD_ID_MAX)
        return "has a record id that is not 1..255 bytes";
    return NULL;
}

typedef struct append_arg {
    const refraft_entry *entries;
    size_t n;
    bool config; /* a CONFIG entry is among them */
} append_arg;

int log_note_format(refstore *store, MDB_txn *txn, uint64_t format)
{
    if (store->format >= format)
        return 0;
    return store_meta_put_u64(store, txn, META_FORMAT, format);
}

void log_raise_format(refstore *store, uint64_t format)
{
    if (store->format < format)
        store->format = format;
}

static int append_op(refstore *store, MDB_txn *txn, void *arg)
{
    const append_arg *a = arg;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->db_log, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "appending to the log");
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        uint8_t buf[LOG_VALUE_MAX];
        log_key k;
        key_init(&k, store->last_index + 1 + i);
        MDB_val v = {log_encode(&a->entries[i], buf), buf};
        rc = mdb_cursor_put(cur, &k.val, &v, MDB_APPEND);
    }
    mdb_cursor_close(cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "appending to the log");
    return a->config ? log_note_format(store, txn, STORE_FORMAT_CONFIG) : 0;
}

/* What append and stage check before writing; *config tells whether the
 * batch holds a CONFIG entry. */
static int check_batch(refstore *store, const refraft_entry *entries, size_t n,
                       bool *config)
{
    if (entries == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "entries is NULL");
    refraft_term prev = store->last_term;
    *config = false;
    for (size_t i = 0; i < n; i++) {
        const refraft_entry *e = &entries[i];
        const char *why = bad_entry(e, store->last_index + 1 + i, prev);
        if (why != NULL)
            return store_errorf(store, REFRAFT_EINVAL,
                                "entry %zu of the batch %s", i, why);
        char cause[REFRAFT_ERRMSG_LEN];
        if (e->type == REFRAFT_ENTRY_CONFIG &&
            refraft_check_members(e->members, e->n_members, cause,
                                  sizeof(cause)) != 0)
            return store_errorf(store, REFRAFT_EINVAL,
                                "entry %zu of the batch is a CONFIG entry "
                                "whose members are bad: %s",
                                i, cause);
        *config |= e->type == REFRAFT_ENTRY_CONFIG;
        prev = e->term;
    }
    return 0;
}

/* Group commit: the whole batch is one transaction and one sync. */
static int log_append(void *ctx, const refraft_entry *entries, size_t n)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0 || n == 0)
        return rv;
    bool config;
    rv = check_batch(store, entries, n, &config);
    if (rv != 0)
        return rv;
    append_arg a = {entries, n, config};
    rv = txn_durable(store, append_op, &a);
    if (rv == 0) {
        store->last_index += n;
        store->last_term = entries[n - 1].term;
        if (config)
            log_raise_format(store, STORE_FORMAT_CONFIG);
    }
    return rv;
}

/* Keep the encoded entries (a 2-byte length before each value) for
 * log_restage. */
static int keep_staged(refstore *store, const refraft_entry *entries, size_t n,
                       bool config)
{
    size_t need = 0;
    for (size_t i = 0; i < n; i++)
        need += 2 + encoded_len(&entries[i]);
    if (refraft_grow((void **)&store->staged_buf, &store->staged_cap, need,
                     1) != 0)
        return store_errorf(store, REFRAFT_ENOMEM,
                            "no memory to keep %zu staged entries", n);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = log_encode(&entries[i], store->staged_buf + at + 2);
        store->staged_buf[at] = (uint8_t)(len >> 8);
        store->staged_buf[at + 1] = (uint8_t)len;
        at += 2 + len;
    }
    store->staged_len = at;
    store->staged_config = config;
    return 0;
}

/* The staged entries go at the indexes after staged_prev's: from
 * last_index + 1 while stage runs (staged still 0), at the same indexes
 * when a sync writes them again.  A CONFIG entry among them takes the
 * format change with it. */
int log_restage(refstore *store, MDB_txn *txn)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->db_log, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "staging log entries");
    refraft_index index = store->last_index - store->staged + 1;
    for (size_t at = 0; rc == 0 && at < store->staged_len; index++) {
        size_t len =
            (size_t)store->staged_buf[at] << 8 | store->staged_buf[at + 1];
        log_key k;
        key_init(&k, index);
        MDB_val v = {len, store->staged_buf + at + 2};
        rc = mdb_cursor_put(cur, &k.val, &v, MDB_APPEND);
        at += 2 + len;
    }
    mdb_cursor_close(cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "staging log entries");
    return store->staged_config
               ? log_note_format(store, txn, STORE_FORMAT_CONFIG)
               : 0;
}

static int restage_op(refstore *store, MDB_txn *txn, void *arg)
{
    (void)arg;
    return log_restage(store, txn);
}

/* The leader's append in two steps (refraft_log_api.stage and sync): the
 * entries go into the open write transaction (into a propose's, beside
 * its records), readable at once, and commit with the sync. */
static int log_stage(void *ctx, const refraft_entry *entries, size_t n)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0 || n == 0)
        return rv;
    if (store->staged > 0)
        return store_errorf(store, REFRAFT_EINVAL,
                            "%zu entries are staged already: sync them "
                            "before staging more",
                            store->staged);
    bool config;
    rv = check_batch(store, entries, n, &config);
    if (rv == 0)
        rv = keep_staged(store, entries, n, config);
    if (rv == 0)
        rv = txn_stage(store, restage_op, NULL);
    if (rv != 0) {
        store->staged_config = false;
        return rv;
    }
    store->staged = n;
    store->staged_prev_term = store->last_term;
    store->last_index += n;
    store->last_term = entries[n - 1].term;
    return 0;
}

static int log_sync(void *ctx)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (store == NULL || store->staged == 0)
        return rv;
    /* Whatever happens, the node counts the staged entries as durable
     * only on 0: the store forgets them on every other answer. */
    if (rv == 0)
        rv = txn_sync(store);
    if (rv != 0) {
        log_unstage(store);
        return rv;
    }
    store->staged = 0;
    if (store->staged_config)
        log_raise_format(store, STORE_FORMAT_CONFIG);
    store->staged_config = false;
    return 0;
}

void log_unstage(refstore *store)
{
    if (store->staged == 0)
        return;
    store->last_index -= store->staged;
    store->last_term = store->staged_prev_term;
    store->staged = 0;
    store->staged_config = false;
}

typedef struct truncate_arg {
    refraft_index from;
    refraft_term term; /* of the entry at from - 1, the new last */
    refstore *store;
} truncate_arg;

static int call_truncate_hook(void *arg, MDB_txn *txn)
{
    const truncate_arg *a = arg;
    return a->store->on_truncate(a->store->app_ctx, txn, a->from);
}

static int delete_from(refstore *store, MDB_txn *txn, refraft_index from)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->db_log, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "truncating the log");
    log_key k;
    key_init(&k, from);
    MDB_val key = k.val, v;
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
    /* After a delete the cursor already points at the next entry, which
     * MDB_NEXT then returns. */
    while (rc == 0) {
        rc = mdb_cursor_del(cur, 0);
        if (rc == 0)
            rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return store_mdb_error(store, rc, "truncating the log");
    return 0;
}

static int truncate_op(refstore *store, MDB_txn *txn, void *arg)
{
    truncate_arg *a = arg;
    int rv = delete_from(store, txn, a->from);
    /* The new last entry, or the base when none is left. */
    a->term = store->base.last_term;
    if (rv == 0 && a->from - 1 > store->base.last_index) {
        term_arg t = {a->from - 1, 0};
        rv = term_op(store, txn, &t);
        a->term = t.term;
    }
    /* The data index counts entries whose records are here; the entries
     * that will take the removed ones' places are not known yet. */
    if (rv == 0 && store->data_index >= a->from)
        rv = store_meta_put_u64(store, txn, META_DATA, a->from - 1);
    if (rv == 0 && store->on_truncate != NULL)
        rv = txn_call_app(store, txn, call_truncate_hook, a,
                          "the truncate hook");
    return rv;
}

static int log_truncate(void *ctx, refraft_index from)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    /* Applies still to make again count as applied (txn.c, replay). */
    if (rv == 0)
        rv = txn_replay(store);
    if (rv != 0)
        return rv;
    if (from <= store->base.last_index || from > store->last_index + 1)
        return store_errorf(store, REFRAFT_EINVAL,
                            "truncating from %llu, outside %llu..%llu",
                            (unsigned long long)from,
                            (unsigned long long)store->base.last_index + 1,
                            (unsigned long long)store->last_index + 1);
    /* Applied entries are committed, and committed entries are never
     * truncated (Raft §5.4): a request to is a bug above us. */
    if (from <= store->applied_pending)
        return store_errorf(store, REFRAFT_EINVAL,
                            "truncating from %llu would remove applied "
                            "entries (applied index %llu)",
                            (unsigned long long)from,
                            (unsigned long long)store->applied_pending);
    if (from == store->last_index + 1)
        return 0;
    truncate_arg a = {from, 0, store};
    rv = txn_durable(store, truncate_op, &a);
    if (rv == 0) {
        store->last_index = from - 1;
        store->last_term = a.term;
        if (store->data_index >= from)
            store->data_index = from - 1;
    }
    return rv;
}

/* ---- Hard state ------------------------------------------------------- */

/* Stored as the term (8 bytes) followed by the voted-for id. */
typedef struct hard_state {
    refraft_term term;
    size_t vote_len;
    char vote[REFRAFT_ID_MAX + 1];
} hard_state;

static int save_op(refstore *store, MDB_txn *txn, void *arg)
{
    const hard_state *h = arg;
    uint8_t buf[8 + REFRAFT_ID_MAX];
    store_put_u64(buf, h->term);
    memcpy(buf + 8, h->vote, h->vote_len);
    MDB_val k = {strlen(META_HARD_STATE), META_HARD_STATE};
    MDB_val v = {8 + h->vote_len, buf};
    int rc = mdb_put(txn, store->db_meta, &k, &v, 0);
    return rc == 0 ? 0 : store_mdb_error(store, rc, "saving the hard state");
}

static int
log_save_hard_state(void *ctx, refraft_term term, const char *voted_for)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    hard_state h = {term, 0, ""};
    if (voted_for != NULL)
        h.vote_len = store_bounded_len(voted_for, REFRAFT_ID_MAX);
    if (h.vote_len > REFRAFT_ID_MAX)
        return store_errorf(store, REFRAFT_EINVAL,
                            "voted_for is longer than %d bytes",
                            REFRAFT_ID_MAX);
    memcpy(h.vote, voted_for != NULL ? voted_for : "", h.vote_len);
    return txn_durable(store, save_op, &h);
}

static int load_op(refstore *store, MDB_txn *txn, void *arg)
{
    hard_state *h = arg;
    MDB_val k = {strlen(META_HARD_STATE), META_HARD_STATE}, v;
    int rc = mdb_get(txn, store->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return store_mdb_error(store, rc, "loading the hard state");
    if (v.mv_size < 8 || v.mv_size > 8 + REFRAFT_ID_MAX ||
        memchr((const uint8_t *)v.mv_data + 8, '\0', v.mv_size - 8) != NULL)
        return store_errorf(store, REFRAFT_ECORRUPT,
                            "store %s: the hard state is malformed",
                            store->path);
    h->term = store_get_u64(v.mv_data);
    h->vote_len = v.mv_size - 8;
    memcpy(h->vote, (const uint8_t *)v.mv_data + 8, h->vote_len);
    return 0;
}

static int log_load_hard_state(void *ctx, refraft_term *term, char *voted_for)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (term == NULL || voted_for == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "term or voted_for is NULL");
    hard_state h = {0, 0, ""};
    rv = txn_read(store, load_op, &h);
    if (rv != 0)
        return rv;
    *term = h.term;
    memcpy(voted_for, h.vote, h.vote_len);
    voted_for[h.vote_len] = '\0';
    return 0;
}

/* The log database's pages (branch, leaf and overflow) times the page
 * size: what its entries take on disk, read from LMDB's own counts (no
 * walk over the entries).  Freed pages LMDB keeps for reuse are not
 * counted, so the size shrinks with compaction. */
static int size_op(refstore *store, MDB_txn *txn, void *arg)
{
    uint64_t *bytes = arg;
    MDB_stat st;
    int rc = mdb_stat(txn, store->db_log, &st);
    if (rc != 0)
        return store_mdb_error(store, rc, "measuring the log");
    *bytes = ((uint64_t)st.ms_branch_pages + st.ms_leaf_pages +
              st.ms_overflow_pages) *
             st.ms_psize;
    return 0;
}

static int log_size(void *ctx, uint64_t *bytes)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (bytes == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "bytes is NULL");
    uint64_t b = 0;
    rv = txn_read(store, size_op, &b);
    if (rv == 0)
        *bytes = b;
    return rv;
}

void refstore_log_api(refstore *store, refraft_log_api *api)
{
    if (api == NULL)
        return;
    memset(api, 0, sizeof(*api));
    api->version = REFRAFT_LOG_API_VERSION;
    api->ctx = store;
    api->first_index = log_first_index;
    api->last_index = log_last_index;
    api->term_at = log_term_at;
    api->get = log_get;
    api->append = log_append;
    api->truncate = log_truncate;
    api->save_hard_state = log_save_hard_state;
    api->load_hard_state = log_load_hard_state;
    api->stage = log_stage;
    api->sync = log_sync;
    api->compact = log_compact;
    api->install = log_install;
    api->base = log_base;
    api->size = log_size;
}
