#pragma once
// `podtrace report`: the options, what reading the captures produced, and the output stages.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "decode/decoder.hpp"
#include "decode/dispatch.hpp"
#include "trace/clock.hpp"
#include "trace/diagnose.hpp"
#include "trace/expect.hpp"
#include "trace/inventory.hpp"
#include "trace/tracer.hpp"

namespace podtrace::app {

enum class ReportFormat : std::uint8_t { text, json, junit, md };

struct ReportFilters {
    std::vector<std::string> pods;        // "ns/name" or "name" (any namespace)
    std::vector<std::string> namespaces;  // pods of these namespaces
    std::vector<std::string> ips;
    std::vector<int> ports;
    std::vector<std::string> kinds;  // same-node, cross-node, egress, service, unknown
    std::vector<std::string> between;  // two pods: flows with one at each end
};

struct ReportOptions {
    std::vector<std::string> files;
    ReportFormat format = ReportFormat::text;
    std::string output;  // "" = standard output
    std::vector<std::string> pods_json, services_json, nodes_json;
    std::vector<std::string> expects;
    ReportFilters filters;
    decode::Ports ports;
    double window_s = 2.0;    // correlation window
    double reorder_s = 1.0;   // how far out of time order a file's frames may be
    bool clock = true;        // estimate clock offsets between nodes
    bool clock_full = false;  // clock pass: read every frame, not only until the offsets settle
    bool progress = true;     // on a terminal only
};

struct InterfaceSummary {
    std::string node, name;
    std::uint32_t linktype = 0;
    std::uint64_t frames = 0;
};

struct FileSummary {
    std::string path;
    std::string error;        // read as far as this fault (exit code 2)
    std::string facts_error;  // the node facts the file carries could not be read
    std::uint64_t frames = 0;
    std::vector<InterfaceSummary> interfaces;
};

// Everything the output stage needs; filled by read_captures().
struct ReportData {
    trace::Names names;
    trace::Inventory inventory;
    trace::Tracer tracer{names};
    std::vector<FileSummary> files;
    decode::Stats decode;
    std::uint64_t sightings = 0;
    std::vector<trace::NodeClock> clocks;
    std::string clock_note;  // why offsets were not estimated at all ("" when they were)
    // When the clock pass stopped before the end, the offsets settled: the frames it read, and how
    // far past each capture's first frame they reach. 0 when it read everything.
    std::uint64_t clock_frames = 0;
    std::int64_t clock_span_ns = 0;
    std::vector<trace::Diagnosis> findings;
    std::vector<trace::Expectation> expectations;
    std::vector<trace::ExpectResult> results;
    std::vector<std::uint32_t> shown;  // ids of flows passing the filters

    explicit ReportData(trace::TracerOptions o) : tracer(names, o) {}
    ReportData(const ReportData&) = delete;
    ReportData& operator=(const ReportData&) = delete;
};

// Reads every capture (two passes when several nodes' clocks must be aligned) into `data`.
// Returns false after writing an error naming the culprit to `err` (exit 2).
bool read_captures(const ReportOptions& opt, ReportData& data, std::ostream& err);

// The flow's kind as the report states it: classify()'s, except that a pod address leaving a
// NIC unchanged towards the outside (a finding of diagnose()) is egress, not direct routing.
trace::PathKind flow_kind(const ReportData& d, const trace::Flow& f);

void write_text(const ReportData& data, std::ostream& out);
void write_json(const ReportData& data, std::ostream& out);
void write_junit(const ReportData& data, std::ostream& out);
void write_markdown(const ReportData& data, std::ostream& out);

// Exit codes: 0 every expectation holds, 1 one failed, 2 bad input or usage.
int report_command(const ReportOptions& opt, std::ostream& out, std::ostream& err);

}  // namespace podtrace::app
