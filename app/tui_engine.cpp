// `podtrace tui`'s engine: one ingest thread reads capture files (through report's reader) or a
// live capture into a tracer, keeps the raw frames and each flow's recent paths, and the UI
// thread takes snapshots of it all in report's words.
#include "app/tui_engine.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "app/capture_input.hpp"
#include "app/report_text.hpp"
#include "app/tui_streams.hpp"
#include "core/error.hpp"
#include "decode/decoder.hpp"
#include "probes/capture_point.hpp"
#include "probes/pcapng_writer.hpp"
#include "probes/pod_view.hpp"
#include "trace/classify.hpp"
#include "trace/diagnose.hpp"
#include "tui/dissect.hpp"

namespace podtrace::app {
namespace {

using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The ingest thread lets the UI in after this many sightings or this long, whichever first:
// a snapshot never waits longer than one batch.
constexpr int kBatch = 256;
constexpr auto kBatchTime = 2ms;
// Findings (trace::diagnose, which walks every flow) and the flows' name strings are worked
// out again at most this often, and only when the flows changed: not on every snapshot.
constexpr auto kRefreshEvery = 500ms;
// Live: a quiet capture's clock is the wall clock less the live source's reorder window (20 ms)
// and some slack, so that advancing never overtakes frames still in its queue.
constexpr std::int64_t kLiveLagNs = 100'000'000;
// The Path screen lists at most this many of a flow's most recent packets.
constexpr std::size_t kDetailPackets = 256;
// --follow: a sighting waits at most this long (after it arrived) for the other streams to
// deliver something later before it goes to the tracer without them: a quiet stream delays the
// others by this much, and what it sends later than that is out of order (the correlator
// counts it).
constexpr std::int64_t kFollowLagNs = 250'000'000;
// ... and no stream holds more sightings than this (memory at high rates).
constexpr std::size_t kFollowMaxHeld = 65536;
// A regular file given to --follow is held as `report` holds one (CaptureReader): sightings
// wait until the file has one `reorder` later, or this many.
constexpr std::size_t kFileMaxHeld = 4096;

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now().time_since_epoch())
        .count();
}

// ---- the packet store

struct FrameRecord {  // trivial: the ring is allocated without being written
    std::uint64_t seq;
    std::uint64_t offset;  // absolute byte position; its place in the ring is offset % size
    std::int64_t ts_ns;    // as captured (the node's clock, not corrected)
    std::uint32_t caplen, wirelen, linktype;
    trace::PointId at;
    core::Direction direction;
    std::uint8_t ts_digits;
};

// Raw frames, the newest kept: one byte ring (a frame is contiguous: one that would wrap starts
// the ring over) and a ring of fixed records, so keeping a frame allocates nothing. Bounds:
// `bytes` of frame data, and bytes/128 records (at least 1024) of 48 bytes, so small frames run
// out of records first. Pages are touched only as frames arrive.
class PacketStore {
public:
    explicit PacketStore(std::size_t bytes)
        : size_(std::max<std::size_t>(bytes, 1)),
          ring_(std::make_unique_for_overwrite<std::uint8_t[]>(size_)),
          slots_(std::bit_ceil(std::max<std::size_t>(bytes / 128, 1024))),
          records_(std::make_unique_for_overwrite<FrameRecord[]>(slots_)) {}

    // Keeps the frame, letting the oldest go; its sequence number (>= 1), 0 if larger than the
    // whole store.
    std::uint64_t put(const core::Frame& f, trace::PointId at) {
        const std::uint64_t len = f.bytes.size();
        if (len > size_) return 0;
        std::uint64_t pos = write_;
        if (pos % size_ + len > size_) pos += size_ - pos % size_;
        while (oldest_ < next_) {
            const FrameRecord& o = records_[oldest_ & (slots_ - 1)];
            if (next_ - oldest_ < slots_ && o.offset + size_ >= pos + len) break;
            ++oldest_;
        }
        const std::uint64_t seq = next_++;
        records_[seq & (slots_ - 1)] = {
            seq, pos,         f.ts_ns,    static_cast<std::uint32_t>(len), f.wirelen, f.linktype,
            at,  f.direction, f.ts_digits};
        if (len) std::memcpy(ring_.get() + pos % size_, f.bytes.data(), len);
        write_ = pos + len;
        return seq;
    }
    const FrameRecord* find(std::uint64_t seq) const {
        return seq >= oldest_ && seq < next_ ? &records_[seq & (slots_ - 1)] : nullptr;
    }
    std::span<const std::uint8_t> bytes(const FrameRecord& r) const {
        return {ring_.get() + r.offset % size_, r.caplen};
    }

private:
    std::size_t size_;
    std::unique_ptr<std::uint8_t[]> ring_;
    std::size_t slots_;  // a power of two
    std::unique_ptr<FrameRecord[]> records_;
    std::uint64_t next_ = 1, oldest_ = 1;
    std::uint64_t write_ = 0;  // absolute position after the newest frame
};

// ---- per capture point counters

struct PointCounts {
    trace::PointId at;
    std::uint64_t packets = 0, bytes = 0;
    // The capture second being counted, and the one before it (the last full second).
    std::int64_t second = INT64_MIN;
    std::uint64_t sec_packets = 0, sec_bytes = 0, prev_packets = 0, prev_bytes = 0;
    std::uint64_t undecodable = 0;
    std::array<std::uint64_t, decode::kReasonCount> reasons{};
    std::int32_t live = -1;     // LiveSource interface index
    std::int64_t since_ns = 0;  // live: capturing since
    std::int32_t stream = -1;   // --follow: the stream it comes in
};

void count_frame(PointCounts& c, std::int64_t ts, std::uint32_t wirelen, const decode::Decoded& d) {
    ++c.packets;
    c.bytes += wirelen;
    const std::int64_t sec = ts >= 0 ? ts / 1'000'000'000 : (ts + 1) / 1'000'000'000 - 1;
    if (sec > c.second) {
        const bool next = c.second != INT64_MIN && sec == c.second + 1;
        c.prev_packets = next ? c.sec_packets : 0;
        c.prev_bytes = next ? c.sec_bytes : 0;
        c.sec_packets = c.sec_bytes = 0;
        c.second = sec;
    }
    if (sec == c.second) {
        ++c.sec_packets;
        c.sec_bytes += wirelen;
    } else if (sec == c.second - 1) {  // a little out of order
        ++c.prev_packets;
        c.prev_bytes += wirelen;
    }
    if (d.status != decode::Status::ok) {
        ++c.undecodable;
        ++c.reasons[static_cast<std::size_t>(d.reason)];
    }
}

// ---- each flow's recent packets

// Bounds: the newest kKeptPaths paths of all flows, and at most kKeptSightings sightings of
// them (about 40 MiB when full); the oldest go first.
constexpr std::size_t kKeptPaths = 65536, kKeptSightings = 262144;

struct KeptPath {
    std::uint64_t first = 0;   // absolute index of its first sighting
    std::uint64_t number = 0;  // 1, 2, … in its flow
    std::uint32_t flow = 0, count = 0;
    bool reverse = false, ambiguous = false;
};

struct RowText {  // a flow's words, worked out once per refresh rather than per snapshot
    std::string src, dst, src_addr, dst_addr, proto, kind, encap, nat, search;
};

struct FlowExtra {
    trace::LatencyStats latency;  // first -> last capture point, client -> server
    std::uint8_t digits = 9;
    std::uint64_t seen = 0, kept = 0;  // paths in all, paths in the recent ring
    std::uint64_t drops = 0;
    std::uint32_t findings = 0;
    RowText text;
    bool has_text = false;
    // What the text was worked out from: a flow that saw no packet and no new finding since
    // keeps its words until the next full refresh.
    std::int64_t text_last_ns = INT64_MIN;
    std::uint32_t text_findings = 0;
};

