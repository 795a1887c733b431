/* internal.h - what the wire codec's files share: the arena unpacked
 * bodies live in, strict unpacking and the field checks. */
#ifndef REFRAFT_WIRE_INTERNAL_H
#define REFRAFT_WIRE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "refraft.pb-c.h"
#include "refraft/wire.h"

/* Where a check writes why it refused.  buf is NULL when nobody reads
 * the reason (the encoders, which only return REFRAFT_EINVAL). */
typedef struct wire_err {
    char *buf;
    size_t len;
} wire_err;

/* "<name> <index>" in buf (len bytes), the place a check names in its
 * message ("entry 3"); returns buf.  What snprintf would write, without
 * its cost: the decoder labels every entry and record it checks, and
 * snprintf's took a twentieth of a follower's time. */
const char *wire_label(char *buf, size_t len, const char *name, size_t index);
/* Write the reason into err (when it has a buffer); returns
 * REFRAFT_EBADMSG. */
int wire_bad(wire_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * What an unpacked message lives in.  protobuf-c allocates every Entry,
 * Ref and Record of a body, and a copy of every bytes field, on its own;
 * one malloc and one free each cost a follower about a tenth of its CPU.
 * The arena hands those out of a few large chunks (from the library's
 * allocator) and frees them together; an allocation of 64 KiB or more
 * gets a block of its own, which protobuf-c may free early.  It also
 * keeps the budget: what protobuf-c asks for in one decode, freed or
 * not, comes to at most WIRE_DECODE_FACTOR bytes per body byte (plus
 * 64 KiB; the chunks holding it to at most twice that), so a small body
 * cannot make the decoder allocate a lot.
 */
#define WIRE_DECODE_FACTOR 32u
typedef struct wire_chunk wire_chunk;
typedef struct wire_arena {
    wire_chunk *chunks; /* newest first; NULL when empty */
    wire_chunk *big;    /* allocations with a block of their own */
    size_t left;        /* of the budget */
    size_t next_size;   /* the next chunk's size, at least */
    bool oom;           /* an allocation failed: out of memory */
    bool over;          /* an allocation failed: over the budget */
} wire_arena;

/* Set a up empty, with budget bytes to hand out, the first chunk of
 * first_chunk bytes (at most 4 MiB; later ones double); returns the
 * allocator that hands them to protobuf-c (its free gives back only a
 * block of its own; the rest goes with the arena). */
ProtobufCAllocator
wire_arena_start(wire_arena *a, size_t budget, size_t first_chunk);
/* Free every chunk of a, keeping a few for later decodes (arena.c), and
 * leave a empty (an empty arena is fine). */
void wire_arena_free(wire_arena *a);

/*
 * Unpack len bytes as a desc message, strictly: the body must be at most
 * REFRAFT_WIRE_MAX_BODY, valid protobuf, free of fields the schema does
 * not define, and exactly as long as its fields (no field given twice,
 * no padded number).  The message lives in *arena (set up here; the
 * caller's arena is not read): on success *out gets the message, which
 * lasts until wire_arena_free(arena).  On failure the arena is left
 * empty.  REFRAFT_EBADMSG or REFRAFT_ENOMEM.
 */
int wire_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                size_t len, wire_arena *arena, ProtobufCMessage **out,
                wire_err *err);

/* The head of what a decoded body's priv holds: the arena of the
 * unpacked protobuf (record ids and bytes point into it) and the
 * sender's node id as a C string.  The body's entries or records follow
 * it in the same allocation. */
typedef struct wire_store {
    wire_arena arena;
    char sender_id[REFRAFT_ID_MAX + 1];
} wire_store;

/* Free the arena s holds, and s. */
void wire_store_free(wire_store *s);

/* Give s the arena (moving it: *arena is left empty). */
void wire_store_keep(wire_store *s, wire_arena *arena);

/* Turns a strictly unpacked body into the caller's out (a
 * refraft_wire_msg, refraft_wire_records or a fetch request or
 * response).  On success the store in out has taken the arena
 * (wire_store_keep; the caller's free function frees it); on failure out
 * is untouched and the arena still belongs to wire_decode().  0,
 * REFRAFT_EBADMSG or REFRAFT_ENOMEM. */
typedef int (*wire_convert_fn)(ProtobufCMessage *pb, wire_arena *arena,
                               void *out, wire_err *err);

/*
 * What every refraft_wire_decode_*() does: refuse a missing out, or data
 * NULL with len > 0 (REFRAFT_EINVAL); unpack len bytes as a desc message
 * (wire_unpack); and hand it to convert.  On failure the unpacked
 * message is freed, out is untouched and err says why ("out of memory"
 * for REFRAFT_ENOMEM).
 */
int wire_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                size_t len, void *out, wire_convert_fn convert, wire_err *err);

