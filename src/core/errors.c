/* errors.c - refraft_strerror(), generated from REFRAFT_ERRNO_MAP. */
#include "refraft/refraft.h"

const char *refraft_strerror(int code)
{
    switch (code) {
#define REFRAFT_ERR_CASE_(name, num, msg)                                      \
    case num:                                                                  \
        return msg;
        REFRAFT_ERRNO_MAP(REFRAFT_ERR_CASE_)
#undef REFRAFT_ERR_CASE_
    default:
        return "unknown error";
    }
}
