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

namespace podtrace::tui {

// One line per layer header (no indent) and per field (two spaces), e.g.
//   "Ethernet II, src 0a:58:..., dst ee:ee:ee:ee:ee:ee"
//   "  type 0x0800 (IPv4)"
//   "IPv4, src 192.168.10.101, dst 192.168.10.102"
//   "  ttl 64, id 0x1234, flags DF, total length 104, protocol 4 (IPIP)"
// A layer cut short by the snaplen says so ("[truncated: 18 of 40 bytes captured]").
std::vector<std::string> dissect(std::uint32_t linktype, std::span<const std::uint8_t> bytes,
                                 const decode::Ports& ports = {});

// "0000  45 00 00 54 7b 2f 40 00  40 01 ...  E..T{/@.@." — 16 bytes a line.
std::vector<std::string> hex_dump(std::span<const std::uint8_t> bytes);

}  // namespace podtrace::tui
