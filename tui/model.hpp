#pragma once
// Whatever feeds the TUI (live capture, replayed files): the UI thread asks it for snapshots
// and to save a flow; ingestion runs on its own thread(s) and never waits for the UI.
#include <cstdint>
#include <expected>
#include <string>

#include "core/error.hpp"
#include "tui/snapshot.hpp"

namespace podtrace::tui {

class Model {
public:
    virtual ~Model() = default;
    // Fills `out` (reusing its storage) with the state now. Thread-safe; quick (it runs between
    // two key presses).
    virtual void snapshot(const Query& q, Snapshot& out) = 0;
    // Writes the frames of `flow` still kept to a new pcapng file in `dir`; returns the line
    // the status bar shows ("saved 14 frames of flow 3 to ./podtrace-flow3.pcapng") or an error
    // naming the file.
    virtual std::expected<std::string, Error> save(std::uint32_t flow, const std::string& dir) = 0;
    // Whether the input has ended (files read to their end, or a capture stopped): nothing
    // will change any more.
    virtual bool done() const = 0;
    // Asks ingestion to stop (quit); returns at once.
    virtual void stop() = 0;
};

}  // namespace podtrace::tui
