/* embed.c - the smallest embedding of refraft: one node, an in-memory log. */
#include <stdio.h>
#include <string.h>

#include <refraft/memlog.h>
#include <refraft/refraft.h>

#define N_REFS 3
#define MAX_STEPS 100 /* give up after this many ticks of each phase */

/* Hull state: a clock the program advances itself, and what was applied. */
struct app {
    uint64_t now_ms;
    unsigned applied;
};

static int send_msg(void *ctx, const char *to_id, const refraft_msg *msg)
{
    (void)ctx, (void)to_id, (void)msg;
    return 0; /* a one-node cluster has no one to talk to */
}

static uint64_t now_ms(void *ctx)
{
    return ((struct app *)ctx)->now_ms;
}

static uint64_t random_bits(void *ctx)
{
    static uint64_t x = 0x9e3779b97f4a7c15u; /* xorshift64 */
    (void)ctx;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
}

/* Called once per committed entry, in log order, no-ops included. */
static int apply(void *ctx, refraft_index index, const refraft_entry *e)
{
    if (e->type != REFRAFT_ENTRY_REF)
        return 0;
    ((struct app *)ctx)->applied++;
    printf("applied #%llu: %.*s (%llu bytes)\n", (unsigned long long)index,
           (int)e->ref.id_len, (const char *)e->ref.id,
           (unsigned long long)e->ref.size);
    return 0;
}

/* Jump the clock to the node's next deadline and let it do that work. */
static int step(refraft_node *node, struct app *app)
{
    uint64_t deadline = refraft_next_deadline(node);
    if (deadline > app->now_ms)
        app->now_ms = deadline;
    return refraft_tick(node);
}

/* Elect, propose a batch of references, tick until it is applied. */
static int run(refraft_node *node, struct app *app)
{
    static const char *ids[N_REFS] = {"invoice-17", "invoice-18", "invoice-19"};
    refraft_ref refs[N_REFS];
    refraft_index first;
    int rv = 0, steps = 0;

    /* Alone, the node elects itself at its first election timeout. */
    while (rv == 0 && refraft_role(node) != REFRAFT_LEADER &&
           steps++ < MAX_STEPS)
        rv = step(node, app);
    for (int i = 0; i < N_REFS; i++) {
        refs[i] = (refraft_ref){.id = (const uint8_t *)ids[i],
                                .id_len = (uint16_t)strlen(ids[i]),
                                .size = 1000u + (unsigned)i};
        memset(refs[i].digest, 0xa0 + i, REFRAFT_DIGEST_LEN); /* made up */
    }
    if (rv == 0)
        rv = refraft_propose(node, refs, N_REFS, &first);
    /* The batch is uncommitted until a majority (here: this node) holds it;
     * committed entries are applied from inside refraft_* calls. */
    for (steps = 0; rv == 0 && app->applied < N_REFS && steps < MAX_STEPS;
         steps++)
        rv = step(node, app);
    return rv;
}

int main(void)
{
    struct app app = {0};
    refraft_hull hull = {.version = REFRAFT_HULL_VERSION,
                         .ctx = &app,
                         .send = send_msg,
                         .now_ms = now_ms,
                         .random = random_bits,
                         .apply = apply};
    refraft_config config = {.id = "node-1"}; /* no peers */
    refraft_memlog *mem;
    refraft_log_api log;
    refraft_node *node;
    char err[REFRAFT_ERRMSG_LEN];

    if (refraft_memlog_create(&mem) != 0)
        return 1;
    refraft_memlog_api(mem, &log);
    if (refraft_node_create(&config, &hull, &log, &node, err, sizeof err)) {
        fprintf(stderr, "refraft_node_create: %s\n", err);
        refraft_memlog_destroy(mem);
        return 1;
    }
    int rv = run(node, &app);
    if (rv != 0)
        fprintf(stderr, "refraft: %s: %s\n", refraft_strerror(rv),
                refraft_errmsg(node));
    else if (app.applied != N_REFS)
        fprintf(stderr, "only %u of %d references applied\n", app.applied,
                N_REFS);
    refraft_node_destroy(node);
    refraft_memlog_destroy(mem);
    return rv == 0 && app.applied == N_REFS ? 0 : 1;
}