const char* point_word(trace::PointKind k) {
    return k == trace::PointKind::pod_veth ? "veth" : trace::is_tunnel(k) ? "tunnel" : "nic";
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string ip_text(const trace::Endpoint& e) {
    return trace::IpAddr{e.addr, e.version}.str();
}

std::string time_text(std::int64_t ns, std::uint8_t digits) {
    const std::time_t sec = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm tm{};
    ::localtime_r(&sec, &tm);
    char buf[64];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    const long long frac = ns % 1'000'000'000;
    if (digits >= 9)
        std::snprintf(buf + n, sizeof buf - n, ".%09lld", frac);
    else
        std::snprintf(buf + n, sizeof buf - n, ".%06lld", frac / 1000);
    return buf;
}

// One hop line of trace::render_path: "  node/iface<pad>  dir  HEADERS[  +LATENCY][  [src …]]".
struct HopText {
    std::string headers, latency, rewrite;
};
HopText split_hop_line(const std::string& line, std::size_t width) {
    HopText h;
    std::string rest = line.size() > 2 + width + 2 + 5 ? line.substr(2 + width + 2 + 5) : "";
    for (const char* mark : {"  [src ", "  [dst "}) {
        const auto at = rest.find(mark);
        if (at == std::string::npos) continue;
        const auto end = rest.find(']', at);
        if (!h.rewrite.empty()) h.rewrite += ", ";
        h.rewrite += rest.substr(at + 3, end == std::string::npos ? end : end - at - 3);
        rest.erase(at, end == std::string::npos ? end : end - at + 1);
    }
    if (const auto at = rest.find("  +"); at != std::string::npos) {
        h.latency = rest.substr(at + 2);
        rest.erase(at);
    }
    h.headers = std::move(rest);
    return h;
}

// ---- --follow

// A stream's sightings waiting for the merge, in timestamp order (a late one is inserted where
// it belongs), with when each arrived. A ring over one vector: no allocation once grown.
struct Held {
    trace::Sighting s;
    std::int64_t arrival_ns;
};
class HeldRing {
public:
    bool empty() const { return size_ == 0; }
    std::size_t size() const { return size_; }
    const Held& front() const { return ring_[head_]; }
    void pop() {
        head_ = (head_ + 1) & (ring_.size() - 1);
        --size_;
    }
    void push(const trace::Sighting& s, std::int64_t arrival) {
        if (size_ == ring_.size()) grow();
        const std::size_t mask = ring_.size() - 1;
        std::size_t i = size_++;
        for (; i > 0 && ring_[(head_ + i - 1) & mask].s.ts_ns > s.ts_ns; --i)
            ring_[(head_ + i) & mask] = ring_[(head_ + i - 1) & mask];
        ring_[(head_ + i) & mask] = {s, arrival};
    }

private:
    void grow() {
        std::vector<Held> bigger(ring_.empty() ? 256 : ring_.size() * 2);
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
        ring_.swap(bigger);
        head_ = 0;
    }
    std::vector<Held> ring_;
    std::size_t head_ = 0, size_ = 0;
};

struct FollowStream {
    probes::FileArg spec;
    bool can_stall = true;  // not a regular file
    LiveStreams::Info info;
    std::string node;  // "" until NODE= or its header says
    std::string facts, facts_error;
    std::vector<std::uint32_t> points;  // per interface of the stream: index into points
    HeldRing held;
    std::int64_t newest = INT64_MIN;  // capture time
    std::int64_t first_ns = INT64_MAX, last_ns = INT64_MIN;
    bool over = false;  // ended (or failed, or stopped) and every frame taken

    std::string label() const { return node.empty() ? spec.path : node; }
};

bool final_state(LiveStreams::State s) {
    return s == LiveStreams::State::ended || s == LiveStreams::State::failed ||
           s == LiveStreams::State::stopped;
}

}  // namespace

struct TuiEngine::Impl {
    enum class Phase : std::uint8_t {
        starting,
        aligning,
        reading,
        ended,
        capturing,
        following,
        stopped
    };

    explicit Impl(const TuiOptions& o)
        : opt(o), data(std::make_unique<ReportData>(tracer_options(o))), store(o.keep_bytes) {}

    static trace::TracerOptions tracer_options(const TuiOptions& o) {
        trace::TracerOptions t;
        t.correlator.window_ns = static_cast<std::int64_t>(o.input.window_s * 1e9);
        return t;
    }

    bool open(std::ostream& err);
    bool open_follow(std::ostream& err);
    void run();
    void run_files();
    void run_live();
    void run_follow();
    void learn_stream(std::size_t i);
    void follow_frame(std::size_t i, const LiveStreams::Item& it);
    FollowStream* follow_next(std::int64_t now);
    void end_stream(FollowStream& fs);
    std::string follow_state() const;

    // All below under `mu`.
    PointCounts& point(trace::PointId at);
    std::uint64_t on_frame(const core::Frame& f, const decode::Decoded& d, trace::PointId at);
    void on_path(const trace::Path& p, trace::FlowTable::Added a);
    FlowExtra& extra_of(std::uint32_t flow);
    void refresh(bool force);
    void make_text(const trace::Flow& f, FlowExtra& x);
    void fill_row(const trace::Flow& f, tui::FlowRow& r);
    void fill_detail(std::uint32_t id, tui::FlowDetail& out);
    void fill_packet(std::uint64_t frame, tui::PacketDetail& out);
    void fill_interfaces(std::vector<tui::InterfaceRow>& out);
    void fill_notes(std::vector<std::string>& out);
    std::string state_text() const;
    const trace::Sighting* sighting_of(std::uint64_t ref) const;
    template <class F>
    void for_kept_paths(std::uint32_t flow, F f) const;
    // Between batches: lets a waiting snapshot() in, then takes the lock back.
    void let_ui_in(std::unique_lock<std::mutex>& lk);
    bool pace(std::int64_t ts, std::unique_lock<std::mutex>& lk);
    void learn_live_points();

    TuiOptions opt;
    std::unique_ptr<ReportData> data;
    std::unique_ptr<CaptureReader> reader;
    std::optional<probes::LiveSource> live;
    decode::Decoder live_decoder;
    decode::Decoded live_decoded;
    std::vector<NodeAddresses> addresses;   // live: by node id
    std::vector<std::int32_t> live_points;  // live interface index -> points index
    std::vector<probes::InterfaceStats> live_stats;
    std::vector<std::int64_t> offset;  // files: clock offset by node id
    std::string live_error;            // why discovery gave no node facts
    std::vector<std::string> pod_note;  // live inside a pod: what eth0 can and cannot show
    std::unique_ptr<LiveStreams> streams;  // --follow
    std::vector<FollowStream> follow;
    std::vector<LiveStreams::Item> items;  // reused per take
    std::int64_t released_ts = INT64_MIN, released_at = 0;  // newest sighting traced, when

    PacketStore store;
    std::vector<trace::Sighting> kept_sightings;  // ring, kKeptSightings
    std::vector<KeptPath> kept_paths;             // ring, kKeptPaths
    std::uint64_t sightings_begin = 0, sightings_end = 0, paths_begin = 0, paths_end = 0;
    std::vector<FlowExtra> extra;  // by flow id - 1
    std::vector<PointCounts> points;
    std::unordered_map<std::uint32_t, std::uint32_t> point_index;  // node << 16 | interface
    std::vector<std::string> finding_lines;
    std::string source;
    std::uint64_t frames = 0;
    std::int64_t newest = 0;  // capture time
    Phase phase = Phase::starting;
    std::string failure;  // why ingestion stopped early
    Steady::time_point refreshed{};
    std::size_t refreshed_flows = SIZE_MAX;
    std::uint64_t refreshed_paths = 0;
    unsigned refreshes = 0;
    // Replay pace: capture time ts0 is due at wall time wall0.
    std::int64_t pace_ts0 = 0, advanced = INT64_MIN;
    Steady::time_point pace_wall0{};
    bool pacing = false;

