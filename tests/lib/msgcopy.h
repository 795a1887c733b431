/* msgcopy.h - deep copies of refraft messages into one flat buffer. */
#ifndef REFRAFT_TESTS_MSGCOPY_H
#define REFRAFT_TESTS_MSGCOPY_H

#include <stddef.h>

#include "refraft/refraft.h"

/*
 * A message handed to the hull's send() or to a reply callback is valid only
 * during that call.  A simulated network (or the benchmark's queue) keeps it
 * longer, so it copies the message, its entries (with the members of
 * CONFIG entries), an InstallSnapshot's refs and meta members, the bytes
 * of each ref id and its node id string.  Packing all of that into one buffer
 * costs one allocation per message (none when the caller reuses buffers) and
 * frees with one free().
 */

/* Bytes msgcopy_pack() needs for msg. */
size_t msgcopy_size(const refraft_msg *msg);

/* Copy msg into buf, which holds msgcopy_size(msg) bytes and is aligned for
 * any object (malloc'ed memory is).  Returns the copy, at the start of buf;
 * every pointer inside it points into buf. */
refraft_msg *msgcopy_pack(const refraft_msg *msg, void *buf);

/* The node id a message carries (leader_id, follower_id, candidate_id or
 * voter_id): the sender of a request, the responder of a result.  NULL for
 * an unknown message type. */
const char *msgcopy_sender(const refraft_msg *msg);

#endif /* REFRAFT_TESTS_MSGCOPY_H */
