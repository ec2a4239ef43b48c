#pragma once
// The input stage `report` and `tui -r` share: capture files -> decoded frames -> sightings on
// one corrected timeline (node facts, clock offsets between nodes, per-file reordering,
// direction inference), merged across files in timestamp order.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "app/report.hpp"
#include "decode/decoded.hpp"
#include "core/frame.hpp"
#include "trace/sighting.hpp"
#include "trace/topology.hpp"

namespace podtrace::app {

// Reads --pods, --services and --nodes into `inv`; false after writing an error naming the
// file to `err` ("podtrace: <command>: --pods F: ...").
bool load_inventory(const ReportOptions& opt, trace::Inventory& inv, std::string_view command,
                    std::ostream& err);

// A node's own addresses and its pods', from the facts its capture carried: on a NIC or tunnel
// frame whose capture gave no direction, they tell which way it went (an outer source that is
// the node's own left it; a destination that is one of its pods arrived). Without this the
// clock estimate has only pod veths to go on.
struct NodeAddresses {
    std::vector<trace::IpAddr> own, pods;
};
NodeAddresses node_addresses(const trace::NodeFacts& facts);
// Sets s.direction when the capture gave none and the node's addresses tell; `by_node` is
// indexed by node id.
void infer_direction(trace::Sighting& s, const std::vector<NodeAddresses>& by_node);

// Reads the captures of `opt.files` into data's names, topology, clocks and files: open()
// (inventory, files, node facts), align_clocks() (a first pass over the files when several
// nodes' clocks must be aligned), then next() until it returns nullptr, then finish().
class CaptureReader {
public:
    // Told every frame of the final pass as it is read, before reordering: its capture point
    // and decoding. Returns the handle that goes into the frame's sighting (Sighting::ref).
    using FrameHook =
        std::function<std::uint64_t(const core::Frame&, const decode::Decoded&, trace::PointId)>;

    // `command` names the subcommand in error messages.
    CaptureReader(const ReportOptions& opt, ReportData& data, std::string command);
    ~CaptureReader();
    CaptureReader(const CaptureReader&) = delete;
    CaptureReader& operator=(const CaptureReader&) = delete;

    void on_frame(FrameHook hook);
    // Loads the inventory and opens every file; false after writing an error naming the
    // culprit to `err`.
    bool open(std::ostream& err);
    // The clock pass, when several nodes are captured (and --no-clock was not given): every file,
    // merged, until the offsets settle (or to the end); sets data.clocks and, when it stopped
    // early, data.clock_frames/clock_span_ns. Then the first frames of every file are read, for
    // next(). `progress` is told bytes read so far, about every 64k frames. False after writing
    // an error to `err` (a file that could not be reopened).
    bool align_clocks(std::ostream& err, const std::function<void(std::uint64_t)>& progress = {});
    // The next sighting in corrected time order, nullptr at the end of every file; valid until
    // the next call.
    const trace::Sighting* next();
    // After the last next(): a FileSummary per file (errors written to `err`), what each
    // capture point covered, the decode counts.
    void finish(std::ostream& err);

    std::uint64_t bytes_total() const { return total_; }  // all files' sizes, one pass
    std::uint64_t bytes_read() const;                     // in the current pass
    std::uint64_t clock_bytes() const;                    // read by the clock pass
    bool two_pass() const;                                // align_clocks() reads the files
    std::size_t node_count() const { return nodes_; }
    std::size_t file_count() const;

private:
    struct Impl;
    const ReportOptions& opt_;
    ReportData& data_;
    std::string command_;
    std::unique_ptr<Impl> impl_;
    std::uint64_t total_ = 0;
    std::size_t nodes_ = 0;
};

}  // namespace podtrace::app