    mutable std::mutex mu;
    std::condition_variable cv;  // wakes a pacing sleep on stop()
    std::atomic<int> waiting{0};
    std::atomic<bool> stopping{false}, finished{false};
    std::atomic<std::uint64_t> aligned_bytes{0};
    std::thread thread;
};

// ---- opening

bool TuiEngine::Impl::open(std::ostream& err) {
    data->tracer.observe([this](const trace::Path& p, const trace::Classification&,
                                trace::FlowTable::Added a) { on_path(p, a); });
    if (opt.follow) return open_follow(err);
    if (!opt.input.files.empty()) {
        reader = std::make_unique<CaptureReader>(opt.input, *data, "tui");
        reader->on_frame([this](const core::Frame& f, const decode::Decoded& d,
                                trace::PointId at) { return on_frame(f, d, at); });
        if (!reader->open(err)) return false;
        const std::size_t n = reader->file_count(), nodes = reader->node_count();
        source = std::to_string(n) + (n == 1 ? " file, " : " files, ") + std::to_string(nodes) +
                 (nodes == 1 ? " node" : " nodes");
        return true;
    }
    if (!load_inventory(opt.input, data->inventory, "tui", err)) return false;
    data->tracer.topology().set_inventory(&data->inventory);
    // As `capture`: discovery before the handles open (no queue builds up) and before --user.
    const std::string facts = node_facts_json();
    if (auto pod = probes::detect_pod_view(); pod && *pod) {
        std::istringstream lines(probes::pod_view_note(**pod));
        for (std::string l; std::getline(lines, l);) pod_note.push_back(l);
    }
    auto src = open_live(opt.live);
    if (!src) {
        err << "podtrace: tui: " << src.error().message << '\n';
        return false;
    }
    live.emplace(std::move(*src));
    live_decoder = decode::Decoder(opt.input.ports);
    const std::uint16_t node = data->names.intern(live->node());
    if (facts.empty()) {
        live_error = "node facts: discovery found nothing on this node";
    } else if (auto f = trace::parse_node_facts(facts); !f) {
        live_error = "node facts unreadable: " + f.error().message;
    } else {
        addresses.resize(node + 1);
        addresses[node] = node_addresses(*f);
        data->tracer.topology().set_facts(node, std::move(*f));
    }
    learn_live_points();
    return true;
}

// ---- ingestion

void TuiEngine::Impl::run() {
    if (streams)
        run_follow();
    else if (reader)
        run_files();
    else
        run_live();
    finished = true;
}

void TuiEngine::Impl::let_ui_in(std::unique_lock<std::mutex>& lk) {
    refresh(false);
    lk.unlock();
    while (waiting.load() > 0 && !stopping.load()) std::this_thread::yield();
    lk.lock();
}

bool TuiEngine::Impl::pace(std::int64_t ts, std::unique_lock<std::mutex>& lk) {
    if (!pacing) {
        pacing = true;
        pace_ts0 = ts;
        pace_wall0 = Steady::now();
    }
    for (;;) {
        const auto due = pace_wall0 + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                          static_cast<double>(ts - pace_ts0) / opt.speed));
        const auto now = Steady::now();
        if (now >= due) return true;
        // Capture time passes while we wait: quiet packets finish as they would live.
        const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - pace_wall0);
        const std::int64_t capture_now =
            std::min(ts, pace_ts0 + static_cast<std::int64_t>(elapsed.count() * opt.speed));
        if (capture_now > advanced) {
            advanced = capture_now;
            data->tracer.advance(capture_now);
        }
        refresh(false);
        cv.wait_for(lk, std::min<Steady::duration>(due - now, 50ms),
                    [this] { return stopping.load(); });
        if (stopping) return false;
    }
}

void TuiEngine::Impl::run_files() {
    {
        std::lock_guard lk(mu);
        phase = Phase::aligning;
    }
    // The clock pass reads the files once more: unlocked (snapshot() shows only its progress).
    std::ostringstream errs;
    const bool aligned =
        reader->align_clocks(errs, [this](std::uint64_t done) { aligned_bytes = done; });
    std::unique_lock lk(mu);
    if (!aligned) {
        failure = errs.str();
        if (!failure.empty() && failure.back() == '\n') failure.pop_back();
        phase = Phase::stopped;
        return;
    }
    for (const trace::NodeClock& c : data->clocks) {
        if (!c.estimated) continue;
        if (offset.size() <= c.node) offset.resize(c.node + 1, 0);
        offset[c.node] = c.offset_ns;
    }
    phase = Phase::reading;
    int n = 0;
    auto batch = Steady::now();
    while (!stopping) {
        const trace::Sighting* s = reader->next();
        if (!s) break;
        if (opt.speed > 0 && !pace(s->ts_ns, lk)) break;
        data->tracer.add(*s);
        ++data->sightings;
        if (++n == kBatch || ((n & 15) == 0 && Steady::now() - batch >= kBatchTime)) {
            let_ui_in(lk);
            n = 0;
            batch = Steady::now();
        }
    }
    data->tracer.finish();
    if (!stopping) {
        reader->finish(errs);  // the errors are in data->files, shown as notes
        // Interfaces that never had a frame count too.
        for (const FileSummary& f : data->files)
            for (const InterfaceSummary& i : f.interfaces)
                point(trace::make_point(data->names, i.node, i.name));
    }
    phase = stopping ? Phase::stopped : Phase::ended;
    refresh(true);
}

void TuiEngine::Impl::learn_live_points() {
    live_stats = live->stats();
    if (live_points.size() < live_stats.size()) live_points.resize(live_stats.size(), -1);
    for (std::size_t i = 0; i < live_stats.size(); ++i) {
        if (live_points[i] >= 0) continue;
        PointCounts& c = point(trace::make_point(data->names, live->node(), live_stats[i].name));
        c.live = static_cast<std::int32_t>(i);
        c.since_ns = wall_ns();
        live_points[i] = static_cast<std::int32_t>(&c - points.data());
    }
    const auto attached = std::ranges::count_if(live_stats, [](auto& s) { return s.attached; });
    source = "live on " + live->node() + ", " + std::to_string(attached) +
             (attached == 1 ? " interface" : " interfaces");
}

void TuiEngine::Impl::run_live() {
    std::unique_lock lk(mu);
    phase = Phase::capturing;
    lk.unlock();
    core::Frame f;
    int n = 0;
    auto batch = Steady::now(), stats_at = Steady::now();
    for (;;) {
        const auto r = live->next(f, lk.owns_lock() ? 0ms : 50ms);
        if (r == probes::LiveSource::Next::stopped) break;
        if (!lk.owns_lock()) {
            lk.lock();
            n = 0;
            batch = Steady::now();
        }
        if (r == probes::LiveSource::Next::frame) {
            if (f.interface >= live_points.size() || live_points[f.interface] < 0)
                learn_live_points();
            PointCounts& c = points[live_points[f.interface]];
            const trace::PointId at = c.at;
            live_decoder.decode(f, live_decoded);
            ++frames;
            newest = std::max(newest, f.ts_ns);
            count_frame(c, f.ts_ns, f.wirelen, live_decoded);
            if (trace::sightable(live_decoded)) {
                trace::Sighting s = trace::make_sighting(live_decoded, at);
                s.ref = store.put(f, at);
                infer_direction(s, addresses);
                data->tracer.add(s);
            }
        } else {
            // Quiet: the capture clock moved on all the same.
            const std::int64_t now = wall_ns() - kLiveLagNs;
            if (now > newest) {
                data->tracer.advance(now);
                newest = now;
            }
        }
        if (Steady::now() - stats_at >= kRefreshEvery) {
            stats_at = Steady::now();
            learn_live_points();
        }
        if (r == probes::LiveSource::Next::timeout || ++n == kBatch ||
            ((n & 15) == 0 && Steady::now() - batch >= kBatchTime)) {
            refresh(false);
            lk.unlock();
            while (waiting.load() > 0 && !stopping.load()) std::this_thread::yield();
        }
    }
    if (!lk.owns_lock()) lk.lock();
    live_stats = live->stats();
    data->tracer.finish();
    phase = Phase::stopped;
    refresh(true);
}

