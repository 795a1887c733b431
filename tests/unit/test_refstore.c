/* test_refstore.c - refstore: the log API conformance suite on LMDB, and
 * the store's own contract (refstore.h) one rule at a time. */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "failalloc.h"
#include "log_conformance.h"
#include "refraft/refstore.h"

#define CLUSTER "test-cluster"
#define NODE "n1"
#define KIB ((size_t)1024)

/* ------------------------------------------------------------------------
 * Directories
 * ------------------------------------------------------------------------ */

/* A new empty directory under $TMPDIR (or /tmp), its path in dir. */
static void make_tmpdir(char *dir, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, cap, "%s/refstore-test.XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
}

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

/* rm -rf dir */
static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------------
 * refstore as a conformance backend: reopen is close + open of the same
 * directory, close removes it.
 * ------------------------------------------------------------------------ */

struct backend_handle {
    char dir[PATH_MAX];
    refstore *store;
};

/* A small initial map (the default is 64 MiB) keeps the sanitizers' cost
 * of mapping it down, and makes the suite's large batch grow it. */
#define TEST_MAP_SIZE ((size_t)4 << 20)

static int open_at(const char *dir, refstore **out)
{
    refstore_options o = {.path = dir,
                          .cluster_id = CLUSTER,
                          .node_id = NODE,
                          .map_size = TEST_MAP_SIZE};
    char err[REFRAFT_ERRMSG_LEN];
    int rv = refstore_open(&o, out, err, sizeof(err));
    if (rv != 0)
        fprintf(stderr, "refstore_open %s: %s\n", dir, err);
    return rv;
}

/*
 * The node compacts only entries it has applied (refraft.h), and refstore
 * refuses to compact past its applied index.  The suite's compactions
 * stand for the node's, so the backend's compact first applies, as the
 * node would have, the entries up to the index a compaction names, when
 * that compaction can succeed (an entry of the log with that term): a
 * compaction the suite expects to fail applies nothing, so that it leaves
 * the entries it names as truncatable as they were.
 */
static int (*store_compact)(void *ctx, const refraft_snapshot_meta *meta);

static void apply_for_compaction(refstore *store, const refraft_log_api *api,
                                 const refraft_snapshot_meta *meta)
{
    refraft_term term = 0;
    if (meta == NULL || meta->last_index < api->first_index(api->ctx) ||
        api->term_at(api->ctx, meta->last_index, &term) != 0 ||
        term != meta->last_term)
        return;
    refraft_entry noop;
    memset(&noop, 0, sizeof(noop));
    noop.term = term;
    noop.type = REFRAFT_ENTRY_NOOP;
    for (refraft_index i = refstore_applied_index(store) + 1;
         i <= meta->last_index; i++)
        assert_int_equal(refstore_apply(store, i, &noop), 0);
    assert_int_equal(refstore_flush(store), 0);
}

static int backend_compact(void *ctx, const refraft_snapshot_meta *meta)
{
    refraft_log_api api;
    refstore_log_api(ctx, &api);
    apply_for_compaction(ctx, &api, meta);
    return store_compact(ctx, meta);
}

static void backend_api(refstore *store, refraft_log_api *api)
{
    refstore_log_api(store, api);
    store_compact = api->compact;
    api->compact = backend_compact;
}

static int backend_open(void *ctx, refraft_log_api *api, void **handle)
{
    (void)ctx;
    struct backend_handle *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return REFRAFT_ENOMEM;
    make_tmpdir(h->dir, sizeof(h->dir));
    int rv = open_at(h->dir, &h->store);
    if (rv != 0) {
        remove_tree(h->dir);
        free(h);
        return rv;
    }
    backend_api(h->store, api);
    *handle = h;
    return 0;
}

static int backend_reopen(void *handle, refraft_log_api *api)
{
    struct backend_handle *h = handle;
    refstore_close(h->store);
    h->store = NULL;
    int rv = open_at(h->dir, &h->store);
    if (rv == 0)
        backend_api(h->store, api);
    return rv;
}

static void backend_close(void *handle)
{
    struct backend_handle *h = handle;
    refstore_close(h->store);
    remove_tree(h->dir);
    free(h);
}

static const log_backend refstore_backend = {"refstore", NULL, backend_open,
                                             backend_reopen, backend_close};

/* ------------------------------------------------------------------------
 * The test application: one database of its own, "app", where the apply
 * hook writes index -> "applied" and the truncate hook "truncated" -> from.
 * ------------------------------------------------------------------------ */

struct app {
    refstore *store;
    MDB_dbi db;
    refraft_index fail_apply_at; /* the apply hook fails there (0: never) */
    bool fail_truncate;          /* the truncate hook fails */
    size_t apply_value_len;      /* bytes the apply hook writes per entry */
    refraft_index big_apply_at;  /* and 2 MiB there (0: nowhere) */
    bool fail_all;               /* the apply hook fails at once, always */
    int reapply_fail_code;       /* returned for an index finished before */
    bool raw_mdb;                /* hooks return LMDB's codes as they are */
    int applies;                 /* apply hook calls */
    refraft_index last_ok;       /* highest index the apply hook finished */
    int reapplies;               /* calls for an index finished before */
    int records_seen;            /* records the apply hook found */
    int truncates;               /* truncate hook calls */
    int nested_rv;               /* what a call into the store returned */
    /* The entry type each index was last applied with (indexes below
     * APP_TYPES), how often a second call for an index saw another type
     * than the first, and how many calls ran an ABANDONED index again. */
#define APP_TYPES 256
    uint8_t types[APP_TYPES];
    int type_changes;
    int abandoned_reapplies;
    /* CONFIG entries the apply hook saw, and those whose members broke
     * refraft_entry's rules (refraft_check_members). */
    int configs;
    int bad_configs;
    /* The install hook: its calls, whether it fails (after writing), the
     * extra bytes it writes, and the last meta it saw. */
    int installs;
    bool fail_install;
    size_t install_value_len;
    refraft_snapshot_meta installed;
    size_t installed_members_ok; /* members that matched want_members */
    const refraft_member *want_members;
    /* The installed hook: its calls, the last index it was told of, and
     * what a call into the store from it returned. */
    int installed_calls;
    refraft_index installed_at;
    int installed_nested_rv;
};

static MDB_val index_key(uint8_t buf[8], refraft_index index)
{
    for (int i = 7; i >= 0; i--, index >>= 8)
        buf[i] = (uint8_t)index;
    MDB_val k = {8, buf};
    return k;
}

static int from_mdb(int rc)
{
    if (rc == 0)
        return 0;
    return rc == MDB_MAP_FULL ? REFRAFT_ENOSPC : REFRAFT_EIO;
}

static int app_put(struct app *a, MDB_txn *txn, MDB_val *k, size_t len)
{
    static uint8_t zeros[4 * 1024 * 1024];
    MDB_val v = {len, zeros};
    int rc = mdb_put(txn, a->db, k, &v, 0);
    return a->raw_mdb ? rc : from_mdb(rc);
}

/* "It may read the entry's record (refstore_record_dbi)": count those it
 * finds, with the size the reference says. */
static void find_record(struct app *a, MDB_txn *txn, const refraft_entry *e)
{
    if (e->type != REFRAFT_ENTRY_REF)
        return;
    MDB_val k = {e->ref.id_len, (void *)e->ref.id}, v;
    if (mdb_get(txn, refstore_record_dbi(a->store), &k, &v) == 0 &&
        v.mv_size == e->ref.size)
        a->records_seen++;
}

/* Writes first, then fails when told to: the failure must take the
 * writes back. */
static int apply_hook(void *ctx, MDB_txn *txn, refraft_index index,
                      const refraft_entry *entry)
{
    struct app *a = ctx;
    if (a->fail_all)
        return REFRAFT_EIO;
    a->applies++;
    if (index <= a->last_ok)
        a->reapplies++;
    if (index <= a->last_ok && a->reapply_fail_code != 0)
        return a->reapply_fail_code;
    if (index < APP_TYPES) {
        if (a->types[index] != 0 && a->types[index] != entry->type)
            a->type_changes++;
        if (a->types[index] == REFRAFT_ENTRY_ABANDONED &&
            entry->type == REFRAFT_ENTRY_ABANDONED)
            a->abandoned_reapplies++;
        a->types[index] = entry->type;
    }
    if (entry->type == REFRAFT_ENTRY_CONFIG) {
        a->configs++;
        if (refraft_check_members(entry->members, entry->n_members, NULL, 0) !=
            0)
            a->bad_configs++;
    }
    find_record(a, txn, entry);
    uint8_t buf[8];
    MDB_val k = index_key(buf, index);
    size_t len = index == a->big_apply_at ? 2u << 20 : a->apply_value_len;
    int rv = app_put(a, txn, &k, len);
    if (rv == 0 && index == a->fail_apply_at)
        return REFRAFT_EIO;
    if (rv == 0 && index > a->last_ok)
        a->last_ok = index;
    return rv;
}

static int truncate_hook(void *ctx, MDB_txn *txn, refraft_index from)
{
    struct app *a = ctx;
    a->truncates++;
    MDB_val k = {9, "truncated"};
    uint8_t buf[8];
    MDB_val v = index_key(buf, from);
    int rv = from_mdb(mdb_put(txn, a->db, &k, &v, 0));
    return rv == 0 && a->fail_truncate ? REFRAFT_EIO : rv;
}

/* Writes "installed" -> the snapshot's last index (and, when told,
 * install_value_len bytes under "install-bulk"), then fails when told
 * to: the failure must take the writes back. */
static int
install_hook(void *ctx, MDB_txn *txn, const refraft_snapshot_meta *meta)
{
    struct app *a = ctx;
    a->installs++;
    a->installed = *meta;
    a->installed.members = NULL;
    a->installed_members_ok = 0;
    for (size_t i = 0; a->want_members != NULL && i < meta->n_members; i++)
        if (strcmp(meta->members[i].id, a->want_members[i].id) == 0 &&
            strcmp(meta->members[i].address, a->want_members[i].address) == 0 &&
            meta->members[i].voter == a->want_members[i].voter)
            a->installed_members_ok++;
    MDB_val k = {9, "installed"};
    uint8_t buf[8];
    MDB_val v = index_key(buf, meta->last_index);
    int rv = from_mdb(mdb_put(txn, a->db, &k, &v, 0));
    if (rv == 0 && a->install_value_len > 0) {
        MDB_val bulk = {12, "install-bulk"};
        rv = app_put(a, txn, &bulk, a->install_value_len);
    }
    return rv == 0 && a->fail_install ? REFRAFT_EIO : rv;
}

/* The installed hook: counts, and tries a call into the store, which
 * must be refused. */
static void installed_hook(void *ctx, const refraft_snapshot_meta *meta)
{
    struct app *a = ctx;
    a->installed_calls++;
    a->installed_at = meta->last_index;
    a->installed_nested_rv = refstore_flush(a->store);
}

static int open_app_db(void *ctx, MDB_txn *txn)
{
    struct app *a = ctx;
    return from_mdb(mdb_dbi_open(txn, "app", MDB_CREATE, &a->db));
}

struct lookup {
    struct app *a;
    MDB_val key;
    bool found;
    refraft_index value; /* the first 8 bytes of what was found */
};

static int lookup_fn(void *ctx, MDB_txn *txn)
{
    struct lookup *l = ctx;
    MDB_val v;
    int rc = mdb_get(txn, l->a->db, &l->key, &v);
    l->found = rc == 0;
    l->value = 0;
    for (size_t i = 0; rc == 0 && i < 8 && i < v.mv_size; i++)
        l->value = l->value << 8 | ((const uint8_t *)v.mv_data)[i];
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : REFRAFT_EIO;
}

/* Whether the apply hook's row for index is in the store's view. */
static bool app_has_row(struct app *a, refraft_index index)
{
    uint8_t buf[8];
    struct lookup l = {a, index_key(buf, index), false, 0};
    assert_int_equal(refstore_read(a->store, lookup_fn, &l), 0);
    return l.found;
}

/* The install hook's marker: the last index it saw, 0 if none. */
static refraft_index app_installed(struct app *a)
{
    struct lookup l = {a, {9, "installed"}, false, 0};
    assert_int_equal(refstore_read(a->store, lookup_fn, &l), 0);
    return l.value;
}

/* The truncate hook's marker: the from it saw, 0 if none. */
static refraft_index app_truncated(struct app *a)
{
    struct lookup l = {a, {9, "truncated"}, false, 0};
    assert_int_equal(refstore_read(a->store, lookup_fn, &l), 0);
    return l.value;
}

/* ------------------------------------------------------------------------
 * Fixture: a store in a fresh directory, with the test application.
 * ------------------------------------------------------------------------ */

struct fx {
    char dir[PATH_MAX];
    refstore_options opts;
    refstore *store;
    refraft_log_api api;
    struct app app;
};

static void fx_open(struct fx *f)
{
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv = refstore_open(&f->opts, &f->store, err, sizeof(err));
    if (rv != 0)
        fail_msg("refstore_open: %s: %s", refraft_strerror(rv), err);
    f->app.store = f->store;
    refstore_log_api(f->store, &f->api);
    assert_int_equal(refstore_write(f->store, open_app_db, &f->app), 0);
}

static void fx_reopen(struct fx *f)
{
    refstore_close(f->store);
    f->store = NULL;
    fx_open(f);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    make_tmpdir(f->dir, sizeof(f->dir));
    f->opts.path = f->dir;
    f->opts.cluster_id = CLUSTER;
    f->opts.node_id = NODE;
    f->opts.apply = apply_hook;
    f->opts.on_truncate = truncate_hook;
    f->opts.on_install = install_hook;
    f->opts.on_installed = installed_hook;
    f->opts.app_ctx = &f->app;
    f->opts.map_size = TEST_MAP_SIZE;
    f->app.apply_value_len = 8;
    *state = f;
    return 0;
}

/* Tests that open the store themselves (other options) skip fx_open. */
static int setup_open(void **state)
{
    if (setup(state) != 0)
        return -1;
    fx_open(*state);
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    refstore_close(f->store);
    remove_tree(f->dir);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------------
 * Helpers: entries, records, counters
 * ------------------------------------------------------------------------ */

static void sha256(const void *bytes, size_t len, uint8_t *out)
{
    unsigned int n = 0;
    assert_int_equal(
        EVP_Digest(len > 0 ? bytes : "", len, out, &n, EVP_sha256(), NULL), 1);
    assert_int_equal(n, REFRAFT_DIGEST_LEN);
}

/* A record whose bytes are len copies of fill, under id.  Both live on
 * the heap, so the struct may be copied. */
typedef struct record {
    char *id;
    uint8_t *bytes;
    size_t len;
    refraft_ref ref;
} record;

static record record_make(const char *id, size_t len, uint8_t fill)
{
    record r;
    memset(&r, 0, sizeof(r));
    r.id = strdup(id);
    r.len = len;
    r.bytes = malloc(len > 0 ? len : 1);
    assert_non_null(r.id);
    assert_non_null(r.bytes);
    memset(r.bytes, fill, len);
    r.ref.id = (const uint8_t *)r.id;
    r.ref.id_len = (uint16_t)strlen(r.id);
    r.ref.size = len;
    sha256(r.bytes, len, r.ref.digest);
    return r;
}

static void record_free(record *r)
{
    free(r->id);
    free(r->bytes);
    r->id = NULL;
    r->bytes = NULL;
}

/* refstore_record_get's callback: copies what it is handed. */
struct got {
    uint8_t bytes[64];
    size_t len;
    int calls;
};

static void got_fn(void *ctx, const void *bytes, size_t len)
{
    struct got *g = ctx;
    g->calls++;
    g->len = len;
    memcpy(g->bytes, bytes, len < sizeof(g->bytes) ? len : sizeof(g->bytes));
}

static bool record_present(refstore *store, const refraft_ref *ref)
{
    bool present = false;
    assert_int_equal(refstore_record_has(store, ref, 1, &present), 0);
    return present;
}

static uint64_t commits(const refstore *store)
{
    refstore_stats st;
    refstore_get_stats(store, &st);
    return st.commits;
}

static refstore_stats stats(const refstore *store)
{
    refstore_stats st;
    refstore_get_stats(store, &st);
    return st;
}

/* Append n generated entries of term to f's log. */
static log_batch append(struct fx *f, size_t n, uint64_t key, refraft_term term)
{
    log_batch b = log_batch_make(n, key, term);
    assert_int_equal(f->api.append(f->api.ctx, b.e, b.n), 0);
    return b;
}

static void apply_ok(struct fx *f, refraft_index index)
{
    refraft_entry e;
    memset(&e, 0, sizeof(e));
    e.term = 1;
    e.type = REFRAFT_ENTRY_NOOP;
    int rv = refstore_apply(f->store, index, &e);
    if (rv != 0)
        fail_msg("refstore_apply %llu: %s (%s)", (unsigned long long)index,
                 refraft_strerror(rv), refstore_errmsg(f->store));
}

static void apply_upto(struct fx *f, refraft_index from, refraft_index to)
{
    for (refraft_index i = from; i <= to; i++)
        apply_ok(f, i);
}

/* The applies up to n commit with a flush and stay across a reopen: the
 * applied index, and each one's row. */
static void assert_applies_kept(struct fx *f, refraft_index n)
{
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), n);
    fx_reopen(f);
    assert_int_equal(refstore_applied_index(f->store), n);
    for (refraft_index i = 1; i <= n; i++)
        assert_true(app_has_row(&f->app, i));
}

static bool file_equal(const char *path, const uint8_t *want, size_t len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t *got = malloc(len + 1);
    assert_non_null(got);
    size_t n = fread(got, 1, len + 1, fp);
    fclose(fp);
    bool same = n == len && memcmp(got, want, len) == 0;
    free(got);
    return same;
}

static uint8_t *file_read(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    assert_true(size > 0);
    rewind(fp);
    uint8_t *buf = malloc((size_t)size);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    *len = (size_t)size;
    return buf;
}

/* ------------------------------------------------------------------------
 * Open: options, directories, identity
 * ------------------------------------------------------------------------ */

/* "directory, created if missing ... (mode 0700)" */
static void open_creates_missing_directories_private_to_the_user(void **state)
{
    struct fx *f = *state;
    char store_path[PATH_MAX + 32], path[PATH_MAX + 64];
    snprintf(store_path, sizeof(store_path), "%s/a/b/store", f->dir);
    f->opts.path = store_path;
    fx_open(f);
    assert_string_equal(refstore_path(f->store), store_path);
    struct stat st;
    snprintf(path, sizeof(path), "%s/a", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/data.mdb", store_path);
    assert_int_equal(stat(path, &st), 0);
}

static void assert_open_einval(refstore_options *o, const char *cause)
{
    static char canary;
    refstore *store = (refstore *)(void *)&canary;
    char err[REFRAFT_ERRMSG_LEN] = "";
    assert_int_equal(refstore_open(o, &store, err, sizeof(err)),
                     REFRAFT_EINVAL);
    assert_ptr_equal(store, (refstore *)(void *)&canary);
    if (strstr(err, cause) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", err, cause);
}

/* "REFRAFT_EINVAL (bad options) ... On error *out is untouched and errbuf
 * gets the cause" */
static void open_with_bad_options_is_einval_with_the_cause(void **state)
{
    struct fx *f = *state;
    char long_id[REFRAFT_ID_MAX + 2];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    refstore_options o = f->opts;
    o.path = NULL;
    assert_open_einval(&o, "path");
    o = f->opts;
    o.cluster_id = "";
    assert_open_einval(&o, "cluster_id");
    o = f->opts;
    o.node_id = long_id;
    assert_open_einval(&o, "node_id");
    o = f->opts;
    o.sync = 3;
    assert_open_einval(&o, "sync");
    o = f->opts;
    o.map_size = 1 << 20;
    o.map_size_max = 1 << 19;
    assert_open_einval(&o, "map_size_max");
    o = f->opts;
    o.map_size = 0; /* the default, 64 MiB */
    o.map_size_max = 1 << 20;
    assert_open_einval(&o, "map_size_max");
    o = f->opts;
    o.app_dbs = 100000;
    assert_open_einval(&o, "app_dbs");
    refstore *store = NULL;
    assert_int_equal(refstore_open(NULL, &store, NULL, 0), REFRAFT_EINVAL);
    assert_int_equal(refstore_open(&f->opts, NULL, NULL, 0), REFRAFT_EINVAL);
    refstore_close(NULL);
    refstore_close_discard(NULL);
}

/* Reopen dir with other_cluster / other_node, expecting EWRONGSTORE with
 * a message naming both, and the data file byte for byte as it was. */
static void assert_wrong_store(struct fx *f, const char *cluster,
                               const char *node, const char *found,
                               const char *wanted)
{
    char data[PATH_MAX + 16];
    snprintf(data, sizeof(data), "%s/data.mdb", f->dir);
    size_t len;
    uint8_t *before = file_read(data, &len);
    refstore_options o = f->opts;
    o.cluster_id = cluster;
    o.node_id = node;
    refstore *store = NULL;
    char err[REFRAFT_ERRMSG_LEN] = "";
    assert_int_equal(refstore_open(&o, &store, err, sizeof(err)),
                     REFRAFT_EWRONGSTORE);
    assert_null(store);
    if (strstr(err, found) == NULL || strstr(err, wanted) == NULL ||
        strstr(err, f->dir) == NULL)
        fail_msg("message \"%s\" should name %s, %s and the path", err, found,
                 wanted);
    assert_true(file_equal(data, before, len));
    free(before);
}

/* "an existing one must carry the same three, else REFRAFT_EWRONGSTORE
 * ... and nothing is written" */
static void store_of_another_cluster_or_node_is_ewrongstore(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 5, 1, 1);
    assert_int_equal(f->api.save_hard_state(f->api.ctx, 3, "n2"), 0);
    refstore_close(f->store);
    f->store = NULL;
    assert_wrong_store(f, "other-cluster", NODE, CLUSTER, "other-cluster");
    assert_wrong_store(f, CLUSTER, "n9", NODE, "n9");
    /* The right ids still open it, with everything in place. */
    fx_open(f);
    log_assert_entries(&f->api, 1, b.e, b.n);
    log_batch_free(&b);
}

/* A store written by another format version is refused, not read.  (This
 * library reads formats 1 to 4: 2 is 1 with CONFIG entries, 3 is 2 with a
 * base, 4 is 3 with the records identity first.) */
static void store_of_another_format_version_is_ewrongstore(void **state)
{
    struct fx *f = *state;
    refstore_close(f->store);
    f->store = NULL;
    /* Rewrite "format_version" (8 bytes big-endian) as format 5 would. */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    uint8_t five[8] = {0, 0, 0, 0, 0, 0, 0, 5};
    MDB_val k = {14, "format_version"}, v = {8, five};
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_wrong_store(f, CLUSTER, NODE, "format version 5", "versions 1 to 4");
}

/* The relaxed sync settings lose nothing to a process restart, and map
 * sizes are rounded up to whole pages. */
static void relaxed_sync_keeps_writes_across_a_restart(void **state)
{
    struct fx *f = *state;
    static const int modes[] = {REFSTORE_SYNC_NO_META, REFSTORE_SYNC_NONE};
    long page = sysconf(_SC_PAGESIZE);
    for (size_t m = 0; m < 2; m++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/sync-%d", f->dir, modes[m]);
        f->opts.path = path;
        f->opts.sync = modes[m];
        f->opts.map_size = 300000;
        fx_open(f);
        refstore_stats st = stats(f->store);
        assert_true(st.map_size >= 300000);
        assert_int_equal(st.map_size % (size_t)page, 0);
        log_batch b = append(f, 10, 1, 1);
        assert_int_equal(f->api.save_hard_state(f->api.ctx, 2, "n3"), 0);
        fx_reopen(f);
        log_assert_entries(&f->api, 1, b.e, b.n);
        refraft_term term;
        char vote[REFRAFT_ID_MAX + 1];
        assert_int_equal(f->api.load_hard_state(f->api.ctx, &term, vote), 0);
        assert_int_equal(term, 2);
        assert_string_equal(vote, "n3");
        refstore_close(f->store);
        f->store = NULL;
        log_batch_free(&b);
    }
}

/* ------------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------------ */

/* put, get, has, delete, and "Durable on return" across a reopen. */
static void record_put_get_has_delete(void **state)
{
    struct fx *f = *state;
    record a = record_make("rec-a", 40, 'a');
    record b = record_make("rec-b", 0, 0);
    record c = record_make("rec-c", 3, 'c');
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_int_equal(refstore_record_put(f->store, &b.ref, NULL, 0), 0);
    fx_reopen(f);
    struct got g = {.calls = 0};
    assert_int_equal(
        refstore_record_get(f->store, a.ref.id, a.ref.id_len, got_fn, &g), 0);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.len, a.len);
    assert_memory_equal(g.bytes, a.bytes, a.len);
    refraft_ref refs[3] = {a.ref, b.ref, c.ref};
    bool present[3] = {false, false, true};
    assert_int_equal(refstore_record_has(f->store, refs, 3, present), 0);
    assert_true(present[0]);
    assert_true(present[1]);
    assert_false(present[2]);
    /* "REFRAFT_ENOTFOUND when there is no such record (fn is then not
     * called)" */
    g.calls = 0;
    assert_int_equal(
        refstore_record_get(f->store, c.ref.id, c.ref.id_len, got_fn, &g),
        REFRAFT_ENOTFOUND);
    assert_int_equal(g.calls, 0);
    assert_int_equal(refstore_record_delete(f->store, a.ref.id, a.ref.id_len),
                     0);
    assert_int_equal(refstore_record_delete(f->store, a.ref.id, a.ref.id_len),
                     REFRAFT_ENOTFOUND);
    fx_reopen(f);
    assert_false(record_present(f->store, &a.ref));
    assert_true(record_present(f->store, &b.ref));
    record_free(&a);
    record_free(&b);
    record_free(&c);
}

/* refstore_record_put_batch: one commit for the batch; a record that
 * fails its check, or a different record under a stored id, is refused
 * alone; the others are stored. */
static void record_batch_is_one_commit_and_refuses_one_by_one(void **state)
{
    struct fx *f = *state;
    record a = record_make("batch-a", 20, 'a');
    record bad = record_make("batch-bad", 20, 'b');
    record c = record_make("batch-c", 5, 'c');
    record other = record_make("batch-c", 6, 'x'); /* another "batch-c" */
    record d = record_make("batch-d", 7, 'd');
    bad.bytes[3] ^= 1;
    assert_int_equal(refstore_record_put(f->store, &c.ref, c.bytes, c.len), 0);
    refraft_ref refs[4] = {a.ref, bad.ref, other.ref, d.ref};
    const void *bytes[4] = {a.bytes, bad.bytes, other.bytes, d.bytes};
    int results[4] = {-1, -1, -1, -1};
    uint64_t before = commits(f->store);
    assert_int_equal(
        refstore_record_put_batch(f->store, refs, bytes, 4, results), 0);
    assert_int_equal(commits(f->store), before + 1);
    assert_int_equal(results[0], 0);
    assert_int_equal(results[1], REFRAFT_EDIGEST);
    assert_int_equal(results[2], REFRAFT_EDIGEST);
    assert_int_equal(results[3], 0);
    fx_reopen(f);
    assert_true(record_present(f->store, &a.ref));
    assert_false(record_present(f->store, &bad.ref));
    assert_true(record_present(f->store, &c.ref));
    assert_false(record_present(f->store, &other.ref));
    assert_true(record_present(f->store, &d.ref));
    assert_int_equal(
        refstore_record_put_batch(f->store, NULL, NULL, 1, results),
        REFRAFT_EINVAL);
    record_free(&a);
    record_free(&bad);
    record_free(&c);
    record_free(&other);
    record_free(&d);
}

/* "the SHA-256 of bytes must equal ref->digest, else REFRAFT_EDIGEST and
 * nothing is stored" */
static void record_whose_digest_differs_is_edigest(void **state)
{
    struct fx *f = *state;
    record r = record_make("rec", 10, 'r');
    r.bytes[9] ^= 1;
    uint64_t before = commits(f->store);
    assert_int_equal(refstore_record_put(f->store, &r.ref, r.bytes, r.len),
                     REFRAFT_EDIGEST);
    assert_non_null(strstr(refstore_errmsg(f->store), "SHA-256"));
    assert_false(record_present(f->store, &r.ref));
    assert_int_equal(commits(f->store), before);
    record_free(&r);
}

/* "len must equal ref->size" */
static void record_whose_size_differs_is_edigest(void **state)
{
    struct fx *f = *state;
    record r = record_make("rec", 10, 'r');
    assert_int_equal(refstore_record_put(f->store, &r.ref, r.bytes, 9),
                     REFRAFT_EDIGEST);
    r.ref.size = 11;
    assert_int_equal(refstore_record_put(f->store, &r.ref, r.bytes, 10),
                     REFRAFT_EDIGEST);
    assert_false(record_present(f->store, &r.ref));
    record_free(&r);
}

