/* check.h - the few macros every test program uses. A failed CHECK prints the file,
 * line and expression and marks the test failed; the program goes on so one run shows
 * every failure. End main() with `return av_check_summary(name);`. */
#ifndef AV_TESTS_CHECK_H
#define AV_TESTS_CHECK_H
#include <math.h>
#include <stdio.h>

static int av_check_failures = 0;
static int av_check_count = 0;

#define CHECK(cond) do { av_check_count++; if (!(cond)) { av_check_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { av_check_count++; if (!(cond)) { av_check_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_NEAR(a, b, tol) CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), \
    "%g vs %g (tol %g)", (double)(a), (double)(b), (double)(tol))

/* Exit code 77 tells ctest the test was skipped (SKIP_RETURN_CODE). */
#define AV_SKIP(...) do { printf("SKIP: "); printf(__VA_ARGS__); printf("\n"); return 77; } while (0)

static inline int av_check_summary(const char *name) {
    printf("%s: %d checks, %d failed\n", name, av_check_count, av_check_failures);
    return av_check_failures ? 1 : 0;
}
#endif
