#include "ingest/streams.hpp"

#include <algorithm>

#include "core/clock.hpp"
#include "core/time.hpp"
#include "ingest/coverage.hpp"
#include "ingest/points.hpp"

namespace podtrace::ingest {
namespace {

using State = probes::LiveStreams::State;

// No stream holds more sightings than this (memory at high rates).
constexpr std::size_t kMaxHeld = 65536;
// A regular file is held as FileSet holds one: sightings wait until the file has one `reorder`
// later, or this many.
constexpr std::size_t kFileMaxHeld = 4096;

bool final_state(State s) {
    return s == State::ended || s == State::failed || s == State::stopped;
}

}  // namespace

StreamMerge::StreamMerge(const InputOptions& opt, trace::Names& names, trace::Topology& topo)
    : opt_(opt), names_(names), topo_(topo), step_(opt.ports) {}

std::expected<void, Error> StreamMerge::open() {
    std::vector<std::string> paths;
    streams_.resize(opt_.files.size());
    for (Stream& s : streams_) {
        s.spec = probes::parse_file_arg(opt_.files[&s - streams_.data()]);
        s.overridden = probes::Overridden(s.spec);
        // NODE= or the file's stem, until its header names it (as FileSet names them).
        s.node = probes::capture_point(s.spec, "", "").node;
        paths.push_back(s.spec.path);
    }
    auto r = probes::LiveStreams::open(paths);
    if (!r) return std::unexpected(r.error());
    readers_ = std::move(*r);
    for (std::size_t i = 0; i < streams_.size(); ++i)
        streams_[i].can_stall = readers_->can_stall(i);
    return {};
}

void StreamMerge::start(const std::atomic<bool>& stopping) {
    readers_->start();
    for (bool ready = false; !ready && !stopping;) {
        ready = true;
        for (std::size_t i = 0; i < streams_.size(); ++i) {
            if (streams_[i].can_stall) continue;
            readers_->info(i, streams_[i].info);
            if (streams_[i].info.frames == 0 && !final_state(streams_[i].info.state)) ready = false;
        }
        if (!ready)
            readers_->wait(std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
    }
}

void StreamMerge::learn_files() {
    for (std::size_t i = 0; i < streams_.size(); ++i)
        if (!streams_[i].can_stall) learn(i);
}

// What a stream's header and interfaces said, once they say it (or say more).
void StreamMerge::learn(std::size_t i) {
    Stream& s = streams_[i];
    const probes::LiveStreams::Info& in = s.info;
    if (std::string node = probes::capture_point(s.spec, in.node, "").node; !node.empty())
        s.node = std::move(node);
    s.overridden.add(in.node, "");
    if (!in.facts.empty() && in.facts != s.facts && !s.node.empty()) {
        s.facts = in.facts;
        if (auto f = trace::parse_node_facts(s.facts); !f) {
            s.facts_error = f.error().message;
        } else {
            const std::uint16_t node = names_.intern(s.node);
            step_.learn_node(node, *f);
            topo_.set_facts(node, std::move(*f));
            s.facts_error.clear();
        }
    }
    // Interfaces count from when they are declared, as a file's do once read.
    while (s.points.size() < in.interfaces.size()) {
        const probes::LiveStreams::Interface& f = in.interfaces[s.points.size()];
        s.overridden.add(f.node, f.name);
        s.points.push_back(point_of(names_, s.spec, f.node, f.name));
        if (on_point_) on_point_(s.points.back(), i);
    }
}

void StreamMerge::frame(std::size_t i, const probes::LiveStreams::Item& it) {
    Stream& s = streams_[i];
    const core::Frame& f = it.frame;
    // Declared after the info() of this round: the reader published it before this frame.
    if (f.interface >= s.points.size() && readers_->info(i, s.info)) learn(i);
    if (f.interface >= s.points.size()) {  // never declared
        const trace::PointId at = point_of(names_, s.spec, s.node, "");
        if (on_point_) on_point_(at, i);
        s.points.resize(f.interface + 1, at);
    }
    const trace::PointId at = s.points[f.interface];
    s.newest = std::max(s.newest, f.ts_ns);
    s.first_ns = std::min(s.first_ns, f.ts_ns);
    s.last_ns = std::max(s.last_ns, f.ts_ns);
    Held& h = s.held.back();
    if (!step_.take(f, at, f.ts_ns, h.s)) return;
    h.arrival_ns = it.arrival_ns;
    s.held.file();
}

// A stream is over: what its capture covered, widened as far as its statistics say.
void StreamMerge::end(Stream& s) {
    s.over = true;
    for (std::size_t k = 0; k < s.points.size() && k < s.info.interfaces.size(); ++k) {
        const probes::LiveStreams::Interface& isb = s.info.interfaces[k];
        cover(topo_, s.points[k], s.first_ns, s.last_ns, isb.capture_start_ns, isb.capture_end_ns);
    }
}

std::size_t StreamMerge::take(std::size_t max) {
    std::size_t taken = 0;
    for (std::size_t i = 0; i < streams_.size(); ++i) {
        Stream& s = streams_[i];
        if (s.over) continue;
        // The state before the frames: a stream that said "ended" has pushed its last.
        if (readers_->info(i, s.info)) learn(i);
        const bool last = final_state(s.info.state);
        readers_->take(i, max, items_);
        for (const probes::LiveStreams::Item& it : items_) frame(i, it);
        readers_->release(i);
        taken += items_.size();
        if (last && items_.empty()) end(s);
    }
    return taken;
}

// A stream can still deliver an older sighting unless it holds one, is over, or is live and has
// kept the oldest waiting longer than the lag. A regular file (never quiet) is waited for, and
// holds its sightings as FileSet does, so files merge as they do there.
bool StreamMerge::next(std::int64_t now, trace::Sighting& out) {
    const std::int64_t reorder = static_cast<std::int64_t>(opt_.reorder_s * 1e9);
    Stream* best = nullptr;
    for (Stream& s : streams_)
        if (!s.held.empty() && (!best || s.held.front().s.ts_ns < best->held.front().s.ts_ns))
            best = &s;
    if (!best) return false;
    const bool late =
        now - best->held.front().arrival_ns >= kFollowLagNs || best->held.size() >= kMaxHeld;
    for (const Stream& s : streams_) {
        if (s.over) continue;
        if (!s.can_stall) {
            if (s.held.empty() || (core::sub_ns(s.newest, s.held.front().s.ts_ns) < reorder &&
                                   s.held.size() < kFileMaxHeld))
                return false;
        } else if (s.held.empty() && !late) {
            return false;
        }
    }
    out = best->held.front().s;
    best->held.pop();
    released_ts_ = std::max(released_ts_, out.ts_ns);
    released_at_ = now;
    return true;
}

bool StreamMerge::over() const {
    return std::ranges::all_of(streams_, [](const Stream& s) { return s.over && s.held.empty(); });
}

std::optional<std::int64_t> StreamMerge::quiet_time(std::int64_t now) const {
    const bool holding = std::ranges::any_of(streams_, [](auto& s) { return !s.held.empty(); });
    // (Not while a regular file is being read: it is never quiet, only slow.)
    const bool live = std::ranges::all_of(streams_, [](auto& s) { return s.over || s.can_stall; });
    if (holding || !live || released_ts_ == INT64_MIN) return std::nullopt;
    const std::int64_t quiet =
        core::sub_ns(core::add_ns(released_ts_, now - released_at_), kFollowLagNs);
    if (quiet <= released_ts_) return std::nullopt;
    return quiet;
}

std::int64_t StreamMerge::wake_at(std::int64_t now) const {
    std::int64_t wake = now + 100'000'000;
    for (const Stream& s : streams_)
        if (!s.held.empty()) wake = std::min(wake, s.held.front().arrival_ns + kFollowLagNs);
    return wake;
}

void StreamMerge::wait(std::int64_t deadline_ns) {
    readers_->wait(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns)));
}

void StreamMerge::cover_running() {
    for (const Stream& s : streams_)
        if (s.first_ns <= s.last_ns)
            for (const trace::PointId p : s.points) topo_.cover(p, s.first_ns, s.last_ns);
}

void StreamMerge::stop() {
    if (readers_) readers_->stop();
}

void StreamMerge::join() {
    readers_->stop();  // the readers are done or stopping: joined before the caller is done
    readers_->join();
}

void StreamMerge::final_info() {
    for (std::size_t i = 0; i < streams_.size(); ++i) readers_->info(i, streams_[i].info);
}

}  // namespace podtrace::ingest
