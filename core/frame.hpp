#pragma once
// A captured frame as every later stage sees it: a view into the source's buffer.
#include <cstdint>
#include <span>

namespace podtrace::core {

// Link-layer header types as pcap/pcapng files number them (LINKTYPE_*).
namespace linktype {
inline constexpr std::uint32_t null_bsd = 0;
inline constexpr std::uint32_t ethernet = 1;
inline constexpr std::uint32_t raw_bsd12 = 12;  // DLT_RAW on most BSDs
inline constexpr std::uint32_t raw_bsd14 = 14;  // DLT_RAW on OpenBSD
inline constexpr std::uint32_t raw = 101;
inline constexpr std::uint32_t loop = 108;
inline constexpr std::uint32_t linux_sll = 113;
inline constexpr std::uint32_t ipv4 = 228;
inline constexpr std::uint32_t ipv6 = 229;
inline constexpr std::uint32_t nflog = 239;
inline constexpr std::uint32_t linux_sll2 = 276;
}  // namespace linktype

enum class Direction : std::uint8_t { unknown, inbound, outbound };

struct Frame {
    std::int64_t ts_ns = 0;  // since the Unix epoch
    std::uint32_t linktype = linktype::ethernet;
    std::uint32_t wirelen = 0;    // length on the wire; bytes.size() is the captured length
    std::uint32_t interface = 0;  // index into the source's interface table
    std::uint8_t ts_digits = 6;   // 6 (µs) or 9 (ns): the precision the source recorded
    Direction direction = Direction::unknown;  // where the format records it (pcapng EPB flags)
    std::span<const std::uint8_t> bytes;
};

}  // namespace podtrace::core
