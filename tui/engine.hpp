#pragma once
// What feeds `podtrace tui`: capture files replayed (FileSet, clock offsets as `report`), a live
// capture on this node (LiveInput), or live pcapng streams from several nodes (--follow,
// StreamMerge), traced on an ingest thread into a report::Session; the UI thread takes snapshots
// of it all, in report's words, drawn from the session's data and each flow's recent paths.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "ingest/options.hpp"
#include "probes/discover.hpp"
#include "probes/live_source.hpp"
#include "tui/model.hpp"

namespace podtrace::tui {

struct EngineOptions {
    // -r files (empty: live), --pods/--services/--nodes, --window, --no-clock, tunnel ports.
    ingest::InputOptions input;
    // Live capture (without files): the handles, --user, and discovery for the node's facts.
    probes::LiveOptions live;
    std::string user;
    probes::DiscoverOptions discovery;
    // Replay pace: 0 as fast as the files read, 1 as recorded, 2 twice as fast...
    double speed = 0;
    // --follow: each -r [NODE=]PATH is a live pcapng stream (a pipe, a FIFO, /dev/fd/N, "-"),
    // read as it arrives by its own thread and merged across streams with a short hold-back.
    bool follow = false;
    std::size_t keep_bytes = std::size_t{64} << 20;  // --keep: the packet store's frame bytes
};

class Engine final : public Model {
public:
    // Reads the inventory and opens the files, the streams or the capture handles: bad input
    // fails here, before any terminal is touched; the error names the culprit.
    static std::expected<std::unique_ptr<Engine>, Error> open(const EngineOptions& opt);
    ~Engine() override;  // stops and joins the ingest thread
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    void start();  // starts the ingest thread
    // Once done(): what made the input fail, as `report` would refuse it (a file read to a
    // fault, a stream that broke, a file the clock pass could not reopen), each naming it.
    std::vector<Error> input_errors() const;

    void snapshot(const Query& q, Snapshot& out) override;
    std::expected<std::string, Error> save(std::uint32_t flow, const std::string& dir) override;
    bool done() const override;
    void stop() override;

private:
    struct Impl;
    explicit Engine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace podtrace::tui