/* "REFRAFT_EINVAL for an id that is empty or longer than
 * REFRAFT_RECORD_ID_MAX" */
static void record_id_empty_or_over_255_bytes_is_einval(void **state)
{
    struct fx *f = *state;
    record r = record_make("rec", 4, 'r');
    uint8_t long_id[REFRAFT_RECORD_ID_MAX + 1];
    memset(long_id, 'i', sizeof(long_id));
    r.ref.id_len = 0;
    assert_int_equal(refstore_record_put(f->store, &r.ref, r.bytes, r.len),
                     REFRAFT_EINVAL);
    r.ref.id = long_id;
    r.ref.id_len = REFRAFT_RECORD_ID_MAX + 1;
    assert_int_equal(refstore_record_put(f->store, &r.ref, r.bytes, r.len),
                     REFRAFT_EINVAL);
    assert_non_null(strstr(refstore_errmsg(f->store), "255"));
    struct got g;
    assert_int_equal(
        refstore_record_get(f->store, long_id, sizeof(long_id), got_fn, &g),
        REFRAFT_EINVAL);
    bool present;
    assert_int_equal(refstore_record_has(f->store, &r.ref, 1, &present),
                     REFRAFT_EINVAL);
    assert_int_equal(refstore_record_delete(f->store, long_id, 0),
                     REFRAFT_EINVAL);
    /* The longest id is fine. */
    r.ref.id_len = REFRAFT_RECORD_ID_MAX;
    assert_int_equal(refstore_record_put(f->store, &r.ref, r.bytes, r.len), 0);
    assert_true(record_present(f->store, &r.ref));
    record_free(&r);
}

/* "records are never overwritten": another record under the same id is
 * refused, the same one again is accepted. */
static void same_id_with_other_bytes_is_edigest(void **state)
{
    struct fx *f = *state;
    record a = record_make("same-id", 8, 'a');
    record b = record_make("same-id", 8, 'b');
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_int_equal(refstore_record_put(f->store, &b.ref, b.bytes, b.len),
                     REFRAFT_EDIGEST);
    struct got g = {.calls = 0};
    assert_int_equal(
        refstore_record_get(f->store, a.ref.id, a.ref.id_len, got_fn, &g), 0);
    assert_memory_equal(g.bytes, a.bytes, a.len);
    record_free(&a);
    record_free(&b);
}

/* "present[i] = whether the record refs[i] names is stored here, verified
 * ... A record stored under the id with another digest (another record
 * that got the same id) is not present" */
static void has_is_false_for_another_record_under_the_same_id(void **state)
{
    struct fx *f = *state;
    record kept = record_make("one-id", 16, 'k');
    record named = record_make("one-id", 16, 'n');
    assert_int_equal(
        refstore_record_put(f->store, &kept.ref, kept.bytes, kept.len), 0);
    /* Same id, same size, another digest. */
    assert_int_equal(named.ref.size, kept.ref.size);
    assert_memory_not_equal(named.ref.digest, kept.ref.digest,
                            REFRAFT_DIGEST_LEN);
    assert_false(record_present(f->store, &named.ref));
    assert_true(record_present(f->store, &kept.ref));
    /* A ref of the right digest but another size is not present either. */
    refraft_ref resized = kept.ref;
    resized.size++;
    assert_false(record_present(f->store, &resized));
    /* In one batch, each ref is judged on its own. */
    refraft_ref refs[3] = {named.ref, kept.ref, resized};
    bool present[3] = {true, false, true};
    assert_int_equal(refstore_record_has(f->store, refs, 3, present), 0);
    assert_false(present[0]);
    assert_true(present[1]);
    assert_false(present[2]);
    /* And across a restart. */
    fx_reopen(f);
    assert_false(record_present(f->store, &named.ref));
    assert_true(record_present(f->store, &kept.ref));
    record_free(&kept);
    record_free(&named);
}

/* ------------------------------------------------------------------------
 * Apply: exactly once across crashes
 * ------------------------------------------------------------------------ */

/* "applying an entry and recording that it was applied happen together or
 * not at all": both stay pending until the flush, then both are on disk. */
static void apply_writes_and_applied_index_commit_together(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 5, 1, 1);
    for (refraft_index i = 1; i <= 3; i++)
        apply_ok(f, i);
    /* "The applied index as committed": not yet. */
    assert_int_equal(refstore_applied_index(f->store), 0);
    /* The store's own view has them. */
    assert_true(app_has_row(&f->app, 3));
    uint64_t before = commits(f->store);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(commits(f->store), before + 1);
    assert_int_equal(refstore_applied_index(f->store), 3);
    fx_reopen(f);
    assert_int_equal(refstore_applied_index(f->store), 3);
    for (refraft_index i = 1; i <= 3; i++)
        assert_true(app_has_row(&f->app, i));
    assert_false(app_has_row(&f->app, 4));
    log_batch_free(&b);
}

/* "the store then aborts ... records no applied index for this entry, and
 * returns the code to the node, which retries the entry later" */
static void failing_apply_hook_leaves_no_trace(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 3, 1, 1);
    apply_ok(f, 1);
    f->app.fail_apply_at = 2;
    refraft_entry e = b.e[1];
    assert_int_equal(refstore_apply(f->store, 2, &e), REFRAFT_EIO);
    assert_non_null(strstr(refstore_errmsg(f->store), "apply hook"));
    assert_false(app_has_row(&f->app, 2));
    assert_true(app_has_row(&f->app, 1));
    /* Index 3 must wait for 2; 2 can be retried. */
    assert_int_equal(refstore_apply(f->store, 3, &b.e[2]), REFRAFT_EINVAL);
    f->app.fail_apply_at = 0;
    apply_ok(f, 2);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 2);
    log_batch_free(&b);
}

/* Consecutive applies share one transaction, the apply run (txn.c), and
 * a failed apply takes the whole run back.  "So the hook may run more than
 * once for an index, also after it returned 0": the run's earlier entries
 * apply again before refstore_apply() returns the failure, and the store
 * ends as if only the failed apply had not been made. */
static void failed_apply_runs_the_earlier_applies_of_its_run_again(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 5, 1, 1);
    apply_upto(f, 1, 3);
    f->app.fail_apply_at = 4;
    assert_int_equal(refstore_apply(f->store, 4, &b.e[3]), REFRAFT_EIO);
    assert_non_null(strstr(refstore_errmsg(f->store), "apply hook"));
    assert_int_equal(f->app.reapplies, 3);
    for (refraft_index i = 1; i <= 3; i++)
        assert_true(app_has_row(&f->app, i));
    assert_false(app_has_row(&f->app, 4));
    f->app.fail_apply_at = 0;
    apply_ok(f, 4);
    apply_ok(f, 5);
    assert_applies_kept(f, 5);
    log_batch_free(&b);
}

/* A hook that fails when its earlier applies are made again (the error
 * is not the entry's but, say, a backend gone) fails the call, not the
 * store: the next apply makes them first. */
static void
hook_failing_again_in_the_replay_leaves_the_store_usable(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 5, 1, 1);
    apply_upto(f, 1, 3);
    f->app.fail_all = true;
    assert_int_equal(refstore_apply(f->store, 4, &b.e[3]), REFRAFT_EIO);
    assert_int_equal(refstore_flush(f->store), 0);
    f->app.fail_all = false;
    apply_ok(f, 4);
    apply_ok(f, 5);
    assert_applies_kept(f, 5);
    log_batch_free(&b);
}

/* The replay's own failure is what the call returns and says: which
 * index, and the hook's code. */
static void failed_replay_names_its_index_and_cause(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 4, 1, 1);
    apply_upto(f, 1, 3);
    f->app.fail_apply_at = 4;
    f->app.reapply_fail_code = REFRAFT_ENOMEM;
    assert_int_equal(refstore_apply(f->store, 4, &b.e[3]), REFRAFT_ENOMEM);
    const char *msg = refstore_errmsg(f->store);
    if (strstr(msg, "applying index 1 again") == NULL ||
        strstr(msg, refraft_strerror(REFRAFT_ENOMEM)) == NULL)
        fail_msg("\"%s\" should name index 1 and the hook's error", msg);
    /* Nor can the log be compacted or truncated under those applies
     * meanwhile: each makes them first, and fails as they do. */
    refraft_snapshot_meta m = {.last_index = 2, .last_term = 1};
    assert_int_equal(f->api.compact(f->api.ctx, &m), REFRAFT_ENOMEM);
    assert_int_equal(f->api.truncate(f->api.ctx, 2), REFRAFT_ENOMEM);
    f->app.fail_apply_at = 0;
    f->app.reapply_fail_code = 0;
    apply_ok(f, 4);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 4);
    assert_int_equal(f->api.last_index(f->api.ctx), 4);
    log_batch_free(&b);
}

/* Reads (the application's, the log's) go inside the run, which they
 * leave open: a failure after them makes both earlier applies again. */
static void reads_see_the_run_and_leave_it_open(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 3, 1, 1);
    refraft_term t;
    apply_ok(f, 1);
    assert_true(app_has_row(&f->app, 1));
    assert_int_equal(f->api.term_at(f->api.ctx, 1, &t), 0);
    apply_ok(f, 2);
    f->app.fail_apply_at = 3;
    assert_int_equal(refstore_apply(f->store, 3, &b.e[2]), REFRAFT_EIO);
    assert_int_equal(f->app.reapplies, 2);
    log_batch_free(&b);
}

/* "Entries must come in index order (each index is the applied index +
 * 1)"; the log must hold the entry. */
static void apply_out_of_order_or_past_the_log_is_einval(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 2, 1, 1);
    assert_int_equal(refstore_apply(f->store, 2, &b.e[1]), REFRAFT_EINVAL);
    assert_int_equal(refstore_apply(f->store, 0, &b.e[0]), REFRAFT_EINVAL);
    assert_int_equal(refstore_apply(f->store, 1, NULL), REFRAFT_EINVAL);
    apply_ok(f, 1);
    apply_ok(f, 2);
    assert_int_equal(refstore_apply(f->store, 3, &b.e[0]), REFRAFT_EINVAL);
    assert_int_equal(f->app.applies, 2);
    log_batch_free(&b);
}

/* "stay in it until the next durable write": an append carries the
 * pending applies to disk in its own commit. */
static void durable_write_commits_pending_applies(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 2, 1, 1);
    apply_ok(f, 1);
    apply_ok(f, 2);
    uint64_t before = commits(f->store);
    log_batch c = append(f, 1, 10, 1);
    assert_int_equal(commits(f->store), before + 1);
    assert_int_equal(refstore_applied_index(f->store), 2);
    refstore_close_discard(f->store);
    f->store = NULL;
    fx_open(f);
    assert_int_equal(refstore_applied_index(f->store), 2);
    assert_true(app_has_row(&f->app, 2));
    log_batch_free(&b);
    log_batch_free(&c);
}

/* "With nothing pending it writes nothing." */
static void flush_with_nothing_pending_commits_nothing(void **state)
{
    struct fx *f = *state;
    uint64_t before = commits(f->store);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(commits(f->store), before);
}

/* A failed refstore_write takes back its own writes, not the pending
 * applies. */
static int failing_write_fn(void *ctx, MDB_txn *txn)
{
    struct app *a = ctx;
    uint8_t buf[8];
    MDB_val k = index_key(buf, 99);
    int rv = app_put(a, txn, &k, 8);
    return rv != 0 ? rv : REFRAFT_ENOTFOUND;
}

static void failed_write_keeps_pending_applies(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 1, 1, 1);
    apply_ok(f, 1);
    assert_int_equal(refstore_write(f->store, failing_write_fn, &f->app),
                     REFRAFT_ENOTFOUND);
    assert_false(app_has_row(&f->app, 99));
    assert_true(app_has_row(&f->app, 1));
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 1);
    log_batch_free(&b);
}

/* Any other write ends the run, even one that fails and commits nothing:
 * a failed apply after it runs only the applies made since then again,
 * and the ones before stay pending. */
static void an_apply_run_ends_at_the_next_write(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 4, 1, 1);
    apply_ok(f, 1);
    apply_ok(f, 2);
    uint64_t before = commits(f->store);
    assert_int_equal(refstore_write(f->store, failing_write_fn, &f->app),
                     REFRAFT_ENOTFOUND);
    assert_int_equal(commits(f->store), before);
    apply_ok(f, 3);
    f->app.fail_apply_at = 4;
    assert_int_equal(refstore_apply(f->store, 4, &b.e[3]), REFRAFT_EIO);
    assert_int_equal(f->app.reapplies, 1);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 3);
    for (refraft_index i = 1; i <= 3; i++)
        assert_true(app_has_row(&f->app, i));
    assert_false(app_has_row(&f->app, 4));
    assert_false(app_has_row(&f->app, 99));
    log_batch_free(&b);
}

/* "A crash loses only applies that were not yet committed, together with
 * their applied index": a real crash, a child process killed (SIGKILL)
 * with applies pending. */
static void crash_loses_pending_applies_with_their_applied_index(void **state)
{
    struct fx *f = *state;
    refstore_close(f->store);
    f->store = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* No cmocka here: any surprise is exit status 1, success is
         * death by SIGKILL (which no leak checker survives to report). */
        refstore *s = NULL;
        refraft_log_api api;
        if (refstore_open(&f->opts, &s, NULL, 0) != 0)
            _exit(1);
        f->app.store = s;
        refstore_log_api(s, &api);
        refraft_entry e[5];
        memset(e, 0, sizeof(e));
        for (int i = 0; i < 5; i++) {
            e[i].term = 1;
            e[i].type = REFRAFT_ENTRY_NOOP;
        }
        if (refstore_write(s, open_app_db, &f->app) != 0 ||
            api.append(api.ctx, e, 5) != 0 ||
            refstore_apply(s, 1, &e[0]) != 0 ||
            refstore_apply(s, 2, &e[1]) != 0 || refstore_flush(s) != 0 ||
            refstore_apply(s, 3, &e[2]) != 0 ||
            refstore_apply(s, 4, &e[3]) != 0)
            _exit(1);
        kill(getpid(), SIGKILL);
        _exit(2);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("the child failed before its crash (status %d)", status);
    fx_open(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 5);
    assert_int_equal(refstore_applied_index(f->store), 2);
    assert_true(app_has_row(&f->app, 2));
    assert_false(app_has_row(&f->app, 3));
    assert_false(app_has_row(&f->app, 4));
    /* And applying resumes where the store says. */
    apply_ok(f, 3);
}

/* "Close without committing the pending applies: they are lost with their
 * applied index, exactly as in a crash of the process." */
static void close_discard_is_a_crash(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 3, 1, 1);
    apply_ok(f, 1);
    assert_int_equal(refstore_flush(f->store), 0);
    apply_ok(f, 2);
    refstore_close_discard(f->store);
    f->store = NULL;
    fx_open(f);
    assert_int_equal(refstore_applied_index(f->store), 1);
    assert_false(app_has_row(&f->app, 2));
    log_assert_entries(&f->api, 1, b.e, b.n);
    log_batch_free(&b);
}

/* "The hook must not call refstore functions other than the inspection
 * ones ... others return REFRAFT_EINVAL." */
static int nested_apply_hook(void *ctx, MDB_txn *txn, refraft_index index,
                             const refraft_entry *entry)
{
    struct app *a = ctx;
    (void)txn, (void)index, (void)entry;
    assert_int_equal(refstore_applied_index(a->store), 0);
    a->nested_rv = refstore_map_set(a->store, "n2", "http://n2");
    return 0;
}

static void hooks_cannot_call_into_the_store(void **state)
{
    struct fx *f = *state;
    f->opts.apply = nested_apply_hook;
    fx_open(f);
    log_batch b = append(f, 1, 1, 1);
    apply_ok(f, 1);
    assert_int_equal(f->app.nested_rv, REFRAFT_EINVAL);
    char url[64];
    assert_int_equal(refstore_map_get(f->store, "n2", url, sizeof(url)),
                     REFRAFT_ENOTFOUND);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Truncate
 * ------------------------------------------------------------------------ */

/* "the removal and the undo commit together" */
static void truncate_hook_runs_in_the_same_transaction(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 6, 1, 1);
    uint64_t before = commits(f->store);
    assert_int_equal(f->api.truncate(f->api.ctx, 4), 0);
    assert_int_equal(commits(f->store), before + 1);
    assert_int_equal(f->app.truncates, 1);
    refstore_close_discard(f->store);
    f->store = NULL;
    fx_open(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 3);
    assert_int_equal(app_truncated(&f->app), 4);
    log_assert_entries(&f->api, 1, b.e, 3);
    /* Truncating nothing runs no hook. */
    assert_int_equal(f->api.truncate(f->api.ctx, 4), 0);
    assert_int_equal(f->app.truncates, 1);
    log_batch_free(&b);
}

/* "A non-zero return aborts the truncation." */
static void failing_truncate_hook_aborts_the_truncation(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 6, 1, 1);
    f->app.fail_truncate = true;
    assert_int_equal(f->api.truncate(f->api.ctx, 2), REFRAFT_EIO);
    assert_non_null(strstr(refstore_errmsg(f->store), "truncate hook"));
    assert_int_equal(f->api.last_index(f->api.ctx), 6);
    assert_int_equal(app_truncated(&f->app), 0);
    fx_reopen(f);
    log_assert_entries(&f->api, 1, b.e, b.n);
    assert_int_equal(app_truncated(&f->app), 0);
    log_batch_free(&b);
}

/* "truncate refuses ... to remove an entry at or below the applied
 * index" */
static void truncate_of_applied_entries_is_einval(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 4, 1, 1);
    apply_ok(f, 1);
    apply_ok(f, 2);
    assert_int_equal(f->api.truncate(f->api.ctx, 2), REFRAFT_EINVAL);
    assert_int_equal(f->api.truncate(f->api.ctx, 3), 0);
    assert_int_equal(f->api.last_index(f->api.ctx), 2);
    log_batch_free(&b);
}

/* "it lowers the data index to from - 1 when the data index was at or
 * past from"; set_data_index is durable and bounded by the log. */
static void data_index_is_saved_and_lowered_by_truncation(void **state)
{
    struct fx *f = *state;
    assert_int_equal(refstore_data_index(f->store), 0);
    log_batch b = append(f, 8, 1, 1);
    assert_int_equal(refstore_set_data_index(f->store, 9), REFRAFT_EINVAL);
    assert_int_equal(refstore_set_data_index(f->store, 6), 0);
    fx_reopen(f);
    assert_int_equal(refstore_data_index(f->store), 6);
    assert_int_equal(f->api.truncate(f->api.ctx, 7), 0);
    assert_int_equal(refstore_data_index(f->store), 6);
    assert_int_equal(f->api.truncate(f->api.ctx, 4), 0);
    assert_int_equal(refstore_data_index(f->store), 3);
    fx_reopen(f);
    assert_int_equal(refstore_data_index(f->store), 3);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Group commit
 * ------------------------------------------------------------------------ */

/* "Appending K entries in one call is one commit and one sync". */
static void appending_k_entries_is_one_commit(void **state)
{
    struct fx *f = *state;
    uint64_t before = commits(f->store);
    log_batch b = append(f, 1000, 1, 1);
    assert_int_equal(commits(f->store), before + 1);
    before = commits(f->store);
    log_batch c = log_batch_make(10, 5000, 1);
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(f->api.append(f->api.ctx, &c.e[i], 1), 0);
    assert_int_equal(commits(f->store), before + 10);
    log_batch_free(&b);
    log_batch_free(&c);
}

/* ------------------------------------------------------------------------
 * A full map
 * ------------------------------------------------------------------------ */

/* Put records of len bytes until the store refuses one; returns how many
 * went in, each checked present. */
static size_t
fill(refstore *store, size_t len, const char *prefix, int *last_rv)
{
    size_t n = 0;
    for (;; n++) {
        char id[64];
        snprintf(id, sizeof(id), "%s-%zu", prefix, n);
        record r = record_make(id, len, (uint8_t)n);
        *last_rv = refstore_record_put(store, &r.ref, r.bytes, r.len);
        record_free(&r);
        if (*last_rv != 0)
            return n;
        assert_true(n < 10000);
    }
}

static void tiny_map(struct fx *f, size_t size, size_t max)
{
    f->opts.map_size = size;
    f->opts.map_size_max = max;
    fx_open(f);
}

/* "MDB_MAP_FULL grows the map (doubling, up to map_size_max) and retries;
 * past the maximum the call fails with REFRAFT_ENOSPC and a message naming
 * the path and the size", and nothing is lost. */
static void full_map_grows_then_is_enospc_naming_path_and_size(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 256 * KIB, 1024 * KIB);
    assert_int_equal(stats(f->store).map_size, 256 * KIB);
    int rv;
    size_t n = fill(f->store, 16 * KIB, "big", &rv);
    assert_int_equal(rv, REFRAFT_ENOSPC);
    const char *msg = refstore_errmsg(f->store);
    if (strstr(msg, f->dir) == NULL || strstr(msg, "1048576") == NULL)
        fail_msg("\"%s\" should name the path and 1048576 bytes", msg);
    refstore_stats st = stats(f->store);
    assert_int_equal(st.map_grows, 2);
    assert_int_equal(st.map_size, 1024 * KIB);
    /* Everything stored before is there, and the store still reads. */
    assert_true(n > 20);
    for (size_t i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof(id), "big-%zu", i);
        record r = record_make(id, 16 * KIB, (uint8_t)i);
        assert_true(record_present(f->store, &r.ref));
        record_free(&r);
    }
    /* "A store whose map grew before reopens at its grown size"; a larger
     * maximum lets it grow on. */
    refstore_close(f->store);
    f->store = NULL;
    f->opts.map_size_max = 4096 * KIB;
    fx_open(f);
    assert_int_equal(stats(f->store).map_size, 1024 * KIB);
    fill(f->store, 16 * KIB, "more", &rv);
    assert_int_equal(rv, REFRAFT_ENOSPC);
    assert_int_equal(stats(f->store).map_size, 4096 * KIB);
}

/* A first map too small even for the store's identity grows on open like
 * any full map, rather than failing with REFRAFT_ENOSPC. */
static void open_grows_a_map_too_small_for_the_identity(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 16 * KIB, 1024 * KIB);
    refstore_stats st = stats(f->store);
    assert_true(st.map_grows >= 1);
    assert_true(st.map_size > 16 * KIB);
    refraft_log_api api;
    refstore_log_api(f->store, &api);
    assert_int_equal(api.last_index(api.ctx), 0);
}

/* Growing the map needs every transaction closed: the pending applies are
 * committed on the way, together with their applied index. */
static void map_growth_commits_pending_applies(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 256 * KIB, 4096 * KIB);
    log_batch b = append(f, 3, 1, 1);
    apply_ok(f, 1);
    apply_ok(f, 2);
    assert_int_equal(refstore_applied_index(f->store), 0);
    for (size_t i = 0; stats(f->store).map_grows == 0; i++) {
        char id[32];
        snprintf(id, sizeof(id), "r%zu", i);
        record r = record_make(id, 16 * KIB, 1);
        assert_int_equal(refstore_record_put(f->store, &r.ref, r.bytes, r.len),
                         0);
        record_free(&r);
    }
    assert_int_equal(refstore_applied_index(f->store), 2);
    refstore_close_discard(f->store);
    f->store = NULL;
    fx_open(f);
    assert_int_equal(refstore_applied_index(f->store), 2);
    assert_true(app_has_row(&f->app, 2));
    log_batch_free(&b);
}

/* An apply hook that fills the map: the store grows it and runs the hook
 * again in a fresh transaction. */
static void apply_hook_that_fills_the_map_runs_again(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 256 * KIB, 4096 * KIB);
    log_batch b = append(f, 1, 1, 1);
    f->app.apply_value_len = 600 * KIB;
    /* "return REFRAFT_ENOSPC (or MDB_MAP_FULL itself)" */
    f->app.raw_mdb = true;
    apply_ok(f, 1);
    assert_true(stats(f->store).map_grows >= 1);
    assert_true(f->app.applies >= 2);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 1);
    assert_true(app_has_row(&f->app, 1));
    log_batch_free(&b);
}

/* Apply 1 and 2, then 3 with rows of value_len bytes, in a map of 256
 * KiB that may grow to max: the run's earlier applies run again (writing
 * as much), the map grows, and every apply ends up made once. */
static void fill_the_map_mid_run(struct fx *f, size_t max, size_t value_len)
{
    tiny_map(f, 256 * KIB, max);
    log_batch b = append(f, 3, 1, 1);
    apply_ok(f, 1);
    apply_ok(f, 2);
    f->app.apply_value_len = value_len;
    apply_ok(f, 3);
    assert_true(stats(f->store).map_grows >= 1);
    assert_true(f->app.reapplies >= 2);
    assert_applies_kept(f, 3);
    log_batch_free(&b);
}

/* The same in the middle of a run. */
static void
apply_hook_that_fills_the_map_mid_run_runs_the_run_again(void **state)
{
    fill_the_map_mid_run(*state, 8192 * KIB, 600 * KIB);
}

/* The replay of a run whose last apply filled the map may grow it enough
 * for that apply too (here to its maximum): then it is made, not
 * refused. */
static void apply_that_fits_after_the_replays_growth_is_made(void **state)
{
    fill_the_map_mid_run(*state, 1024 * KIB, 250 * KIB);
}

/* At map_size_max the apply that fills the map fails with REFRAFT_ENOSPC
 * and the store goes on: the run's earlier applies are back, pending. */
static void apply_filling_a_map_at_its_maximum_mid_run_is_enospc(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 1024 * KIB, 1024 * KIB);
    log_batch b = append(f, 3, 1, 1);
    apply_ok(f, 1);
    apply_ok(f, 2);
    f->app.big_apply_at = 3;
    assert_int_equal(refstore_apply(f->store, 3, &b.e[2]), REFRAFT_ENOSPC);
    assert_non_null(strstr(refstore_errmsg(f->store), "map_size_max"));
    assert_int_equal(f->app.reapplies, 2);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 2);
    assert_true(app_has_row(&f->app, 2));
    assert_false(app_has_row(&f->app, 3));
    log_batch_free(&b);
}

/* Step i of the out-of-map runs: put record r<i> of 3000 bytes and
 * delete r<i-10>, so LMDB's free list keeps growing. */
static void churn_records(struct fx *f, refraft_index i)
{
    char id[32];
    snprintf(id, sizeof(id), "r%llu", (unsigned long long)i);
    record r = record_make(id, 3000, (uint8_t)i);
    assert_int_equal(refstore_record_put(f->store, &r.ref, r.bytes, r.len), 0);
    record_free(&r);
    if (i <= 10)
        return;
    snprintf(id, sizeof(id), "r%llu", (unsigned long long)i - 10);
    assert_int_equal(
        refstore_record_delete(f->store, (const uint8_t *)id, strlen(id)), 0);
}

/* Open f for the churn below: no syncs (it is slow), a tiny map that may
 * grow far, and applies whose rows take room. */
static void churn_open(struct fx *f)
{
    f->opts.sync = REFSTORE_SYNC_NONE;
    tiny_map(f, 256 * KIB, 64 * 1024 * KIB);
    f->app.apply_value_len = 3000;
}

/*
 * "The commit of top itself can run out of map ... once the map has grown
 * the store runs the apply hook for each of them again" (txn.c).  Each
 * step appends an entry, applies it (pending) and puts a record, and
 * deletes an older record, so that LMDB's free list keeps growing: the
 * commits that need pages for it run out of map with applies pending.
 * Those applies run again, and in the end every entry is applied once,
 * with its row, and the store has not failed.  (LMDB is deterministic
 * here: the same steps lose applies in the same commits on every run.)
 */
static void applies_lost_by_a_commit_out_of_map_run_again(void **state)
{
    struct fx *f = *state;
    churn_open(f);
    refraft_entry noop;
    memset(&noop, 0, sizeof(noop));
    noop.term = 1;
    noop.type = REFRAFT_ENTRY_NOOP;
    refraft_index n = 120;
    for (refraft_index i = 1; i <= n; i++) {
        assert_int_equal(f->api.append(f->api.ctx, &noop, 1), 0);
        apply_ok(f, i);
        churn_records(f, i);
    }
    assert_true(stats(f->store).map_grows >= 1);
    assert_true(f->app.reapplies > 0);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), n);
    fx_reopen(f);
    assert_int_equal(refstore_applied_index(f->store), n);
    for (refraft_index i = 1; i <= n; i++)
        assert_true(app_has_row(&f->app, i));
}

/* ------------------------------------------------------------------------
 * A commit that fails with applies pending fails the store
 * ------------------------------------------------------------------------ */

