/* Feeds every kind of bad input to the C ABI and checks each gets its defined error (never a
 * crash), out-params stay untouched on failure, and messages are readable. Run under
 * AddressSanitizer by tests/capi.rs.
 *
 * Usage: misuse <scratch folder>
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"

static atomic_int frees = 0;
static void count_free(void *user_data) {
  (void)user_data;
  atomic_fetch_add(&frees, 1);
}

static void ignore_event(void *user_data, const classrec_event *event) {
  (void)user_data;
  (void)event;
}

/* Starting with bad configurations: the code, the message, an untouched out-param, and
 * user_data released exactly once. */
static void bad_configurations(const char *dir) {
  char error[512];
  char json[1024];
  classrec_recorder *const sentinel = (classrec_recorder *)(uintptr_t)0x1;
  classrec_recorder *rec = sentinel;

  atomic_store(&frees, 0);
  CHECK_RESULT(classrec_recorder_start(NULL, ignore_event, NULL, count_free, &rec, error, sizeof error),
               CLASSREC_RESULT_NULL_ARGUMENT, "start(NULL config) is a NULL argument");
  CHECK(strstr(error, "config_json") != NULL, "... and the message names config_json");
  CHECK(rec == sentinel, "... and recorder_out is untouched");
  CHECK(atomic_load(&frees) == 1, "... and user_data is released exactly once");

  CHECK_RESULT(classrec_recorder_start("{}", NULL, NULL, NULL, NULL, error, sizeof error),
               CLASSREC_RESULT_NULL_ARGUMENT, "start(NULL recorder_out) is a NULL argument");

  const char bad_utf8[] = {'{', '"', (char)0xff, (char)0xfe, '"', '}', 0};
  CHECK_RESULT(classrec_recorder_start(bad_utf8, NULL, NULL, NULL, &rec, error, sizeof error),
               CLASSREC_RESULT_INVALID_UTF8, "bad UTF-8 is INVALID_UTF8");

  CHECK_RESULT(classrec_recorder_start("{\"fps\": 15,", NULL, NULL, NULL, &rec, error, sizeof error),
               CLASSREC_RESULT_INVALID_JSON, "truncated JSON is INVALID_JSON");
  CHECK(strstr(error, "line 1") != NULL, "... and the message says where");

  CHECK_RESULT(classrec_recorder_start("{\"fsp\": 15}", NULL, NULL, NULL, &rec, error, sizeof error),
               CLASSREC_RESULT_INVALID_JSON, "an unknown field is INVALID_JSON");
  CHECK(strstr(error, "fsp") != NULL, "... and the message names it");

  CHECK_RESULT(classrec_recorder_start("{\"fps\": \"fast\"}", NULL, NULL, NULL, &rec, error, sizeof error),
               CLASSREC_RESULT_INVALID_JSON, "a wrong type is INVALID_JSON");

  CHECK_RESULT(classrec_recorder_start("[1, 2]", NULL, NULL, NULL, &rec, error, sizeof error),
               CLASSREC_RESULT_INVALID_JSON, "an array is INVALID_JSON");

  snprintf(json, sizeof json, "{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"%s/zero\", \"fps\": 0}", dir);
  atomic_store(&frees, 0);
  CHECK_RESULT(classrec_recorder_start(json, ignore_event, NULL, count_free, &rec, error, sizeof error),
               CLASSREC_RESULT_INVALID_CONFIG, "fps 0 is INVALID_CONFIG");
  CHECK(strstr(error, "fps") != NULL, "... and the message names fps");
  CHECK(atomic_load(&frees) == 1, "... and user_data is released exactly once");

  snprintf(json, sizeof json, "{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"%s/big\", \"size\": [100000, 100000]}", dir);
  CHECK_RESULT(classrec_recorder_start(json, NULL, NULL, NULL, &rec, error, sizeof error),
               CLASSREC_RESULT_INVALID_CONFIG, "a huge size is INVALID_CONFIG");

  snprintf(json, sizeof json, "{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"%s/rate\", \"bitrate_kbps\": 1}", dir);
  CHECK_RESULT(classrec_recorder_start(json, NULL, NULL, NULL, &rec, error, sizeof error),
               CLASSREC_RESULT_INVALID_CONFIG, "bitrate 1 kbps is INVALID_CONFIG");

  CHECK_RESULT(classrec_recorder_start("{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"/proc/classrec-cannot-exist\"}", NULL, NULL, NULL, &rec,
                                       error, sizeof error),
               CLASSREC_RESULT_UNWRITABLE, "an unwritable folder is UNWRITABLE");
  CHECK(strstr(error, "/proc/classrec-cannot-exist") != NULL, "... and the message names the folder");

  snprintf(json, sizeof json,
           "{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"%s/student\", \"class\": {\"sdkappid\": 1, \"class_id\": 2, \"teacher_id\": \"t\", "
           "\"user_id\": \"s\", \"role\": \"student\"}}",
           dir);
  CHECK_RESULT(classrec_recorder_start(json, NULL, NULL, NULL, &rec, error, sizeof error),
               CLASSREC_RESULT_NOT_ALLOWED, "a student may not record");

  char tiny[4];
  memset(tiny, 'x', sizeof tiny);
  CHECK_RESULT(classrec_recorder_start("{", NULL, NULL, NULL, &rec, tiny, sizeof tiny),
               CLASSREC_RESULT_INVALID_JSON, "a tiny error buffer still gets the code");
  CHECK(tiny[3] == '\0' && strlen(tiny) == 3, "... and a truncated, NUL-terminated message");
  CHECK_RESULT(classrec_recorder_start("{", NULL, NULL, NULL, &rec, NULL, 0), CLASSREC_RESULT_INVALID_JSON,
               "no error buffer at all is fine");
  CHECK(rec == sentinel, "recorder_out was never written by a failed start");
}

