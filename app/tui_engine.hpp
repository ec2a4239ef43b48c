#pragma once
// What feeds `podtrace tui`: capture files replayed through the reader `report` uses, a live
// capture, or live pcapng streams from several nodes (--follow), traced on an ingest thread; the
// UI thread takes snapshots of the state in words.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <iosfwd>
#include <memory>
#include <string>

#include "app/command.hpp"
#include "app/report.hpp"
#include "core/error.hpp"
#include "tui/model.hpp"

namespace podtrace::app {

struct TuiOptions {
    // -r files (empty: live), --pods/--services/--nodes, --window, --no-clock, tunnel ports.
    ReportOptions input;
    LiveCli live;  // without files
    // Replay pace: 0 as fast as the files read, 1 as recorded, 2 twice as fast...
    double speed = 0;
    // --follow: each -r [NODE=]PATH is a live pcapng stream (a pipe, a FIFO, /dev/fd/N, "-"),
    // read as it arrives by its own thread and merged across streams with a short hold-back.
    bool follow = false;
    std::size_t keep_bytes = std::size_t{64} << 20;  // --keep: the packet store's frame bytes
};

class TuiEngine final : public tui::Model {
public:
    // Reads the inventory and opens the files or the capture handles: bad input fails here,
    // with one error naming the culprit on `err`, before any terminal is touched.
    static std::unique_ptr<TuiEngine> open(const TuiOptions& opt, std::ostream& err);
    ~TuiEngine() override;  // stops and joins the ingest thread
    TuiEngine(const TuiEngine&) = delete;
    TuiEngine& operator=(const TuiEngine&) = delete;

    void start();  // starts the ingest thread

    void snapshot(const tui::Query& q, tui::Snapshot& out) override;
    std::expected<std::string, Error> save(std::uint32_t flow,
                                                 const std::string& dir) override;
    bool done() const override;
    void stop() override;

private:
    struct Impl;
    explicit TuiEngine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace podtrace::app