/* The size of f's data file now. */
static off_t data_file_size(struct fx *f)
{
    char data[PATH_MAX + 16];
    snprintf(data, sizeof(data), "%s/data.mdb", f->dir);
    struct stat st;
    assert_int_equal(stat(data, &st), 0);
    return st.st_size;
}

/* Run fn(arg) with no file allowed to grow past size bytes, so that
 * LMDB's write of pages past the end of the data file fails (EFBIG), as
 * on a full disk; returns what fn returned. */
static int at_file_size_limit(off_t size, int (*fn)(void *arg), void *arg)
{
    struct rlimit saved, limit;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    limit = saved;
    limit.rlim_cur = (rlim_t)size;
    void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
    int rv = fn(arg);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old);
    return rv;
}

static int flush_fn(void *arg)
{
    return refstore_flush(arg);
}

/* A file size limit makes LMDB's write of the new pages fail (EFBIG): the
 * pending apply is lost with its applied index, the call is REFRAFT_EIO
 * and every later one REFRAFT_EFAILED. */
static void failed_commit_of_pending_applies_fails_the_store(void **state)
{
    struct fx *f = *state;
    f->opts.sync = REFSTORE_SYNC_NONE;
    fx_open(f);
    log_batch b = append(f, 2, 1, 1);
    off_t size = data_file_size(f);
    f->app.apply_value_len = 1024 * KIB;
    apply_ok(f, 1);

    int rv = at_file_size_limit(size, flush_fn, f->store);

    assert_int_equal(rv, REFRAFT_EIO);
    assert_non_null(strstr(refstore_errmsg(f->store), "has failed"));
    assert_int_equal(refstore_applied_index(f->store), 0);
    assert_int_equal(refstore_flush(f->store), REFRAFT_EFAILED);
    assert_int_equal(f->api.append(f->api.ctx, b.e, 1), REFRAFT_EFAILED);
    refraft_term term;
    assert_int_equal(f->api.term_at(f->api.ctx, 1, &term), REFRAFT_EFAILED);
    assert_int_equal(refstore_map_set(f->store, "n2", "u"), REFRAFT_EFAILED);
    assert_non_null(strstr(refstore_errmsg(f->store), "has failed"));
    /* Reopened, the store applies again from where its disk says. */
    f->app.apply_value_len = 8;
    fx_reopen(f);
    assert_int_equal(refstore_applied_index(f->store), 0);
    assert_false(app_has_row(&f->app, 1));
    log_assert_entries(&f->api, 1, b.e, b.n);
    apply_ok(f, 1);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Allocation failure: the k-th allocation through refraft_set_allocator()
 * fails (LMDB's and OpenSSL's own allocations do not go through it).
 * ------------------------------------------------------------------------ */

static failalloc fault;

static int restore_allocator(void **state)
{
    failalloc_off();
    return teardown(state);
}

/* "REFRAFT_ENOMEM. On error *out is untouched": every allocation of open
 * fails in turn. */
static void open_under_enomem_is_clean(void **state)
{
    struct fx *f = *state;
    static char canary;
    refstore *sentinel = (refstore *)(void *)&canary;
    long k;
    for (k = 1;; k++) {
        refstore *store = sentinel;
        char err[REFRAFT_ERRMSG_LEN] = "";
        failalloc_at(&fault, k);
        int rv = refstore_open(&f->opts, &store, err, sizeof(err));
        failalloc_off();
        if (rv == 0) {
            refstore_close(store);
            break;
        }
        assert_int_equal(rv, REFRAFT_ENOMEM);
        assert_ptr_equal(store, sentinel);
        assert_non_null(strstr(err, "memory"));
    }
    assert_true(k > 2);
}

/* get copies ids into memory of the store's: when that cannot grow, the
 * call fails with nothing written to out. */
static void get_under_enomem_leaves_out_untouched(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 10, 1, 1);
    refraft_entry out[10];
    memset(out, 0xa5, sizeof(out));
    size_t n = 77;
    failalloc_at(&fault, 1);
    int rv = f->api.get(f->api.ctx, 1, 10, out, &n);
    failalloc_off();
    assert_int_equal(rv, REFRAFT_ENOMEM);
    assert_int_equal(n, 77);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(((const uint8_t *)out)[i], 0xa5);
    log_assert_entries(&f->api, 1, b.e, b.n);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Cluster map
 * ------------------------------------------------------------------------ */

struct listing {
    char text[256];
    int stop_after; /* return 7 after this many entries (0: never) */
    int seen;
};

static int list_fn(void *ctx, const char *node_id, const char *url)
{
    struct listing *l = ctx;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof(l->text) - used, "%s=%s;", node_id, url);
    return ++l->seen == l->stop_after ? 7 : 0;
}

static void cluster_map_set_get_list_delete(void **state)
{
    struct fx *f = *state;
    assert_int_equal(refstore_map_set(f->store, "n2", "http://b:2"), 0);
    assert_int_equal(refstore_map_set(f->store, "n1", "http://a:1"), 0);
    assert_int_equal(refstore_map_set(f->store, "n3", "http://c:3"), 0);
    /* A node that moved: the new address replaces the old. */
    assert_int_equal(refstore_map_set(f->store, "n2", "http://b:22"), 0);
    fx_reopen(f);
    char url[32];
    assert_int_equal(refstore_map_get(f->store, "n2", url, sizeof(url)), 0);
    assert_string_equal(url, "http://b:22");
    /* "REFRAFT_ETOOBIG when cap is too small" (11 bytes + NUL) */
    assert_int_equal(refstore_map_get(f->store, "n2", url, 11),
                     REFRAFT_ETOOBIG);
    assert_int_equal(refstore_map_get(f->store, "n2", url, 12), 0);
    struct listing l = {"", 0, 0};
    assert_int_equal(refstore_map_list(f->store, list_fn, &l), 0);
    assert_string_equal(l.text, "n1=http://a:1;n2=http://b:22;n3=http://c:3;");
    struct listing stop = {"", 2, 0};
    assert_int_equal(refstore_map_list(f->store, list_fn, &stop), 7);
    assert_string_equal(stop.text, "n1=http://a:1;n2=http://b:22;");
    assert_int_equal(refstore_map_delete(f->store, "n1"), 0);
    assert_int_equal(refstore_map_delete(f->store, "n1"), REFRAFT_ENOTFOUND);
    assert_int_equal(refstore_map_get(f->store, "n1", url, sizeof(url)),
                     REFRAFT_ENOTFOUND);
    fx_reopen(f);
    struct listing after = {"", 0, 0};
    assert_int_equal(refstore_map_list(f->store, list_fn, &after), 0);
    assert_string_equal(after.text, "n2=http://b:22;n3=http://c:3;");
}

/* Node ids of 1..REFRAFT_ID_MAX bytes, URLs of 1..1024. */
static void cluster_map_bad_input_is_einval(void **state)
{
    struct fx *f = *state;
    char id[REFRAFT_ID_MAX + 2], url[1026];
    memset(id, 'n', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    memset(url, 'u', sizeof(url) - 1);
    url[sizeof(url) - 1] = '\0';
    assert_int_equal(refstore_map_set(f->store, id, "u"), REFRAFT_EINVAL);
    assert_int_equal(refstore_map_set(f->store, "", "u"), REFRAFT_EINVAL);
    assert_int_equal(refstore_map_set(f->store, NULL, "u"), REFRAFT_EINVAL);
    assert_int_equal(refstore_map_set(f->store, "n1", url), REFRAFT_EINVAL);
    assert_int_equal(refstore_map_set(f->store, "n1", ""), REFRAFT_EINVAL);
    char buf[8];
    assert_int_equal(refstore_map_get(f->store, id, buf, sizeof(buf)),
                     REFRAFT_EINVAL);
    assert_int_equal(refstore_map_delete(f->store, id), REFRAFT_EINVAL);
    assert_int_equal(refstore_map_list(f->store, NULL, NULL), REFRAFT_EINVAL);
    /* The longest of each is fine. */
    id[REFRAFT_ID_MAX] = '\0';
    url[1024] = '\0';
    assert_int_equal(refstore_map_set(f->store, id, url), 0);
}

/* ------------------------------------------------------------------------
 * A single-node cluster on refstore: propose, apply, restart
 * ------------------------------------------------------------------------ */

/* Refs that host_have_records asks the store about, on the node's first
 * call while probe_armed, before it answers the node (so while
 * refstore_propose or refstore_receive runs): see probe_make. */
#define PROBES 7

struct probe {
    char ids[2][REFRAFT_RECORD_ID_MAX + 1];
    refraft_ref refs[PROBES];
    bool want[PROBES]; /* whether each must be present */
};

struct host {
    refstore *store;
    uint64_t now;
    uint64_t rng;
    int randoms; /* hull.random calls */
    refraft_index applied;
    /* hull.have_records asks the store (refstore_record_has); without it
     * every record counts as present. */
    bool check_records;
    int have_calls;
    int have_errors;
    char have_err[REFRAFT_ERRMSG_LEN]; /* the first failure's message */
    /* hull.flush, called between the log's stage and its sync: what the
     * store showed then, and whether watch's record was present. */
    int flushes;
    uint64_t commits_at_flush;
    refraft_index last_at_flush;
    const refraft_ref *watch;
    bool watch_present_at_flush;
    /* The probe asked about on the first have_records call after
     * probe_armed was set (which clears it), and the store's answers. */
    const struct probe *probe;
    bool probe_armed;
    int probes;
    bool probe_present[PROBES];
};

static int host_send(void *ctx, const char *to, const refraft_msg *msg)
{
    (void)ctx, (void)to, (void)msg;
    return 0;
}

static uint64_t host_now(void *ctx)
{
    return ((struct host *)ctx)->now;
}

static uint64_t host_random(void *ctx)
{
    struct host *h = ctx;
    h->randoms++;
    h->rng ^= h->rng << 13, h->rng ^= h->rng >> 7, h->rng ^= h->rng << 17;
    return h->rng;
}

/* The hull's apply is refstore_apply: the hook runs in the store's txn. */
static int host_apply(void *ctx, refraft_index index, const refraft_entry *e)
{
    struct host *h = ctx;
    int rv = refstore_apply(h->store, index, e);
    if (rv == 0)
        h->applied = index;
    return rv;
}

/* hull.have_records is refstore_record_has; its failures are kept for the
 * test to report, since the node only counts them as "none present". */
static int
host_have_records(void *ctx, const refraft_ref *refs, size_t n, bool *present)
{
    struct host *h = ctx;
    h->have_calls++;
    int rv = 0;
    if (h->probe_armed) {
        h->probe_armed = false;
        h->probes++;
        rv = refstore_record_has(h->store, h->probe->refs, PROBES,
                                 h->probe_present);
    }
    if (rv == 0)
        rv = refstore_record_has(h->store, refs, n, present);
    if (rv != 0 && h->have_errors++ == 0)
        snprintf(h->have_err, sizeof(h->have_err), "%s: %s",
                 refraft_strerror(rv), refstore_errmsg(h->store));
    return rv;
}

static void host_flush(void *ctx)
{
    struct host *h = ctx;
    h->flushes++;
    h->commits_at_flush = commits(h->store);
    refraft_log_api api;
    refstore_log_api(h->store, &api);
    h->last_at_flush = api.last_index(api.ctx);
    if (h->watch != NULL)
        h->watch_present_at_flush = record_present(h->store, h->watch);
}

/* The node's snapshot hooks: the test application keeps no reference
 * state of its own, so its snapshots are empty (a node on a compacted log
 * must be able to send one; these tests never need to). */
static int host_snapshot_read(void *ctx, refraft_index last,
                              refraft_index after, refraft_snapshot_ref *out,
                              size_t max, size_t *n)
{
    (void)ctx, (void)last, (void)after, (void)out, (void)max;
    *n = 0;
    return 0;
}

static int host_snapshot_write(void *ctx, const refraft_snapshot_meta *meta,
                               refraft_index after,
                               const refraft_snapshot_ref *refs, size_t n)
{
    (void)ctx, (void)meta, (void)after, (void)refs, (void)n;
    return 0;
}

static int host_snapshot_install(void *ctx, const refraft_snapshot_meta *meta)
{
    (void)ctx, (void)meta;
    return 0;
}

static refraft_node *node_start(struct fx *f, struct host *h,
                                const char *const *peers, size_t n_peers)
{
    h->store = f->store;
    h->rng = h->rng ? h->rng : 0x9e3779b97f4a7c15u;
    refraft_hull hull = {.version = REFRAFT_HULL_VERSION,
                         .ctx = h,
                         .send = host_send,
                         .now_ms = host_now,
                         .random = host_random,
                         .apply = host_apply,
                         .have_records =
                             h->check_records ? host_have_records : NULL,
                         .flush = host_flush,
                         .snapshot_read = host_snapshot_read,
                         .snapshot_write = host_snapshot_write,
                         .snapshot_install = host_snapshot_install};
    refraft_config config = {.id = NODE,
                             .peers = peers,
                             .n_peers = n_peers,
                             .applied_index = refstore_applied_index(f->store)};
    refraft_node *node = NULL;
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv =
        refraft_node_create(&config, &hull, &f->api, &node, err, sizeof(err));
    if (rv != 0)
        fail_msg("refraft_node_create: %s", err);
    h->applied = config.applied_index;
    return node;
}

/* Alone, the node elects itself at its first election timeout. */
static void elect(refraft_node *node, struct host *h)
{
    for (int i = 0; i < 100 && refraft_role(node) != REFRAFT_LEADER; i++) {
        uint64_t deadline = refraft_next_deadline(node);
        if (deadline > h->now)
            h->now = deadline;
        assert_int_equal(refraft_tick(node), 0);
    }
    assert_int_equal(refraft_role(node), REFRAFT_LEADER);
}

/* "store n records and propose their references to node in one LMDB
 * transaction ... one commit and one sync" */
static void propose_commits_records_and_references_together(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    record r[3] = {record_make("p-0", 100, 1), record_make("p-1", 0, 2),
                   record_make("p-2", 5000, 3)};
    refraft_ref refs[3] = {r[0].ref, r[1].ref, r[2].ref};
    const void *bytes[3] = {r[0].bytes, r[1].bytes, r[2].bytes};
    uint64_t before = commits(f->store);
    refraft_index first = 0;
    assert_int_equal(refstore_propose(f->store, node, refs, bytes, 3, &first),
                     0);
    /* One commit took records and references; the entries committed at
     * once (one node) and were applied, pending. */
    assert_int_equal(commits(f->store), before + 1);
    assert_int_equal(first, 2); /* after the leader's no-op */
    assert_int_equal(h.applied, 4);
    assert_int_equal(f->app.records_seen, 3);
    refstore_close_discard(f->store);
    f->store = NULL;
    refraft_node_destroy(node);
    fx_open(f);
    bool present[3];
    assert_int_equal(refstore_record_has(f->store, refs, 3, present), 0);
    assert_true(present[0] && present[1] && present[2]);
    refraft_entry e[4];
    size_t n = 0;
    assert_int_equal(f->api.get(f->api.ctx, 1, 4, e, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(e[0].type, REFRAFT_ENTRY_NOOP);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(e[1 + i].type, REFRAFT_ENTRY_REF);
        assert_int_equal(e[1 + i].ref.id_len, refs[i].id_len);
        assert_memory_equal(e[1 + i].ref.id, refs[i].id, refs[i].id_len);
        assert_memory_equal(e[1 + i].ref.digest, refs[i].digest,
                            REFRAFT_DIGEST_LEN);
    }
    for (size_t i = 0; i < 3; i++)
        record_free(&r[i]);
}

/* "Every record is checked against its ref first (REFRAFT_EDIGEST ...;
 * nothing stored)" */
static void propose_of_a_bad_record_stores_nothing(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    record r[2] = {record_make("ok", 10, 1), record_make("bad", 10, 2)};
    r[1].bytes[0] ^= 0xff;
    refraft_ref refs[2] = {r[0].ref, r[1].ref};
    const void *bytes[2] = {r[0].bytes, r[1].bytes};
    refraft_index last = f->api.last_index(f->api.ctx);
    uint64_t before = commits(f->store);
    assert_int_equal(refstore_propose(f->store, node, refs, bytes, 2, NULL),
                     REFRAFT_EDIGEST);
    assert_non_null(strstr(refstore_errmsg(f->store), "record 1"));
    assert_int_equal(commits(f->store), before);
    assert_false(record_present(f->store, &refs[0]));
    assert_int_equal(f->api.last_index(f->api.ctx), last);
    assert_int_equal(refstore_propose(f->store, node, refs, bytes, 0, NULL),
                     REFRAFT_EINVAL);
    refraft_node_destroy(node);
    record_free(&r[0]);
    record_free(&r[1]);
}

/* refstore_propose_hashed: "ids and bytes are checked as there, the
 * digests are not computed again". */
static void propose_hashed_checks_ids_not_digests(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    record r[2] = {record_make("h-0", 100, 1), record_make("h-1", 50, 2)};
    refraft_ref refs[2] = {r[0].ref, r[1].ref};
    const void *bytes[2] = {r[0].bytes, r[1].bytes};
    refraft_index last = f->api.last_index(f->api.ctx);
    uint64_t before = commits(f->store);
    refs[1].id_len = 0;
    assert_int_equal(
        refstore_propose_hashed(f->store, node, refs, bytes, 2, NULL),
        REFRAFT_EINVAL);
    assert_non_null(strstr(refstore_errmsg(f->store), "record 1"));
    refs[1] = r[1].ref;
    bytes[1] = NULL;
    assert_int_equal(
        refstore_propose_hashed(f->store, node, refs, bytes, 2, NULL),
        REFRAFT_EINVAL);
    bytes[1] = r[1].bytes;
    assert_int_equal(commits(f->store), before);
    assert_int_equal(f->api.last_index(f->api.ctx), last);
    assert_false(record_present(f->store, &r[0].ref));
    /* The digest is the caller's word: a changed byte is not seen. */
    refs[1] = r[1].ref;
    r[1].bytes[0] ^= 0xff;
    refraft_index first = 0;
    assert_int_equal(
        refstore_propose_hashed(f->store, node, refs, bytes, 2, &first), 0);
    assert_int_equal(first, last + 1);
    assert_int_equal(commits(f->store), before + 1);
    assert_true(record_present(f->store, &r[0].ref));
    assert_true(record_present(f->store, &r[1].ref));
    refraft_node_destroy(node);
    record_free(&r[0]);
    record_free(&r[1]);
}

/* "If it fails (REFRAFT_ENOTLEADER, ...) the records are not stored and
 * its error is returned" */
static void propose_on_a_follower_stores_no_record(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    static const char *const peers[] = {"n2"};
    refraft_node *node = node_start(f, &h, peers, 1);
    /* n2 leads term 1. */
    refraft_msg msg;
    memset(&msg, 0, sizeof(msg));
    msg.type = REFRAFT_MSG_APPEND_ENTRIES;
    msg.u.append_entries.term = 1;
    msg.u.append_entries.leader_id = "n2";
    assert_int_equal(refraft_on_message(node, &msg, NULL, NULL), 0);
    assert_string_equal(refraft_leader_id(node), "n2");
    record r = record_make("follower-rec", 10, 1);
    const void *bytes[1] = {r.bytes};
    uint64_t before = commits(f->store);
    refraft_index first = 77;
    assert_int_equal(refstore_propose(f->store, node, &r.ref, bytes, 1, &first),
                     REFRAFT_ENOTLEADER);
    assert_int_equal(first, 77);
    assert_non_null(strstr(refstore_errmsg(f->store), "n2"));
    assert_int_equal(commits(f->store), before);
    assert_false(record_present(f->store, &r.ref));
    fx_reopen(f);
    assert_false(record_present(f->store, &r.ref));
    refraft_node_destroy(node);
    record_free(&r);
}

/* Deletes the record under "s" through refstore_record_dbi, as a hook
 * may, leaving its digest behind. */
static int delete_record_s(void *ctx, MDB_txn *txn)
{
    refstore *store = ctx;
    MDB_val k = {1, "s"};
    return mdb_del(txn, refstore_record_dbi(store), &k, NULL) == 0
               ? 0
               : REFRAFT_EIO;
}

/* "a hook that deletes a record through this handle leaves its digest
 * behind, which counts for nothing without the record and is replaced
 * when a record is put under the id again" */
static void digest_left_behind_is_replaced_by_the_next_record(void **state)
{
    struct fx *f = *state;
    record a = record_make("s", 40, 'a'), b = record_make("s", 60, 'b');
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_int_equal(refstore_write(f->store, delete_record_s, f->store), 0);
    assert_false(record_present(f->store, &a.ref));
    assert_int_equal(refstore_record_put(f->store, &b.ref, b.bytes, b.len), 0);
    assert_true(record_present(f->store, &b.ref));
    assert_false(record_present(f->store, &a.ref));
    fx_reopen(f);
    assert_true(record_present(f->store, &b.ref));
    record_free(&a);
    record_free(&b);
}

/* "The digest and size are stored beside the record": refstore_propose
 * stores them too, so the proposed records are present for exactly the
 * refs proposed. */
static void propose_stores_each_record_with_its_digest(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    record r[2] = {record_make("pd-0", 32, 1), record_make("pd-1", 32, 2)};
    record other = record_make("pd-0", 32, 3);
    refraft_ref refs[2] = {r[0].ref, r[1].ref};
    const void *bytes[2] = {r[0].bytes, r[1].bytes};
    assert_int_equal(refstore_propose(f->store, node, refs, bytes, 2, NULL), 0);
    bool present[2] = {false, false};
    assert_int_equal(refstore_record_has(f->store, refs, 2, present), 0);
    assert_true(present[0] && present[1]);
    assert_false(record_present(f->store, &other.ref));
    refraft_node_destroy(node);
    fx_reopen(f);
    assert_int_equal(refstore_record_has(f->store, refs, 2, present), 0);
    assert_true(present[0] && present[1]);
    assert_false(record_present(f->store, &other.ref));
    for (size_t i = 0; i < 2; i++)
        record_free(&r[i]);
    record_free(&other);
}

/* The node on this store, with hull.have_records = refstore_record_has:
 * alone it is its own majority, so the references refstore_propose
 * appends are settled (their records present and verified), committed
 * and applied before it returns.  refraft_propose asks have_records about
 * the entries it appended while refstore_propose is running: that call
 * into the store is allowed ("It only reads, so it may be called while
 * refstore_propose() runs refraft_propose()"). */
static void node_settles_commits_and_applies_what_propose_stores(void **state)
{
    struct fx *f = *state;
    struct host h = {.check_records = true};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    record r[2] = {record_make("settle-0", 64, 1),
                   record_make("settle-1", 7, 2)};
    refraft_ref refs[2] = {r[0].ref, r[1].ref};
    const void *bytes[2] = {r[0].bytes, r[1].bytes};
    int calls_before = h.have_calls;
    refraft_index first = 0;
    assert_int_equal(refstore_propose(f->store, node, refs, bytes, 2, &first),
                     0);
    refraft_index last = first + 1;
    if (h.have_errors > 0)
        fail_msg("have_records failed %d times: %s", h.have_errors, h.have_err);
    assert_true(h.have_calls > calls_before);
    assert_int_equal(refraft_last_index(node), last);
    assert_int_equal(refraft_data_index(node), last);
    assert_int_equal(refraft_commit_index(node), last);
    /* hull.apply is refstore_apply: the hook saw both entries, each with
     * its record in the store. */
    assert_int_equal(h.applied, last);
    assert_int_equal(refraft_applied_index(node), last);
    assert_int_equal(f->app.types[first], REFRAFT_ENTRY_REF);
    assert_int_equal(f->app.types[last], REFRAFT_ENTRY_REF);
    assert_int_equal(f->app.records_seen, 2);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), last);
    refraft_node_destroy(node);
    for (size_t i = 0; i < 2; i++)
        record_free(&r[i]);
}

/* The case the digests are for: the store keeps a record under an id
 * (say the orphan of a discarded entry) and the log gets a reference
 * under the same id and of the same size, naming another record.  The
 * node must not count the kept record as the entry's: its data index
 * waits, so the entry is neither committed (durable commit) nor applied.
 * Once the right record is stored, it settles. */
static void node_does_not_count_another_record_under_the_same_id(void **state)
{
    struct fx *f = *state;
    struct host h = {.check_records = true};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    record kept = record_make("twice", 24, 'k');
    record named = record_make("twice", 24, 'n');
    assert_int_equal(
        refstore_record_put(f->store, &kept.ref, kept.bytes, kept.len), 0);
    refraft_index index = 0;
    assert_int_equal(refraft_propose(node, &named.ref, 1, &index), 0);
    assert_int_equal(refraft_data_index(node), index - 1);
    assert_true(refraft_commit_index(node) < index);
    assert_true(h.applied < index);
    /* Time passing changes nothing. */
    for (int i = 0; i < 3; i++) {
        h.now = refraft_next_deadline(node);
        assert_int_equal(refraft_tick(node), 0);
    }
    assert_int_equal(refraft_data_index(node), index - 1);
    assert_true(h.applied < index);
    assert_int_equal(f->app.records_seen, 0);
    /* The kept record goes, the named one comes. */
    assert_int_equal(
        refstore_record_delete(f->store, kept.ref.id, kept.ref.id_len), 0);
    assert_int_equal(
        refstore_record_put(f->store, &named.ref, named.bytes, named.len), 0);
    assert_int_equal(refraft_records_stored(node), 0);
    if (h.have_errors > 0)
        fail_msg("have_records failed %d times: %s", h.have_errors, h.have_err);
    assert_int_equal(refraft_data_index(node), index);
    assert_int_equal(refraft_commit_index(node), index);
    assert_int_equal(h.applied, index);
    assert_int_equal(f->app.records_seen, 1);
    refraft_node_destroy(node);
    record_free(&kept);
    record_free(&named);
}

/* What each ref of a probe is, for the failure messages. */
static const char *const probe_what[PROBES] = {
    "a (a copy)",          "b with another digest",
    "b with another size", "a with another digest",
    "a with another size", "a's id cut short",
    "b (a copy)"};

/* A probe about a and b, two refs whose records are put: copies of them
 * (their ids elsewhere in memory), present, and refs that differ from one
 * of them in one respect only, absent.  Asked in this order, the
 * different refs meet a just-put ref under their own id both where the
 * store looks first (after a hit) and at the start. */
static void
probe_make(struct probe *p, const refraft_ref *a, const refraft_ref *b)
{
    assert_true(a->id_len >= 2);
    memset(p, 0, sizeof(*p));
    memcpy(p->ids[0], a->id, a->id_len);
    memcpy(p->ids[1], b->id, b->id_len);
    for (size_t i = 0; i < PROBES; i++)
        p->refs[i] = i == 1 || i == 2 || i == 6 ? *b : *a;
    p->refs[0].id = (const uint8_t *)p->ids[0];
    p->refs[6].id = (const uint8_t *)p->ids[1];
    p->refs[1].digest[REFRAFT_DIGEST_LEN - 1] ^= 0xff;
    p->refs[2].size++;
    p->refs[3].digest[REFRAFT_DIGEST_LEN - 1] ^= 0xff;
    p->refs[4].size++;
    p->refs[5].id_len--;
    p->want[0] = p->want[6] = true;
}

static void
assert_probe(const struct probe *p, const bool *present, const char *when)
{
    for (size_t i = 0; i < PROBES; i++)
        if (present[i] != p->want[i])
            fail_msg("%s: probe %zu, %s, is %s", when, i, probe_what[i],
                     present[i] ? "present" : "absent");
}

/* While refstore_propose runs, refstore_record_has counts the records it
 * has just put as present without looking them up.  Only for their exact
 * refs: asked from inside the node's have_records call, a ref under a
 * just-put id with another digest, another size, or an id cut short is
 * absent, as the store's own lookup says, and the refs proposed are
 * present; the node's data index covers the entries. */
static void propose_counts_only_the_exact_refs_it_put_as_present(void **state)
{
    struct fx *f = *state;
    struct host h = {.check_records = true};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    record r[2] = {record_make("just-put-0", 40, 1),
                   record_make("just-put-1", 40, 2)};
    refraft_ref refs[2] = {r[0].ref, r[1].ref};
    const void *bytes[2] = {r[0].bytes, r[1].bytes};
    struct probe probe;
    probe_make(&probe, &refs[0], &refs[1]);
    h.probe = &probe;
    h.probe_armed = true;
    refraft_index first = 0;

    assert_int_equal(refstore_propose(f->store, node, refs, bytes, 2, &first),
                     0);

    if (h.have_errors > 0)
        fail_msg("have_records failed %d times: %s", h.have_errors, h.have_err);
    assert_int_equal(h.probes, 1);
    assert_probe(&probe, h.probe_present, "during the propose");
    refraft_index last = first + 1;
    assert_int_equal(refraft_last_index(node), last);
    assert_int_equal(refraft_data_index(node), last);
    assert_int_equal(refraft_commit_index(node), last);
    assert_int_equal(h.applied, last);
    /* Looked up in the store once the propose is over: the same. */
    bool present[PROBES];
    assert_int_equal(refstore_record_has(f->store, probe.refs, PROBES, present),
                     0);
    assert_probe(&probe, present, "after the propose");
    refraft_node_destroy(node);
    for (size_t i = 0; i < 2; i++)
        record_free(&r[i]);
}