/* Every handle function with NULL where a handle or an out-param belongs. */
static void null_handles(void) {
  classrec_stats stats = {.struct_size = sizeof stats};
  classrec_recording recording = {.struct_size = sizeof recording};
  char buf[64];
  size_t needed = 0;
  uint8_t pixel[4] = {0};
  CHECK_RESULT(classrec_recorder_push_frame(NULL, pixel, 1, 1, 4, -1), CLASSREC_RESULT_NULL_ARGUMENT,
               "push_frame(NULL recorder)");
  CHECK_RESULT(classrec_recorder_pause(NULL), CLASSREC_RESULT_NULL_ARGUMENT, "pause(NULL)");
  CHECK_RESULT(classrec_recorder_resume(NULL), CLASSREC_RESULT_NULL_ARGUMENT, "resume(NULL)");
  CHECK_RESULT(classrec_recorder_stats(NULL, &stats), CLASSREC_RESULT_NULL_ARGUMENT, "stats(NULL)");
  CHECK_RESULT(classrec_recorder_stop(NULL, &recording), CLASSREC_RESULT_NULL_ARGUMENT, "stop(NULL)");
  CHECK_RESULT(classrec_recorder_wait_upload(NULL, 10), CLASSREC_RESULT_NULL_ARGUMENT, "wait_upload(NULL)");
  CHECK_RESULT(classrec_recorder_set_upload_limit(NULL, 1), CLASSREC_RESULT_NULL_ARGUMENT, "set_upload_limit(NULL)");
  CHECK_RESULT(classrec_recorder_last_error(NULL, buf, sizeof buf, &needed), CLASSREC_RESULT_NULL_ARGUMENT,
               "last_error(NULL)");
  CHECK(classrec_recorder_path(NULL) == NULL, "path(NULL) is NULL");
  CHECK_RESULT(classrec_uploader_resume_pending(NULL, NULL), CLASSREC_RESULT_NULL_ARGUMENT, "resume_pending(NULL)");
  CHECK_RESULT(classrec_uploader_list(NULL, NULL, 0, NULL), CLASSREC_RESULT_NULL_ARGUMENT, "list(NULL)");
  CHECK_RESULT(classrec_uploader_presign(NULL, "k", 60, NULL), CLASSREC_RESULT_NULL_ARGUMENT, "presign(NULL)");
  CHECK_RESULT(classrec_uploader_last_error(NULL, buf, sizeof buf, NULL), CLASSREC_RESULT_NULL_ARGUMENT,
               "uploader_last_error(NULL)");
  char *windows = (char *)(uintptr_t)0x1;
  char error[256];
  CHECK_RESULT(classrec_windows_list(NULL, error, sizeof error), CLASSREC_RESULT_NULL_ARGUMENT,
               "windows_list(NULL json_out)");
  unsetenv("DISPLAY");
  CHECK_RESULT(classrec_windows_list(&windows, error, sizeof error), CLASSREC_RESULT_SOURCE,
               "windows_list without an X server is SOURCE");
  CHECK(strstr(error, "DISPLAY") != NULL && windows == (char *)(uintptr_t)0x1,
        "... says to set DISPLAY and leaves json_out untouched");
  classrec_recorder_free(NULL);
  classrec_uploader_free(NULL);
  classrec_string_free(NULL);
  CHECK(1, "free(NULL) of every kind is a no-op");
  CHECK(strcmp(classrec_result_name(9999), "unknown result") == 0, "an unknown result has a name");
  char version[32];
  snprintf(version, sizeof version, "%d.%d.%d", CLASSREC_VERSION_MAJOR, CLASSREC_VERSION_MINOR,
           CLASSREC_VERSION_PATCH);
  CHECK(strcmp(classrec_version(), version) == 0, "classrec_version() matches the header's macros");
}

