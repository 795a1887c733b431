/* jsonget.h - read single values out of the node's JSON answers. */
#ifndef REFRAFT_CLI_JSONGET_H
#define REFRAFT_CLI_JSONGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The node's answers are small JSON objects ({"id":"...","index":3} and
 * the status object with its "sweeper" member); the CLI needs a few
 * values out of them, not a document model.  A path names a member of
 * the top-level object, or of an object inside it with a dot:
 * "sweeper.fetched".  The text need not be NUL-terminated.
 *
 * cli_json_str copies a string value, unescaped (\uXXXX above 0x7f
 * becomes '?'), into out (cap bytes, NUL-terminated); false when the
 * member is missing, not a string, the text is malformed or the value does
 * not fit.  cli_json_u64 reads a non-negative integer value; false when
 * the member is missing or not such a number.
 */
bool cli_json_str(const char *json, size_t len, const char *path, char *out,
                  size_t cap);
bool cli_json_u64(const char *json, size_t len, const char *path,
                  uint64_t *out);

#endif /* REFRAFT_CLI_JSONGET_H */
