/* check.h - a tiny assertion kit for callscope unit tests.
 *
 * No framework: each test file has its own main() that calls its cases and
 * returns check_finish(). A failed check prints
 *   file:line: CHECK failed: expr (got X, want Y)
 * and the test goes on, so one run shows every failure; the exit status is
 * non-zero when any check failed.
 */
#ifndef CALLSCOPE_UNIT_CHECK_H
#define CALLSCOPE_UNIT_CHECK_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(cond)) {                                                                             \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        check_count++;                                                                             \
        if (check_a_ != check_b_) {                                                                \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (got %lld, want %lld)\n", __FILE__,     \
                    __LINE__, #a, #b, check_a_, check_b_);                                         \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_UINT(a, b)                                                                        \
    do {                                                                                           \
        unsigned long long check_a_ = (unsigned long long)(a), check_b_ = (unsigned long long)(b); \
        check_count++;                                                                             \
        if (check_a_ != check_b_) {                                                                \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (got %llu, want %llu)\n", __FILE__,     \
                    __LINE__, #a, #b, check_a_, check_b_);                                         \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(a, b, eps)                                                                      \
    do {                                                                                           \
        double check_a_ = (double)(a), check_b_ = (double)(b);                                     \
        check_count++;                                                                             \
        if (!(fabs(check_a_ - check_b_) <= (double)(eps))) {                                       \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s ~ %s (got %.9g, want %.9g +- %g)\n",          \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_, (double)(eps));                \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        check_count++;                                                                             \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                           \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s eq %s (got \"%s\", want \"%s\")\n", __FILE__, \
                    __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",                              \
                    check_b_ ? check_b_ : "(null)");                                               \
        }                                                                                          \
    } while (0)

/* Runs one case function, naming it when it added failures. */
#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int check_before_ = check_failures;                                                        \
        fn();                                                                                      \
        if (check_failures != check_before_)                                                       \
            fprintf(stderr, "  in %s\n", #fn);                                                     \
    } while (0)

static inline int check_finish(const char *name)
{
    fprintf(check_failures ? stderr : stdout, "%s: %d checks, %d failed\n", name, check_count,
            check_failures);
    return check_failures ? 1 : 0;
}

#endif
