/* What a hostile (or merely careless) caller found (issue 16), each hole checked through the ABI:
 * sizes that wrap, configurations that should be refused, timestamps far ahead, inconsistent
 * misuse results, waiting from the event callback, and free with a slow callback. Run under
 * AddressSanitizer by tests/capi.rs, which also probes the files it prints (`path=`).
 *
 * Usage: hostile <scratch folder>
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep, clock_gettime */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"

/* No message a C caller reads names a Rust type. */
static int names_rust_types(const char *text) {
  return strstr(text, "Recorder") != NULL || strstr(text, "Uploader") != NULL || strstr(text, "::") != NULL;
}

static classrec_result start(const char *json, classrec_recorder **rec, char *error, size_t len) {
  return classrec_recorder_start(json, NULL, NULL, NULL, rec, error, len);
}

/* A recorder that must start, its configuration formatted from `format` (NULL, with the reason
 * printed, if it does not start). */
static classrec_recorder *started(classrec_event_callback on_event, void *user_data, const char *what,
                                  const char *format, ...) {
  char json[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(json, sizeof json, format, args);
  va_end(args);
  char error[512];
  classrec_recorder *rec = NULL;
  CHECK_RESULT(classrec_recorder_start(json, on_event, user_data, NULL, &rec, error, sizeof error), CLASSREC_RESULT_OK,
               what);
  if (rec == NULL) {
    printf("#   %s\n", error);
  }
  return rec;
}

static void configurations(const char *dir) {
  char error[512];
  char json[1024];
  classrec_recorder *rec = NULL;
  snprintf(json, sizeof json, "{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"%s/wrap\", \"size\": [4294967295, 720]}",
           dir);
  CHECK_RESULT(start(json, &rec, error, sizeof error), CLASSREC_RESULT_INVALID_CONFIG,
               "size [4294967295, 720] is INVALID_CONFIG (rounding to even does not wrap)");
  snprintf(json, sizeof json, "{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"%s/wrap\", \"size\": [720, 4294967295]}",
           dir);
  CHECK_RESULT(start(json, &rec, error, sizeof error), CLASSREC_RESULT_INVALID_CONFIG, "size [720, 4294967295] too");
  snprintf(json, sizeof json,
           "{\"source\": {\"kind\": \"synthetic\", \"size\": [4294967295, 720]}, \"out_dir\": \"%s/wrap\", \"size\": [320, 240]}",
           dir);
  CHECK_RESULT(start(json, &rec, error, sizeof error), CLASSREC_RESULT_INVALID_CONFIG, "a synthetic size that wraps too");
  CHECK_RESULT(start("[]", &rec, error, sizeof error), CLASSREC_RESULT_INVALID_JSON, "[] is INVALID_JSON");
  CHECK(strstr(error, "object") != NULL, "... and says a JSON object is expected");
  CHECK_RESULT(start("{\"source\": [\"pushed\"]}", &rec, error, sizeof error), CLASSREC_RESULT_INVALID_JSON,
               "a positional array for `source` is INVALID_JSON");
  CHECK_RESULT(start("{\"source\": {\"kind\": \"pushed\", \"widht\": 640}}", &rec, error, sizeof error),
               CLASSREC_RESULT_INVALID_JSON, "an unknown field inside a pushed source is INVALID_JSON");
  CHECK(strstr(error, "widht") != NULL, "... and names it");
  CHECK_RESULT(start("{\"source\": {\"kind\": \"pushed\"}, \"audio\": {\"source\": {\"kind\": \"pushed\", \"rate\": 1}}}",
                     &rec, error, sizeof error),
               CLASSREC_RESULT_INVALID_JSON, "an unknown field inside a pushed sound source is INVALID_JSON");
  CHECK_RESULT(start("{}", &rec, error, sizeof error), CLASSREC_RESULT_INVALID_CONFIG,
               "{} is INVALID_CONFIG: the source must be named");
  CHECK(strstr(error, "source") != NULL && !names_rust_types(error), "... says so without naming Rust types");
  CHECK_RESULT(start("{\"fsp\": 1}", &rec, error, sizeof error), CLASSREC_RESULT_INVALID_JSON, "a typo");
  CHECK(!names_rust_types(error), "... its message names no Rust type");
  CHECK_RESULT(start("{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"/proc/classrec-no\"}", &rec, error, sizeof error),
               CLASSREC_RESULT_UNWRITABLE, "an unwritable folder");
  CHECK(!names_rust_types(error), "... its message names no Rust type");
  CHECK(rec == NULL, "no recorder was made");
}

/* One frame an hour ahead, and one at INT64_MAX, between frames stamped as a client would. */
static void timestamps(const char *dir) {
  classrec_recorder *rec = started(NULL, NULL, "a pushed recorder starts",
                                   "{\"source\": {\"kind\": \"pushed\"}, \"audio\": {\"source\": {\"kind\": \"pushed\"}}, \"out_dir\": "
                                   "\"%s/stamps\", \"size\": [320, 240], \"fps\": 15}",
                                   dir);
  if (rec == NULL) {
    return;
  }
  enum { W = 320, H = 240 };
  uint8_t *frame = calloc((size_t)W * H * 4, 1);
  static int16_t pcm[480];
  double t0 = now_ms();
  for (int i = 0; i < 45; i++) {
    memset(frame, i * 5, (size_t)W * H * 4);
    int64_t ts = (int64_t)i * 1000000 / 15;
    if (i == 10) {
      ts = 3600LL * 1000000; /* an hour ahead */
    } else if (i == 20) {
      ts = INT64_MAX;
    }
    long wait = (long)((double)i * 1000.0 / 15.0 - (now_ms() - t0)); /* in real time */
    if (wait > 0) {
      sleep_ms(wait);
    }
    CHECK_RESULT(classrec_recorder_push_frame(rec, frame, W, H, W * 4, ts), CLASSREC_RESULT_OK, "a frame is taken");
    int64_t audio_ts = i == 30 ? INT64_MAX : -1;
    CHECK_RESULT(classrec_recorder_push_audio(rec, pcm, 480, 48000, 1, CLASSREC_SAMPLE_FORMAT_S16, audio_ts),
                 CLASSREC_RESULT_OK, "sound is taken");
  }
  classrec_recording recording = {.struct_size = sizeof recording};
  CHECK_RESULT(classrec_recorder_stop(rec, &recording), CLASSREC_RESULT_OK, "stop");
  classrec_stats stats = {.struct_size = sizeof stats};
  CHECK_RESULT(classrec_recorder_stats(rec, &stats), CLASSREC_RESULT_OK, "stats after stop");
  printf("path=%s\n", recording.path);
  printf("duration_ms=%llu\n", (unsigned long long)recording.duration_ms);
  CHECK(recording.stop_reason == CLASSREC_STOP_REASON_REQUESTED, "... stopped as requested, nothing failed");
  CHECK(recording.duration_ms < 5000, "... the file is about 3 s long, not an hour or 292,000 years");
  CHECK(stats.frames_retimed == 2, "... two frames were retimed to now");
  CHECK(stats.audio_pushes_retimed == 1, "... one sound push was retimed to now");
  CHECK(stats.frames_encoded + stats.frames_skipped >= 40,
        "... and the frames after them were recorded, not dropped");
  classrec_recorder_free(rec);
  free(frame);
}

/* The misuse answers agree with each other. */
struct waiter {
  _Atomic(classrec_recorder *) recorder;
  atomic_int result;
  atomic_int took_ms;
};

static void wait_inside_callback(void *user_data, const classrec_event *event) {
  struct waiter *w = user_data;
  classrec_recorder *rec = atomic_load(&w->recorder);
  if (event->kind == CLASSREC_EVENT_KIND_STOPPED && rec != NULL && atomic_load(&w->result) < 0) {
    double t = now_ms();
    atomic_store(&w->result, (int)classrec_recorder_wait_upload(rec, 3000));
    atomic_store(&w->took_ms, (int)(now_ms() - t));
  }
}

static void misuse(const char *dir) {
  char error[512];
  char json[768];
  char text[512];
  classrec_recorder *rec = started(NULL, NULL, "a recorder without upload",
                                   "{\"source\": {\"kind\": \"synthetic\", \"fast\": true, \"frames\": 10}, \"out_dir\": \"%s/misuse\", "
                                   "\"size\": [160, 96]}",
                                   dir);
  if (rec == NULL) {
    return;
  }
  CHECK_RESULT(classrec_recorder_set_upload_limit(rec, 1000), CLASSREC_RESULT_WRONG_STATE,
               "set_upload_limit without an upload is WRONG_STATE ...");
  CHECK_RESULT(classrec_recorder_wait_upload(rec, 10), CLASSREC_RESULT_WRONG_STATE, "... like wait_upload");
  CHECK_RESULT(classrec_recorder_stop(rec, NULL), CLASSREC_RESULT_OK, "stop");
  CHECK_RESULT(classrec_recorder_stop(rec, NULL), CLASSREC_RESULT_STOPPED, "stop twice");
  classrec_recorder_last_error(rec, text, sizeof text, NULL);
  CHECK(!names_rust_types(text), "... its message names no Rust type");
  uint8_t big[4] = {0};
  classrec_recorder_free(rec);

  rec = started(NULL, NULL, "a pushed recorder",
                "{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"%s/misuse\", \"size\": [160, 96]}",
                dir);
  if (rec != NULL) {
    CHECK_RESULT(classrec_recorder_push_frame(rec, big, 16385, 1, 16385 * 4, -1), CLASSREC_RESULT_INVALID_FRAME,
                 "a frame wider than 16384 is INVALID_FRAME (before any byte is read)");
    classrec_recorder_last_error(rec, text, sizeof text, NULL);
    CHECK(strstr(text, "16384") != NULL, "... and the message says the limit");
    classrec_recorder_free(rec);
  }

  snprintf(json, sizeof json, "%s/share", dir);
  mkdir(json, 0700); /* the upload target: a mounted share */
  static struct waiter w;
  atomic_store(&w.recorder, NULL);
  atomic_store(&w.result, -1);
  rec = started(wait_inside_callback, &w, "a recorder uploading to a folder",
                "{\"source\": {\"kind\": \"synthetic\", \"fast\": true, \"frames\": 30}, \"out_dir\": \"%s/inside\", "
                "\"size\": [160, 96], \"upload\": {\"target\": {\"kind\": \"folder\", \"path\": \"%s/share\"}}}",
                dir, dir);
  if (rec == NULL) {
    return;
  }
  atomic_store(&w.recorder, rec);
  sleep_ms(1000); /* the 30 frames are recorded; the recording ends by itself */
  CHECK_RESULT(classrec_recorder_stop(rec, NULL), CLASSREC_RESULT_OK, "stop collects it");
  for (int i = 0; i < 200 && atomic_load(&w.result) < 0; i++) {
    sleep_ms(10);
  }
  printf("#   wait_upload inside the callback: %d after %d ms\n", atomic_load(&w.result), atomic_load(&w.took_ms));
  CHECK(atomic_load(&w.result) == CLASSREC_RESULT_WRONG_STATE, "wait_upload inside the callback is WRONG_STATE");
  CHECK(atomic_load(&w.took_ms) < 100, "... at once, not after the timeout");
  CHECK_RESULT(classrec_recorder_wait_upload(rec, 10000), CLASSREC_RESULT_OK, "wait_upload outside it works");
  classrec_recorder_last_error(rec, text, sizeof text, NULL);
  printf("#   last error: %s\n", text);
  classrec_recorder_free(rec);

  snprintf(json, sizeof json, "{\"upload\": {\"target\": {\"kind\": \"folder\", \"path\": \"%s/share\"}}}", dir);
  classrec_uploader *up = NULL;
  CHECK_RESULT(classrec_uploader_new(json, &up, error, sizeof error), CLASSREC_RESULT_OK, "an uploader");
  char *url = (char *)(uintptr_t)0x1;
  if (up != NULL) {
    CHECK_RESULT(classrec_uploader_presign(up, "", 60, &url), CLASSREC_RESULT_INVALID_CONFIG,
                 "presigning an empty key is INVALID_CONFIG (it would sign the bucket root)");
    CHECK_RESULT(classrec_uploader_presign(up, "/", 60, &url), CLASSREC_RESULT_INVALID_CONFIG, "... and \"/\" too");
    CHECK(url == (char *)(uintptr_t)0x1, "... url_out untouched");
    classrec_uploader_free(up);
  }
}

/* free with a slow callback and hundreds of queued events returns within its documented bound. */
static atomic_int slow_calls = 0;
static void slow_event(void *user_data, const classrec_event *event) {
  (void)user_data;
  (void)event;
  atomic_fetch_add(&slow_calls, 1);
  sleep_ms(30);
}

static void slow_free(const char *dir) {
  classrec_recorder *rec = started(slow_event, NULL, "a recorder with a slow callback and 200 fragments",
                                   "{\"source\": {\"kind\": \"synthetic\", \"fast\": true, \"frames\": 300}, \"out_dir\": \"%s/slow\", "
                                   "\"size\": [160, 96], \"fragment_interval_ms\": 100}",
                                   dir);
  if (rec == NULL) {
    return;
  }
  sleep_ms(1500); /* the recording ends by itself; most of its events are still queued */
  double t = now_ms();
  classrec_recorder_free(rec);
  double took = now_ms() - t;
  printf("#   free took %.0f ms after %d callbacks\n", took, atomic_load(&slow_calls));
  CHECK(took < 2500, "free returns within 1 s of draining plus one callback (and the finalize)");
}

/* Diagnostics go to the host's log callback, never to stderr (tests/capi.rs checks stderr). */
static atomic_int logged = 0;
static atomic_int logged_openh264 = 0;
static atomic_int nested_result = -1;
static void on_log(void *user_data, classrec_log_level level, const char *target, const char *message) {
  (void)user_data;
  (void)level;
  atomic_fetch_add(&logged, 1);
  if (strcmp(target, "classrec::openh264") == 0 && strstr(message, "OpenH264") != NULL) {
    atomic_fetch_add(&logged_openh264, 1);
  }
  if (atomic_load(&nested_result) < 0) {
    atomic_store(&nested_result, (int)classrec_set_log_callback(NULL, NULL, CLASSREC_LOG_LEVEL_OFF));
  }
}

static void logging(const char *dir) {
  CHECK_RESULT(classrec_set_log_callback(on_log, NULL, 9), CLASSREC_RESULT_INVALID_CONFIG, "an unknown level");
  CHECK_RESULT(classrec_set_log_callback(on_log, NULL, CLASSREC_LOG_LEVEL_DEBUG), CLASSREC_RESULT_OK,
               "a log callback at debug level");
  uint8_t frame[64 * 64 * 4] = {0};
  classrec_recorder *rec = started(NULL, NULL, "a recorder with a logger",
                                   "{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"%s/logged\", \"size\": [64, 64]}", dir);
  if (rec == NULL) {
    return;
  }
  CHECK_RESULT(classrec_recorder_push_frame(rec, frame, 64, 64, 64 * 4, -1), CLASSREC_RESULT_OK, "a frame");
  sleep_ms(300);
  CHECK_RESULT(classrec_recorder_stop(rec, NULL), CLASSREC_RESULT_OK, "stop");
  classrec_recorder_free(rec);
  printf("#   %d messages, %d from OpenH264\n", atomic_load(&logged), atomic_load(&logged_openh264));
  CHECK(atomic_load(&logged_openh264) >= 1, "OpenH264's start-up warning reached the callback, not stderr");
  CHECK(atomic_load(&nested_result) == CLASSREC_RESULT_WRONG_STATE,
        "set_log_callback from inside the log callback is WRONG_STATE");
  CHECK_RESULT(classrec_set_log_callback(NULL, NULL, CLASSREC_LOG_LEVEL_OFF), CLASSREC_RESULT_OK, "logging off");
  int before = atomic_load(&logged);
  rec = started(NULL, NULL, "another recorder", "{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"%s/logged\"}", dir);
  if (rec != NULL) {
    CHECK_RESULT(classrec_recorder_push_frame(rec, frame, 64, 64, 64 * 4, -1), CLASSREC_RESULT_OK, "a frame");
    sleep_ms(300);
    classrec_recorder_free(rec);
  }
  CHECK(atomic_load(&logged) == before, "... after which the callback is never called");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: hostile <scratch folder>\n");
    return 2;
  }
  configurations(argv[1]);
  timestamps(argv[1]);
  misuse(argv[1]);
  slow_free(argv[1]);
  logging(argv[1]);
  return checks_done();
}
