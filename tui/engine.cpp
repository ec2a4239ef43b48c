#include "tui/engine.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "core/time.hpp"
#include "ingest/files.hpp"
#include "ingest/live.hpp"
#include "ingest/streams.hpp"
#include "probes/node_capture.hpp"
#include "report/session.hpp"
#include "report/words.hpp"
#include "trace/path_view.hpp"
#include "tui/dissect.hpp"
#include "tui/flow_file.hpp"
#include "tui/packet_store.hpp"
#include "tui/point_counts.hpp"
#include "tui/recent_paths.hpp"

namespace podtrace::tui {
namespace {

using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The ingest thread lets the UI in after this many sightings or this long, whichever first:
// a snapshot never waits longer than one batch.
constexpr int kBatch = 256;
constexpr auto kBatchTime = 2ms;
// Findings (diagnose(), which walks every flow) and the flows' name strings are worked out again
// at most this often, and only when the flows changed: not on every snapshot.
constexpr auto kRefreshEvery = 500ms;
// The Path screen lists at most this many of a flow's most recent packets.
constexpr std::size_t kDetailPackets = 256;

struct RowText {  // a flow's words, worked out once per refresh rather than per snapshot
    std::string src, dst, src_addr, dst_addr, proto, kind, encap, nat, search;
};

// What the TUI keeps per flow beyond the tracer's Flow.
struct FlowExtra {
    trace::LatencyStats latency;  // first -> last capture point, client -> server
    std::uint8_t digits = 9;
    std::uint64_t seen = 0;  // paths in all
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

const char* direction_word(core::Direction d) {
    return d == core::Direction::inbound ? "in" : d == core::Direction::outbound ? "out" : "-";
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

// A finding on one line, as the Flows screen's findings and the Path screen list it.
std::string finding_line(const trace::Diagnosis& x) {
    return report::finding_text(x) + (x.why.empty() ? "" : "; why: " + x.why);
}

std::string count_text(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + ' ' + (n == 1 ? one : many);
}

}  // namespace

struct Engine::Impl {
    enum class Phase : std::uint8_t {
        starting,
        aligning,
        reading,
        ended,
        capturing,
        following,
        stopped
    };

    explicit Impl(const EngineOptions& o) : opt(o), session(opt.input), store(o.keep_bytes) {}

    std::expected<void, Error> open();
    std::expected<void, Error> open_files();
    std::expected<void, Error> open_live();
    std::expected<void, Error> open_follow();
    void run();
    void run_files();
    void run_live();
    void run_follow();

    // All below under `mu`.
    std::uint64_t on_frame(const core::Frame& f, const decode::Decoded& d, trace::PointId at,
                           std::int64_t ts);
    void on_path(const trace::Path& p, trace::FlowTable::Added a);
    FlowExtra& extra_of(std::uint32_t flow);
    void refresh(bool force);
    void make_text(const trace::Flow& f, FlowExtra& x);
    void fill_row(const trace::Flow& f, FlowRow& r);
    void fill_detail(std::uint32_t id, FlowDetail& out);
    void fill_packet(std::uint64_t frame, PacketDetail& out);
    void fill_interfaces(std::vector<InterfaceRow>& out);
    void fill_notes(std::vector<std::string>& out);
    std::string source_text() const;
    std::string state_text() const;
    std::string follow_state() const;
    // Between batches: lets a waiting snapshot() in, then takes the lock back.
    void let_ui_in(std::unique_lock<std::mutex>& lk);
    bool pace(std::int64_t ts, std::unique_lock<std::mutex>& lk);

    EngineOptions opt;
    report::Session session;
    // One source: files, a live capture, or --follow streams.
    std::unique_ptr<ingest::FileSet> files;
    std::optional<probes::LiveSource> live_source;
    std::unique_ptr<ingest::LiveInput> live;
    std::unique_ptr<ingest::StreamMerge> streams;
    std::vector<std::string> pod_note;  // live inside a pod: what eth0 can and cannot show

