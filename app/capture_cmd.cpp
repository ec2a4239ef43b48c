// `podtrace capture`: live capture on the node's capture points into pcapng, like dumpcap -w.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <expected>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/command.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "probes/capture_writer.hpp"
#include "probes/live_source.hpp"
#include "probes/node_capture.hpp"
#include "probes/pod_view.hpp"

namespace podtrace::app {
namespace {

using Clock = std::chrono::steady_clock;

struct CaptureOptions {
    LiveCli cli;
    std::string file;
    long long count = 0;  // 0: no limit
    double duration_s = 0;
    double rotate_mb = 0;
    int rotate_s = 0;
    bool stdin_control = false;
};

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_signal(int) {
    g_stop.store(true);
}

// --stdin-control. Reads standard input up to a line end; false at its end or on an error.
bool read_line_from_stdin() {
    char c;
    for (;;) {
        const ssize_t n = ::read(0, &c, 1);
        if (n == 1 && c == '\n') return true;
        if (n == 0 || (n < 0 && errno != EINTR)) return false;
    }
}

// After the start line: the next line, or the end of standard input (kubectl attach went
// away), stops the capture as a signal would. Polls so that it ends with the capture.
class StdinStop {
public:
    StdinStop()
        : t_([this] {
              while (!done_.load()) {
                  pollfd p{0, POLLIN, 0};
                  if (::poll(&p, 1, 200) <= 0) continue;
                  read_line_from_stdin();  // a line or the end: either stops
                  g_stop.store(true);
                  return;
              }
          }) {}
    ~StdinStop() {
        done_.store(true);
        t_.join();
    }

private:
    std::atomic<bool> done_{false};
    std::thread t_;
};

// SA_RESETHAND: a second Ctrl-C kills at once, should draining ever hang.
void install_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    // A reader that goes away (kubectl exec ... | wireshark) must be a write error, not a kill.
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, nullptr);
}

// "k8s-w1/cali1: 20 frames (1960 bytes), 0 dropped by kernel, 0 dropped by queue"
void print_summary(const probes::LiveSource& src, const probes::CaptureWriter& out,
                   std::ostream& err) {
    const auto stats = src.stats();
    const auto& counts = out.counts();
    std::uint64_t frames = 0, kernel = 0, queue = 0;
    for (std::size_t i = 0; i < stats.size(); ++i) {
        const auto& s = stats[i];
        const auto c = i < counts.size() ? counts[i] : probes::CaptureWriter::Count{};
        frames += c.frames;
        kernel += s.kernel_drops;
        queue += s.queue_drops;
        err << "podtrace: " << src.node() << '/' << s.name << ": " << c.frames << " frames ("
            << c.bytes << " bytes), " << s.kernel_drops << " dropped by kernel, " << s.queue_drops
            << " dropped by queue";
        if (!s.attached) err << " (detached)";
        if (!s.error.empty()) err << " [" << s.error << ']';
        err << '\n';
    }
    const auto& files = out.files();
    err << "podtrace: " << frames << " packets captured, " << kernel << " dropped by kernel, "
        << queue << " dropped by queue; " << files.size()
        << (files.size() == 1 ? " file" : " files");
    if (!files.empty()) err << ": " << files.front();
    if (files.size() > 1) err << " ... " << files.back();
    err << '\n';
}

