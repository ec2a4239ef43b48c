#pragma once
// Live pcapng streams as one source (`tui --follow`): one reader thread per stream (probes::
// LiveStreams), each stream's frames through the step into sightings held in timestamp order,
// merged across streams as they arrive. A sighting waits at most a short hold-back for the other
// streams to deliver something later: a quiet stream delays the others by that much and never
// stalls them. Clock offsets are not estimated (each node's timestamps are used as captured).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "ingest/options.hpp"
#include "ingest/reorder.hpp"
#include "ingest/step.hpp"
#include "probes/capture_point.hpp"
#include "probes/live_streams.hpp"
#include "trace/sighting.hpp"
#include "trace/topology.hpp"

namespace podtrace::ingest {

// A sighting waits at most this long (after it arrived) for the other streams to deliver
// something later before it goes on without them; what a stream sends later than that is out
// of order (the correlator counts it).
inline constexpr std::int64_t kFollowLagNs = 250'000'000;

class StreamMerge {
public:
    struct Held {
        trace::Sighting s;
        std::int64_t arrival_ns;  // steady clock
    };
    struct HeldTime {
        std::int64_t operator()(const Held& h) const { return h.s.ts_ns; }
    };
    struct Stream {
        probes::FileArg spec;
        bool can_stall = true;  // not a regular file
        probes::LiveStreams::Info info;
        std::string node;  // "" until NODE= or its header says
        std::string facts, facts_error;
        probes::Overridden overridden;       // names the stream kept over the command line's
        std::vector<trace::PointId> points;  // per interface of the stream
        ReorderRing<Held, HeldTime> held;
        std::int64_t newest = INT64_MIN;  // capture time
        std::int64_t first_ns = INT64_MAX, last_ns = INT64_MIN;
        bool over = false;  // ended (or failed, or stopped) and every frame taken

        // Its node, else its path.
        const std::string& label() const { return node.empty() ? spec.path : node; }
    };
    // Told each capture point a stream declares (or, for frames of an undeclared interface,
    // makes up), with the stream's index: the TUI lists points before their first frame.
    using PointHook = std::function<void(trace::PointId, std::size_t stream)>;

    // Every -r [NODE=]PATH is a stream; capture points are named into `names`, node facts and
    // what each point covered go to `topo`. Destroying it stops and joins the readers.
    StreamMerge(const InputOptions& opt, trace::Names& names, trace::Topology& topo);
    StreamMerge(const StreamMerge&) = delete;
    StreamMerge& operator=(const StreamMerge&) = delete;

    // Opens every path without reading (a FIFO with no writer yet opens at once); the error
    // names the path.
    std::expected<void, Error> open();
    Step& step() { return step_; }
    void on_point(PointHook hook) { on_point_ = std::move(hook); }

    // Starts the readers, then waits until every regular file among the streams has delivered
    // its first frames (or ended) or `stopping` is set, so that their names and capture points
    // are numbered in the order given, as in a replay, whatever thread reads first. Touches
    // nothing the caller's lock guards: learn_files() does that.
    void start(const std::atomic<bool>& stopping);
    void learn_files();

    // What every stream delivered since the last call, at most `max` frames each, through the
    // step into its held sightings; a stream that ended gets its coverage. The frames taken.
    std::size_t take(std::size_t max);
    // The next sighting to trace at steady time `now` into `out`, or false for now: the oldest
    // of all, once no other stream can still deliver an older one.
    bool next(std::int64_t now, trace::Sighting& out);
    // Every stream is over and every sighting was handed out.
    bool over() const;
    // Quiet everywhere (nothing held, every stream live or over): the capture time that has
    // passed since the newest sighting handed out, less the hold-back; nullopt when none.
    std::optional<std::int64_t> quiet_time(std::int64_t now) const;
    // When the caller has to look again: the first held sighting's hold-back passes, or 100 ms.
    std::int64_t wake_at(std::int64_t now) const;
    // Waits until a frame or a change arrived, stop(), or `deadline` (steady clock ns).
    void wait(std::int64_t deadline_ns);

    // While they run, streams cover their interfaces from their first frame to their last.
    void cover_running();
    void stop();  // prompt: wakes readers blocked on quiet writers
    // After the last next(): stops and joins the readers (the caller's lock released), then
    // final_info() copies what they said last.
    void join();
    void final_info();

    const std::vector<Stream>& streams() const { return streams_; }

private:
    void learn(std::size_t i);
    void frame(std::size_t i, const probes::LiveStreams::Item& it);
    void end(Stream& s);

    const InputOptions& opt_;
    trace::Names& names_;
    trace::Topology& topo_;
    Step step_;
    PointHook on_point_;
    std::unique_ptr<probes::LiveStreams> readers_;
    std::vector<Stream> streams_;
    std::vector<probes::LiveStreams::Item> items_;            // reused per take
    std::int64_t released_ts_ = INT64_MIN, released_at_ = 0;  // newest handed out, when
};

}  // namespace podtrace::ingest
