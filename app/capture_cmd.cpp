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
#include "core/error.hpp"
#include "probes/live_source.hpp"
#include "probes/pcapng_writer.hpp"
#include "probes/pod_view.hpp"

namespace podtrace::app {
namespace {

using Clock = std::chrono::steady_clock;

// Wall-clock time, as packets are stamped.
std::int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

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

// tcpdump's names: FILE, FILE1, FILE2 ... with -C; strftime(FILE) with -G.
std::string file_name(const std::string& pattern, bool by_time, std::time_t t, int count) {
    std::string name = pattern;
    if (by_time) {
        std::tm tm{};
        ::localtime_r(&t, &tm);
        std::vector<char> buf(pattern.size() * 4 + 256);
        const std::size_t n = std::strftime(buf.data(), buf.size(), pattern.c_str(), &tm);
        if (n > 0) name.assign(buf.data(), n);
    }
    if (count > 0) name += std::to_string(count);
    return name;
}

// The files written, each a complete section: SHB, then an IDB per capture point.
class Output {
public:
    Output(const CaptureOptions& opt, probes::LiveSource& src, probes::SectionInfo section)
        : opt_(opt), src_(src), section_(std::move(section)) {}

    // `start_ns`: when capture into this file begins (every frame after it goes here).
    std::expected<void, Error> open(std::time_t now, std::int64_t start_ns) {
        file_start_ = now;
        auto w = probes::PcapngWriter::open(
            file_name(opt_.file, opt_.rotate_s > 0, now, size_count_), section_);
        if (!w) return std::unexpected(w.error());
        writer_ = std::move(*w);
        files_.push_back(writer_->path());
        map_.assign(map_.size(), Mapped{});
        file_ifs_.clear();
        last_ns_ = start_ns;
        // Every capture point gets its IDB up front: a silent interface is evidence too.
        const auto stats = src_.stats();
        base_.assign(stats.size(), Drops{});
        for (std::uint32_t i = 0; i < stats.size(); ++i) {
            base_[i] = {stats[i].kernel_drops, stats[i].queue_drops};
            if (stats[i].attached) declare(i, stats[i].name, stats[i].linktype, start_ns);
        }
        return {};
    }

    std::expected<void, Error> write(const core::Frame& f) {
        if (opt_.rotate_mb > 0 && writer_->bytes_written() > opt_.rotate_mb * 1e6) {
            ++size_count_;
            // Frames leave the source in time order: the earlier ones are all in this file.
            if (auto r = rotate(file_start_, f.ts_ns); !r) return r;
        }
        if (f.interface >= map_.size() || !map_[f.interface].declared ||
            map_[f.interface].linktype != f.linktype) {
            // A new (or re-attached) capture point: one stats() copy per interface and file.
            const auto stats = src_.stats();
            const std::string name = f.interface < stats.size()
                                         ? stats[f.interface].name
                                         : "if" + std::to_string(f.interface);
            // It was capturing by its first frame at the latest.
            declare(f.interface, name, f.linktype, f.ts_ns);
        }
        const std::uint32_t id = map_[f.interface].id;
        if (auto r = writer_->write(id, f); !r) return r;
        ++file_ifs_[id].frames;
        last_ns_ = std::max(last_ns_, f.ts_ns);
        Count& c = counts_[f.interface];
        ++c.frames;
        c.bytes += f.wirelen;
        dirty_ = true;
        return {};
    }

    // -G: a new file every rotate_s seconds, named by strftime at that time.
    std::expected<void, Error> tick(std::time_t now) {
        if (opt_.rotate_s > 0 && now - file_start_ >= opt_.rotate_s) {
            size_count_ = 0;
            // Frames stamped within the source's reorder window (ms) before this go to the next
            // file; a report's 100 ms grace for a missing hop makes that moot.
            return rotate(now, wall_ns());
        }
        // Crash safety: nothing waits in memory over 1 s; a stream (kubectl ... -w -) feeding
        // a live view flushes every 200 ms.
        const auto every = opt_.file == "-" ? std::chrono::milliseconds(200) : std::chrono::seconds(1);
        if (dirty_ && Clock::now() - last_flush_ >= every) {
            dirty_ = false;
            last_flush_ = Clock::now();
            return writer_->flush();
        }
        return {};
    }