int capture_command(CaptureOptions& opt, std::ostream& err) {
    if (opt.file == "-" && (opt.rotate_mb > 0 || opt.rotate_s > 0)) {
        err << "podtrace: capture: -C and -G need a file name, not -w - (standard output)\n";
        return 2;
    }
    if (opt.rotate_s > 0 && opt.file.find('%') == std::string::npos)
        err << "podtrace: capture: warning: -G without a % pattern in -w rewrites " << opt.file
            << " at every rotation (as tcpdump does)\n";
    install_handlers();
    if (opt.stdin_control && !read_line_from_stdin()) {
        err << "podtrace: capture: --stdin-control: standard input ended before the start line\n";
        return 2;
    }
    std::optional<StdinStop> stdin_stop;
    if (opt.stdin_control) stdin_stop.emplace();
    // Before opening the handles (so no queue builds up) and before --user (discovery reads
    // nftables, which needs root).
    const probes::NodeView node = probes::read_node(discover_options());
    // Inside a pod (kubectl debug POD --target): say plainly what eth0 can and cannot show.
    if (node.pod_view) err << probes::pod_view_note(*node.pod_view);

    auto src = probes::open_capture(live_options(opt.cli), opt.cli.user);
    if (!src) {
        err << "podtrace: capture: " << src.error().message << '\n';
        return 2;
    }
    // Opened as --user, as tcpdump -Z does: every rotated file gets the same owner.
    probes::CaptureWriter out({opt.file, opt.rotate_mb, opt.rotate_s,
                               static_cast<std::uint32_t>(opt.cli.live.snaplen)},
                              *src, {"podtrace " PODTRACE_VERSION, src->node(), node.facts, ""});
    // The handles are capturing by now: the file covers everything from here on.
    if (auto r = out.open(std::time(nullptr), core::wall_ns()); !r) {
        err << "podtrace: capture: " << r.error().message << '\n';
        return 2;
    }
    {
        const auto stats = src->stats();
        err << "podtrace: capturing on " << src->node() << ':';
        for (const auto& s : stats) err << ' ' << s.name;
        err << " (snaplen " << opt.cli.live.snaplen << ")"
            << (opt.cli.live.filter.empty() ? "" : ", filter \"" + opt.cli.live.filter + "\"")
            << ", writing " << (opt.file == "-" ? "to standard output" : opt.file) << '\n';
    }

    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(opt.duration_s));
    std::optional<std::int64_t> stopped_ns;  // when we stopped the source
    bool drained = false;                    // every frame it captured went into the file
    long long written = 0;
    int rc = 0;
    core::Frame frame;
    for (;;) {
        if (!stopped_ns && (g_stop.load() || (opt.duration_s > 0 && Clock::now() >= deadline))) {
            stopped_ns = core::wall_ns();
            src->stop();  // then drain: every frame captured so far goes into the file
        }
        const auto r = src->next(frame, std::chrono::milliseconds(100));
        if (r == probes::LiveSource::Wait::stopped) {
            drained = true;
            break;
        }
        std::expected<void, Error> w;
        if (r == probes::LiveSource::Wait::frame) {
            w = out.write(frame);
            if (w && opt.count > 0 && ++written >= opt.count) break;
        }
        if (w) w = out.tick(std::time(nullptr));
        if (!w) {
            err << "podtrace: capture: " << w.error().message << '\n';
            rc = 1;
            break;
        }
    }
    src->stop();
    // The file says capture went on until the stop, past its last frame, only if it did.
    if (auto r = out.close(drained ? stopped_ns : std::nullopt); !r && rc == 0) {
        err << "podtrace: capture: " << r.error().message << '\n';
        rc = 1;
    }
    print_summary(*src, out, err);
    return rc;
}

}  // namespace

void add_live_options(CLI::App* sub, LiveCli& o) {
    sub->add_option("-i,--interface", o.live.interfaces,
                    "interface name or glob, repeatable (default: cali*, the Calico tunnels "
                    "present and the default-route NIC)")
        ->allow_extra_args(false);
    sub->add_option("-s,--snaplen", o.live.snaplen,
                    "bytes kept per packet (default 512: every header; 0 = 262144, whole packets)")
        ->check(non_negative());
    sub->add_option("-B,--buffer-size", o.live.buffer_kib, "kernel buffer per interface, KiB")
        ->check(positive());
    sub->add_option("--node", o.live.node, "node name for the capture points (default: hostname)");
    sub->add_option("--user", o.user, "switch to this user once the interfaces are open");
    sub->add_option("filter", o.filter_words, "BPF filter, as tcpdump takes it (after --)");
}

const probes::LiveOptions& live_options(LiveCli& o) {
    if (o.live.snaplen == 0) o.live.snaplen = 262144;  // as tcpdump -s 0
    for (const auto& w : o.filter_words) o.live.filter += (o.live.filter.empty() ? "" : " ") + w;
    o.filter_words.clear();  // joined once
    return o.live;
}

Command add_capture_command(CLI::App& cli) {
    auto opt = std::make_shared<CaptureOptions>();
    auto* sub = cli.add_subcommand(
        "capture", "Capture on the node's cali* veths, Calico tunnels and NIC into pcapng");
    add_live_options(sub, opt->cli);
    sub->add_option("-w,--write", opt->file, "pcapng file to write; - for standard output")
        ->required();
    sub->add_option("-c,--count", opt->count, "stop after this many packets")
        ->check(positive());
    sub->add_option("--duration", opt->duration_s, "stop after this many seconds")
        ->check(positive());
    sub->add_option("-C,--file-size", opt->rotate_mb,
                    "start a new file (FILE1, FILE2...) when this one exceeds MB million bytes")
        ->check(positive());
    sub->add_option("-G,--rotate-seconds", opt->rotate_s,
                    "start a new file every N seconds; FILE may hold strftime % patterns")
        ->check(positive());
    sub->add_flag("--stdin-control", opt->stdin_control,
                  "for kubectl attach, which loses what a container writes before it attaches: "
                  "start once a line arrives on standard input; stop at the next line or when "
                  "standard input ends");
    return {sub, [opt] { return capture_command(*opt, std::cerr); }};
}

}  // namespace podtrace::app