// ---- --follow

bool TuiEngine::Impl::open_follow(std::ostream& err) {
    if (opt.input.files.empty()) {
        err << "podtrace: tui: --follow needs -r [NODE=]PATH, one per stream\n";
        return false;
    }
    if (!load_inventory(opt.input, data->inventory, "tui", err)) return false;
    data->tracer.topology().set_inventory(&data->inventory);
    std::vector<std::string> paths;
    follow.resize(opt.input.files.size());
    for (std::size_t i = 0; i < follow.size(); ++i) {
        follow[i].spec = probes::parse_file_arg(opt.input.files[i]);
        // NODE= or the file's stem, until its header names it (as CaptureReader names them).
        follow[i].node = probes::capture_point(follow[i].spec, "", "").node;
        paths.push_back(follow[i].spec.path);
    }
    auto s = LiveStreams::open(paths);
    if (!s) {
        err << "podtrace: tui: " << s.error().message << '\n';
        return false;
    }
    streams = std::move(*s);
    for (std::size_t i = 0; i < follow.size(); ++i) follow[i].can_stall = streams->can_stall(i);
    live_decoder = decode::Decoder(opt.input.ports);
    learn_stream(0);  // the source line
    return true;
}

// What a stream's header and interfaces said, once they say it (or say more).
void TuiEngine::Impl::learn_stream(std::size_t i) {
    FollowStream& fs = follow[i];
    const LiveStreams::Info& in = fs.info;
    if (const std::string node = probes::capture_point(fs.spec, in.node, "").node; !node.empty())
        fs.node = node;
    if (!in.facts.empty() && in.facts != fs.facts && !fs.node.empty()) {
        fs.facts = in.facts;
        if (auto f = trace::parse_node_facts(fs.facts); !f) {
            fs.facts_error = f.error().message;
        } else {
            const std::uint16_t node = data->names.intern(fs.node);
            if (addresses.size() <= node) addresses.resize(node + 1);
            addresses[node] = node_addresses(*f);
            data->tracer.topology().set_facts(node, std::move(*f));
            fs.facts_error.clear();
        }
    }
    // Interfaces count from when they are declared, as a file's do once read.
    while (fs.points.size() < in.interfaces.size()) {
        const LiveStreams::Interface& f = in.interfaces[fs.points.size()];
        const auto at = probes::capture_point(fs.spec, f.node, f.name);
        PointCounts& c = point(trace::make_point(data->names, at.node, at.interface));
        c.stream = static_cast<std::int32_t>(i);
        fs.points.push_back(static_cast<std::uint32_t>(&c - points.data()));
    }
    std::vector<std::string_view> nodes;
    for (const FollowStream& f : follow)
        if (!f.node.empty() && std::ranges::find(nodes, f.node) == nodes.end())
            nodes.push_back(f.node);
    source = std::to_string(follow.size()) + (follow.size() == 1 ? " stream, " : " streams, ") +
             std::to_string(nodes.size()) + (nodes.size() == 1 ? " node" : " nodes");
}

void TuiEngine::Impl::follow_frame(std::size_t i, const LiveStreams::Item& it) {
    FollowStream& fs = follow[i];
    const core::Frame& f = it.frame;
    // Declared after the info() of this round: the reader published it before this frame.
    if (f.interface >= fs.points.size() && streams->info(i, fs.info)) learn_stream(i);
    if (f.interface >= fs.points.size()) {  // never declared
        const auto at = probes::capture_point(fs.spec, fs.node, "");
        PointCounts& c = point(trace::make_point(data->names, at.node, at.interface));
        c.stream = static_cast<std::int32_t>(i);
        fs.points.resize(f.interface + 1, static_cast<std::uint32_t>(&c - points.data()));
    }
    PointCounts& c = points[fs.points[f.interface]];
    const trace::PointId at = c.at;
    live_decoder.decode(f, live_decoded);
    ++frames;
    newest = std::max(newest, f.ts_ns);
    fs.newest = std::max(fs.newest, f.ts_ns);
    fs.first_ns = std::min(fs.first_ns, f.ts_ns);
    fs.last_ns = std::max(fs.last_ns, f.ts_ns);
    count_frame(c, f.ts_ns, f.wirelen, live_decoded);
    if (!trace::sightable(live_decoded)) return;
    trace::Sighting s = trace::make_sighting(live_decoded, at);
    s.ref = store.put(f, at);
    infer_direction(s, addresses);
    fs.held.push(s, it.arrival_ns);
}

// The stream whose oldest held sighting goes to the tracer next, or nullptr for now: the oldest
// of all, once no other stream can still deliver an older one. A stream can, unless it holds a
// sighting, is over, or is live and has kept the oldest waiting longer than the lag. A regular
// file (never quiet) is waited for, and holds its sightings as `report` does, so files merge as
// they do there.
FollowStream* TuiEngine::Impl::follow_next(std::int64_t now) {
    const std::int64_t reorder = static_cast<std::int64_t>(opt.input.reorder_s * 1e9);
    FollowStream* best = nullptr;
    for (FollowStream& fs : follow)
        if (!fs.held.empty() && (!best || fs.held.front().s.ts_ns < best->held.front().s.ts_ns))
            best = &fs;
    if (!best) return nullptr;
    const bool late =
        now - best->held.front().arrival_ns >= kFollowLagNs || best->held.size() >= kFollowMaxHeld;
    for (const FollowStream& fs : follow) {
        if (fs.over) continue;
        if (!fs.can_stall) {
            if (fs.held.empty() || (fs.newest - fs.held.front().s.ts_ns < reorder &&
                                    fs.held.size() < kFileMaxHeld))
                return nullptr;
        } else if (fs.held.empty() && !late) {
            return nullptr;
        }
    }
    return best;
}

// A stream is over: what its capture covered, widened as far as its statistics say (as
// CaptureReader::finish does for a file).
void TuiEngine::Impl::end_stream(FollowStream& fs) {
    fs.over = true;
    if (fs.first_ns > fs.last_ns) return;
    for (std::size_t k = 0; k < fs.points.size() && k < fs.info.interfaces.size(); ++k) {
        const LiveStreams::Interface& isb = fs.info.interfaces[k];
        std::int64_t from = fs.first_ns, to = fs.last_ns;
        if (!isb.capture_end_ns || *isb.capture_end_ns >= fs.last_ns) {
            if (isb.capture_start_ns) from = std::min(from, *isb.capture_start_ns);
            if (isb.capture_end_ns) to = std::max(to, *isb.capture_end_ns);
        }
        data->tracer.topology().cover(points[fs.points[k]].at, from, to);
    }
}

