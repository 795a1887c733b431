/* liveness.c - after a heal, a leader and a new commit, in bounded time. */
#include <string.h>

#include "liveness.h"

typedef unsigned long long ull;

void liveness_init(liveness *l)
{
    memset(l, 0, sizeof(*l));
    l->leader = -1;
}

void liveness_start(liveness *l, const char *name, const char *what,
                    uint64_t now, uint64_t bound, uint64_t first_seq)
{
    l->waiting = true;
    l->name = name;
    l->what = what;
    l->heal_time = now;
    l->deadline = now + bound;
    l->first_seq = first_seq;
    l->leader = -1;
}

void liveness_step(liveness *l, int leader, uint64_t now, checker *c)
{
    if (!l->waiting)
        return;
    if (c->max_committed_seq >= l->first_seq) {
        l->waiting = false;
        l->passed++;
        return;
    }
    if (l->leader < 0 && leader >= 0) {
        l->leader = leader;
        l->leader_time = now;
    }
    if (now <= l->deadline)
        return;
    if (l->leader < 0) {
        check_fail(
            c, l->name, "no leader elected within %llu ms after %s at t=%llu",
            (ull)(l->deadline - l->heal_time), l->what, (ull)l->heal_time);
    } else {
        check_fail(c, l->name,
                   "n%d led from t=%llu, but no proposal made after %s at "
                   "t=%llu committed within %llu ms",
                   l->leader + 1, (ull)l->leader_time, l->what,
                   (ull)l->heal_time, (ull)(l->deadline - l->heal_time));
    }
    l->waiting = false;
}
