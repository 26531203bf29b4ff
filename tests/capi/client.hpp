// A small C++ wrapper over classrec.h, as the classroom client would write one: RAII ownership,
// exceptions for failed starts, events counted on the worker thread. Second translation unit of
// the end-to-end test (the header must link cleanly when included twice).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "classrec.h"

namespace client {

// What the event callback saw.
struct Counts {
  int started = 0;
  int stopped = 0;
  int fragments = 0;
  int upload_progress = 0;
  int upload_complete = 0;
  int callback_delivered = 0;
  int failures = 0;  // ERROR, UPLOAD_FAILED, CALLBACK_FAILED
  std::string url;
  std::string last_message;
};

class Recording {
 public:
  // Starts a recording; throws std::runtime_error with classrec's message on failure.
  explicit Recording(const std::string &config_json);
  ~Recording();
  Recording(const Recording &) = delete;
  Recording &operator=(const Recording &) = delete;

  classrec_result push(const std::vector<uint8_t> &bgra, uint32_t width, uint32_t height, int64_t timestamp_us);
  // Mono 16-bit PCM at `rate` Hz, stamped like the frames.
  classrec_result push_audio(const std::vector<int16_t> &pcm, uint32_t rate, int64_t timestamp_us);
  classrec_result stop(classrec_recording &out);
  classrec_result stats(classrec_stats &out) const;  // final counters after stop
  classrec_result wait_upload(uint32_t timeout_ms);
  Counts counts() const;
  std::string last_error() const;

 private:
  struct Events;
  static void on_event(void *user_data, const classrec_event *event);  // classrec's event thread
  static void free_events(void *user_data);
  classrec_recorder *recorder_ = nullptr;
  Events *events_ = nullptr;  // owned by classrec once started: released by free_user_data
};

// Lists the recordings under the configuration's prefix as JSON, with playable URLs.
std::string list_recordings(const std::string &config_json);

}  // namespace client