/* Once refstore_propose has returned, refstore_record_has looks every
 * ref up in the store: a record proposed and then deleted is absent,
 * though its ref is one the propose put. */
static void record_proposed_then_deleted_is_absent(void **state)
{
    struct fx *f = *state;
    struct host h = {.check_records = true};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    record r[2] = {record_make("put-gone-0", 16, 1),
                   record_make("put-gone-1", 16, 2)};
    refraft_ref refs[2] = {r[0].ref, r[1].ref};
    const void *bytes[2] = {r[0].bytes, r[1].bytes};
    assert_int_equal(refstore_propose(f->store, node, refs, bytes, 2, NULL), 0);
    bool present[2] = {false, false};
    assert_int_equal(refstore_record_has(f->store, refs, 2, present), 0);
    assert_true(present[0] && present[1]);

    assert_int_equal(
        refstore_record_delete(f->store, r[0].ref.id, r[0].ref.id_len), 0);

    assert_int_equal(refstore_record_has(f->store, refs, 2, present), 0);
    assert_false(present[0]);
    assert_true(present[1]);
    assert_false(record_present(f->store, &refs[0]));
    refraft_node_destroy(node);
    for (size_t i = 0; i < 2; i++)
        record_free(&r[i]);
}

/* A propose the node refuses (it follows n2) puts its records into the
 * propose transaction, which goes: once refstore_propose has returned,
 * they are absent, and stay so until stored. */
static void records_of_a_refused_propose_are_absent_afterwards(void **state)
{
    struct fx *f = *state;
    struct host h = {.check_records = true};
    static const char *const peers[] = {"n2"};
    refraft_node *node = node_start(f, &h, peers, 1);
    refraft_msg msg;
    memset(&msg, 0, sizeof(msg));
    msg.type = REFRAFT_MSG_APPEND_ENTRIES;
    msg.u.append_entries.term = 1;
    msg.u.append_entries.leader_id = "n2";
    assert_int_equal(refraft_on_message(node, &msg, NULL, NULL), 0);
    record r[2] = {record_make("refused-0", 16, 1),
                   record_make("refused-1", 16, 2)};
    refraft_ref refs[2] = {r[0].ref, r[1].ref};
    const void *bytes[2] = {r[0].bytes, r[1].bytes};

    assert_int_equal(refstore_propose(f->store, node, refs, bytes, 2, NULL),
                     REFRAFT_ENOTLEADER);

    bool present[2] = {true, true};
    assert_int_equal(refstore_record_has(f->store, refs, 2, present), 0);
    assert_false(present[0]);
    assert_false(present[1]);
    assert_int_equal(
        refstore_record_put(f->store, &refs[1], r[1].bytes, r[1].len), 0);
    assert_int_equal(refstore_record_has(f->store, refs, 2, present), 0);
    assert_false(present[0]);
    assert_true(present[1]);
    assert_int_equal(refraft_data_index(node), 0);
    refraft_node_destroy(node);
    for (size_t i = 0; i < 2; i++)
        record_free(&r[i]);
}

/* A node restarted on the same store picks up term, vote and log, and
 * resumes applying after the store's applied index. */
static void restarted_node_loads_term_vote_and_log(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    record r = record_make("restart", 64, 9);
    const void *bytes[1] = {r.bytes};
    assert_int_equal(refstore_propose(f->store, node, &r.ref, bytes, 1, NULL),
                     0);
    refraft_term term = refraft_current_term(node);
    refraft_index last = refraft_last_index(node);
    assert_int_equal(refstore_flush(f->store), 0);
    refraft_node_destroy(node);
    fx_reopen(f);
    assert_int_equal(refstore_applied_index(f->store), last);
    struct host h2 = {0};
    node = node_start(f, &h2, NULL, 0);
    assert_int_equal(refraft_current_term(node), term);
    assert_string_equal(refraft_voted_for(node), NODE);
    assert_int_equal(refraft_last_index(node), last);
    assert_int_equal(refraft_applied_index(node), last);
    /* It leads again, in a new term, and goes on applying. */
    elect(node, &h2);
    assert_true(refraft_current_term(node) > term);
    assert_int_equal(h2.applied, last + 1);
    refraft_node_destroy(node);
    record_free(&r);
}

/* "If the map fills on the way, it grows and the whole propose runs
 * again."  Every fourth round proposes a few large records, which fill the
 * map while the records go in; the others many empty records under long
 * ids, whose references take as much room as they do, so that the map
 * also fills during the log append, after the records went in.  (With
 * 4 KiB pages the two growths come one each way.) */
#define PROPOSE_BATCH 48

static void propose_round(refstore *store, refraft_node *node, int round)
{
    record r[PROPOSE_BATCH];
    refraft_ref refs[PROPOSE_BATCH];
    const void *bytes[PROPOSE_BATCH];
    bool large = round % 4 == 0;
    size_t n = large ? 4 : PROPOSE_BATCH;
    for (size_t i = 0; i < n; i++) {
        char id[REFRAFT_RECORD_ID_MAX + 1];
        int len = snprintf(id, sizeof(id), "g-%d-%zu-", round, i);
        if (!large)
            memset(id + len, 'x', 200 - (size_t)len), id[200] = '\0';
        r[i] = record_make(id, large ? 12 * KIB : 0, (uint8_t)round);
        refs[i] = r[i].ref;
        bytes[i] = r[i].bytes;
    }
    int rv = refstore_propose(store, node, refs, bytes, n, NULL);
    if (rv != 0)
        fail_msg("propose round %d: %s (%s)", round, refraft_strerror(rv),
                 refstore_errmsg(store));
    bool present[PROPOSE_BATCH];
    assert_int_equal(refstore_record_has(store, refs, n, present), 0);
    for (size_t i = 0; i < n; i++) {
        assert_true(present[i]);
        record_free(&r[i]);
    }
}

static void propose_grows_a_full_map(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 256 * KIB, 64 * 1024 * KIB);
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    size_t proposed = 0;
    int round;
    for (round = 0; stats(f->store).map_grows < 2; round++) {
        assert_true(round < 2000);
        propose_round(f->store, node, round);
        proposed += round % 4 == 0 ? 4 : PROPOSE_BATCH;
    }
    /* The no-op, then every proposed reference, each exactly once. */
    assert_int_equal(f->api.last_index(f->api.ctx), 1 + proposed);
    assert_int_equal(refraft_last_index(node), 1 + proposed);
    assert_int_equal(h.applied, 1 + proposed);
    refraft_node_destroy(node);
}

/* A map full at map_size_max is REFRAFT_ENOSPC for a propose too, even
 * when only the commit runs out of room (LMDB needs pages for its free list
 * then): the propose must not start over for ever.  The alarm turns such a
 * loop into a failure. */
static void propose_into_a_map_full_at_its_maximum_is_enospc(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 256 * KIB, 256 * KIB);
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    alarm(60);
    int rv = 0;
    for (int round = 0; rv == 0; round++) {
        assert_true(round < 5000);
        char id[32];
        snprintf(id, sizeof(id), "full-%d", round);
        record r = record_make(id, 1000, (uint8_t)round);
        const void *bytes = r.bytes;
        rv = refstore_propose(f->store, node, &r.ref, &bytes, 1, NULL);
        record_free(&r);
        if (rv == 0)
            assert_int_equal(refstore_flush(f->store), 0);
    }
    alarm(0);
    assert_int_equal(rv, REFRAFT_ENOSPC);
    if (strstr(refstore_errmsg(f->store), "full at") == NULL)
        fail_msg("\"%s\" should say the store is full",
                 refstore_errmsg(f->store));
    /* The store still works: what was proposed before is there. */
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store),
                     f->api.last_index(f->api.ctx));
    refraft_node_destroy(node);
}

/* An fn that ignores an LMDB error and returns 0 loses its own writes and
 * fails its call; the store's open transaction, with the pending applies,
 * is untouched ("one that fails takes back its own writes and nothing
 * else"). */
static int write_fn_ignoring_map_full(void *ctx, MDB_txn *txn)
{
    struct app *a = ctx;
    uint8_t key[8];
    MDB_val k = index_key(key, 77);
    assert_int_equal(app_put(a, txn, &k, 2 * 1024 * KIB), REFRAFT_ENOSPC);
    return 0;
}

static void write_fn_ignoring_an_lmdb_error_keeps_pending_applies(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 1024 * KIB, 1024 * KIB);
    log_batch b = append(f, 2, 1, 1);
    apply_ok(f, 1);
    assert_int_not_equal(
        refstore_write(f->store, write_fn_ignoring_map_full, &f->app), 0);
    apply_ok(f, 2);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 2);
    assert_true(app_has_row(&f->app, 1));
    assert_true(app_has_row(&f->app, 2));
    assert_false(app_has_row(&f->app, 77));
    log_batch_free(&b);
}

/* The same for the apply hook, which runs in the apply's own child
 * transaction: the apply fails, its index is not applied, and the
 * applies pending before it still commit. */
static int apply_hook_ignoring_map_full(void *ctx, MDB_txn *txn,
                                        refraft_index index,
                                        const refraft_entry *entry)
{
    struct app *a = ctx;
    (void)entry;
    uint8_t key[8];
    MDB_val k = index_key(key, index);
    if (index == 2)
        assert_int_equal(app_put(a, txn, &k, 2 * 1024 * KIB), REFRAFT_ENOSPC);
    else
        assert_int_equal(app_put(a, txn, &k, 1), 0);
    return 0;
}

static void
apply_hook_ignoring_an_lmdb_error_keeps_pending_applies(void **state)
{
    struct fx *f = *state;
    f->opts.apply = apply_hook_ignoring_map_full;
    tiny_map(f, 1024 * KIB, 1024 * KIB);
    log_batch b = append(f, 2, 1, 1);
    apply_ok(f, 1);
    refraft_entry e;
    memset(&e, 0, sizeof(e));
    e.term = 1;
    e.type = REFRAFT_ENTRY_NOOP;
    assert_int_not_equal(refstore_apply(f->store, 2, &e), 0);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 1);
    assert_true(app_has_row(&f->app, 1));
    assert_false(app_has_row(&f->app, 2));
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Stage and sync: the leader's append in two steps (refraft.h).  The
 * conformance suite checks what any log that stages must do; here is
 * what refstore adds: staged entries wait in the open write transaction
 * (a propose's, beside its records) and commit with the sync.
 * ------------------------------------------------------------------------ */

static void stage_ok(struct fx *f, const log_batch *b)
{
    int rv = f->api.stage(f->api.ctx, b->e, b->n);
    if (rv != 0)
        fail_msg("stage: %s (%s)", refraft_strerror(rv),
                 refstore_errmsg(f->store));
}

static void sync_ok(struct fx *f)
{
    int rv = f->api.sync(f->api.ctx);
    if (rv != 0)
        fail_msg("sync: %s (%s)", refraft_strerror(rv),
                 refstore_errmsg(f->store));
}

/* A crash: the store closed without committing anything, then opened
 * again. */
static void crash_and_reopen(struct fx *f)
{
    refstore_close_discard(f->store);
    f->store = NULL;
    fx_open(f);
}

/* Staged entries are not written until the sync, which is one commit for
 * them and the applies pending beside them; then they survive a crash. */
static void staged_entries_commit_with_the_sync_in_one_commit(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 2, 1, 1);
    apply_ok(f, 1);
    uint64_t before = commits(f->store);
    log_batch b = log_batch_make(50, 100, 2);
    stage_ok(f, &b);
    assert_int_equal(commits(f->store), before);
    assert_int_equal(f->api.last_index(f->api.ctx), 52);
    sync_ok(f);
    assert_int_equal(commits(f->store), before + 1);
    assert_int_equal(refstore_applied_index(f->store), 1);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 52);
    log_assert_entries(&f->api, 1, a.e, a.n);
    log_assert_entries(&f->api, 3, b.e, b.n);
    assert_int_equal(refstore_applied_index(f->store), 1);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* "the entries need not be durable yet": a crash before the sync loses
 * them (with the applies pending beside them), and the log is what it
 * was before the stage, ready for the same indexes again. */
static void crash_before_sync_loses_the_staged_entries(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 2, 1, 1);
    apply_ok(f, 1);
    log_batch b = log_batch_make(3, 100, 2);
    stage_ok(f, &b);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 2);
    log_assert_entries(&f->api, 1, a.e, a.n);
    assert_int_equal(refstore_applied_index(f->store), 0);
    /* Term 1 is the last term again: an entry of term 1 goes on. */
    log_batch c = append(f, 1, 200, 1);
    log_assert_entries(&f->api, 3, c.e, c.n);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&c);
}

/* One stage at a time: a second before the sync is REFRAFT_EINVAL and
 * stages nothing; the first stays staged and commits with the sync. */
static void second_stage_before_sync_is_einval(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 1, 1, 1);
    log_batch b = log_batch_make(2, 100, 1);
    log_batch c = log_batch_make(2, 200, 1);
    stage_ok(f, &b);
    assert_int_equal(f->api.stage(f->api.ctx, c.e, c.n), REFRAFT_EINVAL);
    assert_non_null(strstr(refstore_errmsg(f->store), "staged"));
    assert_int_equal(f->api.last_index(f->api.ctx), 3);
    log_assert_entries(&f->api, 2, b.e, b.n);
    sync_ok(f);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 3);
    log_assert_entries(&f->api, 2, b.e, b.n);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&c);
}

static int count_calls(void *ctx, MDB_txn *txn)
{
    (void)txn;
    ++*(int *)ctx;
    return 0;
}

/* While entries are staged, every write that would commit the open
 * transaction (and so take them to disk behind the node's back) is
 * REFRAFT_EINVAL, naming the staged entries, and changes nothing.  After
 * the sync they all work again. */
static void durable_writes_while_staged_are_einval(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 2, 1, 1);
    assert_int_equal(f->api.save_hard_state(f->api.ctx, 1, "n1"), 0);
    apply_ok(f, 1);
    log_batch b = log_batch_make(1, 100, 1);
    stage_ok(f, &b);
    uint64_t before = commits(f->store);
    log_snapshot *snap = log_snapshot_take(&f->api);
    record r = record_make("while-staged", 10, 1);
    log_batch c = log_batch_make(1, 200, 1);
    int calls = 0;

    int rvs[] = {
        f->api.append(f->api.ctx, c.e, c.n),
        f->api.truncate(f->api.ctx, 2),
        f->api.save_hard_state(f->api.ctx, 2, "n2"),
        refstore_flush(f->store),
        refstore_write(f->store, count_calls, &calls),
        refstore_record_put(f->store, &r.ref, r.bytes, r.len),
        refstore_map_set(f->store, "n2", "http://n2"),
        refstore_set_data_index(f->store, 1),
    };
    for (size_t i = 0; i < sizeof(rvs) / sizeof(rvs[0]); i++)
        if (rvs[i] != REFRAFT_EINVAL)
            fail_msg("write %zu while staged: %s", i, refraft_strerror(rvs[i]));
    assert_non_null(strstr(refstore_errmsg(f->store), "staged"));
    assert_int_equal(calls, 0);
    assert_int_equal(commits(f->store), before);
    log_assert_snapshot(&f->api, snap);
    assert_false(record_present(f->store, &r.ref));

    sync_ok(f);
    assert_int_equal(commits(f->store), before + 1);
    assert_int_equal(refstore_applied_index(f->store), 1);
    assert_int_equal(f->api.append(f->api.ctx, c.e, c.n), 0);
    assert_int_equal(f->api.truncate(f->api.ctx, 4), 0);
    assert_int_equal(f->api.save_hard_state(f->api.ctx, 2, "n2"), 0);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_write(f->store, count_calls, &calls), 0);
    assert_int_equal(calls, 1);
    assert_int_equal(refstore_record_put(f->store, &r.ref, r.bytes, r.len), 0);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 3);
    log_assert_entries(&f->api, 3, b.e, b.n);
    assert_true(record_present(f->store, &r.ref));
    log_snapshot_free(snap);
    record_free(&r);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&c);
}

/* With nothing staged, sync commits nothing, not even pending applies. */
static void sync_with_nothing_staged_commits_nothing(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 1, 1, 1);
    apply_ok(f, 1);
    uint64_t before = commits(f->store);
    sync_ok(f);
    assert_int_equal(commits(f->store), before);
    assert_int_equal(refstore_applied_index(f->store), 0);
    log_batch_free(&a);
}

static int sync_fn(void *arg)
{
    const refraft_log_api *api = arg;
    return api->sync(api->ctx);
}

/* sync: "On error every staged entry is gone: the log is what it was
 * before stage."  The data file cannot grow, so the commit fails; the
 * store has not failed (no applies were lost), and the same indexes can
 * be staged and synced again. */
static void failed_sync_leaves_the_log_as_before_the_stage(void **state)
{
    struct fx *f = *state;
    f->opts.sync = REFSTORE_SYNC_NONE;
    fx_open(f);
    log_batch a = append(f, 2, 1, 1);
    log_batch b = log_batch_make(2000, 100, 2);
    stage_ok(f, &b);

    int rv = at_file_size_limit(data_file_size(f), sync_fn, &f->api);

    assert_int_not_equal(rv, 0);
    assert_int_equal(f->api.last_index(f->api.ctx), 2);
    log_assert_entries(&f->api, 1, a.e, a.n);
    refraft_entry e;
    size_t n = 99;
    assert_int_equal(f->api.get(f->api.ctx, 3, 1, &e, &n), 0);
    assert_int_equal(n, 0);
    log_batch low = log_batch_make(1, 300, 1);
    stage_ok(f, &low); /* term 1 is the last term again */
    sync_ok(f);
    stage_ok(f, &b);
    sync_ok(f);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 2003);
    log_assert_entries(&f->api, 3, low.e, 1);
    log_assert_entries(&f->api, 4, b.e, b.n);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&low);
}

/* A stage that fills the map grows it (committing the pending applies on
 * the way) and stages again; the sync then commits all of it. */
static void stage_grows_a_full_map(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 256 * KIB, 64 * 1024 * KIB);
    log_batch a = append(f, 2, 1, 1);
    apply_ok(f, 1);
    log_batch b = log_batch_make(3000, 100, 1);
    assert_int_equal(stats(f->store).map_grows, 0);
    stage_ok(f, &b);
    assert_true(stats(f->store).map_grows >= 1);
    assert_int_equal(refstore_applied_index(f->store), 1);
    assert_int_equal(f->api.last_index(f->api.ctx), 3002);
    log_assert_entries(&f->api, 3, b.e, b.n);
    sync_ok(f);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 3002);
    log_assert_entries(&f->api, 1, a.e, a.n);
    log_assert_entries(&f->api, 3, b.e, b.n);
    assert_int_equal(refstore_applied_index(f->store), 1);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* refstore.h: "MDB_MAP_FULL grows the map (doubling, up to map_size_max)
 * and retries; past the maximum the call fails with REFRAFT_ENOSPC".  The
 * churn of applies_lost_by_a_commit_out_of_map_run_again, with each entry
 * staged and synced, makes some syncs' commits run out of map (LMDB needs
 * pages for its free list then), far below map_size_max.  Such a sync must
 * grow the map and make its entry durable, as an append does there.  A
 * sync that fails anyway must leave the log as it was before the stage,
 * say why, and leave the store working; the test checks that at once and
 * reports the failures at the end. */
static void sync_whose_commit_fills_the_map_grows_it(void **state)
{
    struct fx *f = *state;
    churn_open(f);
    log_batch noop = log_batch_make(1, 1, 1);
    noop.e[0].type = REFRAFT_ENTRY_NOOP;
    refraft_index n = 120;
    int failures = 0;
    char first[2 * REFRAFT_ERRMSG_LEN] = "";
    /* Each sync commits the apply left pending before it. */
    for (refraft_index i = 1; i <= n; i++) {
        stage_ok(f, &noop);
        int rv = f->api.sync(f->api.ctx);
        if (rv != 0) {
            if (failures++ == 0)
                snprintf(first, sizeof(first),
                         "the sync of index %llu: %s "
                         "(errmsg \"%s\")",
                         (unsigned long long)i, refraft_strerror(rv),
                         refstore_errmsg(f->store));
            assert_int_equal(f->api.last_index(f->api.ctx), i - 1);
            stage_ok(f, &noop);
            sync_ok(f);
        }
        churn_records(f, i);
        apply_ok(f, i);
    }
    assert_true(stats(f->store).map_grows >= 1);
    assert_true(f->app.reapplies > 0);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), n);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), n);
    assert_int_equal(refstore_applied_index(f->store), n);
    for (refraft_index i = 1; i <= n; i++)
        assert_true(app_has_row(&f->app, i));
    log_batch_free(&noop);
    if (failures > 0)
        fail_msg("%d syncs failed with the map far below map_size_max; "
                 "the first: %s",
                 failures, first);
}

/* The same through refstore_propose: a node alone on the store proposes
 * a record at a time while older records are deleted, so that some
 * syncs' commits run out of map with the propose's records in them.
 * "If the map fills on the way, it grows and the whole propose runs
 * again": every propose succeeds, the node keeps leading, and each
 * record is stored once with its reference. */
static void propose_whose_sync_fills_the_map_grows_it(void **state)
{
    struct fx *f = *state;
    churn_open(f);
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    refraft_index n = 120;
    for (refraft_index i = 1; i <= n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "p%llu", (unsigned long long)i);
        record r = record_make(id, 3000, (uint8_t)i);
        const void *bytes[1] = {r.bytes};
        int rv = refstore_propose(f->store, node, &r.ref, bytes, 1, NULL);
        record_free(&r);
        if (rv != 0)
            fail_msg("propose %llu: %s (%s)", (unsigned long long)i,
                     refraft_strerror(rv), refstore_errmsg(f->store));
        if (i > 10) {
            snprintf(id, sizeof(id), "p%llu", (unsigned long long)i - 10);
            assert_int_equal(refstore_record_delete(
                                 f->store, (const uint8_t *)id, strlen(id)),
                             0);
        }
    }
    assert_true(stats(f->store).map_grows >= 1);
    assert_int_equal(refraft_role(node), REFRAFT_LEADER);
    assert_int_equal(refraft_last_index(node), 1 + n);
    assert_int_equal(h.applied, 1 + n);
    assert_int_equal(refstore_flush(f->store), 0);
    refraft_node_destroy(node);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 1 + n);
    assert_int_equal(refstore_applied_index(f->store), 1 + n);
    for (refraft_index i = n - 9; i <= n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "p%llu", (unsigned long long)i);
        record r = record_make(id, 3000, (uint8_t)i);
        bool present = record_present(f->store, &r.ref);
        record_free(&r);
        assert_true(present);
    }
}

/* refstore_propose through a node whose log stages: the references are
 * staged beside the records and sent (hull.flush runs) before anything
 * is committed; the sync commits records and references together, one
 * commit. */
static void propose_commits_records_and_references_at_the_sync(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    assert_int_equal(h.flushes, 1); /* the no-op */
    record r = record_make("at-sync", 100, 7);
    const void *bytes[1] = {r.bytes};
    h.watch = &r.ref;
    uint64_t before = commits(f->store);
    refraft_index first = 0;

    assert_int_equal(refstore_propose(f->store, node, &r.ref, bytes, 1, &first),
                     0);

    assert_int_equal(first, 2);
    assert_int_equal(h.flushes, 2);
    assert_int_equal(h.commits_at_flush, before);
    assert_int_equal(h.last_at_flush, 2);
    assert_true(h.watch_present_at_flush); /* in the propose's txn */
    assert_int_equal(commits(f->store), before + 1);
    assert_int_equal(h.applied, 2);
    refraft_node_destroy(node);
    crash_and_reopen(f);
    assert_true(record_present(f->store, &r.ref));
    refraft_entry e;
    size_t n = 0;
    assert_int_equal(f->api.get(f->api.ctx, 2, 1, &e, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(e.ref.id_len, r.ref.id_len);
    assert_memory_equal(e.ref.id, r.ref.id, r.ref.id_len);
    record_free(&r);
}

/* A propose that fails before anything is staged (the node does not
 * lead) gives up its records and leaves the log alone: its last entry
 * keeps its term, and the term rule still holds. */
static void propose_that_stages_nothing_leaves_the_log_alone(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 2, 1, 3);
    assert_int_equal(f->api.save_hard_state(f->api.ctx, 3, NULL), 0);
    struct host h = {0};
    static const char *const peers[] = {"n2"};
    refraft_node *node = node_start(f, &h, peers, 1);
    record r = record_make("not-leader", 10, 1);
    const void *bytes[1] = {r.bytes};

    int rv = refstore_propose(f->store, node, &r.ref, bytes, 1, NULL);
    refraft_node_destroy(node);
    record_free(&r);
    assert_int_equal(rv, REFRAFT_ENOLEADER);

    refraft_term term = 0;
    rv = f->api.term_at(f->api.ctx, 2, &term);
    log_batch low = log_batch_make(1, 100, 2);
    int low_rv = f->api.append(f->api.ctx, low.e, 1);
    refraft_index last = f->api.last_index(f->api.ctx);
    log_batch_free(&low);
    log_batch_free(&a);
    assert_int_equal(rv, 0);
    assert_int_equal(term, 3);
    assert_int_equal(low_rv, REFRAFT_EINVAL); /* terms never go down */
    assert_int_equal(last, 2);
}

struct propose_arg {
    refstore *store;
    refraft_node *node;
    const refraft_ref *ref;
    const void *const *bytes;
};

static int propose_fn(void *arg)
{
    struct propose_arg *p = arg;
    return refstore_propose(p->store, p->node, p->ref, p->bytes, 1, NULL);
}

/* The leader's sync fails (the data file cannot grow): the propose fails,
 * the node steps down, and neither the record nor its reference is in
 * the store, before or after a restart.  The store goes on. */
static void failed_sync_of_a_propose_stores_nothing(void **state)
{
    struct fx *f = *state;
    f->opts.sync = REFSTORE_SYNC_NONE;
    fx_open(f);
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    /* With no applies pending, a failed commit loses none: the store
     * does not fail. */
    assert_int_equal(refstore_flush(f->store), 0);
    record r = record_make("too-big", 512 * KIB, 3);
    const void *bytes[1] = {r.bytes};
    struct propose_arg p = {f->store, node, &r.ref, bytes};

    int rv = at_file_size_limit(data_file_size(f), propose_fn, &p);

    assert_int_not_equal(rv, 0);
    assert_int_equal(h.flushes, 2); /* it was staged and sent */
    assert_int_equal(refraft_role(node), REFRAFT_FOLLOWER);
    assert_int_equal(refraft_last_index(node), 1);
    assert_int_equal(f->api.last_index(f->api.ctx), 1);
    assert_false(record_present(f->store, &r.ref));
    refraft_term term = refraft_current_term(node);
    refraft_node_destroy(node);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 1);
    assert_false(record_present(f->store, &r.ref));
    /* A new node leads a later term on the same store. */
    struct host h2 = {0};
    node = node_start(f, &h2, NULL, 0);
    elect(node, &h2);
    assert_true(refraft_current_term(node) > term);
    assert_int_equal(
        propose_fn(&(struct propose_arg){f->store, node, &r.ref, bytes}), 0);
    assert_true(record_present(f->store, &r.ref));
    refraft_node_destroy(node);
    record_free(&r);
}

/* ------------------------------------------------------------------------
 * refstore_receive: a follower takes an AppendEntries together with the
 * records its entries name.  The node here is n1 on the store, following
 * n2, with hull.have_records = refstore_record_has, so the data index it
 * reports says which records the store holds.
 * ------------------------------------------------------------------------ */

#define LEADER "n2"
#define RECV_MAX 48

/* What the reply callback was handed, copied (its strings are valid only
 * during the call, so they are not kept). */
struct replies {
    int n;
    uint8_t type;
    refraft_append_entries_result ae;
    refraft_request_vote_result rv;
};

static void reply_fn(void *ctx, const refraft_msg *result)
{
    struct replies *r = ctx;
    r->n++;
    r->type = result->type;
    if (result->type == REFRAFT_MSG_APPEND_ENTRIES_RESULT) {
        r->ae = result->u.append_entries_result;
        r->ae.follower_id = NULL;
    } else if (result->type == REFRAFT_MSG_REQUEST_VOTE_RESULT) {
        r->rv = result->u.request_vote_result;
        r->rv.voter_id = NULL;
    }
}

