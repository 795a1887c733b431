/* args.c - the numeric options of refraft-bench's subcommands. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const bench_opt *find(const bench_opt *opts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

int bench_parse_opts(int argc, char **argv, const bench_opt *opts, size_t n)
{
    if (argc % 2 != 0)
        return -1;
    for (int i = 2; i + 1 < argc; i += 2) {
        const bench_opt *o = find(opts, n, argv[i]);
        char *end = NULL;
        double v = strtod(argv[i + 1], &end);
        if (o == NULL || end == argv[i + 1] || *end != '\0' || !(v >= o->min) ||
            !(v <= o->max))
            return -1;
        *o->value = v;
    }
    return 0;
}