/* A recorder whose sound is pushed: every bad buffer gets its defined error, good ones are taken. */
static void pushed_audio_recorder(const char *dir) {
  char error[512];
  char json[512];
  classrec_recorder *rec = NULL;
  snprintf(json, sizeof json,
           "{\"source\": {\"kind\": \"pushed\"}, \"audio\": {\"source\": {\"kind\": \"pushed\"}}, "
           "\"out_dir\": \"%s/pushed-audio\", \"size\": [320, 240], \"fps\": 15}",
           dir);
  CHECK_RESULT(classrec_recorder_start(json, NULL, NULL, NULL, &rec, error, sizeof error), CLASSREC_RESULT_OK,
               "a recorder with pushed sound starts");
  if (rec == NULL) {
    printf("#   %s\n", error);
    return;
  }
  static int16_t s16[2 * 480 + 1];
  static float f32[2 * 480];
  CHECK_RESULT(classrec_recorder_push_audio(NULL, s16, 480, 48000, 1, CLASSREC_SAMPLE_FORMAT_S16, -1),
               CLASSREC_RESULT_NULL_ARGUMENT, "push_audio(NULL recorder)");
  CHECK_RESULT(classrec_recorder_push_audio(rec, NULL, 480, 48000, 1, CLASSREC_SAMPLE_FORMAT_S16, -1),
               CLASSREC_RESULT_NULL_ARGUMENT, "push_audio(NULL data)");
  CHECK_RESULT(classrec_recorder_push_audio(rec, s16, 0, 48000, 1, CLASSREC_SAMPLE_FORMAT_S16, -1),
               CLASSREC_RESULT_INVALID_AUDIO, "0 frames is INVALID_AUDIO");
  CHECK_RESULT(classrec_recorder_push_audio(rec, s16, 480, 7999, 1, CLASSREC_SAMPLE_FORMAT_S16, -1),
               CLASSREC_RESULT_INVALID_AUDIO, "7999 Hz is INVALID_AUDIO");
  CHECK_RESULT(classrec_recorder_push_audio(rec, s16, 480, 96000, 1, CLASSREC_SAMPLE_FORMAT_S16, -1),
               CLASSREC_RESULT_INVALID_AUDIO, "96 kHz is INVALID_AUDIO");
  CHECK_RESULT(classrec_recorder_push_audio(rec, s16, 480, 48000, 3, CLASSREC_SAMPLE_FORMAT_S16, -1),
               CLASSREC_RESULT_INVALID_AUDIO, "3 channels is INVALID_AUDIO");
  CHECK_RESULT(classrec_recorder_push_audio(rec, s16, 480, 48000, 1, 7, -1), CLASSREC_RESULT_INVALID_AUDIO,
               "an unknown sample format is INVALID_AUDIO");
  CHECK_RESULT(classrec_recorder_push_audio(rec, (const char *)f32 + 1, 100, 48000, 1, CLASSREC_SAMPLE_FORMAT_F32, -1),
               CLASSREC_RESULT_INVALID_AUDIO, "a misaligned float buffer is INVALID_AUDIO");
  CHECK_RESULT(classrec_recorder_push_audio(rec, (const char *)s16 + 1, 100, 48000, 1, CLASSREC_SAMPLE_FORMAT_S16, -1),
               CLASSREC_RESULT_INVALID_AUDIO, "a misaligned int16 buffer is INVALID_AUDIO");
  CHECK_RESULT(classrec_recorder_push_audio(rec, f32, SIZE_MAX / 2, 48000, 2, CLASSREC_SAMPLE_FORMAT_F32, -1),
               CLASSREC_RESULT_INVALID_AUDIO, "a frame count that overflows is INVALID_AUDIO (nothing is read)");
  for (int i = 0; i < 50; i++) {
    CHECK_RESULT(classrec_recorder_push_audio(rec, s16, 160, 16000, 1, CLASSREC_SAMPLE_FORMAT_S16, (int64_t)i * 10000),
                 CLASSREC_RESULT_OK, "16 kHz mono S16 is taken");
    CHECK_RESULT(classrec_recorder_push_audio(rec, f32, 480, 48000, 2, CLASSREC_SAMPLE_FORMAT_F32, -1),
                 CLASSREC_RESULT_OK, "48 kHz stereo F32 is taken");
  }
  classrec_recording recording = {.struct_size = sizeof recording};
  CHECK_RESULT(classrec_recorder_stop(rec, &recording), CLASSREC_RESULT_OK, "stop with pushed sound");
  classrec_recorder_free(rec);
}