/* n records of len bytes under ids "<prefix>-<i>" (padded with 'x' to
 * id_pad bytes when that is longer), the REF entries of term naming
 * them, and the arrays refstore_receive takes. */
struct batch {
    size_t n;
    record r[RECV_MAX];
    refraft_ref refs[RECV_MAX];
    const void *bytes[RECV_MAX];
    refraft_entry e[RECV_MAX];
};

static void batch_make(struct batch *b, size_t n, const char *prefix,
                       size_t len, size_t id_pad, refraft_term term)
{
    assert_true(n <= RECV_MAX);
    assert_true(id_pad <= REFRAFT_RECORD_ID_MAX);
    memset(b, 0, sizeof(*b));
    b->n = n;
    for (size_t i = 0; i < n; i++) {
        char id[REFRAFT_RECORD_ID_MAX + 1];
        int at = snprintf(id, sizeof(id), "%s-%zu", prefix, i);
        assert_true(at > 0 && (size_t)at < sizeof(id));
        if ((size_t)at < id_pad)
            memset(id + at, 'x', id_pad - (size_t)at), id[id_pad] = '\0';
        b->r[i] = record_make(id, len, (uint8_t)(i + 1));
        b->refs[i] = b->r[i].ref;
        b->bytes[i] = b->r[i].bytes;
        b->e[i].term = term;
        b->e[i].type = REFRAFT_ENTRY_REF;
        b->e[i].ref = b->r[i].ref;
    }
}

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        record_free(&b->r[i]);
    b->n = 0;
}

/* How many of b's records the store holds. */
static size_t batch_present(refstore *store, const struct batch *b)
{
    bool present[RECV_MAX];
    assert_int_equal(refstore_record_has(store, b->refs, b->n, present), 0);
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++)
        k += present[i];
    return k;
}

/* LEADER's AppendEntries of term. */
static refraft_msg append_msg(refraft_term term, refraft_index prev,
                              refraft_term prev_term, refraft_index commit,
                              const refraft_entry *entries, size_t n)
{
    refraft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = REFRAFT_MSG_APPEND_ENTRIES;
    m.u.append_entries.term = term;
    m.u.append_entries.leader_id = LEADER;
    m.u.append_entries.prev_log_index = prev;
    m.u.append_entries.prev_log_term = prev_term;
    m.u.append_entries.leader_commit = commit;
    m.u.append_entries.entries = entries;
    m.u.append_entries.n_entries = n;
    return m;
}

/* A node on f's store following LEADER in term (an empty AppendEntries
 * told it so), its records checked in the store. */
static refraft_node *
follower_start(struct fx *f, struct host *h, refraft_term term)
{
    static const char *const peers[] = {LEADER};
    h->check_records = true;
    refraft_node *node = node_start(f, h, peers, 1);
    refraft_msg hb = append_msg(term, 0, 0, 0, NULL, 0);
    assert_int_equal(refraft_on_message(node, &hb, NULL, NULL), 0);
    assert_string_equal(refraft_leader_id(node), LEADER);
    assert_int_equal(refraft_current_term(node), term);
    return node;
}

static void assert_no_have_errors(const struct host *h)
{
    if (h->have_errors > 0)
        fail_msg("have_records failed %d times: %s", h->have_errors,
                 h->have_err);
}

/* The log holds b's entries from index first on, each naming its ref. */
static void
assert_log_names(struct fx *f, refraft_index first, const struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        refraft_entry e;
        size_t n = 0;
        assert_int_equal(f->api.get(f->api.ctx, first + i, 1, &e, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(e.type, REFRAFT_ENTRY_REF);
        assert_int_equal(e.term, b->e[i].term);
        assert_int_equal(e.ref.id_len, b->refs[i].id_len);
        assert_memory_equal(e.ref.id, b->refs[i].id, b->refs[i].id_len);
        assert_memory_equal(e.ref.digest, b->refs[i].digest,
                            REFRAFT_DIGEST_LEN);
    }
}

/* "the append the message causes commits the records with the entries,
 * one commit and one sync, and the data index the node reports already
 * counts them.  The records are stored only then (*records_stored
 * true)"; after a crash both are there. */
static void receive_commits_records_and_entries_in_one_commit(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 1);
    struct batch b;
    batch_make(&b, 3, "recv", 100, 0, 1);
    refraft_msg m = append_msg(1, 0, 0, 0, b.e, b.n);
    struct replies rep = {0};
    bool stored = false;
    uint64_t before = commits(f->store);

    int rv = refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                              reply_fn, &rep, &stored);

    if (rv != 0)
        fail_msg("refstore_receive: %s (%s)", refraft_strerror(rv),
                 refstore_errmsg(f->store));
    assert_true(stored);
    assert_int_equal(commits(f->store), before + 1);
    assert_no_have_errors(&h);
    assert_int_equal(rep.n, 1);
    assert_int_equal(rep.type, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_true(rep.ae.success);
    assert_int_equal(rep.ae.match_index, 3);
    assert_int_equal(rep.ae.data_index, 3);
    assert_int_equal(refraft_data_index(node), 3);
    assert_int_equal(refraft_last_index(node), 3);
    assert_int_equal(batch_present(f->store, &b), 3);
    refraft_node_destroy(node);
    crash_and_reopen(f);
    assert_int_equal(batch_present(f->store, &b), 3);
    assert_int_equal(f->api.last_index(f->api.ctx), 3);
    assert_log_names(f, 1, &b);
    batch_free(&b);
}

/* A message that appends entries and commits them: the node applies
 * them in the same call, after the append committed the records (an
 * apply inside the propose transaction would fail), and the hook finds
 * each record. */
static void receive_applies_what_it_appends_and_commits(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 1);
    struct batch b;
    batch_make(&b, 2, "recv-apply", 64, 0, 1);
    refraft_msg m = append_msg(1, 0, 0, 2, b.e, b.n);
    struct replies rep = {0};
    bool stored = false;
    uint64_t before = commits(f->store);

    assert_int_equal(refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                                      reply_fn, &rep, &stored),
                     0);

    assert_true(stored);
    assert_int_equal(commits(f->store), before + 1);
    assert_true(rep.ae.success);
    assert_int_equal(rep.ae.data_index, 2);
    assert_int_equal(refraft_commit_index(node), 2);
    assert_int_equal(h.applied, 2);
    assert_int_equal(f->app.records_seen, 2);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 2);
    refraft_node_destroy(node);
    batch_free(&b);
}

/* The same as propose_counts_only_the_exact_refs_it_put_as_present,
 * through refstore_receive: while it runs, the node's have_records call
 * finds the records the message brought present for their exact refs
 * only, and the data index the node reports covers its entries. */
static void receive_counts_only_the_exact_refs_it_put_as_present(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 1);
    struct batch b;
    batch_make(&b, 2, "recv-just-put", 40, 0, 1);
    refraft_msg m = append_msg(1, 0, 0, 0, b.e, b.n);
    struct replies rep = {0};
    bool stored = false;
    struct probe probe;
    probe_make(&probe, &b.refs[0], &b.refs[1]);
    h.probe = &probe;
    h.probe_armed = true;

    assert_int_equal(refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                                      reply_fn, &rep, &stored),
                     0);

    assert_true(stored);
    assert_no_have_errors(&h);
    assert_int_equal(h.probes, 1);
    assert_probe(&probe, h.probe_present, "during the receive");
    assert_int_equal(rep.n, 1);
    assert_true(rep.ae.success);
    assert_int_equal(rep.ae.data_index, 2);
    assert_int_equal(refraft_data_index(node), 2);
    bool present[PROBES];
    assert_int_equal(refstore_record_has(f->store, probe.refs, PROBES, present),
                     0);
    assert_probe(&probe, present, "after the receive");
    refraft_node_destroy(node);
    batch_free(&b);
}

/* "when a record does not match its ref (size, SHA-256) ... msg is
 * delivered alone and the records are dropped": the entries go in, no
 * record of the batch is stored, and the data index the node reports
 * does not count the entries. */
static void receive_with_a_bad_record_delivers_the_message_alone(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 1);
    struct batch b;
    batch_make(&b, 2, "recv-bad", 40, 0, 1);
    b.r[1].bytes[0] ^= 0xff; /* bytes[1] points at them */
    refraft_msg m = append_msg(1, 0, 0, 0, b.e, b.n);
    struct replies rep = {0};
    bool stored = true;
    uint64_t before = commits(f->store);

    assert_int_equal(refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                                      reply_fn, &rep, &stored),
                     0);

    assert_false(stored);
    assert_int_equal(commits(f->store), before + 1); /* the append */
    assert_int_equal(batch_present(f->store, &b), 0);
    assert_int_equal(rep.n, 1);
    assert_true(rep.ae.success);
    assert_int_equal(rep.ae.match_index, 2);
    assert_int_equal(rep.ae.data_index, 0);
    assert_int_equal(refraft_data_index(node), 0);
    assert_int_equal(refraft_last_index(node), 2);
    refraft_node_destroy(node);
    crash_and_reopen(f);
    assert_int_equal(batch_present(f->store, &b), 0);
    assert_int_equal(f->api.last_index(f->api.ctx), 2);
    batch_free(&b);
}

/* "when msg is not an AppendEntries with entries past the node's last
 * index": a duplicate of entries the log holds already is delivered
 * alone; the records that come with it are dropped, and nothing is
 * written. */
static void receive_of_entries_held_already_drops_the_records(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 1);
    struct batch b;
    batch_make(&b, 2, "recv-dup", 32, 0, 1);
    refraft_msg m = append_msg(1, 0, 0, 0, b.e, b.n);
    bool stored = true;
    assert_int_equal(refstore_receive(f->store, node, NULL, NULL, 0, &m, NULL,
                                      NULL, &stored),
                     0);
    assert_false(stored);
    assert_int_equal(refraft_last_index(node), 2);
    assert_int_equal(batch_present(f->store, &b), 0);
    struct replies rep = {0};
    uint64_t before = commits(f->store);

    assert_int_equal(refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                                      reply_fn, &rep, &stored),
                     0);

    assert_false(stored);
    assert_int_equal(commits(f->store), before);
    assert_int_equal(batch_present(f->store, &b), 0);
    assert_int_equal(rep.n, 1);
    assert_true(rep.ae.success);
    assert_int_equal(rep.ae.match_index, 2);
    assert_int_equal(rep.ae.data_index, 0);
    assert_int_equal(refraft_last_index(node), 2);
    refraft_node_destroy(node);
    crash_and_reopen(f);
    assert_int_equal(batch_present(f->store, &b), 0);
    batch_free(&b);
}

/* A duplicate that also brings the commit index: delivered alone, the
 * node applies what it holds, and those applies are not caught in a
 * propose transaction (they would fail there): the hook runs, and the
 * applied index reaches the store at the next flush. */
static void receive_of_a_duplicate_that_commits_applies(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 1);
    struct batch b;
    batch_make(&b, 2, "recv-commit", 32, 0, 1);
    refraft_msg m = append_msg(1, 0, 0, 0, b.e, b.n);
    bool stored = false;
    assert_int_equal(refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                                      NULL, NULL, &stored),
                     0);
    assert_true(stored);
    assert_int_equal(h.applied, 0);
    m.u.append_entries.leader_commit = 2;
    struct replies rep = {0};
    uint64_t before = commits(f->store);

    int rv = refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                              reply_fn, &rep, &stored);

    if (rv != 0)
        fail_msg("refstore_receive: %s (%s)", refraft_strerror(rv),
                 refstore_errmsg(f->store));
    assert_false(stored);
    assert_int_equal(commits(f->store), before); /* applies stay pending */
    assert_true(rep.ae.success);
    assert_int_equal(rep.ae.data_index, 2);
    assert_int_equal(refraft_commit_index(node), 2);
    assert_int_equal(h.applied, 2);
    assert_int_equal(refraft_applied_index(node), 2);
    assert_int_equal(f->app.records_seen, 2);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(commits(f->store), before + 1);
    assert_int_equal(refstore_applied_index(f->store), 2);
    refraft_node_destroy(node);
    batch_free(&b);
}

/* "when the message appends nothing (refused, stale ...)": an
 * AppendEntries of an older term is refused as refraft_on_message
 * refuses it (REFRAFT_ESTALE, a rejection carrying our term), and its
 * records are not stored. */
static void receive_of_a_stale_term_stores_no_record(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 2);
    struct batch b;
    batch_make(&b, 2, "recv-stale", 32, 0, 1);
    refraft_msg m = append_msg(1, 0, 0, 0, b.e, b.n);
    struct replies rep = {0};
    bool stored = true;
    uint64_t before = commits(f->store);

    int rv = refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                              reply_fn, &rep, &stored);

    assert_int_equal(rv, REFRAFT_ESTALE);
    if (strstr(refstore_errmsg(f->store), refraft_errmsg(node)) == NULL)
        fail_msg("\"%s\" should repeat \"%s\"", refstore_errmsg(f->store),
                 refraft_errmsg(node));
    assert_false(stored);
    assert_int_equal(rep.n, 1);
    assert_false(rep.ae.success);
    assert_int_equal(rep.ae.term, 2);
    assert_int_equal(commits(f->store), before);
    assert_int_equal(refraft_last_index(node), 0);
    assert_int_equal(batch_present(f->store, &b), 0);
    refraft_node_destroy(node);
    crash_and_reopen(f);
    assert_int_equal(batch_present(f->store, &b), 0);
    assert_int_equal(f->api.last_index(f->api.ctx), 0);
    batch_free(&b);
}

/* "(refused, stale, a log that disagrees)": entries after a gap in the
 * log are refused, and their records are not stored. */
static void receive_refused_by_the_log_check_stores_no_record(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 1);
    struct batch b;
    batch_make(&b, 2, "recv-gap", 32, 0, 1);
    refraft_msg m = append_msg(1, 5, 1, 0, b.e, b.n);
    struct replies rep = {0};
    bool stored = true;
    uint64_t before = commits(f->store);

    assert_int_equal(refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                                      reply_fn, &rep, &stored),
                     0);

    assert_false(stored);
    assert_int_equal(rep.n, 1);
    assert_false(rep.ae.success);
    assert_int_equal(rep.ae.rejected_index, 5);
    assert_int_equal(commits(f->store), before);
    assert_int_equal(refraft_last_index(node), 0);
    assert_int_equal(batch_present(f->store, &b), 0);
    refraft_node_destroy(node);
    crash_and_reopen(f);
    assert_int_equal(batch_present(f->store, &b), 0);
    batch_free(&b);
}

/* The same refusal from the leader of a newer term: the node adopts the
 * term (a durable write of its hard state) and then refuses the
 * entries.  Records that come with a message that appends nothing are
 * not stored, whatever else the message writes.  (What the assertions
 * check is gathered first, so that a failure leaks nothing.) */
static void receive_of_a_new_term_refused_stores_no_record(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 1);
    struct batch b;
    batch_make(&b, 2, "recv-newterm", 32, 0, 2);
    refraft_msg m = append_msg(2, 5, 2, 0, b.e, b.n);
    struct replies rep = {0};
    bool stored = true;

    int rv = refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                              reply_fn, &rep, &stored);

    refraft_term term = refraft_current_term(node);
    refraft_index last = refraft_last_index(node);
    size_t present = batch_present(f->store, &b);
    refraft_node_destroy(node);
    crash_and_reopen(f);
    size_t present_after_crash = batch_present(f->store, &b);
    batch_free(&b);
    assert_int_equal(rv, 0);
    assert_int_equal(term, 2);
    assert_int_equal(rep.n, 1);
    assert_false(rep.ae.success);
    assert_int_equal(last, 0);
    assert_int_equal(present, 0);
    assert_false(stored);
    assert_int_equal(present_after_crash, 0);
}

/* "when msg is not an AppendEntries": a RequestVote (here one whose last
 * log index is past ours, and which makes the node write its vote) is
 * delivered alone and the records are not stored. */
static void receive_of_a_request_vote_stores_no_record(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 1);
    struct batch b;
    batch_make(&b, 1, "recv-vote", 32, 0, 1);
    refraft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = REFRAFT_MSG_REQUEST_VOTE;
    m.u.request_vote.term = 2;
    m.u.request_vote.candidate_id = LEADER;
    m.u.request_vote.last_log_index = 5;
    m.u.request_vote.last_log_term = 1;
    /* A transfer's: the node heard from LEADER just now and would ignore
     * a plain one (thesis §4.2.3). */
    m.u.request_vote.transfer = true;
    struct replies rep = {0};
    bool stored = true;

    assert_int_equal(refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                                      reply_fn, &rep, &stored),
                     0);

    assert_false(stored);
    assert_int_equal(rep.n, 1);
    assert_int_equal(rep.type, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_true(rep.rv.vote_granted);
    assert_int_equal(refraft_current_term(node), 2);
    assert_string_equal(refraft_voted_for(node), LEADER);
    assert_int_equal(batch_present(f->store, &b), 0);
    refraft_node_destroy(node);
    crash_and_reopen(f);
    assert_int_equal(batch_present(f->store, &b), 0);
    batch_free(&b);
}

/* "REFRAFT_EINVAL for a NULL node, msg or records_stored": nothing is
 * delivered and nothing stored. */
static void receive_with_null_arguments_is_einval(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 1);
    struct batch b;
    batch_make(&b, 1, "recv-null", 32, 0, 1);
    refraft_msg m = append_msg(1, 0, 0, 0, b.e, b.n);
    struct replies rep = {0};
    bool stored = true;
    uint64_t before = commits(f->store);

    assert_int_equal(refstore_receive(f->store, NULL, b.refs, b.bytes, b.n, &m,
                                      reply_fn, &rep, &stored),
                     REFRAFT_EINVAL);
    assert_int_equal(refstore_receive(f->store, node, b.refs, b.bytes, b.n,
                                      NULL, reply_fn, &rep, &stored),
                     REFRAFT_EINVAL);
    assert_int_equal(refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                                      reply_fn, &rep, NULL),
                     REFRAFT_EINVAL);
    assert_true(refstore_errmsg(f->store)[0] != '\0');

    assert_int_equal(rep.n, 0);
    assert_int_equal(refraft_last_index(node), 0);
    assert_int_equal(commits(f->store), before);
    assert_int_equal(batch_present(f->store, &b), 0);
    refraft_node_destroy(node);
    batch_free(&b);
}

/* "If the map fills on the way, it grows and the message is delivered
 * again."  Each round brings many empty records under long ids, whose
 * entries take about as much room as they do, so the map fills now while
 * the records go in, now during the append after them (with 4 KiB pages,
 * two growths each way by the fourth); each round commits the earlier
 * ones, so applies are pending when the map grows.  Every round is a
 * success whose data index counts its entries, some message was taken
 * twice (the node draws an election timeout for each AppendEntries it
 * takes), and in the end every entry is in the log once, with its
 * record. */
static void receive_grows_a_full_map(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 256 * KIB, 64 * 1024 * KIB);
    struct host h = {0};
    refraft_node *node = follower_start(f, &h, 1);
    refraft_index last = 0, committed = 0;
    struct batch first;
    memset(&first, 0, sizeof(first));
    int randoms = h.randoms;
    int round;
    for (round = 0; stats(f->store).map_grows < 4; round++) {
        assert_true(round < 2000);
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "grow-%d", round);
        struct batch b;
        batch_make(&b, RECV_MAX, prefix, 0, 200, 1);
        refraft_msg m = append_msg(1, last, last > 0 ? 1 : 0, last, b.e, b.n);
        struct replies rep = {0};
        bool stored = false;
        int rv = refstore_receive(f->store, node, b.refs, b.bytes, b.n, &m,
                                  reply_fn, &rep, &stored);
        if (rv != 0)
            fail_msg("receive round %d: %s (%s)", round, refraft_strerror(rv),
                     refstore_errmsg(f->store));
        assert_true(stored);
        assert_int_equal(rep.n, 1);
        assert_true(rep.ae.success);
        assert_int_equal(rep.ae.match_index, last + b.n);
        assert_int_equal(rep.ae.data_index, last + b.n);
        assert_int_equal(batch_present(f->store, &b), b.n);
        committed = last;
        last += b.n;
        if (round == 0)
            first = b;
        else
            batch_free(&b);
    }
    assert_true(h.randoms - randoms > round);
    assert_no_have_errors(&h);
    assert_int_equal(refraft_last_index(node), last);
    assert_int_equal(f->api.last_index(f->api.ctx), last);
    assert_int_equal(h.applied, committed);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), committed);
    refraft_node_destroy(node);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), last);
    assert_int_equal(refstore_applied_index(f->store), committed);
    assert_int_equal(batch_present(f->store, &first), first.n);
    assert_log_names(f, 1, &first);
    batch_free(&first);
}

/* ------------------------------------------------------------------------
 * Raw access: the store's files as LMDB sees them, with the store closed,
 * to check the on-disk format and to write what refstore never would.
 * ------------------------------------------------------------------------ */

struct raw {
    MDB_env *env;
    MDB_txn *txn;
};

static struct raw raw_begin(struct fx *f)
{
    refstore_close(f->store);
    f->store = NULL;
    struct raw r;
    assert_int_equal(mdb_env_create(&r.env), 0);
    assert_int_equal(mdb_env_set_maxdbs(r.env, 16), 0);
    assert_int_equal(mdb_env_open(r.env, f->dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(r.env, NULL, 0, &r.txn), 0);
    return r;
}

static MDB_dbi raw_dbi(struct raw *r, const char *name)
{
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(r->txn, name, 0, &dbi), 0);
    return dbi;
}

static void raw_end(struct raw *r)
{
    assert_int_equal(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
}

/* A log value as refstore.h describes it: term, type, size slot, digest,
 * id.  Returns its length. */
static size_t log_value(uint8_t *buf, refraft_term term, uint8_t type,
                        uint64_t size_slot, const char *id)
{
    memset(buf, 0, 8 + 1 + 8 + REFRAFT_DIGEST_LEN);
    index_key(buf, term);
    buf[8] = type;
    index_key(buf + 9, size_slot);
    size_t len = 8 + 1 + 8 + REFRAFT_DIGEST_LEN;
    if (id != NULL) {
        memcpy(buf + len, id, strlen(id));
        len += strlen(id);
    }
    return len;
}

static void
raw_put_log(struct fx *f, refraft_index index, const uint8_t *v, size_t len)
{
    struct raw r = raw_begin(f);
    uint8_t kb[8];
    MDB_val k = index_key(kb, index), val = {len, (void *)v};
    assert_int_equal(mdb_put(r.txn, raw_dbi(&r, "log"), &k, &val, 0), 0);
    raw_end(&r);
}

/* The records identity's key: a zero byte, "refraft:records-identity",
 * then zero bytes up to 256; before format 4, the same without the first
 * zero byte (legacy). */
static MDB_val identity_key_at(uint8_t buf[256], size_t at)
{
    static const char prefix[] = "refraft:records-identity";
    memset(buf, 0, 256);
    memcpy(buf + at, prefix, sizeof(prefix) - 1);
    MDB_val k = {256, buf};
    return k;
}

static MDB_val identity_key(uint8_t buf[256])
{
    return identity_key_at(buf, 1);
}

static uint64_t raw_format(struct raw *r)
{
    MDB_val k = {14, "format_version"}, v;
    assert_int_equal(mdb_get(r->txn, raw_dbi(r, "meta"), &k, &v), 0);
    assert_int_equal(v.mv_size, 8);
    uint64_t version = 0;
    for (size_t i = 0; i < 8; i++)
        version = version << 8 | ((const uint8_t *)v.mv_data)[i];
    return version;
}

/* Turn f's new store into one that an older library wrote at format
 * (1..3): that format, and the identity under the legacy key in records
 * and record_digests.  Then open it. */
static void fx_make_legacy(struct fx *f, uint64_t format)
{
    struct raw r = raw_begin(f);
    assert_int_equal(raw_format(&r), REFSTORE_FORMAT_VERSION);
    uint8_t fb[8];
    MDB_val fk = {14, "format_version"}, fv = index_key(fb, format);
    assert_int_equal(mdb_put(r.txn, raw_dbi(&r, "meta"), &fk, &fv, 0), 0);
    static const char *const dbs[] = {"records", "record_digests"};
    for (size_t i = 0; i < 2; i++) {
        MDB_dbi dbi = raw_dbi(&r, dbs[i]);
        uint8_t nb[256], ob[256], id[16];
        MDB_val nk = identity_key(nb), ok = identity_key_at(ob, 0), v;
        assert_int_equal(mdb_get(r.txn, dbi, &nk, &v), 0);
        assert_int_equal(v.mv_size, sizeof(id));
        memcpy(id, v.mv_data, sizeof(id));
        v.mv_data = id;
        assert_int_equal(mdb_del(r.txn, dbi, &nk, NULL), 0);
        assert_int_equal(mdb_put(r.txn, dbi, &ok, &v, 0), 0);
    }
    raw_end(&r);
    fx_open(f);
}

/* A new store is of format 4 and keeps the identity first in records and
 * record_digests; a store of an older format keeps its own key and
 * format, and opens with nothing lost. */
static void
new_stores_keep_the_identity_first_older_ones_their_key(void **state)
{
    struct fx *f = *state;
    record a = record_make("a", 10, 'a');
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    log_batch b = append(f, 3, 1, 1);
    assert_int_equal(refstore_set_data_index(f->store, 3), 0);
    struct raw r = raw_begin(f);
    assert_int_equal(raw_format(&r), 4);
    static const char *const dbs[] = {"records", "record_digests"};
    for (size_t i = 0; i < 2; i++) {
        MDB_cursor *cur;
        MDB_val k, v;
        uint8_t kb[256];
        MDB_val want = identity_key(kb);
        assert_int_equal(mdb_cursor_open(r.txn, raw_dbi(&r, dbs[i]), &cur), 0);
        assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
        assert_int_equal(k.mv_size, want.mv_size);
        assert_memory_equal(k.mv_data, want.mv_data, want.mv_size);
        mdb_cursor_close(cur);
    }
    raw_end(&r);
    fx_open(f);
    fx_make_legacy(f, 1);
    fx_reopen(f);
    assert_int_equal(refstore_records_lost_upto(f->store), 0);
    assert_int_equal(refstore_data_index(f->store), 3);
    assert_true(record_present(f->store, &a.ref));
    r = raw_begin(f);
    assert_int_equal(raw_format(&r), 1);
    uint8_t kb[256];
    MDB_val nk = identity_key(kb), v;
    assert_int_equal(mdb_get(r.txn, raw_dbi(&r, "records"), &nk, &v),
                     MDB_NOTFOUND);
    raw_end(&r);
    fx_open(f);
    record_free(&a);
    log_batch_free(&b);
}

/* Why the identity sorts first: records whose ids come in order fill
 * their pages.  With the identity last, LMDB split a page in half for
 * each of them (512 bytes a record of 256 here, against 315). */
static void records_with_ids_in_order_fill_their_pages(void **state)
{
    struct fx *f = *state;
    f->opts.sync = REFSTORE_SYNC_NONE;
    fx_reopen(f);
    enum { BATCHES = 16, PER_BATCH = 128, SIZE = 256 };
    for (int i = 0; i < BATCHES; i++) {
        record rs[PER_BATCH];
        const void *bytes[PER_BATCH];
        refraft_ref refs[PER_BATCH];
        for (int j = 0; j < PER_BATCH; j++) {
            char id[32];
            snprintf(id, sizeof(id), "r%016x", i * PER_BATCH + j);
            rs[j] = record_make(id, SIZE, (uint8_t)j);
            refs[j] = rs[j].ref;
            bytes[j] = rs[j].bytes;
        }
        int results[PER_BATCH];
        assert_int_equal(refstore_record_put_batch(f->store, refs, bytes,
                                                   PER_BATCH, results),
                         0);
        for (int j = 0; j < PER_BATCH; j++)
            record_free(&rs[j]);
    }
    struct raw r = raw_begin(f);
    MDB_stat st;
    assert_int_equal(mdb_stat(r.txn, raw_dbi(&r, "records"), &st), 0);
    assert_int_equal(st.ms_entries, BATCHES * PER_BATCH + 1);
    double per_record =
        4096.0 * (double)st.ms_leaf_pages / (double)st.ms_entries;
    if (per_record > 350)
        fail_msg("%.0f bytes of leaf pages per record of %d", per_record, SIZE);
    raw_end(&r);
    fx_open(f);
}

static refraft_entry void_entry(refraft_term term, refraft_index voided)
{
    refraft_entry e;
    memset(&e, 0, sizeof(e));
    e.term = term;
    e.type = REFRAFT_ENTRY_VOID;
    e.voided = voided;
    return e;
}

/* ------------------------------------------------------------------------
 * VOID entries on disk
 * ------------------------------------------------------------------------ */

/* "A VOID (type 3) has no id, a zero digest, and its voided index ...
 * where a REF has its size." */
static void void_is_stored_as_type_3_with_voided_in_the_size_slot(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 2, 1, 1);
    refraft_entry v = void_entry(2, 1);
    assert_int_equal(f->api.append(f->api.ctx, &v, 1), 0);
    struct raw r = raw_begin(f);
    uint8_t kb[8], want[64];
    MDB_val k = index_key(kb, 3), got;
    assert_int_equal(mdb_get(r.txn, raw_dbi(&r, "log"), &k, &got), 0);
    size_t len = log_value(want, 2, 3, 1, NULL);
    assert_int_equal(got.mv_size, len);
    assert_memory_equal(got.mv_data, want, len);
    raw_end(&r);
    fx_open(f);
    log_assert_entries(&f->api, 3, &v, 1);
    log_batch_free(&b);
}