    // `end_ns`: when capture into this file ended, if it took every frame up to then (not
    // after -c, which leaves frames behind in the queue).
    std::expected<void, Error> close(std::optional<std::int64_t> end_ns) {
        if (!writer_) return {};
        auto r = writer_->close(interface_ends(end_ns));
        writer_.reset();
        return r;
    }

    struct Count {
        std::uint64_t frames = 0;
        std::uint64_t bytes = 0;
    };
    const std::vector<Count>& counts() const { return counts_; }
    const std::vector<std::string>& files() const { return files_; }

private:
    struct Mapped {
        bool declared = false;
        std::uint32_t id = 0;
        std::uint32_t linktype = 0;
    };
    struct FileInterface {  // an interface of the current file
        std::uint32_t live_index = 0;
        std::int64_t start_ns = 0;
        std::uint64_t frames = 0;
    };
    struct Drops {
        std::uint64_t kernel = 0, queue = 0;
    };

    void declare(std::uint32_t live_index, const std::string& name, std::uint32_t linktype,
                 std::int64_t start_ns) {
        if (live_index >= map_.size()) {
            map_.resize(live_index + 1);
            counts_.resize(live_index + 1);
        }
        // Appeared since the file was opened: all its drops are this file's.
        if (live_index >= base_.size()) base_.resize(live_index + 1);
        const auto snaplen = static_cast<std::uint32_t>(opt_.cli.live.snaplen);
        map_[live_index] = {true, writer_->add_interface(name, linktype, snaplen), linktype};
        file_ifs_.push_back({live_index, start_ns, 0});
    }

    // Each interface's Interface Statistics Block, counters over this file only like its span:
    // received = written + dropped by the kernel + dropped by the queue.
    std::vector<probes::InterfaceEnd> interface_ends(std::optional<std::int64_t> end_ns) const {
        const auto stats = src_.stats();
        // A handle attached again counts from 0: what it says is then all this file's.
        const auto since = [](std::uint64_t now, std::uint64_t base) {
            return now >= base ? now - base : now;
        };
        std::vector<probes::InterfaceEnd> ends(file_ifs_.size());
        for (std::uint32_t id = 0; id < file_ifs_.size(); ++id) {
            const FileInterface& fi = file_ifs_[id];
            probes::InterfaceEnd& e = ends[id];
            e.start_ns = fi.start_ns;
            // An IDB replaced by another (the interface came back with a new link type) ended
            // at an unknown time, as did an interface that is gone.
            if (map_[fi.live_index].id != id || fi.live_index >= stats.size()) continue;
            const auto& s = stats[fi.live_index];
            if (s.attached && end_ns) e.end_ns = std::max(*end_ns, last_ns_);
            e.kernel_drops = since(s.kernel_drops, base_[fi.live_index].kernel);
            e.queue_drops = since(s.queue_drops, base_[fi.live_index].queue);
            e.received = fi.frames + *e.kernel_drops + *e.queue_drops;
        }
        return ends;
    }

    std::expected<void, Error> rotate(std::time_t now, std::int64_t boundary_ns) {
        if (auto r = close(boundary_ns); !r) return r;
        return open(now, boundary_ns);
    }

