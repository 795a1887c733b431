/* map.c - the cluster map: node id -> URL, kept apart from Raft. */
#include <string.h>

#include "store.h"

/* Node ids are validated as the core validates them: 1..REFRAFT_ID_MAX
 * bytes.  *key gets the id without its NUL. */
static int node_key(refstore *store, const char *node_id, MDB_val *key)
{
    size_t len =
        node_id != NULL ? store_bounded_len(node_id, REFRAFT_ID_MAX) : 0;
    if (len == 0 || len > REFRAFT_ID_MAX)
        return store_errorf(store, REFRAFT_EINVAL,
                            "node id must be 1..%d bytes", REFRAFT_ID_MAX);
    key->mv_size = len;
    key->mv_data = (void *)node_id;
    return 0;
}

typedef struct set_arg {
    MDB_val key;
    MDB_val url;
} set_arg;

static int set_op(refstore *store, MDB_txn *txn, void *arg)
{
    set_arg *a = arg;
    int rc = mdb_put(txn, store->db_map, &a->key, &a->url, 0);
    return rc == 0 ? 0 : store_mdb_error(store, rc, "writing the map");
}

int refstore_map_set(refstore *store, const char *node_id, const char *url)
{
    set_arg a;
    int rv = store_enter(store);
    if (rv == 0)
        rv = node_key(store, node_id, &a.key);
    if (rv != 0)
        return rv;
    size_t len = url != NULL ? store_bounded_len(url, MAP_URL_MAX) : 0;
    if (len == 0 || len > MAP_URL_MAX)
        return store_errorf(store, REFRAFT_EINVAL, "URL must be 1..%d bytes",
                            MAP_URL_MAX);
    a.url.mv_size = len;
    a.url.mv_data = (void *)url;
    return txn_durable(store, set_op, &a);
}

typedef struct get_arg {
    MDB_val key;
    char *url;
    size_t cap;
} get_arg;

static int get_op(refstore *store, MDB_txn *txn, void *arg)
{
    get_arg *a = arg;
    MDB_val v;
    int rc = mdb_get(txn, store->db_map, &a->key, &v);
    if (rc == MDB_NOTFOUND)
        return store_errorf(store, REFRAFT_ENOTFOUND,
                            "node \"%.*s\" is not in the map",
                            (int)a->key.mv_size, (const char *)a->key.mv_data);
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the map");
    if (v.mv_size >= a->cap)
        return store_errorf(store, REFRAFT_ETOOBIG,
                            "the URL needs %zu bytes with its NUL; the "
                            "buffer has %zu",
                            v.mv_size + 1, a->cap);
    memcpy(a->url, v.mv_data, v.mv_size);
    a->url[v.mv_size] = '\0';
    return 0;
}

int refstore_map_get(refstore *store, const char *node_id, char *url,
                     size_t cap)
{
    get_arg a = {.url = url, .cap = cap};
    int rv = store_enter(store);
    if (rv == 0)
        rv = node_key(store, node_id, &a.key);
    if (rv == 0 && url == NULL)
        rv = store_errorf(store, REFRAFT_EINVAL, "url is NULL");
    if (rv != 0)
        return rv;
    return txn_read(store, get_op, &a);
}

static int delete_op(refstore *store, MDB_txn *txn, void *arg)
{
    MDB_val *key = arg;
    int rc = mdb_del(txn, store->db_map, key, NULL);
    if (rc == MDB_NOTFOUND)
        return store_errorf(store, REFRAFT_ENOTFOUND,
                            "node \"%.*s\" is not in the map",
                            (int)key->mv_size, (const char *)key->mv_data);
    return rc == 0 ? 0 : store_mdb_error(store, rc, "writing the map");
}

int refstore_map_delete(refstore *store, const char *node_id)
{
    MDB_val key;
    int rv = store_enter(store);
    if (rv == 0)
        rv = node_key(store, node_id, &key);
    if (rv != 0)
        return rv;
    return txn_durable(store, delete_op, &key);
}

typedef struct list_arg {
    int (*fn)(void *ctx, const char *node_id, const char *url);
    void *ctx;
} list_arg;

/* Hand one stored pair to fn as C strings; a malformed pair is
 * corruption (set and delete never write one). */
static int
list_one(refstore *store, const list_arg *a, const MDB_val *k, const MDB_val *v)
{
    char id[REFRAFT_ID_MAX + 1], url[MAP_URL_MAX + 1];
    if (k->mv_size == 0 || k->mv_size > REFRAFT_ID_MAX || v->mv_size == 0 ||
        v->mv_size > MAP_URL_MAX)
        return store_errorf(store, REFRAFT_ECORRUPT,
                            "store %s: the map holds a malformed entry",
                            store->path);
    memcpy(id, k->mv_data, k->mv_size);
    id[k->mv_size] = '\0';
    memcpy(url, v->mv_data, v->mv_size);
    url[v->mv_size] = '\0';
    store->in_callback = true;
    int rv = a->fn(a->ctx, id, url);
    store->in_callback = false;
    return rv;
}

static int list_op(refstore *store, MDB_txn *txn, void *arg)
{
    const list_arg *a = arg;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, store->db_map, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the map");
    int rv = 0;
    MDB_cursor_op op = MDB_FIRST;
    while (rv == 0 && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        rv = list_one(store, a, &k, &v);
        op = MDB_NEXT;
    }
    mdb_cursor_close(cur);
    if (rv != 0)
        return rv;
    return rc == MDB_NOTFOUND ? 0
                              : store_mdb_error(store, rc, "reading the map");
}

int refstore_map_list(refstore *store,
                      int (*fn)(void *ctx, const char *node_id,
                                const char *url),
                      void *ctx)
{
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (fn == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "fn is NULL");
    list_arg a = {fn, ctx};
    return txn_read(store, list_op, &a);
}