/* A pushed-source recorder: bad frames, stop twice, calls after stop. */
static void pushed_recorder(const char *dir) {
  char error[512];
  char json[512];
  classrec_recorder *rec = NULL;
  snprintf(json, sizeof json,
           "{\"source\": {\"kind\": \"pushed\"}, \"out_dir\": \"%s/pushed\", \"size\": [321, 241], \"fps\": 15}", dir);
  CHECK_RESULT(classrec_recorder_start(json, NULL, NULL, NULL, &rec, error, sizeof error), CLASSREC_RESULT_OK,
               "an odd output size starts (rounded up to even)");
  if (rec == NULL) {
    printf("#   %s\n", error);
    return;
  }
  enum { W = 320, H = 240 };
  uint8_t *frame = calloc((size_t)W * H * 4, 1);
  CHECK_RESULT(classrec_recorder_push_frame(rec, NULL, W, H, W * 4, -1), CLASSREC_RESULT_NULL_ARGUMENT,
               "push_frame(NULL pixels)");
  CHECK_RESULT(classrec_recorder_push_frame(rec, frame, W, H, W * 4 - 1, -1), CLASSREC_RESULT_INVALID_FRAME,
               "a stride below width * 4 is INVALID_FRAME");
  CHECK_RESULT(classrec_recorder_push_frame(rec, frame, 0, H, W * 4, -1), CLASSREC_RESULT_INVALID_FRAME,
               "width 0 is INVALID_FRAME");
  CHECK_RESULT(classrec_recorder_push_frame(rec, frame, W, 0, W * 4, -1), CLASSREC_RESULT_INVALID_FRAME,
               "height 0 is INVALID_FRAME");
  CHECK_RESULT(classrec_recorder_push_frame(rec, frame, W, H, SIZE_MAX / 2, -1), CLASSREC_RESULT_INVALID_FRAME,
               "a stride that overflows is INVALID_FRAME (and nothing is read)");
  CHECK_RESULT(classrec_recorder_push_frame(rec, frame, 100000, 100000, 400000, -1), CLASSREC_RESULT_INVALID_FRAME,
               "a huge frame is INVALID_FRAME");
  char text[256];
  size_t needed = 0;
  CHECK_RESULT(classrec_recorder_last_error(rec, text, sizeof text, &needed), CLASSREC_RESULT_OK,
               "last_error reads the recorder's last message");
  CHECK(needed > 0 && strlen(text) == (needed < sizeof text ? needed : sizeof text - 1),
        "... with its full length reported");
  char small[8];
  CHECK_RESULT(classrec_recorder_last_error(rec, small, sizeof small, &needed), CLASSREC_RESULT_OK,
               "last_error into a small buffer");
  CHECK(strlen(small) == 7 && needed > 7, "... is truncated and says how long the text is");

  for (int i = 0; i < 20; i++) {
    for (size_t p = 0; p < (size_t)W * H * 4; p += 4) {
      frame[p] = (uint8_t)(p / 4 + (size_t)i * 7);
      frame[p + 3] = 255;
    }
    CHECK_RESULT(classrec_recorder_push_frame(rec, frame, W, H, W * 4, (int64_t)i * 1000000 / 15),
                 CLASSREC_RESULT_OK, "a valid frame is taken");
  }
  /* Frames the capture thread takes while paused are cut (and not counted): let it take all 20
     before pausing, which a loaded machine may delay. */
  classrec_stats taken = {.struct_size = sizeof taken};
  for (int waited = 0; waited < 500; waited++) {
    if (classrec_recorder_stats(rec, &taken) == CLASSREC_RESULT_OK && taken.frames_captured == 20) break;
    sleep_ms(10);
  }
  int16_t silence[160] = {0};
  CHECK_RESULT(classrec_recorder_push_audio(rec, silence, 160, 16000, 1, CLASSREC_SAMPLE_FORMAT_S16, -1),
               CLASSREC_RESULT_WRONG_STATE, "push_audio without pushed sound is WRONG_STATE");
  CHECK_RESULT(classrec_recorder_pause(rec), CLASSREC_RESULT_OK, "pause");
  CHECK_RESULT(classrec_recorder_resume(rec), CLASSREC_RESULT_OK, "resume");
  CHECK_RESULT(classrec_recorder_stats(rec, NULL), CLASSREC_RESULT_NULL_ARGUMENT, "stats(NULL out)");
  CHECK_RESULT(classrec_recorder_wait_upload(rec, 10), CLASSREC_RESULT_WRONG_STATE,
               "wait_upload without an upload is WRONG_STATE");

  classrec_recording recording;
  memset(&recording, 0, sizeof recording);
  CHECK_RESULT(classrec_recorder_stop(rec, &recording), CLASSREC_RESULT_INVALID_ARGUMENT,
               "stop with struct_size 0 (not initialized) is INVALID_ARGUMENT");
  CHECK(recording.struct_size == 0 && recording.path == NULL, "... and writes nothing");
  /* A caller built against a newer header passes a bigger struct: classrec fills what it knows. */
  struct {
    classrec_recording known;
    uint64_t added_later;
  } newer;
  memset(&newer, 0xab, sizeof newer);
  newer.known.struct_size = sizeof newer;
  CHECK_RESULT(classrec_recorder_stop(rec, &newer.known), CLASSREC_RESULT_OK, "stop");
  CHECK(newer.known.struct_size == sizeof(classrec_recording), "... sets struct_size to the bytes it filled");
  CHECK(newer.added_later == 0xababababababababull, "... and writes nothing past them");
  recording = newer.known;
  CHECK(recording.width == 322 && recording.height == 242, "... the output size was rounded up to even");
  CHECK(recording.stop_reason == CLASSREC_STOP_REASON_REQUESTED, "... stopped as requested");
  CHECK(recording.path != NULL && strcmp(recording.path, classrec_recorder_path(rec)) == 0,
        "... the recording's path is the recorder's");
  classrec_recording again;
  memset(&again, 0xab, sizeof again);
  again.struct_size = sizeof again;
  CHECK_RESULT(classrec_recorder_stop(rec, &again), CLASSREC_RESULT_STOPPED, "stop twice is STOPPED");
  CHECK(again.path == (const char *)(uintptr_t)0xababababababababull, "... and leaves the out-param untouched");
  CHECK_RESULT(classrec_recorder_push_frame(rec, frame, W, H, W * 4, -1), CLASSREC_RESULT_STOPPED,
               "push after stop is STOPPED");
  CHECK_RESULT(classrec_recorder_pause(rec), CLASSREC_RESULT_STOPPED, "pause after stop is STOPPED");
  classrec_stats stats = {.struct_size = sizeof stats};
  CHECK_RESULT(classrec_recorder_stats(rec, &stats), CLASSREC_RESULT_OK, "stats after stop");
  CHECK(stats.struct_size == sizeof stats, "... fills the whole struct");
  CHECK(stats.frames_captured == stats.frames_encoded + stats.frames_skipped + stats.frames_dropped,
        "... add up: captured = encoded + skipped + dropped");
  CHECK(stats.frames_captured == 20, "... and count the 20 pushed frames");
  classrec_recorder_free(rec);
  free(frame);
}

