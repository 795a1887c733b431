/* mentions.c - does an error message say what went wrong? */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "mentions.h"

/* Case-insensitive: does text mention word? */
static bool mentions(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; *p != '\0'; p++) {
        size_t k = 0;
        while (k < n && p[k] != '\0' &&
               tolower((unsigned char)p[k]) == tolower((unsigned char)word[k]))
            k++;
        if (k == n)
            return true;
    }
    return false;
}

void assert_mentions(const char *text, const char *word)
{
    if (!mentions(text, word))
        fail_msg("message \"%s\" does not mention \"%s\"", text, word);
}