/* Refuse m when one of its optional scalar or bytes fields is absent
 * ("<where>: missing <field>").  Sub-messages, repeated fields and oneofs
 * are the caller's business. */
int wire_check_present(const ProtobufCMessage *m, const char *where,
                       wire_err *err);

/* Mark every field wire_check_present() asks for as present: the
 * encoders write each body with all its fields. */
void wire_set_present(ProtobufCMessage *m);

/* A node id of len bytes: 1..REFRAFT_ID_MAX, no NUL. */
int wire_check_node_id(const uint8_t *id, size_t len, const char *what,
                       wire_err *err);
/* The same for a C string (the encoders' side); NULL is refused. */
int wire_check_node_id_str(const char *id, const char *what, wire_err *err);
/* Copy a checked node id into dst (REFRAFT_ID_MAX + 1 bytes) with its
 * NUL. */
void wire_copy_node_id(char *dst, const ProtobufCBinaryData *id);

/* A term: at most REFRAFT_TERM_MAX, and at least 1 unless zero_ok. */
int wire_check_term(uint64_t term, bool zero_ok, const char *what,
                    wire_err *err);

/* A reference as the core holds it: an id of 1..REFRAFT_RECORD_ID_MAX
 * bytes. */
int wire_check_ref(const refraft_ref *ref, const char *where, wire_err *err);
/* A reference off the wire: id, size and digest present, the id
 * 1..REFRAFT_RECORD_ID_MAX bytes, the digest REFRAFT_DIGEST_LEN bytes.
 * On success *out points into pb (its id) and copies the rest. */
int wire_ref_from_pb(const Refraft__Ref *pb, refraft_ref *out,
                     const char *where, wire_err *err);
/* Fill pb from ref; pb points into ref (its id and digest). */
void wire_ref_to_pb(const refraft_ref *ref, Refraft__Ref *pb);

/* A node id (or any C string) as protobuf bytes; they point into id
 * (packing only reads them). */
ProtobufCBinaryData wire_id_bytes(const char *id);

/* members.c: the n members at m as protobuf, into pm and their pointers
 * into pp; pm points into m's strings (a NULL address goes as ""). */
void wire_members_to_pb(const refraft_member *m, size_t n, Refraft__Member *pm,
                        Refraft__Member **pp);
/* The bytes the strings of n members off the wire take as C strings. */
size_t wire_members_string_bytes(Refraft__Member *const *pb, size_t n);
/* n members off the wire into out: each with all its fields, an id as
 * wire_check_node_id() wants it and an address of at most
 * REFRAFT_ADDRESS_MAX bytes without NUL ("<where> member <k>: ...").
 * Their strings are copied to the cursor *strings, which advances (room
 * for wire_members_string_bytes()).  The rules of a configuration (how
 * many, distinct ids, a voter) are refraft_check_members()'s. */
int wire_members_from_pb(Refraft__Member *const *pb, size_t n,
                         const char *where, refraft_member *out, char **strings,
                         wire_err *err);

/*
 * snapshot.c: InstallSnapshot and its result.  check_* refuse what the
 * decoder refuses that the structs can express (after the term and id,
 * which msg.c checks for every message).  to_pb fills pb, pointing into
 * the message; *scratch gets what to free (NULL when nothing), and
 * REFRAFT_ENOMEM leaves nothing to free.  from_pb turns a present,
 * checked-id body into the struct, refusing what only the wire can say
 * (a ref's missing field, a member's); the refs go to room->refs
 * (pb->n_refs of them), the members to room->members and their strings
 * to the cursor room->strings.
 */
typedef struct wire_snapshot_room {
    refraft_snapshot_ref *refs;
    refraft_member *members;
    char *strings;
} wire_snapshot_room;

int wire_check_install_snapshot(const refraft_install_snapshot *is,
                                wire_err *err);
int wire_check_install_snapshot_result(const refraft_install_snapshot_result *r,
                                       wire_err *err);
int wire_install_snapshot_to_pb(const refraft_install_snapshot *is,
                                Refraft__InstallSnapshot *pb, void **scratch);
void wire_install_snapshot_result_to_pb(
    const refraft_install_snapshot_result *r,
    Refraft__InstallSnapshotResult *pb);
int wire_install_snapshot_from_pb(const Refraft__InstallSnapshot *pb,
                                  const char *leader_id,
                                  wire_snapshot_room *room,
                                  refraft_install_snapshot *out, wire_err *err);
void wire_install_snapshot_result_from_pb(
    const Refraft__InstallSnapshotResult *pb, const char *follower_id,
    refraft_install_snapshot_result *out);

/* Pack m into a buffer from the library's allocator.  REFRAFT_EINVAL
 * when it would be over REFRAFT_WIRE_MAX_BODY, REFRAFT_ENOMEM. */
int wire_pack(const ProtobufCMessage *m, refraft_wire_buf *out);

#endif /* REFRAFT_WIRE_INTERNAL_H */