/* Open the store expecting ECORRUPT naming the entry. */
static void assert_open_corrupt(struct fx *f, const char *entry)
{
    refstore *store = NULL;
    char err[REFRAFT_ERRMSG_LEN] = "";
    assert_int_equal(refstore_open(&f->opts, &store, err, sizeof(err)),
                     REFRAFT_ECORRUPT);
    assert_null(store);
    if (strstr(err, entry) == NULL)
        fail_msg("\"%s\" should name %s", err, entry);
}

/* "decode must reject": a stored VOID with a record id, a voided index of
 * 0, or one not below its own index is REFRAFT_ECORRUPT when read, at
 * open (the last entry) or by get (any other). */
static void stored_void_with_an_id_or_bad_voided_index_is_ecorrupt(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 3, 1, 1);
    uint8_t v[64 + 8];
    size_t len = log_value(v, 1, 3, 1, "x");
    raw_put_log(f, 3, v, len);
    assert_open_corrupt(f, "log entry 3");
    static const uint64_t bad[] = {0, 3, 4, UINT64_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        len = log_value(v, 1, 3, bad[i], NULL);
        raw_put_log(f, 3, v, len);
        assert_open_corrupt(f, "log entry 3");
    }
    /* Not the last entry: open reads only the last, get reads it. */
    len = log_value(v, 1, 3, 1, NULL);
    raw_put_log(f, 3, v, len);
    len = log_value(v, 1, 3, 2, NULL);
    raw_put_log(f, 2, v, len);
    fx_open(f);
    refraft_entry out[3];
    size_t n = 0;
    assert_int_equal(f->api.get(f->api.ctx, 1, 3, out, &n), REFRAFT_ECORRUPT);
    assert_non_null(strstr(refstore_errmsg(f->store), "log entry 2"));
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Applying VOID and ABANDONED entries
 * ------------------------------------------------------------------------ */

static int apply_as(struct fx *f, refraft_index index,
                    const refraft_entry *logged, uint8_t type)
{
    refraft_entry e = *logged;
    e.type = type;
    return refstore_apply(f->store, index, &e);
}

/* "entry is what the node hands to hull.apply(): of type NOOP, REF or
 * VOID as the log holds it, or ABANDONED for a REF entry that a committed
 * VOID abandoned", and the hook sees the type it was given. */
static void apply_accepts_void_and_abandoned_entries(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 2, 1, 1);
    refraft_entry v = void_entry(1, 1);
    assert_int_equal(f->api.append(f->api.ctx, &v, 1), 0);
    assert_int_equal(apply_as(f, 1, &b.e[0], REFRAFT_ENTRY_ABANDONED), 0);
    assert_int_equal(refstore_apply(f->store, 2, &b.e[1]), 0);
    assert_int_equal(refstore_apply(f->store, 3, &v), 0);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 3);
    assert_int_equal(f->app.types[1], REFRAFT_ENTRY_ABANDONED);
    assert_int_equal(f->app.types[2], REFRAFT_ENTRY_REF);
    assert_int_equal(f->app.types[3], REFRAFT_ENTRY_VOID);
    assert_true(app_has_row(&f->app, 1));
    assert_true(app_has_row(&f->app, 3));
    log_batch_free(&b);
}

/* An ABANDONED apply lost with its run is made again as ABANDONED. */
static void abandoned_apply_in_a_failed_run_runs_again_abandoned(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 3, 1, 1);
    assert_int_equal(apply_as(f, 1, &b.e[0], REFRAFT_ENTRY_ABANDONED), 0);
    assert_int_equal(apply_as(f, 2, &b.e[1], REFRAFT_ENTRY_REF), 0);
    f->app.fail_apply_at = 3;
    assert_int_equal(apply_as(f, 3, &b.e[2], REFRAFT_ENTRY_REF), REFRAFT_EIO);
    assert_int_equal(f->app.reapplies, 2);
    assert_int_equal(f->app.abandoned_reapplies, 1);
    assert_int_equal(f->app.type_changes, 0);
    f->app.fail_apply_at = 0;
    assert_int_equal(apply_as(f, 3, &b.e[2], REFRAFT_ENTRY_REF), 0);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 3);
    log_batch_free(&b);
}

/* "REFRAFT_EINVAL when entry is ... of another type, ABANDONED where the
 * log holds no REF entry with its reference": the hook does not run and
 * nothing is recorded. */
static void abandoned_apply_must_name_the_ref_the_log_holds(void **state)
{
    struct fx *f = *state;
    refraft_entry noop;
    memset(&noop, 0, sizeof(noop));
    noop.term = 1;
    noop.type = REFRAFT_ENTRY_NOOP;
    assert_int_equal(f->api.append(f->api.ctx, &noop, 1), 0);
    log_batch b = append(f, 1, 5, 1);
    log_batch other = log_batch_make(1, 6, 1);
    /* A NOOP in the log is no REF. */
    assert_int_equal(apply_as(f, 1, &b.e[0], REFRAFT_ENTRY_ABANDONED),
                     REFRAFT_EINVAL);
    assert_non_null(strstr(refstore_errmsg(f->store), "abandoned"));
    apply_ok(f, 1);
    refraft_entry e = b.e[0];
    e.type = REFRAFT_ENTRY_ABANDONED;
    e.ref.digest[0] ^= 1;
    assert_int_equal(refstore_apply(f->store, 2, &e), REFRAFT_EINVAL);
    e = b.e[0];
    e.type = REFRAFT_ENTRY_ABANDONED;
    e.ref.size++;
    assert_int_equal(refstore_apply(f->store, 2, &e), REFRAFT_EINVAL);
    e.ref = b.e[0].ref;
    e.ref.id = NULL;
    assert_int_equal(refstore_apply(f->store, 2, &e), REFRAFT_EINVAL);
    assert_int_equal(apply_as(f, 2, &other.e[0], REFRAFT_ENTRY_ABANDONED),
                     REFRAFT_EINVAL);
    static const uint8_t bad_types[] = {0, 6, 255};
    for (size_t i = 0; i < sizeof(bad_types); i++)
        assert_int_equal(apply_as(f, 2, &b.e[0], bad_types[i]), REFRAFT_EINVAL);
    assert_int_equal(f->app.applies, 1);
    assert_int_equal(apply_as(f, 2, &b.e[0], REFRAFT_ENTRY_ABANDONED), 0);
    assert_int_equal(f->app.applies, 2);
    log_batch_free(&b);
    log_batch_free(&other);
}

/* "REFRAFT_ENOMEM (no room to remember an ABANDONED apply)", with nothing
 * applied. */
static void abandoned_apply_under_enomem_is_clean(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 1, 1, 1);
    failalloc_at(&fault, 1);
    int rv = apply_as(f, 1, &b.e[0], REFRAFT_ENTRY_ABANDONED);
    failalloc_off();
    assert_int_equal(rv, REFRAFT_ENOMEM);
    assert_int_equal(f->app.applies, 0);
    assert_int_equal(apply_as(f, 1, &b.e[0], REFRAFT_ENTRY_ABANDONED), 0);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 1);
    log_batch_free(&b);
}

/*
 * "The store remembers an ABANDONED apply until it commits, so that
 * running the hook again ... passes ABANDONED again, not the REF the log
 * holds."  The steps of applies_lost_by_a_commit_out_of_map_run_again,
 * with REF entries, every other one applied as abandoned.
 */
static void abandoned_applies_lost_by_a_commit_run_again_abandoned(void **state)
{
    struct fx *f = *state;
    churn_open(f);
    refraft_index n = 120;
    for (refraft_index i = 1; i <= n; i++) {
        log_batch e = append(f, 1, 1000 + i, 1);
        int rv =
            apply_as(f, i, &e.e[0],
                     i % 2 == 0 ? REFRAFT_ENTRY_ABANDONED : REFRAFT_ENTRY_REF);
        assert_int_equal(rv, 0);
        log_batch_free(&e);
        churn_records(f, i);
    }
    assert_true(f->app.reapplies > 0);
    assert_true(f->app.abandoned_reapplies > 0);
    assert_int_equal(f->app.type_changes, 0);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), n);
    for (refraft_index i = 1; i <= n; i++)
        assert_int_equal(f->app.types[i], i % 2 == 0 ? REFRAFT_ENTRY_ABANDONED
                                                     : REFRAFT_ENTRY_REF);
}

/* ------------------------------------------------------------------------
 * Lost records
 * ------------------------------------------------------------------------ */

static refraft_index lost_upto(struct fx *f)
{
    return refstore_records_lost_upto(f->store);
}

/* A new store names its records and has lost nothing, and a plain restart
 * loses nothing either: the data index stays. */
static void fresh_store_has_no_records_lost(void **state)
{
    struct fx *f = *state;
    assert_int_equal(lost_upto(f), 0);
    log_batch b = append(f, 4, 1, 1);
    assert_int_equal(refstore_set_data_index(f->store, 4), 0);
    fx_reopen(f);
    assert_int_equal(lost_upto(f), 0);
    assert_int_equal(refstore_data_index(f->store), 4);
    fx_reopen(f);
    assert_int_equal(lost_upto(f), 0);
    assert_int_equal(refstore_data_index(f->store), 4);
    assert_int_equal(refstore_records_lost_upto(NULL), 0);
    log_batch_free(&b);
}

/* "records_identity": 16 bytes in meta, the same under the 256-byte key
 * in the records database and in record_digests. */
static void records_identity_is_in_meta_and_in_the_records(void **state)
{
    struct fx *f = *state;
    struct raw r = raw_begin(f);
    uint8_t kb[256];
    MDB_val mk = {16, "records_identity"}, rk = identity_key(kb), mv, rv, dv;
    assert_int_equal(mdb_get(r.txn, raw_dbi(&r, "meta"), &mk, &mv), 0);
    assert_int_equal(mdb_get(r.txn, raw_dbi(&r, "records"), &rk, &rv), 0);
    assert_int_equal(mdb_get(r.txn, raw_dbi(&r, "record_digests"), &rk, &dv),
                     0);
    assert_int_equal(mv.mv_size, 16);
    assert_int_equal(rv.mv_size, 16);
    assert_int_equal(dv.mv_size, 16);
    assert_memory_equal(mv.mv_data, rv.mv_data, 16);
    assert_memory_equal(mv.mv_data, dv.mv_data, 16);
    raw_end(&r);
}

/* "Delete every record and the records identity ... The store counts the
 * loss at once ... and the next refstore_open() finds the identity
 * missing, counts the loss again": after wipe and reopen, lost_upto is
 * the log's last index. */
static void wiped_records_are_lost_up_to_the_last_index(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 6, 1, 1);
    record a = record_make("wipe-a", 10, 'a');
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_int_equal(refstore_set_data_index(f->store, 6), 0);
    assert_int_equal(refstore_records_wipe(f->store), 0);
    assert_false(record_present(f->store, &a.ref));
    assert_int_equal(lost_upto(f), 6);
    assert_int_equal(refstore_data_index(f->store), 0);
    log_batch more = append(f, 2, 100, 1);
    fx_reopen(f);
    assert_int_equal(lost_upto(f), 8);
    assert_int_equal(refstore_data_index(f->store), 0);
    assert_false(record_present(f->store, &a.ref));
    /* The log is untouched. */
    log_assert_entries(&f->api, 1, b.e, b.n);
    log_assert_entries(&f->api, 7, more.e, more.n);
    /* Named afresh at that open: the next one finds nothing new lost. */
    log_batch last = append(f, 1, 200, 1);
    fx_reopen(f);
    assert_int_equal(lost_upto(f), 8);
    record_free(&a);
    log_batch_free(&b);
    log_batch_free(&more);
    log_batch_free(&last);
}

/* "When refstore_open() finds the two missing or different": records
 * dropped or replaced behind the store's back are found at open. */
static void records_dropped_or_replaced_are_found_lost_at_open(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 5, 1, 1);
    record a = record_make("gone", 10, 'g');
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_int_equal(refstore_set_data_index(f->store, 5), 0);
    struct raw r = raw_begin(f);
    assert_int_equal(mdb_drop(r.txn, raw_dbi(&r, "records"), 0), 0);
    raw_end(&r);
    fx_open(f);
    assert_int_equal(lost_upto(f), 5);
    assert_int_equal(refstore_data_index(f->store), 0);
    assert_false(record_present(f->store, &a.ref));
    /* Another identity under the key: records of another store. */
    assert_int_equal(refstore_clear_records_lost(f->store), 0);
    assert_int_equal(refstore_set_data_index(f->store, 5), 0);
    r = raw_begin(f);
    uint8_t kb[256], other[16];
    memset(other, 0x42, sizeof(other));
    MDB_val k = identity_key(kb), v = {sizeof(other), other};
    assert_int_equal(mdb_put(r.txn, raw_dbi(&r, "records"), &k, &v, 0), 0);
    raw_end(&r);
    fx_open(f);
    assert_int_equal(lost_upto(f), 5);
    assert_int_equal(refstore_data_index(f->store), 0);
    record_free(&a);
    log_batch_free(&b);
}

/* "set it back to 0.  Durable on return; with nothing lost it writes
 * nothing." */
static void clearing_records_lost_persists_across_reopen(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 3, 1, 1);
    assert_int_equal(refstore_records_wipe(f->store), 0);
    fx_reopen(f);
    assert_int_equal(lost_upto(f), 3);
    assert_int_equal(refstore_clear_records_lost(f->store), 0);
    assert_int_equal(lost_upto(f), 0);
    fx_reopen(f);
    assert_int_equal(lost_upto(f), 0);
    uint64_t before = commits(f->store);
    assert_int_equal(refstore_clear_records_lost(f->store), 0);
    assert_int_equal(commits(f->store), before);
    assert_int_equal(refstore_clear_records_lost(NULL), REFRAFT_EINVAL);
    assert_int_equal(refstore_records_wipe(NULL), REFRAFT_EINVAL);
    log_batch_free(&b);
}

/* "records_lost_upto rises to the log's last index (if that is higher
 * than the value kept)": a log cut back after the loss does not lower
 * it. */
static void records_lost_upto_never_falls_at_open(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 8, 1, 1);
    assert_int_equal(refstore_records_wipe(f->store), 0);
    assert_int_equal(f->api.truncate(f->api.ctx, 4), 0);
    fx_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 3);
    assert_int_equal(lost_upto(f), 8);
    log_batch_free(&b);
}

/* "have is refstore_record_has(), put is refstore_record_put() (which
 * checks size and digest again), remove is refstore_record_delete() and
 * clear_lost is refstore_clear_records_lost()" */
static void record_store_adapter_has_puts_removes_and_clears_lost(void **state)
{
    struct fx *f = *state;
    refraft_record_store rs;
    memset(&rs, 0xa5, sizeof(rs));
    refstore_record_store(f->store, &rs);
    refstore_record_store(f->store, NULL);
    assert_ptr_equal(rs.ctx, f->store);
    assert_non_null(rs.have);
    assert_non_null(rs.put);
    assert_non_null(rs.remove);
    assert_non_null(rs.clear_lost);
    record a = record_make("adapted", 20, 'a');
    record bad = record_make("adapted-bad", 20, 'b');
    bad.bytes[0] ^= 1;
    bool present = true;
    assert_int_equal(rs.have(rs.ctx, &a.ref, 1, &present), 0);
    assert_false(present);
    assert_int_equal(rs.put(rs.ctx, &a.ref, a.bytes, a.len), 0);
    assert_int_equal(rs.put(rs.ctx, &bad.ref, bad.bytes, bad.len),
                     REFRAFT_EDIGEST);
    refraft_ref refs[2] = {a.ref, bad.ref};
    bool both[2] = {false, true};
    assert_int_equal(rs.have(rs.ctx, refs, 2, both), 0);
    assert_true(both[0]);
    assert_false(both[1]);
    assert_int_equal(rs.remove(rs.ctx, a.ref.id, a.ref.id_len), 0);
    assert_int_equal(rs.remove(rs.ctx, a.ref.id, a.ref.id_len),
                     REFRAFT_ENOTFOUND);
    assert_false(record_present(f->store, &a.ref));
    log_batch b = append(f, 2, 1, 1);
    assert_int_equal(refstore_records_wipe(f->store), 0);
    assert_int_equal(lost_upto(f), 2);
    assert_int_equal(rs.clear_lost(rs.ctx), 0);
    assert_int_equal(lost_upto(f), 0);
    fx_reopen(f);
    assert_int_equal(lost_upto(f), 2);
    refstore_record_store(f->store, &rs);
    assert_int_equal(rs.clear_lost(rs.ctx), 0);
    fx_reopen(f);
    assert_int_equal(lost_upto(f), 0);
    record_free(&a);
    record_free(&bad);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Record digests: kept beside each record, written and deleted with it
 * ------------------------------------------------------------------------ */

/* The value record_digests holds for id, copied into out (*len bytes);
 * the LMDB code of the lookup.  The store is closed and opened again. */
static int raw_digest(struct fx *f, const uint8_t *id, size_t id_len,
                      uint8_t out[64], size_t *len)
{
    struct raw r = raw_begin(f);
    MDB_val k = {id_len, (void *)id}, v;
    int rc = mdb_get(r.txn, raw_dbi(&r, "record_digests"), &k, &v);
    *len = 0;
    if (rc == 0) {
        assert_true(v.mv_size <= 64);
        memcpy(out, v.mv_data, v.mv_size);
        *len = v.mv_size;
    }
    raw_end(&r);
    fx_open(f);
    return rc;
}

/* "record_digests key: record id.  value: the SHA-256 digest (32 bytes)
 * and the size of the record stored under that id" */
static void digest_is_stored_as_the_sha256_then_the_size(void **state)
{
    struct fx *f = *state;
    record a = record_make("on-disk", 300, 'd');
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    uint8_t v[64], size[8];
    size_t len;
    assert_int_equal(raw_digest(f, a.ref.id, a.ref.id_len, v, &len), 0);
    assert_int_equal(len, REFRAFT_DIGEST_LEN + 8);
    assert_memory_equal(v, a.ref.digest, REFRAFT_DIGEST_LEN);
    index_key(size, 300);
    assert_memory_equal(v + REFRAFT_DIGEST_LEN, size, 8);
    record_free(&a);
}

/* "Remove the record stored under id and its digest, in one transaction":
 * nothing is left to vouch for the id, and a record put under it again,
 * even another one, is present by its own digest. */
static void delete_removes_the_digest_with_the_record(void **state)
{
    struct fx *f = *state;
    record a = record_make("deleted", 20, 'a');
    record b = record_make("deleted", 20, 'b');
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_int_equal(refstore_record_delete(f->store, a.ref.id, a.ref.id_len),
                     0);
    assert_false(record_present(f->store, &a.ref));
    uint8_t v[64];
    size_t len;
    assert_int_equal(raw_digest(f, a.ref.id, a.ref.id_len, v, &len),
                     MDB_NOTFOUND);
    assert_false(record_present(f->store, &a.ref));
    /* Put again works: the same record, then (after another delete) a
     * different one under the same id. */
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_true(record_present(f->store, &a.ref));
    assert_int_equal(refstore_record_delete(f->store, a.ref.id, a.ref.id_len),
                     0);
    assert_int_equal(refstore_record_put(f->store, &b.ref, b.bytes, b.len), 0);
    assert_true(record_present(f->store, &b.ref));
    assert_false(record_present(f->store, &a.ref));
    record_free(&a);
    record_free(&b);
}

/* "Delete every record, their digests and the records identity": after a
 * wipe nothing is present, record_digests holds no digest, and records
 * can be put (and are present) again. */
static void wipe_removes_the_digests_with_the_records(void **state)
{
    struct fx *f = *state;
    record a = record_make("wiped-a", 10, 'a');
    record b = record_make("wiped-b", 0, 0);
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_int_equal(refstore_record_put(f->store, &b.ref, NULL, 0), 0);
    assert_int_equal(refstore_records_wipe(f->store), 0);
    assert_false(record_present(f->store, &a.ref));
    assert_false(record_present(f->store, &b.ref));
    uint8_t v[64];
    size_t len;
    assert_int_equal(raw_digest(f, a.ref.id, a.ref.id_len, v, &len),
                     MDB_NOTFOUND);
    assert_int_equal(raw_digest(f, b.ref.id, b.ref.id_len, v, &len),
                     MDB_NOTFOUND);
    assert_false(record_present(f->store, &a.ref));
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_int_equal(refstore_record_put(f->store, &b.ref, NULL, 0), 0);
    assert_true(record_present(f->store, &a.ref));
    assert_true(record_present(f->store, &b.ref));
    record_free(&a);
    record_free(&b);
}

/* "A record without its digest here counts as absent"; "putting the same
 * bytes again stores the digest". */
static void record_without_a_digest_is_absent_until_put_again(void **state)
{
    struct fx *f = *state;
    record a = record_make("no-digest", 10, 'n');
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    struct raw r = raw_begin(f);
    MDB_val k = {a.ref.id_len, (void *)a.ref.id};
    assert_int_equal(mdb_del(r.txn, raw_dbi(&r, "record_digests"), &k, NULL),
                     0);
    raw_end(&r);
    fx_open(f);
    assert_int_equal(lost_upto(f), 0); /* the identity is intact */
    assert_false(record_present(f->store, &a.ref));
    struct got g = {.calls = 0};
    assert_int_equal(
        refstore_record_get(f->store, a.ref.id, a.ref.id_len, got_fn, &g), 0);
    assert_int_equal(g.len, a.len);
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_true(record_present(f->store, &a.ref));
    record_free(&a);
}

/* "Stores written before ... record_digests existed read as format 1
 * too: their first open creates record_digests, names the records
 * database and ... counts every entry's record as possibly lost": a
 * record left without a digest must never be answered "absent" by a node
 * that merely does not vouch for it. */
static void store_without_record_digests_gets_it_and_counts_a_loss(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 4, 1, 1);
    record a = record_make("from-before", 10, 'b');
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_int_equal(refstore_set_data_index(f->store, 4), 0);
    struct raw r = raw_begin(f);
    assert_int_equal(mdb_drop(r.txn, raw_dbi(&r, "record_digests"), 1), 0);
    raw_end(&r);
    fx_open(f);
    assert_int_equal(lost_upto(f), 4);
    assert_int_equal(refstore_data_index(f->store), 0);
    assert_false(record_present(f->store, &a.ref));
    /* The bytes are still there; the sweeper's put brings the digest. */
    assert_int_equal(refstore_record_put(f->store, &a.ref, a.bytes, a.len), 0);
    assert_true(record_present(f->store, &a.ref));
    /* Named afresh: the next open finds nothing new lost. */
    assert_int_equal(refstore_clear_records_lost(f->store), 0);
    fx_reopen(f);
    assert_int_equal(lost_upto(f), 0);
    assert_true(record_present(f->store, &a.ref));
    records_identity_is_in_meta_and_in_the_records(state);
    record_free(&a);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * CONFIG entries (log API version 4)
 * ------------------------------------------------------------------------ */

/* A CONFIG entry of term over members m[0..n), with junk in the fields a
 * CONFIG entry does not use: "The fields a type does not use are ignored
 * and read back zeroed." */
static refraft_entry
config_entry(refraft_term term, const refraft_member *m, size_t n)
{
    static const uint8_t junk[] = "not a record";
    refraft_entry e;
    memset(&e, 0, sizeof(e));
    e.term = term;
    e.type = REFRAFT_ENTRY_CONFIG;
    e.members = m;
    e.n_members = n;
    e.ref.id = junk;
    e.ref.id_len = (uint16_t)(sizeof(junk) - 1);
    e.ref.size = 77;
    memset(e.ref.digest, 0xa5, sizeof(e.ref.digest));
    e.voided = 3;
    return e;
}

/* got is want as a log returns it: the same members, in order, with their
 * own copies of the strings (an address of NULL reads back as ""), and
 * everything a CONFIG entry does not use zeroed. */
static void assert_config_equal(const refraft_entry *got,
                                const refraft_entry *want, refraft_index index)
{
    static const uint8_t zero[REFRAFT_DIGEST_LEN];
    if (got->type != REFRAFT_ENTRY_CONFIG || got->term != want->term ||
        got->n_members != want->n_members)
        fail_msg("entry %llu: type %u, term %llu, %zu members; expected a "
                 "CONFIG of term %llu with %zu",
                 (unsigned long long)index, got->type,
                 (unsigned long long)got->term, got->n_members,
                 (unsigned long long)want->term, want->n_members);
    assert_non_null(got->members);
    assert_ptr_not_equal(got->members, want->members);
    for (size_t i = 0; i < want->n_members; i++) {
        const refraft_member *g = &got->members[i], *w = &want->members[i];
        assert_non_null(g->id);
        assert_non_null(g->address);
        assert_ptr_not_equal(g->id, w->id);
        assert_string_equal(g->id, w->id);
        assert_string_equal(g->address, w->address ? w->address : "");
        assert_int_equal(g->voter, w->voter);
    }
    assert_null(got->ref.id);
    assert_int_equal(got->ref.id_len, 0);
    assert_int_equal(got->ref.size, 0);
    assert_memory_equal(got->ref.digest, zero, sizeof(zero));
    assert_int_equal(got->voided, 0);
}

/* Check the CONFIG entries want[i] at indexes at[i] (i < n), each read
 * alone and all in one get from the first, and their terms. */
static void assert_configs(struct fx *f, const refraft_entry *want,
                           const refraft_index *at, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        refraft_entry e;
        size_t got = 0;
        assert_int_equal(f->api.get(f->api.ctx, at[i], 1, &e, &got), 0);
        assert_int_equal(got, 1);
        assert_config_equal(&e, &want[i], at[i]);
        refraft_term term = 0;
        assert_int_equal(f->api.term_at(f->api.ctx, at[i], &term), 0);
        assert_int_equal(term, want[i].term);
    }
    size_t span = (size_t)(at[n - 1] - at[0] + 1);
    refraft_entry *all = calloc(span, sizeof(*all));
    assert_non_null(all);
    size_t got = 0;
    assert_int_equal(f->api.get(f->api.ctx, at[0], span, all, &got), 0);
    assert_int_equal(got, span);
    for (size_t i = 0; i < n; i++)
        assert_config_equal(&all[at[i] - at[0]], &want[i], at[i]);
    free(all);
}

/* Fifteen members with ids of REFRAFT_ID_MAX bytes and addresses of
 * REFRAFT_ADDRESS_MAX, the largest CONFIG entry there can be.  The
 * strings live in big, which the caller provides. */
struct big_config {
    char ids[REFRAFT_MAX_PEERS][REFRAFT_ID_MAX + 1];
    char addresses[REFRAFT_MAX_PEERS][REFRAFT_ADDRESS_MAX + 1];
    refraft_member m[REFRAFT_MAX_PEERS];
};

static void big_config_make(struct big_config *big)
{
    for (size_t i = 0; i < REFRAFT_MAX_PEERS; i++) {
        memset(big->ids[i], 'a' + (int)i, REFRAFT_ID_MAX);
        big->ids[i][REFRAFT_ID_MAX] = '\0';
        memset(big->addresses[i], '0' + (int)(i % 10), REFRAFT_ADDRESS_MAX);
        big->addresses[i][REFRAFT_ADDRESS_MAX] = '\0';
        big->m[i].id = big->ids[i];
        big->m[i].address = big->addresses[i];
        big->m[i].voter = i % 3 != 2;
    }
}

/* "version 4 logs store CONFIG entries": a CONFIG entry reads back with
 * the same members, through get and term_at, before and after the store
 * is closed and opened again and after a crash; the entries around it are
 * untouched. */