    PacketStore store;
    RecentPaths recent;
    PointTable points;
    std::vector<FlowExtra> extra;  // by flow id - 1
    std::vector<std::string> finding_lines;
    std::uint64_t frames = 0;
    std::int64_t newest = 0;  // capture time
    Phase phase = Phase::starting;
    std::string failure;      // why ingestion stopped early, as the state line says it
    std::string align_error;  // the clock pass's error, if that is why
    Steady::time_point refreshed{};
    std::size_t refreshed_flows = SIZE_MAX;
    std::uint64_t refreshed_paths = 0;
    unsigned refreshes = 0;
    // The capture time the tracer was last advanced to without a sighting.
    std::int64_t advanced = INT64_MIN;
    // Replay pace: capture time ts0 is due at wall time wall0.
    std::int64_t pace_ts0 = 0;
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

std::expected<void, Error> Engine::Impl::open() {
    session.tracer.observe([this](const trace::Path& p, const trace::Classification&,
                                  trace::FlowTable::Added a) { on_path(p, a); });
    if (opt.follow && opt.input.files.empty())
        return std::unexpected(Error{"--follow needs -r [NODE=]PATH, one per stream"});
    if (auto r = report::load_inventory(opt.input, session); !r) return r;
    if (opt.follow) return open_follow();
    if (!opt.input.files.empty()) return open_files();
    return open_live();
}

std::expected<void, Error> Engine::Impl::open_files() {
    files = std::make_unique<ingest::FileSet>(opt.input, session.names, session.tracer.topology());
    files->step().on_frame([this](const core::Frame& f, const decode::Decoded& d, trace::PointId at,
                                  std::int64_t ts) { return on_frame(f, d, at, ts); });
    if (auto r = files->open(); !r) return r;
    session.clocks = files->clocks();
    return {};
}

std::expected<void, Error> Engine::Impl::open_live() {
    // As `capture`: the node's facts before the handles open and before --user.
    const probes::NodeView view = probes::read_node(opt.discovery);
    if (view.pod_view) {
        std::istringstream lines(probes::pod_view_note(*view.pod_view));
        for (std::string l; std::getline(lines, l);) pod_note.push_back(l);
    }
    auto src = probes::open_capture(opt.live, opt.user);
    if (!src) return std::unexpected(src.error());
    live_source.emplace(std::move(*src));
    live = std::make_unique<ingest::LiveInput>(*live_source, opt.input, session.names,
                                               session.tracer.topology(), view.facts,
                                               [this](trace::PointId at, std::size_t i) {
                                                   PointCounts& c = points[at];
                                                   c.live = static_cast<std::int32_t>(i);
                                                   c.since_ns = core::wall_ns();
                                               });
    live->step().on_frame([this](const core::Frame& f, const decode::Decoded& d, trace::PointId at,
                                 std::int64_t ts) { return on_frame(f, d, at, ts); });
    return {};
}

std::expected<void, Error> Engine::Impl::open_follow() {
    streams =
        std::make_unique<ingest::StreamMerge>(opt.input, session.names, session.tracer.topology());
    streams->on_point(
        [this](trace::PointId at, std::size_t i) { points[at].stream = static_cast<int>(i); });
    streams->step().on_frame([this](const core::Frame& f, const decode::Decoded& d,
                                    trace::PointId at,
                                    std::int64_t ts) { return on_frame(f, d, at, ts); });
    return streams->open();
}

// ---- ingestion

void Engine::Impl::run() {
    if (streams)
        run_follow();
    else if (files)
        run_files();
    else
        run_live();
    finished = true;
}

void Engine::Impl::let_ui_in(std::unique_lock<std::mutex>& lk) {
    refresh(false);
    lk.unlock();
    while (waiting.load() > 0 && !stopping.load()) std::this_thread::yield();
    lk.lock();
}

bool Engine::Impl::pace(std::int64_t ts, std::unique_lock<std::mutex>& lk) {
    if (!pacing) {
        pacing = true;
        pace_ts0 = ts;
        pace_wall0 = Steady::now();
    }
    for (;;) {
        const auto due =
            pace_wall0 + std::chrono::nanoseconds(static_cast<std::int64_t>(
                             static_cast<double>(core::sub_ns(ts, pace_ts0)) / opt.speed));
        const auto now = Steady::now();
        if (now >= due) return true;
        // Capture time passes while we wait: quiet packets finish as they would live.
        const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - pace_wall0);
        const std::int64_t capture_now =
            std::min(ts, pace_ts0 + static_cast<std::int64_t>(elapsed.count() * opt.speed));
        if (capture_now > advanced) {
            advanced = capture_now;
            session.tracer.advance(capture_now);
        }
        refresh(false);
        cv.wait_for(lk, std::min<Steady::duration>(due - now, 50ms),
                    [this] { return stopping.load(); });
        if (stopping) return false;
    }
}

void Engine::Impl::run_files() {
    {
        std::lock_guard lk(mu);
        phase = Phase::aligning;
    }
    // The clock pass reads the files once more: unlocked (snapshot() shows only its progress).
    auto aligned = files->align_clocks([this](std::uint64_t done) { aligned_bytes = done; });
    std::unique_lock lk(mu);
    if (!aligned) {
        align_error = aligned.error().message;
        failure = "podtrace: tui: " + align_error;
        phase = Phase::stopped;
        return;
    }
    session.clocks = files->clocks();
    phase = Phase::reading;
    int n = 0;
    auto batch = Steady::now();
    while (!stopping) {
        const trace::Sighting* s = files->next();
        if (!s) break;
        if (opt.speed > 0 && !pace(s->ts_ns, lk)) break;
        session.tracer.add(*s);
        ++session.sightings;
        if (++n == kBatch || ((n & 15) == 0 && Steady::now() - batch >= kBatchTime)) {
            let_ui_in(lk);
            n = 0;
            batch = Steady::now();
        }
    }
    session.tracer.finish();
    if (!stopping) {
        session.files = files->finish();  // the read errors are shown as notes
        session.decode = files->step().stats();
        // Interfaces that never had a frame count too.
        for (const ingest::FileSummary& f : session.files)
            for (const ingest::InterfaceSummary& i : f.interfaces)
                points[trace::make_point(session.names, i.node, i.name)];
    }
    phase = stopping ? Phase::stopped : Phase::ended;
    refresh(true);
}

void Engine::Impl::run_live() {
    std::unique_lock lk(mu);
    phase = Phase::capturing;
    lk.unlock();
    trace::Sighting s;
    int n = 0;
    auto batch = Steady::now(), stats_at = Steady::now();
    for (;;) {
        const auto r = live->wait(lk.owns_lock() ? 0ms : 50ms);
        if (r == ingest::LiveInput::Wait::stopped) break;
        if (!lk.owns_lock()) {
            lk.lock();
            n = 0;
            batch = Steady::now();
        }
        if (r == ingest::LiveInput::Wait::frame) {
            if (live->take(s)) session.tracer.add(s);
        } else {
            // Quiet: the capture clock moved on all the same.
            const std::int64_t now = core::wall_ns() - ingest::kLiveLagNs;
            if (now > newest) {
                session.tracer.advance(now);
                newest = now;
            }
        }
        if (Steady::now() - stats_at >= kRefreshEvery) {
            stats_at = Steady::now();
            live->learn();
        }
        if (r == ingest::LiveInput::Wait::quiet || ++n == kBatch ||
            ((n & 15) == 0 && Steady::now() - batch >= kBatchTime)) {
            refresh(false);
            lk.unlock();
            while (waiting.load() > 0 && !stopping.load()) std::this_thread::yield();
        }
    }
    if (!lk.owns_lock()) lk.lock();
    live->learn();
    session.tracer.finish();
    phase = Phase::stopped;
    refresh(true);
}

void Engine::Impl::run_follow() {
    streams->start(stopping);
    std::unique_lock lk(mu);
    streams->learn_files();
    phase = Phase::following;
    int n = 0;
    auto batch = Steady::now();
    trace::Sighting s;
    while (!stopping) {
        const std::size_t taken = streams->take(kBatch);
        bool busy = taken > 0;
        n += static_cast<int>(taken);
        const std::int64_t now = core::steady_ns();
        while (streams->next(now, s)) {
            session.tracer.add(s);
            ++session.sightings;
            busy = true;
            if (++n >= kBatch) {
                let_ui_in(lk);
                n = 0;
                batch = Steady::now();
            }
        }
        if (streams->over()) break;
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
        if (const auto quiet = streams->quiet_time(now); quiet && *quiet > advanced) {
            advanced = *quiet;
            session.tracer.advance(*quiet);
        }
        refresh(false);
        const std::int64_t wake = streams->wake_at(now);
        lk.unlock();
        streams->wait(wake);
        lk.lock();
        n = 0;
        batch = Steady::now();
    }
    session.tracer.finish();
    phase = stopping ? Phase::stopped : Phase::ended;
    refresh(true);
    lk.unlock();
    streams->join();
    lk.lock();
    streams->final_info();
}

// ---- what the ingest thread keeps

std::uint64_t Engine::Impl::on_frame(const core::Frame& f, const decode::Decoded& d,
                                     trace::PointId at, std::int64_t ts) {
    ++frames;
    newest = std::max(newest, ts);
    points[at].count(ts, f.wirelen, d);
    return trace::sightable(d) ? store.put(f, at) : 0;
}

FlowExtra& Engine::Impl::extra_of(std::uint32_t flow) {
    if (extra.size() < flow) extra.resize(flow);
    return extra[flow - 1];
}

void Engine::Impl::on_path(const trace::Path& p, trace::FlowTable::Added a) {
    if (a.flow == 0 || p.sightings.empty()) return;  // ARP
    FlowExtra& x = extra_of(a.flow);
    ++x.seen;
    const auto& s = p.sightings;
    if (!a.reverse && s.size() >= 2) {
        x.latency.add(core::sub_ns(s.back().ts_ns, s.front().ts_ns));
        for (const trace::Sighting& y : s) x.digits = std::min(x.digits, y.ts_digits);
    }
    recent.add(p, a.flow, x.seen, a.reverse);
}

// Findings and the flows' words: diagnose() walks every flow, and names may change as the
// topology learns, so this runs at most every kRefreshEvery when the flows changed (and at the
// end), on the ingest thread, never per snapshot. The words of flows with no new packet or
// finding are worked out again only every tenth time.
void Engine::Impl::refresh(bool force) {
    const auto& table = session.tracer.flows();
    const auto now = Steady::now();
    const bool changed =
        table.flows().size() != refreshed_flows || table.stats().paths != refreshed_paths;
    if (!force && (!changed || now - refreshed < kRefreshEvery)) return;
    refreshed = now;
    refreshed_flows = table.flows().size();
    refreshed_paths = table.stats().paths;

    trace::Topology& topo = session.tracer.topology();
    if (streams) streams->cover_running();
    if (live) {
        const auto& stats = live->stats();
        for (const PointCounts& c : points.all())
            if (c.live >= 0 && static_cast<std::size_t>(c.live) < stats.size() &&
                stats[c.live].attached)
                topo.cover(c.at, c.since_ns, std::max(newest, c.since_ns));
    }
    session.diagnose();

    if (extra.size() < table.flows().size()) extra.resize(table.flows().size());
    for (FlowExtra& x : extra) {
        x.drops = 0;
        x.findings = 0;
    }
    finding_lines.clear();
    for (const trace::Diagnosis& x : session.findings) {
        finding_lines.push_back(finding_line(x));
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

void Engine::Impl::make_text(const trace::Flow& f, FlowExtra& x) {
    x.has_text = true;
    x.text_last_ns = f.last_ns;
    x.text_findings = x.findings;
    RowText& t = x.text;
    const trace::Topology& topo = session.tracer.topology();
    t.src_addr = ip_text(f.client);
    t.dst_addr = ip_text(f.server);
    t.src = topo.name_of({f.client.addr, f.client.version});
    if (t.src.empty()) t.src = t.src_addr;
    t.dst = topo.name_of({f.server.addr, f.server.version});
    if (t.dst.empty()) t.dst = t.dst_addr;
    t.proto = report::proto_text(f.proto);
    const trace::PathKind kind = report::flow_kind(session, f);
    t.kind = trace::path_kind_name(kind);
    t.encap.clear();
    if (kind == trace::PathKind::cross_node) {
        t.encap = f.encap == trace::Encap::none ? "direct" : trace::encap_name(f.encap);
        if (f.vni) t.encap += ' ' + std::to_string(f.vni);
    }
    t.nat.clear();
    if (f.snat) t.nat = "SNAT " + report::rewrite_text(session, *f.snat);
    if (f.dnat)
        t.nat += (t.nat.empty() ? "DNAT " : ", DNAT ") + report::rewrite_text(session, *f.dnat);
    std::string s = t.src + ' ' + t.dst + ' ' + t.src_addr + ' ' + t.dst_addr + ' ';
    if (report::has_ports(f))
        s += std::to_string(f.client.port) + ' ' + std::to_string(f.server.port) + ' ';
    t.search = lower(s + t.proto + ' ' + t.kind + ' ' + t.encap);
}

void Engine::Impl::fill_row(const trace::Flow& f, FlowRow& r) {
    FlowExtra& x = extra_of(f.id);
    if (!x.has_text) make_text(f, x);  // new since the last refresh
    const RowText& t = x.text;
    const bool ports = report::has_ports(f);
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

void Engine::Impl::fill_detail(std::uint32_t id, FlowDetail& out) {
    const trace::Flow& f = *report::flow_by_id(session, id);
    fill_row(f, out.row);
    out.kind = report::kind_text(session, f);
    out.verdict = report::verdict(session, f);
    out.ok = report::arrived(session, f);
    out.findings.clear();
    for (const trace::Diagnosis& x : report::findings_of(session, id))
        out.findings.push_back(finding_line(x));
    out.hops.clear();
    for (report::LatencyRow& r : report::latency_rows(session, f))
        out.hops.push_back(
            {std::move(r.from), std::move(r.to), r.reverse, r.packets, std::move(r.p50),
             r.uncertainty.empty() ? std::move(r.p99) : r.p99 + " +/- " + r.uncertainty});

    std::vector<const RecentPaths::Kept*> kept;
    recent.for_flow(id, [&](const RecentPaths::Kept& k) { kept.push_back(&k); });
    std::uint64_t frames_kept = 0;
    for (const RecentPaths::Kept* k : kept)
        for (std::uint32_t i = 0; i < k->count; ++i)
            if (store.find(recent.sighting(*k, i).ref)) ++frames_kept;
    if (kept.size() > kDetailPackets)
        kept.erase(kept.begin(), kept.end() - static_cast<std::ptrdiff_t>(kDetailPackets));
    out.packets.resize(kept.size());
    trace::Path path;
    const trace::Names& names = session.names;
    for (std::size_t n = 0; n < kept.size(); ++n) {
        const RecentPaths::Kept& k = *kept[n];
        path.sightings.clear();
        for (std::uint32_t i = 0; i < k.count; ++i) path.sightings.push_back(recent.sighting(k, i));
        path.ambiguous = k.ambiguous;
        const trace::PathView v = trace::path_view(path, trace::classify(path), names);
        PacketPath& pp = out.packets[n];
        pp.number = k.number;
        pp.reverse = k.reverse;
        pp.ts_ns = path.sightings.front().ts_ns;
        pp.verdict = v.summary;
        pp.hops.resize(v.hops.size());
        for (std::size_t i = 0; i < v.hops.size(); ++i) {
            const trace::HopView& hv = v.hops[i];
            HopRow& h = pp.hops[i];
            h.node = names.name(hv.at.node);
            h.interface = names.name(hv.at.interface);
            h.point = point_word(hv.at.kind);
            const trace::Pod* pod = hv.at.kind == trace::PointKind::pod_veth
                                        ? session.inventory.pod_by_veth(h.node, h.interface)
                                        : nullptr;
            h.pod = pod ? pod->ns + '/' + pod->name : "";
            h.direction = direction_word(hv.direction);
            h.headers = hv.headers;
            h.latency = hv.latency_ns ? trace::latency_text(*hv.latency_ns, hv.digits) : "";
            h.rewrite.clear();
            if (hv.src_nat) h.rewrite = trace::nat_mark(*hv.src_nat, true);
            if (hv.dst_nat)
                h.rewrite += (h.rewrite.empty() ? "" : ", ") + trace::nat_mark(*hv.dst_nat, false);
            h.frame = store.find(hv.ref) ? hv.ref : 0;
        }
        // Stopped where a "dropped" finding of the flow says its packets stopped.
        const trace::Diagnosis* x = report::stopped_at(session, id, v.hops.back().at);
        pp.stopped = x ? "dropped " + x->where + ": " + (x->why.empty() ? x->message : x->why) : "";
    }
    out.packets_seen = extra_of(id).seen;
    out.frames_kept = frames_kept;
}

void Engine::Impl::fill_packet(std::uint64_t frame, PacketDetail& out) {
    out.frame = frame;
    out.tree.clear();
    out.bytes.clear();
    const trace::Sighting* s = recent.find(frame);
    const FrameRecord* r = store.find(frame);
    out.kept = r != nullptr;
    if (!r && !s) {
        out.title = "frame " + std::to_string(frame) + ": no longer kept";
        return;
    }
    const trace::PointId at = r ? r->at : s->at;
    // The sighting's direction is the one inferred from node facts when the capture gave none.
    const core::Direction dir = s ? s->direction : r->direction;
    out.title = report::point_name(session, at) + ' ' +
                (dir == core::Direction::inbound    ? "in "
                 : dir == core::Direction::outbound ? "out"
                                                    : "-  ") +
                "  ";
    if (r) {
        out.title += time_text(r->ts_ns, r->ts_digits) + "  " + std::to_string(r->wirelen) +
                     " bytes (" + std::to_string(r->caplen) + " captured)";
        const auto bytes = store.bytes(*r);
        out.bytes.assign(bytes.begin(), bytes.end());
        out.tree = dissect(r->linktype, bytes, opt.input.ports);
    } else {
        out.title += time_text(s->ts_ns, s->ts_digits) + "  IP length " +
                     std::to_string(s->length) + " (frame no longer kept)";
    }
}

void Engine::Impl::fill_interfaces(std::vector<InterfaceRow>& out) {
    const auto& all = points.all();
    out.resize(all.size());
    const std::int64_t now_sec = newest / 1'000'000'000;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const PointCounts& c = all[i];
        InterfaceRow& r = out[i];
        r.node = session.names.name(c.at.node);
        r.interface = session.names.name(c.at.interface);
        r.point = point_word(c.at.kind);
        const trace::Pod* pod = c.at.kind == trace::PointKind::pod_veth
                                    ? session.inventory.pod_by_veth(r.node, r.interface)
                                    : nullptr;
        r.pod = pod ? pod->ns + '/' + pod->name : "";
        r.state = "file";
        r.kernel_drops = r.queue_drops = 0;
        if (live && c.live >= 0 && static_cast<std::size_t>(c.live) < live->stats().size()) {
            const probes::InterfaceStats& s = live->stats()[c.live];
            r.state = !s.error.empty() ? s.error : s.attached ? "capturing" : "gone";
            r.kernel_drops = s.kernel_drops;
            r.queue_drops = s.queue_drops;
        }
        if (streams && c.stream >= 0) {
            const auto st = streams->streams()[c.stream].info.state;
            r.state = st == probes::LiveStreams::State::reading ||
                              st == probes::LiveStreams::State::waiting
                          ? "capturing"
                          : probes::state_name(st);
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

void Engine::Impl::fill_notes(std::vector<std::string>& out) {
    out.clear();
    if (!failure.empty()) out.push_back(failure);
    if (live && !live->facts_error().empty()) out.push_back(live->facts_error());
    out.insert(out.end(), pod_note.begin(), pod_note.end());
    if (streams) {
        const auto& all = streams->streams();
        if (all.size() > 1)
            out.push_back("clock offsets: not estimated live (each node's timestamps as captured)");
        if (const std::uint64_t late = session.tracer.correlation().out_of_order)
            out.push_back("merge: " + std::to_string(late) +
                          " sightings came after later ones (a stream more than 250 ms behind "
                          "the others): joined all the same where their packet was in flight");
        for (const ingest::StreamMerge::Stream& fs : all) {
            const probes::LiveStreams::Info& in = fs.info;
            std::string n = "stream " + fs.label();
            if (fs.label() != fs.spec.path) n += " (" + fs.spec.path + ')';
            n += ": ";
            n += in.state == probes::LiveStreams::State::waiting ? "waiting for its header"
                                                                 : probes::state_name(in.state);
            n += ", " + std::to_string(in.frames) + (in.frames == 1 ? " frame, " : " frames, ") +
                 std::to_string(in.bytes) + " bytes";
            if (!in.error.empty()) n += ": " + in.error;
            out.push_back(std::move(n));
            if (!fs.facts_error.empty())
                out.push_back("stream " + fs.label() +
                              ": node facts unreadable: " + fs.facts_error);
            if (std::string n = fs.overridden.text(); !n.empty())
                out.push_back("stream " + fs.label() + ": " + n);
        }
    }
    const ingest::ClockSummary& clocks = session.clocks;
    if (!clocks.note.empty()) out.push_back("clocks: " + clocks.note);
    if (std::string p = report::clock_prefix_text(session); !p.empty())
        out.push_back("clocks: " + p);
    if (clocks.clocks.size() > 1)
        for (const trace::NodeClock& c : clocks.clocks)
            out.push_back("clock " + report::clock_text(session, c));
    for (const ingest::FileSummary& f : session.files) {
        if (!f.error.empty()) out.push_back("read error: " + f.error);
        if (!f.facts_error.empty())
            out.push_back(f.path + ": node facts unreadable: " + f.facts_error);
        if (std::string t =
                report::ts_out_of_range_text(f.ts_out_of_range, f.first_ts_out_of_range);
            !t.empty())
            out.push_back(f.path + ": " + t);
        for (const std::string& n : f.notes) out.push_back(f.path + ": " + n);
    }
}

std::string Engine::Impl::source_text() const {
    if (files)
        return count_text(files->file_count(), "file", "files") + ", " +
               count_text(files->node_count(), "node", "nodes");
    if (live) {
        const auto& stats = live->stats();
        const auto attached = static_cast<std::size_t>(
            std::ranges::count_if(stats, [](auto& s) { return s.attached; }));
        return "live on " + live_source->node() + ", " +
               count_text(attached, "interface", "interfaces");
    }
    const auto& all = streams->streams();
    std::vector<std::string_view> nodes;
    for (const ingest::StreamMerge::Stream& s : all)
        if (!s.node.empty() && std::ranges::find(nodes, s.node) == nodes.end())
            nodes.push_back(s.node);
    return count_text(all.size(), "stream", "streams") + ", " +
           count_text(nodes.size(), "node", "nodes");
}

std::string Engine::Impl::state_text() const {
    const auto percent = [](std::uint64_t done, std::uint64_t total) {
        return std::to_string(total ? std::min<std::uint64_t>(100, done * 100 / total) : 0) + '%';
    };
    switch (phase) {
        case Phase::starting: return "starting";
        case Phase::aligning:
            return "aligning clocks " + percent(aligned_bytes.load(), files->bytes_total());
        case Phase::reading: {
            const std::string p = percent(files->bytes_read(), files->bytes_total());
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

std::string Engine::Impl::follow_state() const {
    std::string out;
    for (const ingest::StreamMerge::Stream& fs : streams->streams()) {
        const probes::LiveStreams::State st = fs.info.state;
        if (st == probes::LiveStreams::State::reading) continue;
        if (phase == Phase::ended && st == probes::LiveStreams::State::ended) continue;
        out += ", " + fs.label() + ' ' + probes::state_name(st);
    }
    return (phase == Phase::ended ? "end of streams" : "following") + out;
}

// ---- the Model

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
    stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

std::expected<std::unique_ptr<Engine>, Error> Engine::open(const EngineOptions& opt) {
    auto impl = std::make_unique<Impl>(opt);
    if (auto r = impl->open(); !r) return std::unexpected(r.error());
    return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

std::vector<Error> Engine::input_errors() const {
    const Impl& m = *impl_;
    std::lock_guard lk(m.mu);
    std::vector<Error> out;
    if (!m.align_error.empty()) out.push_back({m.align_error});
    for (const ingest::FileSummary& f : m.session.files)
        if (!f.error.empty()) out.push_back({f.error});
    if (m.streams)
        for (const ingest::StreamMerge::Stream& s : m.streams->streams())
            if (s.info.state == probes::LiveStreams::State::failed) out.push_back({s.info.error});
    return out;
}

void Engine::start() {
    if (!impl_->thread.joinable()) impl_->thread = std::thread([this] { impl_->run(); });
}

bool Engine::done() const {
    return impl_->finished.load();
}

void Engine::stop() {
    Impl& m = *impl_;
    m.stopping = true;
    if (m.live_source) m.live_source->stop();
    if (m.streams) m.streams->stop();
    m.cv.notify_all();
}

void Engine::snapshot(const Query& q, Snapshot& out) {
    Impl& m = *impl_;
    ++m.waiting;
    std::unique_lock lk(m.mu);
    --m.waiting;
    out.source = m.source_text();
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
    const auto& flows = m.session.tracer.flows();
    out.frames = m.frames;
    out.packets = flows.stats().paths;
    out.now_ns = m.newest;
    out.flows.resize(flows.flows().size());
    for (std::size_t i = 0; i < flows.flows().size(); ++i)
        m.fill_row(flows.flows()[i], out.flows[i]);
    out.findings = m.finding_lines;
    m.fill_interfaces(out.interfaces);
    m.fill_notes(out.notes);
    if (q.flow && report::flow_by_id(m.session, q.flow))
        m.fill_detail(q.flow, out.detail.emplace());
    if (q.frame) m.fill_packet(q.frame, out.packet.emplace());
}

std::expected<std::string, Error> Engine::save(std::uint32_t flow, const std::string& dir) {
    Impl& m = *impl_;
    std::vector<SavedFrame> frames;
    std::uint64_t lost = 0;
    std::vector<std::pair<std::int64_t, std::uint64_t>> refs;  // corrected time, ref
    {
        ++m.waiting;
        std::lock_guard lk(m.mu);
        --m.waiting;
        if (!report::flow_by_id(m.session, flow))
            return std::unexpected(Error{"no flow " + std::to_string(flow)});
        m.recent.for_flow(flow, [&](const RecentPaths::Kept& k) {
            for (std::uint32_t i = 0; i < k.count; ++i) {
                const trace::Sighting& s = m.recent.sighting(k, i);
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
            // Names resolved here: the ingest thread may intern new ones once the lock is gone.
            frames.push_back({*r,
                              {b.begin(), b.end()},
                              m.session.names.name(r->at.node),
                              m.session.names.name(r->at.interface)});
        }
    }
    return write_flow_file(flow, frames, lost, dir);
}

}  // namespace podtrace::tui
