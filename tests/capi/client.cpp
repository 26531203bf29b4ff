// The wrapper's implementation (see client.hpp).
#include "client.hpp"

#include <mutex>
#include <stdexcept>

namespace client {

struct Recording::Events {
  mutable std::mutex mutex;
  Counts counts;
};

void Recording::on_event(void *user_data, const classrec_event *event) {
  auto *events = static_cast<Recording::Events *>(user_data);
  std::lock_guard<std::mutex> lock(events->mutex);
  Counts &c = events->counts;
  c.last_message = event->message;  // copied: the pointer dies when we return
  switch (event->kind) {
    case CLASSREC_EVENT_KIND_STARTED: c.started++; break;
    case CLASSREC_EVENT_KIND_STOPPED: c.stopped++; break;
    case CLASSREC_EVENT_KIND_FRAGMENT_COMMITTED: c.fragments++; break;
    case CLASSREC_EVENT_KIND_UPLOAD_PROGRESS: c.upload_progress++; break;
    case CLASSREC_EVENT_KIND_UPLOAD_COMPLETE:
      c.upload_complete++;
      c.url = event->url;
      break;
    case CLASSREC_EVENT_KIND_CALLBACK_DELIVERED: c.callback_delivered++; break;
    case CLASSREC_EVENT_KIND_ERROR:
    case CLASSREC_EVENT_KIND_UPLOAD_FAILED:
    case CLASSREC_EVENT_KIND_CALLBACK_FAILED: c.failures++; break;
    default: break;  // kinds added later are ignored
  }
}

void Recording::free_events(void *user_data) { delete static_cast<Recording::Events *>(user_data); }

Recording::Recording(const std::string &config_json) : events_(new Events) {
  char error[1024] = "";
  classrec_result result =
      classrec_recorder_start(config_json.c_str(), on_event, events_, free_events, &recorder_, error, sizeof error);
  if (result != CLASSREC_RESULT_OK) {
    events_ = nullptr;  // already released by free_events
    throw std::runtime_error(std::string(classrec_result_name(result)) + ": " + error);
  }
}

Recording::~Recording() { classrec_recorder_free(recorder_); }

classrec_result Recording::push(const std::vector<uint8_t> &bgra, uint32_t width, uint32_t height,
                                int64_t timestamp_us) {
  return classrec_recorder_push_frame(recorder_, bgra.data(), width, height, size_t{width} * 4, timestamp_us);
}

classrec_result Recording::push_audio(const std::vector<int16_t> &pcm, uint32_t rate, int64_t timestamp_us) {
  return classrec_recorder_push_audio(recorder_, pcm.data(), pcm.size(), rate, 1, CLASSREC_SAMPLE_FORMAT_S16,
                                      timestamp_us);
}

classrec_result Recording::stop(classrec_recording &out) {
  out.struct_size = sizeof out;
  return classrec_recorder_stop(recorder_, &out);
}

classrec_result Recording::stats(classrec_stats &out) const {
  out.struct_size = sizeof out;
  return classrec_recorder_stats(recorder_, &out);
}

classrec_result Recording::wait_upload(uint32_t timeout_ms) { return classrec_recorder_wait_upload(recorder_, timeout_ms); }

Counts Recording::counts() const {
  std::lock_guard<std::mutex> lock(events_->mutex);
  return events_->counts;
}

std::string Recording::last_error() const {
  size_t needed = 0;
  classrec_recorder_last_error(recorder_, nullptr, 0, &needed);
  std::string text(needed + 1, '\0');
  classrec_recorder_last_error(recorder_, &text[0], text.size(), nullptr);
  text.resize(needed);
  return text;
}

std::string list_recordings(const std::string &config_json) {
  char error[1024] = "";
  classrec_uploader *uploader = nullptr;
  classrec_result result = classrec_uploader_new(config_json.c_str(), &uploader, error, sizeof error);
  if (result != CLASSREC_RESULT_OK) {
    throw std::runtime_error(std::string("uploader: ") + error);
  }
  char *json = nullptr;
  result = classrec_uploader_list(uploader, nullptr, 3600, &json);
  std::string listing = result == CLASSREC_RESULT_OK ? json : std::string("error: ") + classrec_result_name(result);
  classrec_string_free(json);
  classrec_uploader_free(uploader);
  return listing;
}

}  // namespace client