void TuiEngine::Impl::run_follow() {
    streams->start();
    // Regular files never wait for a writer: their headers and first interfaces are learnt in
    // the order given, so that names and capture points are numbered as in a replay, whatever
    // thread reads first.
    for (bool ready = false; !ready && !stopping;) {
        ready = true;
        for (std::size_t i = 0; i < follow.size(); ++i) {
            if (follow[i].can_stall) continue;
            streams->info(i, follow[i].info);  // unlocked: snapshot() reads none of it yet
            if (follow[i].info.frames == 0 && !final_state(follow[i].info.state)) ready = false;
        }
        if (!ready) streams->wait(Steady::now() + 100ms);
    }
    std::unique_lock lk(mu);
    for (std::size_t i = 0; i < follow.size(); ++i)
        if (!follow[i].can_stall) learn_stream(i);
    phase = Phase::following;
    int n = 0;
    auto batch = Steady::now();
    while (!stopping) {
        bool busy = false;
        bool all_over = true;
        for (std::size_t i = 0; i < follow.size(); ++i) {
            FollowStream& fs = follow[i];
            if (fs.over) continue;
            // The state before the frames: a stream that said "ended" has pushed its last.
            if (streams->info(i, fs.info)) learn_stream(i);
            const bool last = final_state(fs.info.state);
            streams->take(i, kBatch, items);
            for (const LiveStreams::Item& it : items) follow_frame(i, it);
            streams->release(i);
            busy |= !items.empty();
            n += static_cast<int>(items.size());
            if (last && items.empty()) end_stream(fs);
            all_over &= fs.over;
        }
        const std::int64_t now = steady_ns();
        while (FollowStream* fs = follow_next(now)) {
            const trace::Sighting& s = fs->held.front().s;
            released_ts = std::max(released_ts, s.ts_ns);
            released_at = now;
            data->tracer.add(s);
            ++data->sightings;
            fs->held.pop();
            busy = true;
            if (++n >= kBatch) {
                let_ui_in(lk);
                n = 0;
                batch = Steady::now();
            }
        }
        if (all_over && std::ranges::all_of(follow, [](auto& f) { return f.held.empty(); }))
            break;
        if (busy) {
            if (n >= kBatch || Steady::now() - batch >= kBatchTime) {
                let_ui_in(lk);
                n = 0;
                batch = Steady::now();
            }
            continue;
        }
        // Nothing to do until a frame arrives or the oldest held sighting has waited long
        // enough. Quiet everywhere: capture time moves on as time passes, less the lag.
        std::int64_t wake = now + 100'000'000;
        bool holding = false;
        for (const FollowStream& fs : follow) {
            if (fs.held.empty()) continue;
            holding = true;
            wake = std::min(wake, fs.held.front().arrival_ns + kFollowLagNs);
        }
        // (Not while a regular file is being read: it is never quiet, only slow.)
        const bool live = std::ranges::all_of(follow, [](auto& f) { return f.over || f.can_stall; });
        if (!holding && live && released_ts != INT64_MIN) {
            const std::int64_t quiet = released_ts + (now - released_at) - kFollowLagNs;
            if (quiet > released_ts && quiet > advanced) {
                advanced = quiet;
                data->tracer.advance(quiet);
            }
        }
        refresh(false);
        lk.unlock();
        streams->wait(Steady::time_point(std::chrono::nanoseconds(wake)));
        lk.lock();
        n = 0;
        batch = Steady::now();
    }
    data->tracer.finish();
    phase = stopping ? Phase::stopped : Phase::ended;
    refresh(true);
    lk.unlock();
    streams->stop();  // the readers are done or stopping: joined before done()
    streams->join();
    lk.lock();
    for (std::size_t i = 0; i < follow.size(); ++i) streams->info(i, follow[i].info);
}

std::string TuiEngine::Impl::follow_state() const {
    std::string out;
    for (const FollowStream& fs : follow) {
        const LiveStreams::State st = fs.info.state;
        if (st == LiveStreams::State::reading) continue;
        if (phase == Phase::ended && st == LiveStreams::State::ended) continue;
        out += ", " + fs.label() + ' ' + state_name(st);
    }
    return (phase == Phase::ended ? "end of streams" : "following") + out;
}

// ---- what the ingest thread keeps

PointCounts& TuiEngine::Impl::point(trace::PointId at) {
    const std::uint32_t key = std::uint32_t{at.node} << 16 | at.interface;
    const auto [it, fresh] =
        point_index.try_emplace(key, static_cast<std::uint32_t>(points.size()));
    if (fresh) points.push_back({.at = at});
    return points[it->second];
}

std::uint64_t TuiEngine::Impl::on_frame(const core::Frame& f, const decode::Decoded& d,
                                        trace::PointId at) {
    ++frames;
    const std::int64_t ts = f.ts_ns - (at.node < offset.size() ? offset[at.node] : 0);
    newest = std::max(newest, ts);
    count_frame(point(at), ts, f.wirelen, d);
    return trace::sightable(d) ? store.put(f, at) : 0;
}

FlowExtra& TuiEngine::Impl::extra_of(std::uint32_t flow) {
    if (extra.size() < flow) extra.resize(flow);
    return extra[flow - 1];
}

void TuiEngine::Impl::on_path(const trace::Path& p, trace::FlowTable::Added a) {
    if (a.flow == 0 || p.sightings.empty()) return;  // ARP
    FlowExtra& x = extra_of(a.flow);
    ++x.seen;
    const auto& s = p.sightings;
    if (!a.reverse && s.size() >= 2) {
        x.latency.add(s.back().ts_ns - s.front().ts_ns);
        for (const trace::Sighting& y : s) x.digits = std::min(x.digits, y.ts_digits);
    }
    const std::size_t len = std::min(s.size(), kKeptSightings);
    // Room for it: the oldest paths go.
    while (paths_end - paths_begin == kKeptPaths ||
           (paths_begin < paths_end && sightings_end + len - sightings_begin > kKeptSightings)) {
        const KeptPath& old = kept_paths[paths_begin % kKeptPaths];
        --extra[old.flow - 1].kept;
        sightings_begin = old.first + old.count;
        ++paths_begin;
    }
    if (paths_begin == paths_end) sightings_begin = sightings_end;
    for (std::size_t i = 0; i < len; ++i) {
        if (kept_sightings.size() < kKeptSightings)
            kept_sightings.push_back(s[i]);
        else
            kept_sightings[(sightings_end + i) % kKeptSightings] = s[i];
    }
    const KeptPath k{sightings_end, x.seen,     a.flow, static_cast<std::uint32_t>(len),
                     a.reverse,     p.ambiguous};
    if (kept_paths.size() < kKeptPaths)
        kept_paths.push_back(k);
    else
        kept_paths[paths_end % kKeptPaths] = k;
    sightings_end += len;
    ++paths_end;
    ++x.kept;
}

template <class F>
void TuiEngine::Impl::for_kept_paths(std::uint32_t flow, F f) const {
    for (std::uint64_t i = paths_begin; i < paths_end; ++i) {
        const KeptPath& k = kept_paths[i % kKeptPaths];
        if (flow == 0 || k.flow == flow) f(k);
    }
}

const trace::Sighting* TuiEngine::Impl::sighting_of(std::uint64_t ref) const {
    for (std::uint64_t i = sightings_end; ref && i > sightings_begin; --i)
        if (kept_sightings[(i - 1) % kKeptSightings].ref == ref)
            return &kept_sightings[(i - 1) % kKeptSightings];
    return nullptr;
}

