// End to end through the C ABI, as the C++ client uses it: start from JSON with a pushed source,
// push 6 s of generated frames in real time, stop, wait for the upload and the completion callback, list the
// bucket. Prints key=value lines that tests/capi.rs checks against ffprobe, the S3 object and the
// callback receiver. Run under AddressSanitizer.
//
// Usage: end_to_end <config.json>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "client.hpp"

namespace {

// A moving block on a gradient: different every frame, like a pointer over a slide.
std::vector<uint8_t> picture(uint32_t width, uint32_t height, int index) {
  std::vector<uint8_t> bgra(size_t{width} * height * 4);
  for (uint32_t y = 0; y < height; y++) {
    for (uint32_t x = 0; x < width; x++) {
      uint8_t *p = &bgra[(size_t{y} * width + x) * 4];
      bool block = x >= uint32_t(index * 6) % width && x < uint32_t(index * 6) % width + 40 && y >= 100 && y < 140;
      p[0] = block ? 20 : uint8_t(x / 3);
      p[1] = block ? 200 : uint8_t(y / 2);
      p[2] = block ? 240 : 128;
      p[3] = 255;
    }
  }
  return bgra;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: end_to_end <config.json>\n");
    return 2;
  }
  std::ifstream file(argv[1]);
  std::stringstream config;
  config << file.rdbuf();
  try {
    client::Recording recording(config.str());
    const uint32_t width = 640, height = 360;
    for (int i = 0; i < 90; i++) {
      classrec_result pushed = recording.push(picture(width, height, i), width, height, int64_t{i} * 1000000 / 15);
      if (pushed != CLASSREC_RESULT_OK) {
        std::printf("push_failed=%s %s\n", classrec_result_name(pushed), recording.last_error().c_str());
        return 1;
      }
      // 1/15 s of a 440 Hz tone at 48 kHz, stamped like the frame (the call's mixed sound).
      std::vector<int16_t> tone(3200);
      for (size_t j = 0; j < tone.size(); j++) {
        tone[j] = static_cast<int16_t>(8000.0 * std::sin(2.0 * 3.14159265358979 * 440.0 * double(size_t(i) * 3200 + j) / 48000.0));
      }
      classrec_result sound = recording.push_audio(tone, 48000, int64_t{i} * 1000000 / 15);
      if (sound != CLASSREC_RESULT_OK) {
        std::printf("push_audio_failed=%s %s\n", classrec_result_name(sound), recording.last_error().c_str());
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(1000000 / 15));  // real time, as a renderer
    }
    classrec_recording info{};
    classrec_stats stats{};
    classrec_result stopped = recording.stop(info);
    if (stopped == CLASSREC_RESULT_OK) stopped = recording.stats(stats);
    if (stopped != CLASSREC_RESULT_OK) {
      std::printf("stop_failed=%s\n", recording.last_error().c_str());
      return 1;
    }
    std::printf("path=%s\nduration_ms=%llu\nbytes=%llu\nsize=%ux%u\nframes_captured=%llu\nframes_encoded=%llu\n",
                info.path, (unsigned long long)info.duration_ms, (unsigned long long)info.bytes, info.width,
                info.height, (unsigned long long)stats.frames_captured,
                (unsigned long long)stats.frames_encoded);
    classrec_result uploaded = CLASSREC_RESULT_TIMEOUT;
    for (int i = 0; i < 120 && uploaded == CLASSREC_RESULT_TIMEOUT; i++) {
      uploaded = recording.wait_upload(500);
    }
    std::printf("wait_upload=%s\n", classrec_result_name(uploaded));
    if (uploaded != CLASSREC_RESULT_OK) {
      std::printf("wait_upload_error=%s\n", recording.last_error().c_str());
    }
    // The last events may still be on their way through the event thread.
    client::Counts counts = recording.counts();
    for (int i = 0; i < 100 && uploaded == CLASSREC_RESULT_OK && counts.callback_delivered == 0; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      counts = recording.counts();
    }
    std::printf("events started=%d stopped=%d fragments=%d upload_progress=%d upload_complete=%d "
                "callback_delivered=%d failures=%d\n",
                counts.started, counts.stopped, counts.fragments, counts.upload_progress, counts.upload_complete,
                counts.callback_delivered, counts.failures);
    std::printf("url=%s\n", counts.url.c_str());
    std::printf("listing=%s\n", client::list_recordings(config.str()).c_str());
    return uploaded == CLASSREC_RESULT_OK ? 0 : 1;
  } catch (const std::exception &e) {
    std::printf("start_failed=%s\n", e.what());
    return 1;
  }
}