/* Pushing to a synthetic source, and freeing a recorder from inside its own callback. */
struct self_freeing {
  classrec_recorder *recorder;
  atomic_int stopped;
};

static void free_on_stopped(void *user_data, const classrec_event *event) {
  struct self_freeing *state = user_data;
  if (event->kind == CLASSREC_EVENT_KIND_STOPPED && atomic_load(&state->stopped) == 0) {
    atomic_store(&state->stopped, 1);
    classrec_recorder_free(state->recorder);
  }
}

static void synthetic_recorder(const char *dir) {
  char error[512];
  char json[512];
  snprintf(json, sizeof json,
           "{\"source\": {\"kind\": \"synthetic\", \"fast\": true, \"frames\": 30}, \"out_dir\": \"%s/synthetic\", "
           "\"size\": [320, 180]}",
           dir);
  static struct self_freeing state;
  atomic_store(&frees, 0);
  classrec_recorder *rec = NULL;
  CHECK_RESULT(classrec_recorder_start(json, free_on_stopped, &state, count_free, &rec, error, sizeof error),
               CLASSREC_RESULT_OK, "a synthetic recorder starts");
  if (rec == NULL) {
    printf("#   %s\n", error);
    return;
  }
  uint8_t pixel[4] = {0};
  CHECK_RESULT(classrec_recorder_push_frame(rec, pixel, 1, 1, 4, -1), CLASSREC_RESULT_WRONG_STATE,
               "pushing to a synthetic source is WRONG_STATE");
  state.recorder = rec; /* from here on the callback owns it */
  for (int i = 0; i < 300 && atomic_load(&frees) == 0; i++) {
    sleep_ms(20);
  }
  CHECK(atomic_load(&state.stopped) == 1, "the source ended by itself and the callback saw STOPPED");
  CHECK(atomic_load(&frees) == 1, "freeing inside the callback released user_data once");
}