static void config_entries_survive_reopen_with_identical_members(void **state)
{
    struct fx *f = *state;
    static const refraft_member three[] = {
        {"n1", "http://n1.example:8080", true},
        {"n2", "", true},
        {"n3", NULL, false},
    };
    static const refraft_member one[] = {{"n1", "x", true}};
    static struct big_config big;
    big_config_make(&big);
    log_batch a = append(f, 2, 1, 1);
    refraft_entry configs[3] = {
        config_entry(1, three, 3),
        config_entry(2, big.m, REFRAFT_MAX_PEERS),
        config_entry(2, one, 1),
    };
    assert_int_equal(f->api.append(f->api.ctx, configs, 2), 0);
    log_batch b = append(f, 3, 2, 2);
    assert_int_equal(f->api.append(f->api.ctx, &configs[2], 1), 0);
    const refraft_index at[3] = {3, 4, 8};
    assert_int_equal(f->api.last_index(f->api.ctx), 8);
    assert_configs(f, configs, at, 3);
    fx_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 8);
    assert_configs(f, configs, at, 3);
    crash_and_reopen(f);
    assert_configs(f, configs, at, 3);
    log_assert_entries(&f->api, 1, a.e, a.n);
    log_assert_entries(&f->api, 5, b.e, b.n);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* The layout log.c and docs/storage.md give: term, type 5, layout 1, the
 * member count, then per member flags (1: voter), id length, address
 * length, id, address.  The store is format 1 until its first CONFIG
 * entry, and format 2 from the commit that writes it. */
static void
config_is_stored_compactly_and_moves_the_store_to_format_2(void **state)
{
    struct fx *f = *state;
    fx_make_legacy(f, 1);
    log_batch a = append(f, 1, 1, 1);
    struct raw r = raw_begin(f);
    assert_int_equal(raw_format(&r), 1);
    raw_end(&r);
    fx_open(f);
    static const refraft_member m[] = {{"n1", "a", true}, {"n2", NULL, false}};
    refraft_entry e = config_entry(258, m, 2);
    assert_int_equal(f->api.append(f->api.ctx, &e, 1), 0);
    r = raw_begin(f);
    static const uint8_t want[] = {0, 0, 0, 0,   0,   0,   1, 2, /* term */
                                   5, 1, 2,                      /* head */
                                   1, 2, 1, 'n', '1', 'a',       /* n1 */
                                   0, 2, 0, 'n', '2'};           /* n2 */
    uint8_t kb[8];
    MDB_val k = index_key(kb, 2), got;
    assert_int_equal(mdb_get(r.txn, raw_dbi(&r, "log"), &k, &got), 0);
    assert_int_equal(got.mv_size, sizeof(want));
    assert_memory_equal(got.mv_data, want, sizeof(want));
    assert_int_equal(raw_format(&r), 2);
    raw_end(&r);
    fx_open(f);
    refraft_index at = 2;
    assert_configs(f, &e, &at, 1);
    /* Removing the entry leaves the store at format 2. */
    assert_int_equal(f->api.truncate(f->api.ctx, 2), 0);
    r = raw_begin(f);
    assert_int_equal(raw_format(&r), 2);
    raw_end(&r);
    fx_open(f);
    log_assert_entries(&f->api, 1, a.e, a.n);
    log_batch_free(&a);
}

/* The same through stage and sync: the format moves with the sync, and
 * not at all when the staged CONFIG entry is lost. */
static void staged_config_moves_the_store_to_format_2_at_its_sync(void **state)
{
    struct fx *f = *state;
    fx_make_legacy(f, 1);
    static const refraft_member m[] = {{"n1", "a", true}};
    refraft_entry e = config_entry(1, m, 1);
    assert_int_equal(f->api.stage(f->api.ctx, &e, 1), 0);
    crash_and_reopen(f);
    struct raw r = raw_begin(f);
    assert_int_equal(raw_format(&r), 1);
    raw_end(&r);
    fx_open(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 0);
    assert_int_equal(f->api.stage(f->api.ctx, &e, 1), 0);
    sync_ok(f);
    crash_and_reopen(f);
    refraft_index at = 1;
    assert_configs(f, &e, &at, 1);
    r = raw_begin(f);
    assert_int_equal(raw_format(&r), 2);
    raw_end(&r);
    fx_open(f);
}

/* append and stage: "REFRAFT_EINVAL for ... a CONFIG entry whose members
 * break refraft_entry's rules", all or none: nothing is written, nothing
 * committed, and the message says what was wrong. */
static void config_with_bad_members_is_einval_and_writes_nothing(void **state)
{
    struct fx *f = *state;
    fx_make_legacy(f, 1);
    log_batch a = append(f, 2, 1, 1);
    static char long_id[REFRAFT_ID_MAX + 2],
        long_address[REFRAFT_ADDRESS_MAX + 2];
    memset(long_id, 'i', sizeof(long_id) - 1);
    memset(long_address, 'a', sizeof(long_address) - 1);
    static const refraft_member twice[] = {{"n1", "", true}, {"n1", "", false}};
    static const refraft_member learners[] = {{"n1", "", false}};
    static const refraft_member empty_id[] = {{"", "", true}};
    static const refraft_member null_id[] = {{NULL, "", true}};
    const refraft_member too_long_id[] = {{long_id, "", true}};
    const refraft_member too_long_address[] = {{"n1", long_address, true}};
    static struct big_config big;
    big_config_make(&big);
    refraft_member sixteen[REFRAFT_MAX_PEERS + 1];
    memcpy(sixteen, big.m, sizeof(big.m));
    sixteen[REFRAFT_MAX_PEERS] = (refraft_member){"p", "", true};
    struct {
        const refraft_member *m;
        size_t n;
        const char *cause;
    } bad[] = {
        {twice, 2, "listed twice"},
        {learners, 1, "voter"},
        {empty_id, 1, "empty"},
        {null_id, 1, "NULL"},
        {too_long_id, 1, "longer"},
        {too_long_address, 1, "address"},
        {sixteen, REFRAFT_MAX_PEERS + 1, "members"},
        {learners, 0, "members"},
        {NULL, 1, "NULL"},
    };
    log_snapshot *snap = log_snapshot_take(&f->api);
    uint64_t before = commits(f->store);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* A good entry before the bad one: the batch goes in whole or not
         * at all. */
        static const refraft_member good[] = {{"n1", "", true}};
        refraft_entry batch[2] = {config_entry(1, good, 1),
                                  config_entry(1, bad[i].m, bad[i].n)};
        for (int staged = 0; staged < 2; staged++) {
            int rv = staged ? f->api.stage(f->api.ctx, batch, 2)
                            : f->api.append(f->api.ctx, batch, 2);
            if (rv != REFRAFT_EINVAL)
                fail_msg("bad members %zu (%s): %s %s", i, bad[i].cause,
                         staged ? "stage" : "append", refraft_strerror(rv));
            const char *msg = refstore_errmsg(f->store);
            if (strstr(msg, "entry 1") == NULL ||
                strstr(msg, "CONFIG") == NULL ||
                strstr(msg, bad[i].cause) == NULL)
                fail_msg("\"%s\" should name entry 1, CONFIG and \"%s\"", msg,
                         bad[i].cause);
            assert_int_equal(f->api.last_index(f->api.ctx), 2);
        }
    }
    sync_ok(f); /* nothing was staged */
    assert_int_equal(commits(f->store), before);
    log_assert_snapshot(&f->api, snap);
    crash_and_reopen(f);
    log_assert_snapshot(&f->api, snap);
    struct raw r = raw_begin(f);
    assert_int_equal(raw_format(&r), 1);
    raw_end(&r);
    fx_open(f);
    log_snapshot_free(snap);
    log_batch_free(&a);
}

/* A CONFIG value of term 1 into buf with the members' bytes as given
 * (flags, id length, address length, then the strings), for the
 * corruptions below; returns its length. */
static size_t config_value(uint8_t *buf, uint8_t layout, uint8_t n,
                           const uint8_t *members, size_t members_len)
{
    memset(buf, 0, 8);
    buf[7] = 1; /* term 1 */
    buf[8] = REFRAFT_ENTRY_CONFIG;
    buf[9] = layout;
    buf[10] = n;
    if (members_len > 0)
        memcpy(buf + 11, members, members_len);
    return 11 + members_len;
}

/* "a corrupt value gives REFRAFT_ECORRUPT with a message saying which
 * index, never a crash or overread": every prefix of a good CONFIG value,
 * and values that break the layout or refraft_entry's rules, are refused
 * at open when they are the last entry and by get and term_at otherwise. */
static void stored_config_cut_short_or_malformed_is_ecorrupt(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 2, 1, 1);
    static const refraft_member m[] = {{"n1", "ab", true}, {"n22", "", false}};
    refraft_entry e = config_entry(1, m, 2);
    assert_int_equal(f->api.append(f->api.ctx, &e, 1), 0);
    struct raw r = raw_begin(f);
    uint8_t kb[8], good[64];
    MDB_val k = index_key(kb, 3), v;
    assert_int_equal(mdb_get(r.txn, raw_dbi(&r, "log"), &k, &v), 0);
    assert_true(v.mv_size <= sizeof(good));
    size_t good_len = v.mv_size;
    memcpy(good, v.mv_data, good_len);
    raw_end(&r);
    /* Cut short anywhere, the last entry is refused at open. */
    for (size_t len = 0; len < good_len; len++) {
        raw_put_log(f, 3, good, len);
        assert_open_corrupt(f, "log entry 3");
    }
    static const uint8_t voter_n1[] = {1, 2, 0, 'n', '1'};
    static const uint8_t learner_n2[] = {0, 2, 0, 'n', '2'};
    static const uint8_t flags_2[] = {3, 2, 0, 'n', '1'};
    static const uint8_t id_0[] = {1, 0, 0};
    static const uint8_t id_65[3] = {1, REFRAFT_ID_MAX + 1, 0};
    static const uint8_t nul_id[] = {1, 2, 0, 'n', 0};
    static const uint8_t nul_address[] = {1, 2, 2, 'n', '1', 'a', 0};
    static const uint8_t trailing[] = {1, 2, 0, 'n', '1', 'x'};
    static const uint8_t twice[] = {1, 2, 0, 'n', '1', 0, 2, 0, 'n', '1'};
    struct {
        uint8_t layout, n;
        const uint8_t *members;
        size_t len;
        const char *why;
    } bad[] = {
        {2, 1, voter_n1, sizeof(voter_n1), "layout 2"},
        {1, 0, NULL, 0, "0 members"},
        {1, REFRAFT_MAX_PEERS + 1, voter_n1, sizeof(voter_n1), "16 members"},
        {1, 2, voter_n1, sizeof(voter_n1), "cut short in member 1"},
        {1, 1, flags_2, sizeof(flags_2), "flags"},
        {1, 1, id_0, sizeof(id_0), "an id of 0 bytes"},
        {1, 1, id_65, sizeof(id_65), "an id of 65 bytes"},
        {1, 1, nul_id, sizeof(nul_id), "NUL"},
        {1, 1, nul_address, sizeof(nul_address), "NUL"},
        {1, 1, trailing, sizeof(trailing), "after its last member"},
        {1, 2, twice, sizeof(twice), "listed twice"},
        {1, 1, learner_n2, sizeof(learner_n2), "voter"},
    };
    uint8_t buf[64];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = config_value(buf, bad[i].layout, bad[i].n, bad[i].members,
                                  bad[i].len);
        raw_put_log(f, 3, buf, len);
        refstore *store = NULL;
        char err[REFRAFT_ERRMSG_LEN] = "";
        assert_int_equal(refstore_open(&f->opts, &store, err, sizeof(err)),
                         REFRAFT_ECORRUPT);
        if (strstr(err, "log entry 3") == NULL ||
            strstr(err, bad[i].why) == NULL)
            fail_msg("\"%s\" should name log entry 3 and \"%s\"", err,
                     bad[i].why);
    }
    /* Not the last entry: open reads only the last, get and term_at read
     * it. */
    size_t len = config_value(buf, 1, 1, learner_n2, sizeof(learner_n2));
    raw_put_log(f, 2, buf, len);
    raw_put_log(f, 3, good, good_len);
    fx_open(f);
    refraft_entry out[3];
    memset(out, 0xa5, sizeof(out));
    size_t n = 99;
    assert_int_equal(f->api.get(f->api.ctx, 1, 3, out, &n), REFRAFT_ECORRUPT);
    assert_non_null(strstr(refstore_errmsg(f->store), "log entry 2"));
    assert_int_equal(n, 99);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(((const uint8_t *)out)[i], 0xa5);
    refraft_term term = 0;
    assert_int_equal(f->api.term_at(f->api.ctx, 2, &term), REFRAFT_ECORRUPT);
    assert_non_null(strstr(refstore_errmsg(f->store), "log entry 2"));
    refraft_index at = 3;
    assert_configs(f, &e, &at, 1);
    log_batch_free(&a);
}

/* A staged CONFIG entry whose sync's commit runs out of map is written
 * again once the map has grown (log_restage), and round-trips: the churn
 * of sync_whose_commit_fills_the_map_grows_it with a CONFIG entry staged
 * at each step, its members changing from step to step, and applied from
 * what get returned. */
static void staged_config_synced_after_map_growth_round_trips(void **state)
{
    struct fx *f = *state;
    churn_open(f);
    enum { STEPS = 120 };
    static char ids[STEPS][16], addresses[STEPS][64];
    static refraft_member members[STEPS][3];
    static refraft_entry want[STEPS];
    static refraft_index at[STEPS];
    int grows_in_sync = 0;
    for (size_t i = 0; i < STEPS; i++) {
        snprintf(ids[i], sizeof(ids[i]), "s%zu", i);
        snprintf(addresses[i], sizeof(addresses[i]), "http://s%zu.test:%zu", i,
                 1000 + i);
        members[i][0] = (refraft_member){"n1", "http://n1.test", true};
        members[i][1] = (refraft_member){ids[i], addresses[i], i % 2 == 0};
        members[i][2] = (refraft_member){"n3", NULL, true};
        want[i] = config_entry(1, members[i], 1 + i % 3);
        at[i] = i + 1;
        int rv = f->api.stage(f->api.ctx, &want[i], 1);
        if (rv != 0)
            fail_msg("stage %zu: %s (%s)", i, refraft_strerror(rv),
                     refstore_errmsg(f->store));
        uint64_t grows = stats(f->store).map_grows;
        sync_ok(f);
        grows_in_sync += stats(f->store).map_grows > grows;
        churn_records(f, i + 1);
        refraft_entry e;
        size_t n = 0;
        assert_int_equal(f->api.get(f->api.ctx, i + 1, 1, &e, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(refstore_apply(f->store, i + 1, &e), 0);
        assert_config_equal(&e, &want[i], i + 1);
    }
    if (grows_in_sync == 0)
        fail_msg("no sync grew the map (%llu growths in all)",
                 (unsigned long long)stats(f->store).map_grows);
    assert_true(f->app.reapplies > 0);
    assert_int_equal(f->app.bad_configs, 0);
    assert_true(f->app.configs >= STEPS);
    assert_int_equal(refstore_flush(f->store), 0);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), STEPS);
    assert_int_equal(refstore_applied_index(f->store), STEPS);
    assert_configs(f, want, at, STEPS);
}

/* A stage that fills the map grows it and stages again: a CONFIG entry in
 * the middle of a large staged batch round-trips. */
static void config_in_a_stage_that_grows_the_map_round_trips(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 256 * KIB, 64 * 1024 * KIB);
    log_batch a = log_batch_make(1500, 1, 1);
    log_batch b = log_batch_make(1500, 2, 1);
    static struct big_config big;
    big_config_make(&big);
    refraft_entry *batch = calloc(3001, sizeof(*batch));
    assert_non_null(batch);
    memcpy(batch, a.e, 1500 * sizeof(*batch));
    batch[1500] = config_entry(1, big.m, REFRAFT_MAX_PEERS);
    memcpy(batch + 1501, b.e, 1500 * sizeof(*batch));
    assert_int_equal(f->api.stage(f->api.ctx, batch, 3001), 0);
    assert_true(stats(f->store).map_grows >= 1);
    refraft_index at = 1501;
    assert_configs(f, &batch[1500], &at, 1);
    sync_ok(f);
    crash_and_reopen(f);
    assert_int_equal(f->api.last_index(f->api.ctx), 3001);
    log_assert_entries(&f->api, 1, a.e, a.n);
    assert_configs(f, &batch[1500], &at, 1);
    log_assert_entries(&f->api, 1502, b.e, b.n);
    free(batch);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* "a CONFIG entry is applied like a NOOP": the hook sees it, with its
 * members, and its applied index commits with the rest; the members get
 * returned stay valid across the applies (the node reads, then applies),
 * and applies lost to a commit out of map run again with the members
 * (apply_again reads the entry back from the log). */
static void config_entries_apply_as_noops_and_run_again(void **state)
{
    struct fx *f = *state;
    churn_open(f);
    static const refraft_member m[] = {{"n1", "http://n1", true},
                                       {"n2", "http://n2", false}};
    refraft_entry e = config_entry(1, m, 2);
    refraft_index n = 120;
    for (refraft_index i = 1; i <= n; i++) {
        assert_int_equal(f->api.append(f->api.ctx, &e, 1), 0);
        refraft_entry got;
        size_t k = 0;
        assert_int_equal(f->api.get(f->api.ctx, i, 1, &got, &k), 0);
        apply_ok(f, i); /* the kind of call a node makes in between */
        assert_config_equal(&got, &e, i);
        churn_records(f, i);
    }
    assert_true(f->app.reapplies > 0);
    assert_int_equal(f->app.bad_configs, 0);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), n);
    /* apply_ok hands NOOPs; the replays read CONFIG entries back. */
    assert_true(f->app.configs > 0);
    assert_true(f->app.configs <= f->app.reapplies);
    fx_reopen(f);
    for (refraft_index i = 1; i <= n; i++)
        assert_true(app_has_row(&f->app, i));
    /* And the hook gets a CONFIG entry as it was handed over. */
    assert_int_equal(f->api.append(f->api.ctx, &e, 1), 0);
    int before = f->app.configs;
    assert_int_equal(refstore_apply(f->store, n + 1, &e), 0);
    assert_int_equal(f->app.configs, before + 1);
    assert_int_equal(f->app.types[n + 1], REFRAFT_ENTRY_CONFIG);
}

/* get copies members into memory of the store's: when that cannot grow,
 * the call fails with nothing written to out. */
static void
get_of_config_entries_under_enomem_leaves_out_untouched(void **state)
{
    struct fx *f = *state;
    static struct big_config big;
    big_config_make(&big);
    refraft_entry e = config_entry(1, big.m, REFRAFT_MAX_PEERS);
    assert_int_equal(f->api.append(f->api.ctx, &e, 1), 0);
    refraft_entry out[1];
    memset(out, 0xa5, sizeof(out));
    size_t n = 77;
    failalloc_at(&fault, 1);
    int rv = f->api.get(f->api.ctx, 1, 1, out, &n);
    failalloc_off();
    assert_int_equal(rv, REFRAFT_ENOMEM);
    assert_int_equal(n, 77);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(((const uint8_t *)out)[i], 0xa5);
    refraft_index at = 1;
    assert_configs(f, &e, &at, 1);
}

/* A node alone on the store adds a learner: the CONFIG entry goes through
 * stage and sync, commits and applies; restarted over the reopened store,
 * the node goes by it again (refraft.h: "A node goes by the last CONFIG
 * entry in its log"). */
static void node_keeps_its_configuration_across_a_restart(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    refraft_index index = 0;
    int rv = refraft_add_learner(node, "n2", "http://n2.test:7000", &index);
    if (rv != 0)
        fail_msg("refraft_add_learner: %s (%s)", refraft_strerror(rv),
                 refraft_errmsg(node));
    assert_int_equal(refraft_commit_index(node), index);
    assert_int_equal(h.applied, index);
    assert_int_equal(f->app.types[index], REFRAFT_ENTRY_CONFIG);
    assert_int_equal(refstore_flush(f->store), 0);
    refraft_node_destroy(node);
    fx_reopen(f);
    struct host h2 = {0};
    node = node_start(f, &h2, NULL, 0);
    assert_int_equal(refraft_config_index(node), index);
    assert_int_equal(refraft_n_members(node), 2);
    assert_false(refraft_is_voter(node, "n2"));
    assert_true(refraft_is_voter(node, NODE));
    refraft_member m;
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(refraft_member_get(node, i, &m), 0);
        if (strcmp(m.id, "n2") == 0)
            assert_string_equal(m.address, "http://n2.test:7000");
    }
    elect(node, &h2);
    refraft_node_destroy(node);
}

/* ------------------------------------------------------------------------
 * Snapshots: compaction, install and the log's base (refstore.h,
 * Snapshots; Raft §7)
 * ------------------------------------------------------------------------ */

static const refraft_member snap_members[] = {
    {"n1", "http://n1.test:7001", true},
    {"n2", "http://n2.test:7002", true},
    {"n3", "", false},
};
#define SNAP_N_MEMBERS (sizeof(snap_members) / sizeof(snap_members[0]))

static refraft_snapshot_meta
snap_meta(refraft_index last, refraft_term term, refraft_index config_index)
{
    refraft_snapshot_meta m;
    memset(&m, 0, sizeof(m));
    m.last_index = last;
    m.last_term = term;
    m.config_index = config_index;
    if (config_index > 0) {
        m.members = snap_members;
        m.n_members = SNAP_N_MEMBERS;
    }
    return m;
}

static refraft_snapshot_meta base_of(struct fx *f)
{
    refraft_snapshot_meta b;
    memset(&b, 0xff, sizeof(b));
    assert_int_equal(f->api.base(f->api.ctx, &b), 0);
    return b;
}

/* got is the base want describes, members and all. */
static void assert_base(struct fx *f, const refraft_snapshot_meta *want)
{
    refraft_snapshot_meta got = base_of(f);
    assert_int_equal(got.last_index, want->last_index);
    assert_int_equal(got.last_term, want->last_term);
    assert_int_equal(got.config_index, want->config_index);
    assert_int_equal(got.n_members, want->n_members);
    if (want->n_members == 0)
        assert_null(got.members);
    for (size_t i = 0; i < want->n_members; i++) {
        assert_string_equal(got.members[i].id, want->members[i].id);
        assert_string_equal(got.members[i].address, want->members[i].address);
        assert_int_equal(got.members[i].voter, want->members[i].voter);
    }
    assert_int_equal(f->api.first_index(f->api.ctx), want->last_index + 1);
    refraft_term term = 0;
    assert_int_equal(f->api.term_at(f->api.ctx, want->last_index, &term), 0);
    assert_int_equal(term, want->last_term);
}

static int compact(struct fx *f, refraft_index last, refraft_term term,
                   refraft_index config_index)
{
    refraft_snapshot_meta m = snap_meta(last, term, config_index);
    return f->api.compact(f->api.ctx, &m);
}

static int install(struct fx *f, refraft_index last, refraft_term term,
                   refraft_index config_index)
{
    refraft_snapshot_meta m = snap_meta(last, term, config_index);
    return f->api.install(f->api.ctx, &m);
}

static void assert_get_enotfound(struct fx *f, refraft_index from)
{
    refraft_entry e;
    size_t n = 77;
    assert_int_equal(f->api.get(f->api.ctx, from, 1, &e, &n),
                     REFRAFT_ENOTFOUND);
    assert_int_equal(n, 77);
}

/* "compact(meta) drops the entries up to meta->last_index and makes meta
 * the base": first_index moves past it, term_at answers for it, the
 * entries before it are gone and those after it stay. */
static void compact_drops_entries_and_keeps_the_base(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 4, 1, 1), b = append(f, 3, 2, 2);
    apply_upto(f, 1, 5);
    /* "The log API is of version 5" */
    assert_int_equal(f->api.version, 5);
    assert_non_null(f->api.compact);
    assert_non_null(f->api.install);
    assert_non_null(f->api.base);
    refraft_snapshot_meta none = base_of(f);
    assert_int_equal(none.last_index, 0);
    assert_int_equal(none.n_members, 0);
    assert_int_equal(compact(f, 5, 2, 0), 0);
    refraft_snapshot_meta want = snap_meta(5, 2, 0);
    assert_base(f, &want);
    assert_int_equal(f->api.last_index(f->api.ctx), 7);
    log_assert_entries(&f->api, 6, b.e + 1, 2);
    assert_get_enotfound(f, 5);
    assert_get_enotfound(f, 1);
    refraft_term term = 99;
    assert_int_equal(f->api.term_at(f->api.ctx, 4, &term), REFRAFT_ENOTFOUND);
    assert_int_equal(f->api.term_at(f->api.ctx, 0, &term), REFRAFT_ENOTFOUND);
    assert_int_equal(term, 99);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* "The compacted entries can never be applied again, so their pending
 * applies commit with it": a crash right after loses none of them. */
static void compaction_commits_pending_applies(void **state)
{
    struct fx *f = *state;
    log_batch b = append(f, 5, 1, 1);
    apply_upto(f, 1, 4);
    assert_int_equal(refstore_applied_index(f->store), 0);
    uint64_t before = commits(f->store);
    assert_int_equal(compact(f, 2, 1, 0), 0);
    assert_int_equal(commits(f->store), before + 1);
    assert_int_equal(refstore_applied_index(f->store), 4);
    refstore_close_discard(f->store);
    f->store = NULL;
    fx_open(f);
    assert_int_equal(refstore_applied_index(f->store), 4);
    for (refraft_index i = 1; i <= 4; i++)
        assert_true(app_has_row(&f->app, i));
    log_assert_entries(&f->api, 3, b.e + 2, 3);
    log_batch_free(&b);
}

/* "REFRAFT_EINVAL (nothing changed) when meta->last_index is below
 * first_index, past the last index or past the applied index (committed
 * or pending), when meta->last_term is not the term of the entry there,
 * or when meta is bad". */
static void compaction_out_of_bounds_or_of_a_bad_meta_is_einval(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 3, 1, 1), b = append(f, 3, 2, 2);
    apply_upto(f, 1, 4);
    assert_int_equal(compact(f, 2, 1, 0), 0);
    log_snapshot *snap = log_snapshot_take(&f->api);
    uint64_t before = commits(f->store);
    /* At or below the base, past the applied index (4, pending) or the
     * last index, or with another term. */
    assert_int_equal(compact(f, 2, 1, 0), REFRAFT_EINVAL);
    assert_int_equal(compact(f, 1, 1, 0), REFRAFT_EINVAL);
    assert_int_equal(compact(f, 5, 2, 0), REFRAFT_EINVAL);
    if (strstr(refstore_errmsg(f->store), "applied index 4") == NULL)
        fail_msg("\"%s\" should name the applied index 4",
                 refstore_errmsg(f->store));
    assert_int_equal(compact(f, 9, 2, 0), REFRAFT_EINVAL);
    assert_int_equal(compact(f, 4, 1, 0), REFRAFT_EINVAL);
    assert_int_equal(compact(f, 3, 2, 0), REFRAFT_EINVAL);
    /* Bad metas: NULL, term 0, a configuration past the last index, none
     * (or bad ones) with a configuration of 1 or more. */
    assert_int_equal(f->api.compact(f->api.ctx, NULL), REFRAFT_EINVAL);
    assert_int_equal(compact(f, 3, 0, 0), REFRAFT_EINVAL);
    assert_int_equal(compact(f, 3, 1, 4), REFRAFT_EINVAL);
    refraft_snapshot_meta m = snap_meta(3, 1, 2);
    m.n_members = 0;
    assert_int_equal(f->api.compact(f->api.ctx, &m), REFRAFT_EINVAL);
    refraft_member twice[] = {{"n1", "", true}, {"n1", "", true}};
    m.members = twice;
    m.n_members = 2;
    assert_int_equal(f->api.compact(f->api.ctx, &m), REFRAFT_EINVAL);
    /* Nothing changed, nothing was written. */
    assert_int_equal(commits(f->store), before);
    log_assert_snapshot(&f->api, snap);
    refraft_snapshot_meta want = snap_meta(2, 1, 0);
    assert_base(f, &want);
    assert_int_equal(refstore_applied_index(f->store), 4);
    log_snapshot_free(snap);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* A compacted log reopens as it was: its base (members and all), term_at
 * at the base, first_index, and the entries after it. */
