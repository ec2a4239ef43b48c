#pragma once
// The Packet screen's dissection of one captured frame: a Wireshark-like tree of every layer's
// fields, and a hex dump. libtins parses what it knows; the layers it does not (the inner
// frame of VXLAN, WireGuard messages, the packet inside IPIP where libtins stops) are taken
// from podtrace's own decoder offsets and parsed on.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "decode/dispatch.hpp"
#include "tui/snapshot.hpp"

namespace podtrace::tui {

// One line per layer header and per field; a layer cut short by the snaplen says so in a field
// of its own, marked `truncated` ("[truncated: 18 of 40 bytes captured]").
std::vector<TreeLine> dissect(std::uint32_t linktype, std::span<const std::uint8_t> bytes,
                              const decode::Ports& ports = {});

// "0000  45 00 00 54 7b 2f 40 00  40 01 ...  E..T{/@.@." — 16 bytes a line.
std::vector<std::string> hex_dump(std::span<const std::uint8_t> bytes);

}  // namespace podtrace::tui
