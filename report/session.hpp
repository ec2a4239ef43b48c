#pragma once
// What a front end holds of the captures it traced, `report` and `tui` alike: the capture
// points' names, the kubectl inventory, the tracer (topology, flows), what was read and how the
// clocks were aligned, and the findings, with the one rule set that produces them.
#include <cstdint>
#include <vector>

#include "decode/decoder.hpp"
#include "ingest/files.hpp"
#include "ingest/options.hpp"
#include "trace/diagnose.hpp"
#include "trace/inventory.hpp"
#include "trace/tracer.hpp"

namespace podtrace::report {

struct Session {
    // The tracer matches sightings of one packet within opt.window_s.
    explicit Session(const ingest::InputOptions& opt);
    Session(const Session&) = delete;  // the tracer points at names, the topology at inventory
    Session& operator=(const Session&) = delete;

    trace::Names names;
    trace::Inventory inventory;
    trace::Tracer tracer;
    std::vector<ingest::FileSummary> files;
    decode::Stats decode;
    std::uint64_t sightings = 0;
    ingest::ClockSummary clocks;
    std::vector<trace::Diagnosis> findings;  // in flow order

    // The findings, by one rule set: WireGuard is expected between nodes (pod addresses in
    // clear on a NIC are then a finding) when `expect_encrypted` (--expect encrypted), when a
    // node's facts have a wireguard.cali, or when one was captured.
    void diagnose(bool expect_encrypted = false);
};

// The kubectl JSON files of `opt` into the inventory, which the topology then uses for names.
std::expected<void, Error> load_inventory(const ingest::InputOptions& opt, Session& s);

}  // namespace podtrace::report
