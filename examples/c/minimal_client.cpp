// The smallest useful classrec client: record the synthetic classroom for a few seconds into a
// folder, print the events, stop, print where the file is. Build it (from the repository root,
// after `cargo build --release`):
//
//   g++ -std=c++17 -Iinclude examples/c/minimal_client.cpp target/release/libclassrec.a -lasound -lpthread -ldl -lm -o minimal_client
//   ./minimal_client /tmp/recordings 3
//
// or against the shared library: replace the .a with `-Ltarget/release -lclassrec`.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "classrec.h"

// Runs on classrec's event thread; `event` lives only during the call.
static void print_event(void *, const classrec_event *event) {
  std::printf("event %u %s: %s%s\n", unsigned(event->kind), event->recording_id, event->path, event->message);
}

int main(int argc, char **argv) {
  const std::string folder = argc > 1 ? argv[1] : "";
  const int seconds = argc > 2 ? std::stoi(argv[2]) : 3;
  // The same fields as the Rust RecorderConfig. A real client pushes its own frames with
  // {"kind": "pushed"} and adds "upload", "class" and "callback".
  std::string config = R"({"source": {"kind": "synthetic"}, "size": [1280, 720], "fps": 15)";
  if (!folder.empty()) config += R"(, "out_dir": ")" + folder + "\"";
  config += "}";

  char error[1024] = "";
  classrec_recorder *recorder = nullptr;
  classrec_result result =
      classrec_recorder_start(config.c_str(), print_event, nullptr, nullptr, &recorder, error, sizeof error);
  if (result != CLASSREC_RESULT_OK) {
    std::fprintf(stderr, "cannot record (%s): %s\n", classrec_result_name(result), error);
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  classrec_recording recording{};
  recording.struct_size = sizeof recording;  // the struct can grow: say which one you have
  result = classrec_recorder_stop(recorder, &recording);
  if (result == CLASSREC_RESULT_OK) {
    std::printf("saved %s (%llu ms, %llu bytes)\n", recording.path, (unsigned long long)recording.duration_ms,
                (unsigned long long)recording.bytes);
  } else {
    char text[1024];
    classrec_recorder_last_error(recorder, text, sizeof text, nullptr);
    std::fprintf(stderr, "stop failed (%s): %s\n", classrec_result_name(result), text);
  }
  classrec_recorder_free(recorder);  // recording.path dies here
  return result == CLASSREC_RESULT_OK ? 0 : 1;
}