    const CaptureOptions& opt_;
    probes::LiveSource& src_;
    probes::SectionInfo section_;
    std::optional<probes::PcapngWriter> writer_;
    std::vector<Mapped> map_;    // LiveSource interface index → this file's interface id
    std::vector<Count> counts_;  // per LiveSource interface, over all files
    std::vector<FileInterface> file_ifs_;  // by interface id in the current file
    std::vector<Drops> base_;  // per LiveSource interface, when the current file was opened
    // The current file's start, then its latest frame: frames drained after the stop can be
    // stamped after it, and capture evidently went on until them.
    std::int64_t last_ns_ = 0;
    std::vector<std::string> files_;
    std::time_t file_start_ = 0;
    int size_count_ = 0;
    bool dirty_ = false;
    Clock::time_point last_flush_ = Clock::now();
};

// "k8s-w1/cali1: 20 frames (1960 bytes), 0 dropped by kernel, 0 dropped by queue"
void print_summary(const probes::LiveSource& src, const Output& out, std::ostream& err) {
    const auto stats = src.stats();
    const auto& counts = out.counts();
    std::uint64_t frames = 0, kernel = 0, queue = 0;
    for (std::size_t i = 0; i < stats.size(); ++i) {
        const auto& s = stats[i];
        const Output::Count c = i < counts.size() ? counts[i] : Output::Count{};
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
    const std::string facts = node_facts_json();
    // Inside a pod (kubectl debug POD --target): say plainly what eth0 can and cannot show.
    if (auto pod = probes::detect_pod_view(); pod && *pod) err << probes::pod_view_note(**pod);

    auto src = open_live(opt.cli);
    if (!src) {
        err << "podtrace: capture: " << src.error().message << '\n';
        return 2;
    }
    // Opened as --user, as tcpdump -Z does: every rotated file gets the same owner.
    Output out(opt, *src, {"podtrace " PODTRACE_VERSION, src->node(), facts, ""});
    // The handles are capturing by now: the file covers everything from here on.
    if (auto r = out.open(std::time(nullptr), wall_ns()); !r) {
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
            stopped_ns = wall_ns();
            src->stop();  // then drain: every frame captured so far goes into the file
        }
        const auto r = src->next(frame, std::chrono::milliseconds(100));
        if (r == probes::LiveSource::Next::stopped) {
            drained = true;
            break;
        }
        std::expected<void, Error> w;
        if (r == probes::LiveSource::Next::frame) {
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
        ->check(CLI::NonNegativeNumber);
    sub->add_option("-B,--buffer-size", o.live.buffer_kib, "kernel buffer per interface, KiB")
        ->check(CLI::PositiveNumber);
    sub->add_option("--node", o.live.node, "node name for the capture points (default: hostname)");
    sub->add_option("--user", o.user, "switch to this user once the interfaces are open");
    sub->add_option("filter", o.filter_words, "BPF filter, as tcpdump takes it (after --)");
}

std::expected<probes::LiveSource, Error> open_live(LiveCli& o) {
    if (o.live.snaplen == 0) o.live.snaplen = 262144;  // as tcpdump -s 0
    for (const auto& w : o.filter_words) o.live.filter += (o.live.filter.empty() ? "" : " ") + w;
    o.filter_words.clear();  // joined once
    auto src = probes::LiveSource::open(o.live);
    if (!src) return std::unexpected(src.error());
    if (!o.user.empty())
        if (auto r = probes::drop_privileges(o.user); !r) return std::unexpected(r.error());
    return std::move(*src);
}

Command add_capture_command(CLI::App& cli) {
    auto opt = std::make_shared<CaptureOptions>();
    auto* sub = cli.add_subcommand(
        "capture", "Capture on the node's cali* veths, Calico tunnels and NIC into pcapng");
    add_live_options(sub, opt->cli);
    sub->add_option("-w,--write", opt->file, "pcapng file to write; - for standard output")
        ->required();
    sub->add_option("-c,--count", opt->count, "stop after this many packets")
        ->check(CLI::PositiveNumber);
    sub->add_option("--duration", opt->duration_s, "stop after this many seconds")
        ->check(CLI::PositiveNumber);
    sub->add_option("-C,--file-size", opt->rotate_mb,
                    "start a new file (FILE1, FILE2...) when this one exceeds MB million bytes")
        ->check(CLI::PositiveNumber);
    sub->add_option("-G,--rotate-seconds", opt->rotate_s,
                    "start a new file every N seconds; FILE may hold strftime % patterns")
        ->check(CLI::PositiveNumber);
    sub->add_flag("--stdin-control", opt->stdin_control,
                  "for kubectl attach, which loses what a container writes before it attaches: "
                  "start once a line arrives on standard input; stop at the next line or when "
                  "standard input ends");
    return {sub, [opt] { return capture_command(*opt, std::cerr); }};
}

}  // namespace podtrace::app
