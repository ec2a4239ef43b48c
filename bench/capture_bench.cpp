// Capture driver for bench/capture_bench.sh: captures with LiveSource until SIGINT/SIGTERM,
// consumes every frame, then prints per-interface counts and its own CPU time.
// usage: podtrace_capture_bench [-B KIB] [-s SNAPLEN] [-f FILTER] IFACE...
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "probes/live_source.hpp"

namespace {
std::atomic<bool> interrupted{false};
void on_signal(int) {
    interrupted = true;
}
}  // namespace

int main(int argc, char** argv) {
    using namespace podtrace::core;
    using namespace podtrace::probes;
    LiveOptions o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-B" && i + 1 < argc)
            o.buffer_kib = std::atoi(argv[++i]);
        else if (a == "-s" && i + 1 < argc)
            o.snaplen = std::atoi(argv[++i]);
        else if (a == "-f" && i + 1 < argc)
            o.filter = argv[++i];
        else
            o.interfaces.push_back(a);
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    auto src = LiveSource::open(o);
    if (!src) {
        std::fprintf(stderr, "capture_bench: %s\n", src.error().message.c_str());
        return 2;
    }
    std::fprintf(stderr, "capture_bench: ready\n");
    podtrace::core::Frame f;
    std::uint64_t frames = 0, sum = 0;
    bool stopping = false;
    for (;;) {
        if (interrupted && !stopping) {
            src->stop();
            stopping = true;
        }
        auto r = src->next(f, std::chrono::milliseconds(50));
        if (r == LiveSource::Wait::stopped) break;
        if (r != LiveSource::Wait::frame) continue;
        ++frames;
        if (!f.bytes.empty()) sum += f.bytes[0];  // touch the data as a consumer would
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec / 1e6;
    std::uint64_t kd = 0, qd = 0;
    for (const auto& s : src->stats()) {
        std::printf("iface %s frames %llu bytes %llu kernel_drops %llu queue_drops %llu\n",
                    s.name.c_str(), (unsigned long long)s.frames, (unsigned long long)s.bytes,
                    (unsigned long long)s.kernel_drops, (unsigned long long)s.queue_drops);
        kd += s.kernel_drops;
        qd += s.queue_drops;
    }
    std::printf("total frames %llu kernel_drops %llu queue_drops %llu cpu_s %.3f (checksum %llu)\n",
                (unsigned long long)frames, (unsigned long long)kd, (unsigned long long)qd, cpu,
                (unsigned long long)(sum & 1));
    return 0;
}