// Findings and the flows' words: diagnose() walks every flow, and names may change as the
// topology learns, so this runs at most every kRefreshEvery when the flows changed (and at the
// end), on the ingest thread, never per snapshot. The words of flows with no new packet or
// finding are worked out again only every tenth time.
void TuiEngine::Impl::refresh(bool force) {
    const auto& table = data->tracer.flows();
    const auto now = Steady::now();
    const bool changed =
        table.flows().size() != refreshed_flows || table.stats().paths != refreshed_paths;
    if (!force && (!changed || now - refreshed < kRefreshEvery)) return;
    refreshed = now;
    refreshed_flows = table.flows().size();
    refreshed_paths = table.stats().paths;

    trace::Topology& topo = data->tracer.topology();
    for (const FollowStream& fs : follow)  // a stream covers all its interfaces while it runs
        if (fs.first_ns <= fs.last_ns)
            for (std::uint32_t p : fs.points) topo.cover(points[p].at, fs.first_ns, fs.last_ns);
    if (live)
        for (const PointCounts& c : points)
            if (c.live >= 0 && static_cast<std::size_t>(c.live) < live_stats.size() &&
                live_stats[c.live].attached)
                topo.cover(c.at, c.since_ns, std::max(newest, c.since_ns));
    trace::DiagnoseOptions dopt;
    for (std::uint16_t n : topo.nodes())
        if (const trace::NodeFacts* f = topo.facts(n); f && f->has_wireguard())
            dopt.expect_encrypted = true;
    for (const trace::PointCoverage& p : topo.points())
        if (p.point.kind == trace::PointKind::wireguard) dopt.expect_encrypted = true;
    data->findings = trace::diagnose(table, topo, dopt);

    if (extra.size() < table.flows().size()) extra.resize(table.flows().size());
    for (FlowExtra& x : extra) {
        x.drops = 0;
        x.findings = 0;
    }
    finding_lines.clear();
    for (const trace::Diagnosis& x : data->findings) {
        finding_lines.push_back(finding_text(x) + (x.why.empty() ? "" : "; why: " + x.why));
        if (x.flow == 0 || x.flow > extra.size()) continue;
        ++extra[x.flow - 1].findings;
        if (x.kind == trace::DiagnosisKind::dropped) extra[x.flow - 1].drops += x.count;
    }
    const bool all = force || ++refreshes % 10 == 0;
    for (const trace::Flow& f : table.flows()) {
        const FlowExtra& x = extra[f.id - 1];
        if (all || !x.has_text || x.text_last_ns != f.last_ns || x.text_findings != x.findings)
            make_text(f, extra[f.id - 1]);
    }
}

void TuiEngine::Impl::make_text(const trace::Flow& f, FlowExtra& x) {
    x.has_text = true;
    x.text_last_ns = f.last_ns;
    x.text_findings = x.findings;
    RowText& t = x.text;
    const trace::Topology& topo = data->tracer.topology();
    t.src_addr = ip_text(f.client);
    t.dst_addr = ip_text(f.server);
    t.src = topo.name_of({f.client.addr, f.client.version});
    if (t.src.empty()) t.src = t.src_addr;
    t.dst = topo.name_of({f.server.addr, f.server.version});
    if (t.dst.empty()) t.dst = t.dst_addr;
    t.proto = proto_text(f.proto);
    const trace::PathKind kind = flow_kind(*data, f);
    t.kind = trace::path_kind_name(kind);
    t.encap.clear();
    if (kind == trace::PathKind::cross_node) {
        t.encap = f.encap == trace::Encap::none ? "direct" : trace::encap_name(f.encap);
        if (f.vni) t.encap += ' ' + std::to_string(f.vni);
    }
    t.nat.clear();
    if (f.snat) t.nat = "SNAT " + rewrite_text(*data, *f.snat);
    if (f.dnat) t.nat += (t.nat.empty() ? "DNAT " : ", DNAT ") + rewrite_text(*data, *f.dnat);
    std::string s = t.src + ' ' + t.dst + ' ' + t.src_addr + ' ' + t.dst_addr + ' ';
    if (has_ports(f))
        s += std::to_string(f.client.port) + ' ' + std::to_string(f.server.port) + ' ';
    t.search = lower(s + t.proto + ' ' + t.kind + ' ' + t.encap);
}

void TuiEngine::Impl::fill_row(const trace::Flow& f, tui::FlowRow& r) {
    FlowExtra& x = extra_of(f.id);
    if (!x.has_text) make_text(f, x);  // new since the last refresh
    const RowText& t = x.text;
    const bool ports = has_ports(f);
    r.id = f.id;
    r.src = t.src;
    r.dst = t.dst;
    r.src_addr = t.src_addr;
    r.dst_addr = t.dst_addr;
    r.sport = ports ? f.client.port : 0;
    r.dport = ports ? f.server.port : 0;
    r.proto = t.proto;
    r.kind = t.kind;
    r.encap = t.encap;
    r.nat = t.nat;
    r.packets_fwd = f.fwd.packets;
    r.packets_rev = f.rev.packets;
    r.bytes_fwd = f.fwd.bytes;
    r.bytes_rev = f.rev.bytes;
    const bool lat = x.latency.count() > 0;
    r.latency_p50_ns = lat ? x.latency.quantile(0.5) : -1;
    r.latency_p99_ns = lat ? x.latency.quantile(0.99) : -1;
    r.latency_digits = x.digits;
    r.drops = x.drops;
    r.findings = x.findings;
    r.first_ns = f.first_ns;
    r.last_ns = f.last_ns;
    r.search = t.search;
}

void TuiEngine::Impl::fill_detail(std::uint32_t id, tui::FlowDetail& out) {
    const trace::Flow& f = *flow_by_id(*data, id);
    fill_row(f, out.row);
    out.kind = kind_text(*data, f);
    out.verdict = verdict(*data, f);
    out.findings.clear();
    std::vector<const trace::Diagnosis*> dropped;
    for (const trace::Diagnosis* x : findings_of(*data, id)) {
        out.findings.push_back(finding_text(*x) + (x->why.empty() ? "" : "; why: " + x->why));
        if (x->kind == trace::DiagnosisKind::dropped) dropped.push_back(x);
    }
    out.hops.clear();
    for (const trace::HopStat& h : f.hops) {
        tui::HopLatency l{point_name(*data, h.from),
                          point_name(*data, h.to),
                          h.reverse,
                          h.latency.count(),
                          duration_text(h.latency.quantile(0.5), h.ts_digits),
                          duration_text(h.latency.quantile(0.99), h.ts_digits)};
        if (const auto u = hop_uncertainty(*data, h))
            l.p99 += " +/- " + duration_text(u, h.ts_digits);
        out.hops.push_back(std::move(l));
    }

    std::vector<const KeptPath*> kept;
    for_kept_paths(id, [&](const KeptPath& k) { kept.push_back(&k); });
    std::uint64_t frames_kept = 0;
    for (const KeptPath* k : kept)
        for (std::uint32_t i = 0; i < k->count; ++i)
            if (store.find(kept_sightings[(k->first + i) % kKeptSightings].ref)) ++frames_kept;
    if (kept.size() > kDetailPackets)
        kept.erase(kept.begin(), kept.end() - static_cast<std::ptrdiff_t>(kDetailPackets));
    out.packets.resize(kept.size());
    trace::Path path;
    const trace::Names& names = data->names;
    for (std::size_t n = 0; n < kept.size(); ++n) {
        const KeptPath& k = *kept[n];
        path.sightings.clear();
        for (std::uint32_t i = 0; i < k.count; ++i)
            path.sightings.push_back(kept_sightings[(k.first + i) % kKeptSightings]);
        path.ambiguous = k.ambiguous;
        const auto lines = trace::render_path(path, trace::classify(path), names);
        tui::PacketPath& pp = out.packets[n];
        pp.number = k.number;
        pp.reverse = k.reverse;
        pp.ts_ns = path.sightings.front().ts_ns;
        pp.verdict = lines.front();
        std::size_t width = 0;
        for (const trace::Sighting& s : path.sightings)
            width = std::max(width, point_name(*data, s.at).size());
        pp.hops.resize(path.sightings.size());
        for (std::size_t i = 0; i < path.sightings.size(); ++i) {
            const trace::Sighting& s = path.sightings[i];
            tui::HopRow& h = pp.hops[i];
            h.node = names.name(s.at.node);
            h.interface = names.name(s.at.interface);
            h.point = point_word(s.at.kind);
            const trace::Pod* pod = s.at.kind == trace::PointKind::pod_veth
                                        ? data->inventory.pod_by_veth(h.node, h.interface)
                                        : nullptr;
            h.pod = pod ? pod->ns + '/' + pod->name : "";
            h.direction = s.direction == core::Direction::inbound    ? "in"
                          : s.direction == core::Direction::outbound ? "out"
                                                                       : "-";
            HopText t = split_hop_line(lines[i + 1], width);
            h.headers = std::move(t.headers);
            h.latency = std::move(t.latency);
            h.rewrite = std::move(t.rewrite);
            h.frame = store.find(s.ref) ? s.ref : 0;
        }
        // Stopped where a "dropped" finding of the flow says its packets stopped.
        pp.stopped.clear();
        const trace::Sighting& last = path.sightings.back();
        for (const trace::Diagnosis* x : dropped) {
            const std::string iface = names.name(last.at.interface);
            if (x->node != last.at.node ||
                (x->where.find("after " + iface + ",") == std::string::npos &&
                 x->where.find("after " + point_name(*data, last.at) + ",") == std::string::npos))
                continue;
            pp.stopped = "dropped " + x->where + ": " + (x->why.empty() ? x->message : x->why);
            break;
        }
    }
    out.packets_seen = extra_of(id).seen;
    out.frames_kept = frames_kept;
}

