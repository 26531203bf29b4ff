/* The tiny test harness the C test programs share: CHECK prints "ok - ..." or "not ok - ..."
 * (tests/capi.rs counts them) and counts failures. */
#ifndef CLASSREC_TEST_CHECK_H
#define CLASSREC_TEST_CHECK_H

#include <stdio.h>
#include <time.h>

#include "classrec.h"

static int failures = 0;

#define CHECK(cond, what)                                                                          \
  do {                                                                                             \
    if (cond) {                                                                                    \
      printf("ok - %s\n", what);                                                                   \
    } else {                                                                                       \
      printf("not ok - %s (%s:%d)\n", what, __FILE__, __LINE__);                                   \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

#define CHECK_RESULT(call, expected, what)                                                         \
  do {                                                                                             \
    classrec_result got_ = (call);                                                                 \
    if (got_ != (expected)) {                                                                      \
      printf("#   got %u (%s), expected %u\n", (unsigned)got_, classrec_result_name(got_),         \
             (unsigned)(expected));                                                                \
    }                                                                                              \
    CHECK(got_ == (expected), what);                                                               \
  } while (0)

static inline void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

static inline double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* The end of main: prints the summary tests/capi.rs looks for; the exit code. */
static inline int checks_done(void) {
  printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}

#endif
