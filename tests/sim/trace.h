/* trace.h - the --verbose log of a run, stamped with virtual time. */
#ifndef REFRAFT_SIM_TRACE_H
#define REFRAFT_SIM_TRACE_H

#include <stdint.h>

#include "refraft/refraft.h"

void trace_msg(uint64_t now, int from, int to, const refraft_msg *msg);
void trace_event(uint64_t now, int node, const refraft_event *ev);
/* The configuration node rn goes by, after its CONFIG event. */
void trace_config(uint64_t now, int node, const refraft_node *rn);
void trace_note(uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* REFRAFT_SIM_TRACE_H */