/* user_data outlives the events: released by free, not when the last event has been delivered. */
static void user_data_lives_until_free(const char *dir) {
  char error[512];
  char json[512];
  snprintf(json, sizeof json,
           "{\"source\": {\"kind\": \"synthetic\", \"fast\": true, \"frames\": 10}, \"out_dir\": \"%s/lives\", "
           "\"size\": [160, 96]}",
           dir);
  atomic_store(&frees, 0);
  classrec_recorder *rec = NULL;
  CHECK_RESULT(classrec_recorder_start(json, ignore_event, NULL, count_free, &rec, error, sizeof error),
               CLASSREC_RESULT_OK, "a recorder with user_data starts");
  if (rec == NULL) {
    return;
  }
  CHECK_RESULT(classrec_recorder_stop(rec, NULL), CLASSREC_RESULT_OK, "stop with no out-param");
  sleep_ms(300); /* every event delivered, every recorder thread gone */
  CHECK(atomic_load(&frees) == 0, "user_data is still alive after the last event");
  classrec_recorder_free(rec);
  CHECK(atomic_load(&frees) == 1, "... and released exactly once by free");
}

/* Uploader handles: missing upload section, bad TTLs, a folder target. */
static void uploader(const char *dir) {
  char error[512];
  char json[512];
  classrec_uploader *up = NULL;
  CHECK_RESULT(classrec_uploader_new("{}", &up, error, sizeof error), CLASSREC_RESULT_INVALID_CONFIG,
               "an uploader without `upload` is INVALID_CONFIG");
  CHECK(strstr(error, "upload") != NULL, "... and says what is missing");
  CHECK_RESULT(classrec_uploader_new("{\"upload\": {\"target\": {\"kind\": \"ftp\"}}}", &up, error, sizeof error),
               CLASSREC_RESULT_INVALID_JSON, "an unknown target kind is INVALID_JSON");
  CHECK_RESULT(classrec_uploader_new(NULL, &up, error, sizeof error), CLASSREC_RESULT_NULL_ARGUMENT,
               "uploader_new(NULL)");
  snprintf(json, sizeof json,
           "{\"out_dir\": \"%s/synthetic\", \"upload\": {\"target\": {\"kind\": \"folder\", \"path\": \"%s/share\"}}}",
           dir, dir);
  CHECK_RESULT(classrec_uploader_new(json, NULL, error, sizeof error), CLASSREC_RESULT_NULL_ARGUMENT,
               "uploader_new(NULL out)");
  CHECK_RESULT(classrec_uploader_new(json, &up, error, sizeof error), CLASSREC_RESULT_OK, "a folder uploader");
  if (up == NULL) {
    printf("#   %s\n", error);
    return;
  }
  char *url = (char *)(uintptr_t)0x1;
  CHECK_RESULT(classrec_uploader_presign(up, "a.mp4", 0, &url), CLASSREC_RESULT_INVALID_CONFIG,
               "a presigned URL for 0 s is INVALID_CONFIG");
  CHECK_RESULT(classrec_uploader_presign(up, "a.mp4", 8 * 24 * 3600, &url), CLASSREC_RESULT_INVALID_CONFIG,
               "a presigned URL for 8 days is INVALID_CONFIG");
  CHECK_RESULT(classrec_uploader_presign(up, NULL, 60, &url), CLASSREC_RESULT_NULL_ARGUMENT, "presign(NULL key)");
  CHECK(url == (char *)(uintptr_t)0x1, "... url_out untouched");
  CHECK_RESULT(classrec_uploader_list(up, NULL, 0, NULL), CLASSREC_RESULT_NULL_ARGUMENT, "list(NULL json_out)");
  const char bad_utf8[] = {(char)0xc3, 0};
  char *listing = NULL;
  CHECK_RESULT(classrec_uploader_list(up, bad_utf8, 0, &listing), CLASSREC_RESULT_INVALID_UTF8,
               "a prefix in bad UTF-8 is INVALID_UTF8");
  size_t uploaded = 99;
  CHECK_RESULT(classrec_uploader_resume_pending(up, &uploaded), CLASSREC_RESULT_OK,
               "resume_pending on a folder with nothing pending");
  CHECK(uploaded == 0, "... uploads nothing");
  CHECK_RESULT(classrec_uploader_list(up, NULL, 0, &listing), CLASSREC_RESULT_UPLOAD,
               "listing a share that is not mounted is UPLOAD (after a few retries, not forever)");
  char text[512];
  classrec_uploader_last_error(up, text, sizeof text, NULL);
  CHECK(strstr(text, "share") != NULL && strstr(text, "mounted") != NULL, "... and asks whether it is mounted");
  snprintf(json, sizeof json, "%s/share", dir);
  mkdir(json, 0700);
  CHECK_RESULT(classrec_uploader_list(up, NULL, 0, &listing), CLASSREC_RESULT_OK, "list a folder target");
  CHECK(listing != NULL && listing[0] == '[', "... gives a JSON array");
  classrec_string_free(listing);
  classrec_uploader_free(up);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: misuse <scratch folder>\n");
    return 2;
  }
  bad_configurations(argv[1]);
  null_handles();
  pushed_recorder(argv[1]);
  pushed_audio_recorder(argv[1]);
  synthetic_recorder(argv[1]);
  user_data_lives_until_free(argv[1]);
  uploader(argv[1]);
  return checks_done();
}
