#pragma once
// Capture files as one source: every file opened, its node facts read, the clock pass when
// several nodes' clocks must be aligned (a first read of the files), then every file's sightings
// on the corrected timeline, each file reordered within --reorder, merged across files in
// timestamp order. Any number of files: at most InputOptions::max_open_files hold a descriptor
// at once, the least recently read give theirs up and open again where they stopped.
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "ingest/options.hpp"
#include "ingest/step.hpp"
#include "trace/clock.hpp"
#include "trace/sighting.hpp"
#include "trace/topology.hpp"

namespace podtrace::ingest {

struct InterfaceSummary {
    std::string node, name;
    std::uint32_t linktype = 0;
    std::uint64_t frames = 0;
};

struct FileSummary {
    std::string path;
    std::string error;        // read as far as this fault (the report's exit code is then 2)
    std::string facts_error;  // the node facts the file carries could not be read
    std::uint64_t frames = 0;
    // Frames stamped before 1677 or after 2262, their time clamped; the first one's number.
    std::uint64_t ts_out_of_range = 0, first_ts_out_of_range = 0;
    std::vector<InterfaceSummary> interfaces;
    // Where the file names a node or interface other than NODE= or NODE/IFACE= said, and keeps
    // its own (probes::overridden).
    std::vector<std::string> notes;
};

// What the clock pass found.
struct ClockSummary {
    std::vector<trace::NodeClock> clocks;
    std::string note;  // why offsets were not estimated at all ("" when they were)
    // When the clock pass stopped before the end, the offsets having settled: the frames it
    // read, and how far past each capture's first frame they reach. 0 when it read everything.
    std::uint64_t frames = 0;
    std::int64_t span_ns = 0;
};

// open(), align_clocks(), next() until it returns nullptr, then finish().
class FileSet {
public:
    // Capture points are named into `names`; node facts and what each point covered go to
    // `topo`.
    FileSet(const InputOptions& opt, trace::Names& names, trace::Topology& topo);
    ~FileSet();
    FileSet(const FileSet&) = delete;
    FileSet& operator=(const FileSet&) = delete;

    // The step the final pass takes every frame through (Step::on_frame for a hook).
    Step& step();
    // Opens every file and reads the node facts it carries; the error names the file.
    std::expected<void, Error> open();
    // The clock pass, when several nodes are captured (and --no-clock was not given): every file,
    // merged, until the offsets settle (or to the end; --full-clock-pass). Then the first frames
    // of every file are read, for next(). `progress` is told bytes read so far, about every 64k
    // frames. The error names a file that could not be opened again.
    std::expected<void, Error> align_clocks(
        const std::function<void(std::uint64_t)>& progress = {});
    // The next sighting in corrected time order, nullptr at the end of every file; valid until
    // the next call.
    const trace::Sighting* next();
    // After the last next(): what each capture point covered goes to the topology; a summary
    // per file, its read error included.
    std::vector<FileSummary> finish();

    const ClockSummary& clocks() const;
    std::uint64_t bytes_total() const;  // all files' sizes, one pass
    std::uint64_t bytes_read() const;   // in the current pass
    std::uint64_t clock_bytes() const;  // read by the clock pass
    bool two_pass() const;              // align_clocks() reads the files
    std::size_t node_count() const;
    std::size_t file_count() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace podtrace::ingest
