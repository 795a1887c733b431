/* liveness.c - after a heal, a leader and a new commit, in bounded time. */
#include <string.h>

#include "liveness.h"

typedef unsigned long long ull;

void liveness_init(liveness *l)
{
    memset(l, 0, sizeof(*l));
    l->leader = -1;
}

void liveness_start(liveness *l, uint64_t now, uint64_t bound,
                    uint64_t first_seq)
{
    l->waiting = true;
    l->heal_time = now;
    l->deadline = now + bound;
    l->first_seq = first_seq;
    l->leader = -1;
}

void liveness_on_apply(liveness *l, bool is_leader, uint64_t seq)
{
    if (!l->waiting || !is_leader || seq < l->first_seq)
        return;
    l->waiting = false;
    l->passed++;
}

void liveness_step(liveness *l, int leader, uint64_t now, checker *c)
{
    if (!l->waiting)
        return;
    if (l->leader < 0 && leader >= 0) {
        l->leader = leader;
        l->leader_time = now;
    }
    if (now <= l->deadline)
        return;
    if (l->leader < 0) {
        check_fail(c, "Liveness",
                   "no leader elected within %llu ms after the heal at "
                   "t=%llu",
                   (ull)(l->deadline - l->heal_time), (ull)l->heal_time);
    } else {
        check_fail(c, "Liveness",
                   "n%d led from t=%llu, but no proposal made after the "
                   "heal at t=%llu committed within %llu ms",
                   l->leader + 1, (ull)l->leader_time, (ull)l->heal_time,
                   (ull)(l->deadline - l->heal_time));
    }
    l->waiting = false;
}
