/* mentions.h - does an error message say what went wrong? */
#ifndef REFRAFT_TESTS_MENTIONS_H
#define REFRAFT_TESTS_MENTIONS_H

/* Fail the test (cmocka) unless text contains word, ignoring case; the
 * failure quotes both.  STYLE.md: an error message names "the specific
 * cause", so tests check for the words that name it. */
void assert_mentions(const char *text, const char *word);

#endif /* REFRAFT_TESTS_MENTIONS_H */