static void compaction_survives_reopen(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 2, 1, 1);
    refraft_entry c = config_entry(2, snap_members, SNAP_N_MEMBERS);
    assert_int_equal(f->api.append(f->api.ctx, &c, 1), 0);
    log_batch b = append(f, 3, 3, 3);
    apply_upto(f, 1, 4);
    assert_int_equal(compact(f, 4, 3, 3), 0);
    refraft_snapshot_meta want = snap_meta(4, 3, 3);
    assert_base(f, &want);
    fx_reopen(f);
    assert_base(f, &want);
    assert_int_equal(f->api.last_index(f->api.ctx), 6);
    log_assert_entries(&f->api, 5, b.e + 1, 2);
    assert_get_enotfound(f, 4);
    assert_int_equal(refstore_applied_index(f->store), 4);
    /* The base handed out may go back in: compacting further with it. */
    apply_upto(f, 5, 5);
    refraft_snapshot_meta again = base_of(f);
    again.last_index = 5;
    assert_int_equal(f->api.compact(f->api.ctx, &again), 0);
    want.last_index = 5;
    assert_base(f, &want);
    fx_reopen(f);
    assert_base(f, &want);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* "The initial configuration (config_index 0) may come with its members
 * or without": with them, they are kept (a CONFIG value under
 * configuration 0) and handed back, across a reopen too. */
static void initial_configuration_keeps_the_members_given(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 3, 1, 2);
    apply_upto(f, 1, 2);
    refraft_snapshot_meta m = snap_meta(2, 2, 0);
    m.members = snap_members;
    m.n_members = SNAP_N_MEMBERS;
    assert_int_equal(f->api.compact(f->api.ctx, &m), 0);
    assert_base(f, &m);
    fx_reopen(f);
    assert_base(f, &m);
    log_batch_free(&a);
}

/* The first base moves the store to format 3 (refstore.h: "so that a
 * library that reads formats 1 and 2 refuses it"), from format 1 as from
 * format 2, and it stays there. */
static void first_base_moves_the_store_to_format_3(void **state)
{
    struct fx *f = *state;
    fx_make_legacy(f, 1);
    log_batch a = append(f, 3, 1, 1);
    struct raw r = raw_begin(f);
    assert_int_equal(raw_format(&r), 1);
    raw_end(&r);
    fx_open(f);
    apply_upto(f, 1, 2);
    assert_int_equal(compact(f, 1, 1, 0), 0);
    r = raw_begin(f);
    assert_int_equal(raw_format(&r), 3);
    raw_end(&r);
    fx_open(f);
    /* A CONFIG entry afterwards leaves it at 3. */
    refraft_entry c = config_entry(2, snap_members, SNAP_N_MEMBERS);
    assert_int_equal(f->api.append(f->api.ctx, &c, 1), 0);
    r = raw_begin(f);
    assert_int_equal(raw_format(&r), 3);
    raw_end(&r);
    fx_open(f);
    log_batch_free(&a);
}

static void install_moves_a_format_2_store_to_format_3(void **state)
{
    struct fx *f = *state;
    fx_make_legacy(f, 1);
    refraft_entry c = config_entry(1, snap_members, SNAP_N_MEMBERS);
    assert_int_equal(f->api.append(f->api.ctx, &c, 1), 0);
    struct raw r = raw_begin(f);
    assert_int_equal(raw_format(&r), 2);
    raw_end(&r);
    fx_open(f);
    assert_int_equal(install(f, 5, 2, 1), 0);
    r = raw_begin(f);
    assert_int_equal(raw_format(&r), 3);
    raw_end(&r);
    fx_open(f);
}

/* "log_base ... as refstore.h describes it: the base's last index, its
 * configuration index, then a log value ... a NOOP when that is the
 * initial configuration"; and "one in a store of format 1 or 2 is
 * REFRAFT_ECORRUPT at open". */
static void base_is_stored_as_documented_and_needs_format_3(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 3, 1, 4);
    apply_upto(f, 1, 2);
    assert_int_equal(compact(f, 2, 4, 0), 0);
    struct raw r = raw_begin(f);
    MDB_dbi meta = raw_dbi(&r, "meta");
    MDB_val k = {8, "log_base"}, v;
    assert_int_equal(mdb_get(r.txn, meta, &k, &v), 0);
    uint8_t want[16 + 8 + 1 + 8 + REFRAFT_DIGEST_LEN];
    uint8_t kb[8];
    memcpy(want, index_key(kb, 2).mv_data, 8);
    memcpy(want + 8, index_key(kb, 0).mv_data, 8);
    size_t len = 16 + log_value(want + 16, 4, REFRAFT_ENTRY_NOOP, 0, NULL);
    assert_int_equal(v.mv_size, len);
    assert_memory_equal(v.mv_data, want, len);
    /* Format 2 with a base: refused. */
    uint8_t two[8] = {0, 0, 0, 0, 0, 0, 0, 2};
    MDB_val fk = {14, "format_version"}, fv = {8, two};
    assert_int_equal(mdb_put(r.txn, meta, &fk, &fv, 0), 0);
    raw_end(&r);
    assert_open_corrupt(f, "log_base");
    log_batch_free(&a);
}

/* "The log then holds exactly the indexes after the last index, and
 * "applied_index" is at least the last index": an entry left at or below
 * the base, or an applied index below it, is REFRAFT_ECORRUPT at open. */
static void entries_or_applies_below_the_base_are_ecorrupt(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 5, 1, 2);
    apply_upto(f, 1, 3);
    assert_int_equal(compact(f, 3, 2, 0), 0);
    uint8_t v[8 + 1 + 8 + REFRAFT_DIGEST_LEN];
    raw_put_log(f, 3, v, log_value(v, 2, REFRAFT_ENTRY_NOOP, 0, NULL));
    assert_open_corrupt(f, "indexes 4..5");
    struct raw r = raw_begin(f);
    uint8_t kb[8];
    MDB_val k = index_key(kb, 3);
    assert_int_equal(mdb_del(r.txn, raw_dbi(&r, "log"), &k, NULL), 0);
    MDB_val ak = {13, "applied_index"}, av = index_key(kb, 2);
    assert_int_equal(mdb_put(r.txn, raw_dbi(&r, "meta"), &ak, &av, 0), 0);
    raw_end(&r);
    assert_open_corrupt(f, "below the log's base 3");
    log_batch_free(&a);
}

/* "get below first_index is REFRAFT_ENOTFOUND"; truncate "refuses ...
 * below first_index"; truncating down to the base empties the log, whose
 * last entry is then the base's. */
static void truncate_and_get_below_first_index_are_refused(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 6, 1, 2);
    apply_upto(f, 1, 3);
    assert_int_equal(compact(f, 3, 2, 0), 0);
    assert_get_enotfound(f, 3);
    assert_get_enotfound(f, 0);
    assert_int_equal(f->api.truncate(f->api.ctx, 3), REFRAFT_EINVAL);
    assert_int_equal(f->api.truncate(f->api.ctx, 1), REFRAFT_EINVAL);
    assert_int_equal(f->api.truncate(f->api.ctx, 4), 0);
    assert_int_equal(f->api.last_index(f->api.ctx), 3);
    assert_int_equal(f->api.first_index(f->api.ctx), 4);
    refraft_term term = 0;
    assert_int_equal(f->api.term_at(f->api.ctx, 3, &term), 0);
    assert_int_equal(term, 2);
    size_t n = 9;
    refraft_entry e;
    assert_int_equal(f->api.get(f->api.ctx, 4, 1, &e, &n), 0);
    assert_int_equal(n, 0);
    /* Appends go on after the base, whose term they may not go below. */
    log_batch low = log_batch_make(1, 9, 1);
    assert_int_equal(f->api.append(f->api.ctx, low.e, 1), REFRAFT_EINVAL);
    log_batch b = append(f, 2, 7, 3);
    log_assert_entries(&f->api, 4, b.e, b.n);
    fx_reopen(f);
    log_assert_entries(&f->api, 4, b.e, b.n);
    assert_int_equal(f->api.first_index(f->api.ctx), 4);
    log_batch_free(&low);
    log_batch_free(&b);
    log_batch_free(&a);
}

/* "refstore_close_discard ... exactly as in a crash": after a compaction
 * the crash loses the applies made since, never the compaction or the
 * applies it committed. */
static void close_discard_after_compact_keeps_the_compaction(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 6, 1, 1);
    apply_upto(f, 1, 3);
    assert_int_equal(compact(f, 2, 1, 0), 0);
    apply_upto(f, 4, 5);
    refstore_close_discard(f->store);
    f->store = NULL;
    fx_open(f);
    refraft_snapshot_meta want = snap_meta(2, 1, 0);
    assert_base(f, &want);
    assert_int_equal(refstore_applied_index(f->store), 3);
    assert_false(app_has_row(&f->app, 4));
    log_assert_entries(&f->api, 3, a.e + 2, 4);
    /* The lost applies run again from the log. */
    apply_upto(f, 4, 6);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 6);
    log_batch_free(&a);
}

/* "install(meta) runs the install hook, drops every entry, makes meta the
 * base, sets the applied index and the data index to meta->last_index and
 * raises records_lost_upto to it ... all in one transaction", which also
 * commits the pending applies. */
static void install_runs_the_hook_and_moves_the_indexes(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 4, 1, 1);
    apply_upto(f, 1, 2);
    assert_int_equal(refstore_set_data_index(f->store, 1), 0);
    apply_ok(f, 3); /* pending */
    f->app.want_members = snap_members;
    uint64_t before = commits(f->store);
    assert_int_equal(install(f, 10, 3, 7), 0);
    assert_int_equal(commits(f->store), before + 1);
    assert_int_equal(f->app.installs, 1);
    assert_int_equal(f->app.installed.last_index, 10);
    assert_int_equal(f->app.installed.last_term, 3);
    assert_int_equal(f->app.installed.config_index, 7);
    assert_int_equal(f->app.installed.n_members, SNAP_N_MEMBERS);
    assert_int_equal(f->app.installed_members_ok, SNAP_N_MEMBERS);
    /* The installed hook ran once, after the commit, and could not call
     * into the store. */
    assert_int_equal(f->app.installed_calls, 1);
    assert_int_equal(f->app.installed_at, 10);
    assert_int_equal(f->app.installed_nested_rv, REFRAFT_EINVAL);
    assert_int_equal(refstore_flush(f->store), 0);
    refraft_snapshot_meta want = snap_meta(10, 3, 7);
    for (int round = 0; round < 2; round++) {
        assert_base(f, &want);
        assert_int_equal(f->api.last_index(f->api.ctx), 10);
        assert_get_enotfound(f, 4);
        assert_int_equal(refstore_applied_index(f->store), 10);
        assert_int_equal(refstore_data_index(f->store), 10);
        assert_int_equal(refstore_records_lost_upto(f->store), 10);
        assert_int_equal(app_installed(&f->app), 10);
        assert_true(app_has_row(&f->app, 3));
        /* A crash loses nothing of it. */
        refstore_close_discard(f->store);
        f->store = NULL;
        fx_open(f);
    }
    /* The log goes on after the snapshot, and so do the applies. */
    log_batch b = append(f, 1, 5, 3);
    log_assert_entries(&f->api, 11, b.e, 1);
    refraft_entry noop;
    memset(&noop, 0, sizeof(noop));
    noop.term = 3;
    noop.type = REFRAFT_ENTRY_NOOP;
    assert_int_equal(refstore_apply(f->store, 10, &noop), REFRAFT_EINVAL);
    apply_ok(f, 11);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* A failing install hook aborts the install: the log, its base, the
 * indexes, the hook's own writes and the format are as they were, and
 * the pending applies are still pending. */
static void failing_install_hook_leaves_everything_as_it_was(void **state)
{
    struct fx *f = *state;
    fx_make_legacy(f, 1);
    log_batch a = append(f, 4, 1, 1);
    apply_upto(f, 1, 2);
    assert_int_equal(refstore_flush(f->store), 0);
    apply_ok(f, 3);
    log_snapshot *snap = log_snapshot_take(&f->api);
    uint64_t before = commits(f->store);
    f->app.fail_install = true;
    assert_int_equal(install(f, 10, 3, 0), REFRAFT_EIO);
    assert_int_equal(f->app.installs, 1);
    assert_int_equal(f->app.installed_calls, 0);
    assert_int_equal(commits(f->store), before);
    log_assert_snapshot(&f->api, snap);
    refraft_snapshot_meta none = base_of(f);
    assert_int_equal(none.last_index, 0);
    assert_int_equal(refstore_applied_index(f->store), 2);
    assert_int_equal(refstore_data_index(f->store), 0);
    assert_int_equal(refstore_records_lost_upto(f->store), 0);
    assert_int_equal(app_installed(&f->app), 0);
    assert_true(app_has_row(&f->app, 3));
    apply_ok(f, 4);
    assert_int_equal(refstore_flush(f->store), 0);
    assert_int_equal(refstore_applied_index(f->store), 4);
    struct raw r = raw_begin(f);
    assert_int_equal(raw_format(&r), 1);
    raw_end(&r);
    fx_open(f);
    log_assert_snapshot(&f->api, snap);
    log_snapshot_free(snap);
    log_batch_free(&a);
}

/* "REFRAFT_EINVAL (nothing changed) unless meta->last_index is past the
 * applied index (committed or pending): an install never takes the
 * application's state back." */
static void install_not_past_the_applied_index_is_einval(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 5, 1, 1);
    apply_upto(f, 1, 2);
    assert_int_equal(refstore_flush(f->store), 0);
    apply_ok(f, 3);
    log_snapshot *snap = log_snapshot_take(&f->api);
    uint64_t before = commits(f->store);
    assert_int_equal(install(f, 3, 1, 0), REFRAFT_EINVAL);
    assert_int_equal(install(f, 2, 1, 0), REFRAFT_EINVAL);
    assert_int_equal(f->api.install(f->api.ctx, NULL), REFRAFT_EINVAL);
    assert_int_equal(install(f, 8, 0, 0), REFRAFT_EINVAL);
    assert_int_equal(install(f, 8, 2, 9), REFRAFT_EINVAL);
    assert_int_equal(f->app.installs, 0);
    assert_int_equal(commits(f->store), before);
    log_assert_snapshot(&f->api, snap);
    assert_int_equal(refstore_applied_index(f->store), 2);
    /* Past the pending applies it goes, the log's own last entry
     * included. */
    assert_int_equal(install(f, 4, 1, 0), 0);
    assert_int_equal(f->api.last_index(f->api.ctx), 4);
    assert_int_equal(refstore_applied_index(f->store), 4);
    log_snapshot_free(snap);
    log_batch_free(&a);
}

/* records_lost_upto rises to the snapshot's last index, never falls. */
static void install_never_lowers_records_lost_upto(void **state)
{
    struct fx *f = *state;
    log_batch a = append(f, 9, 1, 1);
    assert_int_equal(refstore_records_wipe(f->store), 0);
    assert_int_equal(refstore_records_lost_upto(f->store), 9);
    assert_int_equal(install(f, 5, 2, 0), 0);
    assert_int_equal(refstore_records_lost_upto(f->store), 9);
    assert_int_equal(refstore_data_index(f->store), 5);
    fx_reopen(f);
    assert_int_equal(refstore_records_lost_upto(f->store), 9);
    assert_int_equal(refstore_clear_records_lost(f->store), 0);
    assert_int_equal(install(f, 7, 2, 0), 0);
    assert_int_equal(refstore_records_lost_upto(f->store), 7);
    log_batch_free(&a);
}

/* An install hook that fills the map: "the map grows and the hook runs
 * again, in a fresh transaction", and the install completes once. */
static void install_hook_that_fills_the_map_runs_again(void **state)
{
    struct fx *f = *state;
    tiny_map(f, 256 * KIB, 4096 * KIB);
    log_batch a = append(f, 2, 1, 1);
    apply_ok(f, 1);
    f->app.install_value_len = 600 * KIB;
    assert_int_equal(install(f, 6, 2, 0), 0);
    assert_true(stats(f->store).map_grows >= 1);
    assert_true(f->app.installs >= 2);
    assert_int_equal(f->app.installed_calls, 1);
    assert_int_equal(refstore_applied_index(f->store), 6);
    fx_reopen(f);
    assert_int_equal(refstore_applied_index(f->store), 6);
    assert_int_equal(app_installed(&f->app), 6);
    assert_true(app_has_row(&f->app, 1));
    log_batch_free(&a);
}

/*
 * Compactions in a tiny map, each with applies pending: each step appends
 * an entry with a long record id, applies it (a row of 3000 bytes,
 * pending) and compacts up to the entry before.  The compactions that run
 * out of map (in their own write or in the commit that carries the
 * applies) grow it and complete, the applies they carry included (those
 * a failed commit lost run again).  LMDB is deterministic here: the same
 * steps run out of map in the same calls on every run.
 */
static void compaction_that_fills_the_map_grows_it(void **state)
{
    struct fx *f = *state;
    churn_open(f);
    char id[REFRAFT_RECORD_ID_MAX];
    memset(id, 'x', sizeof(id));
    refraft_entry e;
    memset(&e, 0, sizeof(e));
    e.term = 1;
    e.type = REFRAFT_ENTRY_REF;
    e.ref.id = (const uint8_t *)id;
    e.ref.id_len = sizeof(id);
    uint64_t grows_in_compact = 0;
    refraft_index i = 0;
    while (grows_in_compact == 0 || i < 50) {
        i++;
        assert_true(i < 3000);
        assert_int_equal(f->api.append(f->api.ctx, &e, 1), 0);
        apply_ok(f, i);
        if (i == 1)
            continue;
        uint64_t grows = stats(f->store).map_grows;
        int rv = compact(f, i - 1, 1, 0);
        if (rv != 0)
            fail_msg("compact %llu: %s (%s)", (unsigned long long)i - 1,
                     refraft_strerror(rv), refstore_errmsg(f->store));
        grows_in_compact += stats(f->store).map_grows - grows;
        assert_int_equal(refstore_applied_index(f->store), i);
        assert_int_equal(f->api.first_index(f->api.ctx), i);
    }
    refstore_close_discard(f->store);
    f->store = NULL;
    fx_open(f);
    assert_int_equal(refstore_applied_index(f->store), i);
    assert_int_equal(f->api.first_index(f->api.ctx), i);
    assert_int_equal(f->api.last_index(f->api.ctx), i);
    for (refraft_index j = 1; j <= i; j++)
        assert_true(app_has_row(&f->app, j));
}

/* "The hook must not call refstore functions other than the inspection
 * ones ... (so do the log API's calls)": compacting from inside the apply
 * hook is refused. */
static refraft_log_api nested_api;

static int compacting_apply_hook(void *ctx, MDB_txn *txn, refraft_index index,
                                 const refraft_entry *entry)
{
    struct app *a = ctx;
    (void)txn, (void)entry;
    if (index > 1) {
        refraft_snapshot_meta m = snap_meta(index - 1, 1, 0);
        a->nested_rv = nested_api.compact(nested_api.ctx, &m);
    }
    return 0;
}

static void compaction_from_inside_a_hook_is_einval(void **state)
{
    struct fx *f = *state;
    f->opts.apply = compacting_apply_hook;
    fx_open(f);
    refstore_log_api(f->store, &nested_api);
    log_batch a = append(f, 2, 1, 1);
    apply_ok(f, 1);
    apply_ok(f, 2);
    assert_int_equal(f->app.nested_rv, REFRAFT_EINVAL);
    assert_int_equal(f->api.first_index(f->api.ctx), 1);
    log_batch_free(&a);
}

/* The base survives a restart of a node on the store: the node starts
 * from the log's base (its first index, its term for the consistency
 * check) and is elected and commits on top of it. */
static void node_runs_on_a_compacted_store(void **state)
{
    struct fx *f = *state;
    struct host h = {0};
    refraft_node *node = node_start(f, &h, NULL, 0);
    elect(node, &h);
    refraft_index last = refraft_last_index(node);
    assert_int_equal(h.applied, last);
    assert_int_equal(refstore_flush(f->store), 0);
    refraft_term term = refraft_current_term(node);
    refraft_node_destroy(node);
    assert_int_equal(compact(f, last, term, 0), 0);
    fx_reopen(f);
    struct host h2 = {0};
    node = node_start(f, &h2, NULL, 0);
    elect(node, &h2);
    assert_int_equal(refraft_commit_index(node), last + 1);
    assert_int_equal(h2.applied, last + 1);
    assert_int_equal(f->api.first_index(f->api.ctx), last + 1);
    refraft_node_destroy(node);
}

/* ------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------ */

#define T(f) cmocka_unit_test_setup_teardown(f, setup_open, teardown)
#define T_CLOSED(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_CLOSED(open_creates_missing_directories_private_to_the_user),
        T_CLOSED(open_with_bad_options_is_einval_with_the_cause),
        T(store_of_another_cluster_or_node_is_ewrongstore),
        T(store_of_another_format_version_is_ewrongstore),
        T_CLOSED(relaxed_sync_keeps_writes_across_a_restart),
        T(record_put_get_has_delete),
        T(record_batch_is_one_commit_and_refuses_one_by_one),
        T(record_whose_digest_differs_is_edigest),
        T(record_whose_size_differs_is_edigest),
        T(record_id_empty_or_over_255_bytes_is_einval),
        T(same_id_with_other_bytes_is_edigest),
        T(has_is_false_for_another_record_under_the_same_id),
        T(apply_writes_and_applied_index_commit_together),
        T(failing_apply_hook_leaves_no_trace),
        T(failed_apply_runs_the_earlier_applies_of_its_run_again),
        T(an_apply_run_ends_at_the_next_write),
        T(hook_failing_again_in_the_replay_leaves_the_store_usable),
        T(failed_replay_names_its_index_and_cause),
        T(reads_see_the_run_and_leave_it_open),
        T(apply_out_of_order_or_past_the_log_is_einval),
        T(durable_write_commits_pending_applies),
        T(flush_with_nothing_pending_commits_nothing),
        T(failed_write_keeps_pending_applies),
        T(crash_loses_pending_applies_with_their_applied_index),
        T(close_discard_is_a_crash),
        T_CLOSED(hooks_cannot_call_into_the_store),
        T(truncate_hook_runs_in_the_same_transaction),
        T(failing_truncate_hook_aborts_the_truncation),
        T(truncate_of_applied_entries_is_einval),
        T(data_index_is_saved_and_lowered_by_truncation),
        T(appending_k_entries_is_one_commit),
        T_CLOSED(full_map_grows_then_is_enospc_naming_path_and_size),
        T_CLOSED(open_grows_a_map_too_small_for_the_identity),
        T_CLOSED(propose_into_a_map_full_at_its_maximum_is_enospc),
        T_CLOSED(write_fn_ignoring_an_lmdb_error_keeps_pending_applies),
        T_CLOSED(apply_hook_ignoring_an_lmdb_error_keeps_pending_applies),
        T_CLOSED(map_growth_commits_pending_applies),
        T_CLOSED(apply_hook_that_fills_the_map_runs_again),
        T_CLOSED(apply_hook_that_fills_the_map_mid_run_runs_the_run_again),
        T_CLOSED(apply_filling_a_map_at_its_maximum_mid_run_is_enospc),
        T_CLOSED(apply_that_fits_after_the_replays_growth_is_made),
        T_CLOSED(applies_lost_by_a_commit_out_of_map_run_again),
        T_CLOSED(failed_commit_of_pending_applies_fails_the_store),
        cmocka_unit_test_setup_teardown(open_under_enomem_is_clean, setup,
                                        restore_allocator),
        cmocka_unit_test_setup_teardown(get_under_enomem_leaves_out_untouched,
                                        setup_open, restore_allocator),
        T(cluster_map_set_get_list_delete),
        T(cluster_map_bad_input_is_einval),
        T(propose_commits_records_and_references_together),
        T(propose_of_a_bad_record_stores_nothing),
        T(propose_hashed_checks_ids_not_digests),
        T(digest_left_behind_is_replaced_by_the_next_record),
        T(propose_on_a_follower_stores_no_record),
        T(propose_stores_each_record_with_its_digest),
        T(node_settles_commits_and_applies_what_propose_stores),
        T(node_does_not_count_another_record_under_the_same_id),
        T(propose_counts_only_the_exact_refs_it_put_as_present),
        T(record_proposed_then_deleted_is_absent),
        T(records_of_a_refused_propose_are_absent_afterwards),
        T(restarted_node_loads_term_vote_and_log),
        T_CLOSED(propose_grows_a_full_map),
        T(staged_entries_commit_with_the_sync_in_one_commit),
        T(crash_before_sync_loses_the_staged_entries),
        T(second_stage_before_sync_is_einval),
        T(durable_writes_while_staged_are_einval),
        T(sync_with_nothing_staged_commits_nothing),
        T_CLOSED(failed_sync_leaves_the_log_as_before_the_stage),
        T_CLOSED(stage_grows_a_full_map),
        T_CLOSED(sync_whose_commit_fills_the_map_grows_it),
        T_CLOSED(propose_whose_sync_fills_the_map_grows_it),
        T(propose_commits_records_and_references_at_the_sync),
        T(propose_that_stages_nothing_leaves_the_log_alone),
        T_CLOSED(failed_sync_of_a_propose_stores_nothing),
        T(receive_commits_records_and_entries_in_one_commit),
        T(receive_applies_what_it_appends_and_commits),
        T(receive_counts_only_the_exact_refs_it_put_as_present),
        T(receive_with_a_bad_record_delivers_the_message_alone),
        T(receive_of_entries_held_already_drops_the_records),
        T(receive_of_a_duplicate_that_commits_applies),
        T(receive_of_a_stale_term_stores_no_record),
        T(receive_refused_by_the_log_check_stores_no_record),
        T(receive_of_a_new_term_refused_stores_no_record),
        T(receive_of_a_request_vote_stores_no_record),
        T(receive_with_null_arguments_is_einval),
        T_CLOSED(receive_grows_a_full_map),
        T(void_is_stored_as_type_3_with_voided_in_the_size_slot),
        T(stored_void_with_an_id_or_bad_voided_index_is_ecorrupt),
        T(apply_accepts_void_and_abandoned_entries),
        T(abandoned_apply_in_a_failed_run_runs_again_abandoned),
        T(abandoned_apply_must_name_the_ref_the_log_holds),
        cmocka_unit_test_setup_teardown(abandoned_apply_under_enomem_is_clean,
                                        setup_open, restore_allocator),
        T_CLOSED(abandoned_applies_lost_by_a_commit_run_again_abandoned),
        T(fresh_store_has_no_records_lost),
        T(records_identity_is_in_meta_and_in_the_records),
        T(new_stores_keep_the_identity_first_older_ones_their_key),
        T(records_with_ids_in_order_fill_their_pages),
        T(wiped_records_are_lost_up_to_the_last_index),
        T(records_dropped_or_replaced_are_found_lost_at_open),
        T(clearing_records_lost_persists_across_reopen),
        T(records_lost_upto_never_falls_at_open),
        T(record_store_adapter_has_puts_removes_and_clears_lost),
        T(digest_is_stored_as_the_sha256_then_the_size),
        T(delete_removes_the_digest_with_the_record),
        T(wipe_removes_the_digests_with_the_records),
        T(record_without_a_digest_is_absent_until_put_again),
        T(store_without_record_digests_gets_it_and_counts_a_loss),
        T(config_entries_survive_reopen_with_identical_members),
        T(config_is_stored_compactly_and_moves_the_store_to_format_2),
        T(staged_config_moves_the_store_to_format_2_at_its_sync),
        T(config_with_bad_members_is_einval_and_writes_nothing),
        T(stored_config_cut_short_or_malformed_is_ecorrupt),
        T_CLOSED(staged_config_synced_after_map_growth_round_trips),
        T_CLOSED(config_in_a_stage_that_grows_the_map_round_trips),
        T_CLOSED(config_entries_apply_as_noops_and_run_again),
        cmocka_unit_test_setup_teardown(
            get_of_config_entries_under_enomem_leaves_out_untouched, setup_open,
            restore_allocator),
        T(node_keeps_its_configuration_across_a_restart),
        T(compact_drops_entries_and_keeps_the_base),
        T(compaction_commits_pending_applies),
        T(compaction_out_of_bounds_or_of_a_bad_meta_is_einval),
        T(compaction_survives_reopen),
        T(initial_configuration_keeps_the_members_given),
        T(first_base_moves_the_store_to_format_3),
        T(install_moves_a_format_2_store_to_format_3),
        T(base_is_stored_as_documented_and_needs_format_3),
        T(entries_or_applies_below_the_base_are_ecorrupt),
        T(truncate_and_get_below_first_index_are_refused),
        T(close_discard_after_compact_keeps_the_compaction),
        T(install_runs_the_hook_and_moves_the_indexes),
        T(failing_install_hook_leaves_everything_as_it_was),
        T(install_not_past_the_applied_index_is_einval),
        T(install_never_lowers_records_lost_upto),
        T_CLOSED(install_hook_that_fills_the_map_runs_again),
        T_CLOSED(compaction_that_fills_the_map_grows_it),
        T_CLOSED(compaction_from_inside_a_hook_is_einval),
        T(node_runs_on_a_compacted_store),
    };
    int failed = log_conformance_run(&refstore_backend);
    failed += cmocka_run_group_tests_name("refstore", tests, NULL, NULL);
    return failed;
}
