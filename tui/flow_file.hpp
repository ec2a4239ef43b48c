#pragma once
// `s` in the TUI: a flow's kept frames written to a pcapng file for Wireshark, under a name
// nobody has (podtrace-flow<ID>.pcapng, then -2, -3 …), never half-written.
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "tui/packet_store.hpp"

namespace podtrace::tui {

// One frame copied out of the store, with its capture point's names.
struct SavedFrame {
    FrameRecord rec;
    std::vector<std::uint8_t> bytes;
    std::string node, interface;
};

// `frames` in time order; `lost`: the flow's frames the store no longer held (with no frame
// left, an error that says so). The status line's words ("saved 14 frames of flow 3 to
// ./podtrace-flow3.pcapng"), or an error naming the file.
std::expected<std::string, Error> write_flow_file(std::uint32_t flow,
                                                  const std::vector<SavedFrame>& frames,
                                                  std::uint64_t lost, const std::string& dir);

}  // namespace podtrace::tui