void TuiEngine::Impl::fill_packet(std::uint64_t frame, tui::PacketDetail& out) {
    out.frame = frame;
    out.tree.clear();
    out.bytes.clear();
    const trace::Sighting* s = sighting_of(frame);
    const FrameRecord* r = store.find(frame);
    out.kept = r != nullptr;
    if (!r && !s) {
        out.title = "frame " + std::to_string(frame) + ": no longer kept";
        return;
    }
    const trace::PointId at = r ? r->at : s->at;
    // The sighting's direction is the one inferred from node facts when the capture gave none.
    const core::Direction dir = s ? s->direction : r->direction;
    out.title = point_name(*data, at) + ' ' +
                (dir == core::Direction::inbound    ? "in "
                 : dir == core::Direction::outbound ? "out"
                                                      : "-  ") +
                "  ";
    if (r) {
        out.title += time_text(r->ts_ns, r->ts_digits) + "  " + std::to_string(r->wirelen) +
                     " bytes (" + std::to_string(r->caplen) + " captured)";
        const auto bytes = store.bytes(*r);
        out.bytes.assign(bytes.begin(), bytes.end());
        out.tree = tui::dissect(r->linktype, bytes, opt.input.ports);
    } else {
        out.title += time_text(s->ts_ns, s->ts_digits) + "  IP length " +
                     std::to_string(s->length) + " (frame no longer kept)";
    }
}

void TuiEngine::Impl::fill_interfaces(std::vector<tui::InterfaceRow>& out) {
    out.resize(points.size());
    const std::int64_t now_sec = newest / 1'000'000'000;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const PointCounts& c = points[i];
        tui::InterfaceRow& r = out[i];
        r.node = data->names.name(c.at.node);
        r.interface = data->names.name(c.at.interface);
        r.point = point_word(c.at.kind);
        const trace::Pod* pod = c.at.kind == trace::PointKind::pod_veth
                                    ? data->inventory.pod_by_veth(r.node, r.interface)
                                    : nullptr;
        r.pod = pod ? pod->ns + '/' + pod->name : "";
        r.state = "file";
        r.kernel_drops = r.queue_drops = 0;
        if (c.live >= 0 && static_cast<std::size_t>(c.live) < live_stats.size()) {
            const probes::InterfaceStats& s = live_stats[c.live];
            r.state = !s.error.empty() ? s.error : s.attached ? "capturing" : "gone";
            r.kernel_drops = s.kernel_drops;
            r.queue_drops = s.queue_drops;
        }
        if (c.stream >= 0) {
            const LiveStreams::State st = follow[c.stream].info.state;
            r.state = st == LiveStreams::State::reading || st == LiveStreams::State::waiting
                          ? "capturing"
                          : state_name(st);
        }
        r.packets = c.packets;
        r.bytes = c.bytes;
        // Over the last full second of capture time: the one before `newest`'s.
        const bool cur = c.second == now_sec - 1, prev = c.second == now_sec;
        r.pps = cur ? c.sec_packets : prev ? c.prev_packets : 0;
        r.bps = 8.0 * (cur ? c.sec_bytes : prev ? c.prev_bytes : 0);
        r.undecodable = c.undecodable;
        r.reasons.clear();
        for (std::size_t k = 0; k < c.reasons.size(); ++k)
            if (c.reasons[k])
                r.reasons.emplace_back(decode::reason_name(static_cast<decode::Reason>(k)),
                                       c.reasons[k]);
    }
}

void TuiEngine::Impl::fill_notes(std::vector<std::string>& out) {
    out.clear();
    if (!failure.empty()) out.push_back(failure);
    if (!live_error.empty()) out.push_back(live_error);
    out.insert(out.end(), pod_note.begin(), pod_note.end());
    if (streams) {
        if (follow.size() > 1)
            out.push_back("clock offsets: not estimated live (each node's timestamps as captured)");
        if (const std::uint64_t late = data->tracer.correlation().out_of_order)
            out.push_back("merge: " + std::to_string(late) +
                          " sightings came after later ones (a stream more than 250 ms behind "
                          "the others): joined all the same where their packet was in flight");
        for (const FollowStream& fs : follow) {
            const LiveStreams::Info& in = fs.info;
            std::string n = "stream " + fs.label();
            if (fs.label() != fs.spec.path) n += " (" + fs.spec.path + ')';
            n += ": ";
            n += in.state == LiveStreams::State::waiting ? "waiting for its header"
                                                         : state_name(in.state);
            n += ", " + std::to_string(in.frames) + (in.frames == 1 ? " frame, " : " frames, ") +
                 std::to_string(in.bytes) + " bytes";
            if (!in.error.empty()) n += ": " + in.error;
            out.push_back(std::move(n));
            if (!fs.facts_error.empty())
                out.push_back("stream " + fs.label() + ": node facts unreadable: " + fs.facts_error);
        }
    }
    if (!data->clock_note.empty()) out.push_back("clocks: " + data->clock_note);
    if (std::string p = clock_prefix_text(*data); !p.empty()) out.push_back("clocks: " + p);
    if (data->clocks.size() > 1)
        for (const trace::NodeClock& c : data->clocks)
            out.push_back("clock " + clock_text(*data, c));
    for (const FileSummary& f : data->files) {
        if (!f.error.empty()) out.push_back("read error: " + f.error);
        if (!f.facts_error.empty())
            out.push_back(f.path + ": node facts unreadable: " + f.facts_error);
    }
}

std::string TuiEngine::Impl::state_text() const {
    const auto percent = [](std::uint64_t done, std::uint64_t total) {
        return std::to_string(total ? std::min<std::uint64_t>(100, done * 100 / total) : 0) + '%';
    };
    switch (phase) {
        case Phase::starting: return "starting";
        case Phase::aligning:
            return "aligning clocks " + percent(aligned_bytes.load(), reader->bytes_total());
        case Phase::reading: {
            const std::string p = percent(reader->bytes_read(), reader->bytes_total());
            if (opt.speed <= 0) return "reading " + p;
            char buf[32];
            std::snprintf(buf, sizeof buf, "%gx", opt.speed);
            return "replaying " + std::string(buf) + ' ' + p;
        }
        case Phase::ended: return streams ? follow_state() : "end of files";
        case Phase::capturing: return "capturing";
        case Phase::following: return follow_state();
        case Phase::stopped: return failure.empty() ? "stopped" : failure;
    }
    return "";
}

// ---- the Model

TuiEngine::TuiEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TuiEngine::~TuiEngine() {
    stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

std::unique_ptr<TuiEngine> TuiEngine::open(const TuiOptions& opt, std::ostream& err) {
    auto impl = std::make_unique<Impl>(opt);
    if (!impl->open(err)) return nullptr;
    return std::unique_ptr<TuiEngine>(new TuiEngine(std::move(impl)));
}

void TuiEngine::start() {
    if (!impl_->thread.joinable()) impl_->thread = std::thread([this] { impl_->run(); });
}

bool TuiEngine::done() const {
    return impl_->finished.load();
}

void TuiEngine::stop() {
    Impl& m = *impl_;
    m.stopping = true;
    if (m.live) m.live->stop();
    if (m.streams) m.streams->stop();
    m.cv.notify_all();
}

void TuiEngine::snapshot(const tui::Query& q, tui::Snapshot& out) {
    Impl& m = *impl_;
    ++m.waiting;
    std::unique_lock lk(m.mu);
    --m.waiting;
    out.source = m.source;
    out.state = m.state_text();
    out.detail.reset();
    out.packet.reset();
    if (m.phase == Impl::Phase::starting || m.phase == Impl::Phase::aligning) {
        // The clock pass is filling names unlocked: nothing else to show yet.
        out.frames = out.packets = 0;
        out.flows.clear();
        out.findings.clear();
        out.interfaces.clear();
        out.notes.clear();
        return;
    }
    const auto& flows = m.data->tracer.flows();
    out.frames = m.frames;
    out.packets = flows.stats().paths;
    out.now_ns = m.newest;
    out.flows.resize(flows.flows().size());
    for (std::size_t i = 0; i < flows.flows().size(); ++i)
        m.fill_row(flows.flows()[i], out.flows[i]);
    out.findings = m.finding_lines;
    m.fill_interfaces(out.interfaces);
    m.fill_notes(out.notes);
    if (q.flow && flow_by_id(*m.data, q.flow)) m.fill_detail(q.flow, out.detail.emplace());
    if (q.frame) m.fill_packet(q.frame, out.packet.emplace());
}

namespace {

// One frame copied out of the store for save().
struct SavedFrame {
    FrameRecord rec;
    std::vector<std::uint8_t> bytes;
};

// Writes the frames into `fd` as one pcapng section, an interface per capture point. Frames
// of one node: the section names it and the interfaces are bare (podtrace reads them back as
// captured). Of several: the interfaces are named "node/interface" in a section naming no node,
// as PcapngWriter has one node per section and Wireshark 4.0 mislabels the interfaces of
// a file's later sections. Error: what failed, naming the file.
std::expected<void, Error> write_frames(int fd, const std::string& name,
                                              const std::vector<SavedFrame>& frames,
                                              const ReportData& d) {
    const std::uint16_t node = frames.front().rec.at.node;
    const bool one_node =
        std::ranges::all_of(frames, [&](const SavedFrame& s) { return s.rec.at.node == node; });
    auto w = probes::PcapngWriter::from_fd(
        fd, name, {"podtrace " PODTRACE_VERSION, one_node ? d.names.name(node) : "", "", ""});
    if (!w) return std::unexpected(w.error());
    // (node << 16 | interface) << 32 | linktype -> interface id
    std::vector<std::pair<std::uint64_t, std::uint32_t>> ids;
    for (const SavedFrame& s : frames) {
        const trace::PointId at = s.rec.at;
        const std::uint64_t key =
            (std::uint64_t{at.node} << 16 | at.interface) << 32 | s.rec.linktype;
        auto it = std::ranges::find(ids, key, &std::pair<std::uint64_t, std::uint32_t>::first);
        if (it == ids.end()) {
            const std::string iface = one_node ? d.names.name(at.interface) : point_name(d, at);
            it = ids.insert(ids.end(), {key, w->add_interface(iface, s.rec.linktype, 262144)});
        }
        core::Frame f;
        f.ts_ns = s.rec.ts_ns;
        f.linktype = s.rec.linktype;
        f.wirelen = s.rec.wirelen;
        f.ts_digits = s.rec.ts_digits;
        f.direction = s.rec.direction;
        f.bytes = s.bytes;
        if (auto r = w->write(it->second, f); !r) return std::unexpected(r.error());
    }
    if (auto r = w->close(); !r) return std::unexpected(r.error());
    return {};
}

}  // namespace

std::expected<std::string, Error> TuiEngine::save(std::uint32_t flow,
                                                        const std::string& dir) {
    Impl& m = *impl_;
    std::vector<SavedFrame> frames;
    std::uint64_t lost = 0;
    std::vector<std::pair<std::int64_t, std::uint64_t>> refs;  // corrected time, ref
    {
        ++m.waiting;
        std::lock_guard lk(m.mu);
        --m.waiting;
        if (!flow_by_id(*m.data, flow)) return std::unexpected(Error{"no flow " + std::to_string(flow)});
        m.for_kept_paths(flow, [&](const KeptPath& k) {
            for (std::uint32_t i = 0; i < k.count; ++i) {
                const trace::Sighting& s = m.kept_sightings[(k.first + i) % kKeptSightings];
                refs.emplace_back(s.ts_ns, s.ref);
            }
        });
        std::ranges::sort(refs);
        for (std::size_t i = 0; i < refs.size(); ++i) {
            const std::uint64_t ref = refs[i].second;
            if (i > 0 && ref && refs[i - 1].second == ref) continue;
            const FrameRecord* r = m.store.find(ref);
            if (!r) {
                ++lost;
                continue;
            }
            const auto b = m.store.bytes(*r);
            frames.push_back({*r, {b.begin(), b.end()}});
        }
    }
    const std::string id = std::to_string(flow);
    const std::string base = (dir.empty() ? std::string(".") : dir) + "/podtrace-flow" + id;
    const std::string first = base + ".pcapng";
    if (frames.empty())
        return std::unexpected(Error{"flow " + id + ": none of its frames is kept any more (" +
                               std::to_string(lost) + " let go; --keep keeps more)"});
    // Written beside, then moved into place under a name nobody has: never half a file, never
    // over another.
    std::string tmp = base + ".pcapng.XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) return std::unexpected(Error{"cannot write " + first + ": " + std::strerror(errno)});
    auto written = write_frames(fd, first, frames, *m.data);  // closes fd
    const mode_t mask = ::umask(0);
    ::umask(mask);
    if (written && ::chmod(tmp.c_str(), 0666 & ~mask) != 0)
        written = std::unexpected(Error{"cannot write " + first + ": " + std::strerror(errno)});
    if (!written) {
        std::remove(tmp.c_str());
        return std::unexpected(written.error());
    }
    for (int n = 1;; ++n) {
        const std::string path = n == 1 ? first : base + '-' + std::to_string(n) + ".pcapng";
        int r = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
        if (r != 0 && errno == EINVAL) {  // a file system without RENAME_NOREPLACE
            struct stat st {};
            errno = EEXIST;
            r = ::stat(path.c_str(), &st) == 0 ? -1 : std::rename(tmp.c_str(), path.c_str());
        }
        if (r == 0) {
            std::string msg =
                "saved " + std::to_string(frames.size()) + " frames of flow " + id + " to " + path;
            if (lost) msg += " (" + std::to_string(lost) + " no longer kept)";
            return msg;
        }
        if (errno == EEXIST) continue;
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        return std::unexpected(Error{"cannot write " + path + ": " + why});
    }
}

}  // namespace podtrace::app
