#pragma once
// pcapng numbers shared by the reader (capture_file.cpp) and the writer (pcapng_writer.cpp),
// and podtrace's own section annotations.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace podtrace::probes::pcapng {

inline constexpr std::uint32_t block_shb = 0x0a0d0d0a;  // a palindrome: readable in either order
inline constexpr std::uint32_t byte_order_magic = 0x1a2b3c4d;
inline constexpr std::uint32_t block_idb = 1;
inline constexpr std::uint32_t block_pb = 2;  // obsolete Packet Block
inline constexpr std::uint32_t block_spb = 3;
inline constexpr std::uint32_t block_isb = 5;
inline constexpr std::uint32_t block_epb = 6;

inline constexpr std::uint16_t opt_endofopt = 0;
inline constexpr std::uint16_t opt_comment = 1;
inline constexpr std::uint16_t opt_if_name = 2;
inline constexpr std::uint16_t opt_epb_flags = 2;  // pack_flags in the obsolete PB: same code
inline constexpr std::uint16_t opt_shb_os = 3;
inline constexpr std::uint16_t opt_if_description = 3;
inline constexpr std::uint16_t opt_shb_userappl = 4;
inline constexpr std::uint16_t opt_if_tsresol = 9;
inline constexpr std::uint16_t opt_if_tsoffset = 14;
// Interface Statistics Block: times as an EPB's (high 32 bits, then low), counters as u64.
inline constexpr std::uint16_t opt_isb_starttime = 2;
inline constexpr std::uint16_t opt_isb_endtime = 3;
inline constexpr std::uint16_t opt_isb_ifrecv = 4;
inline constexpr std::uint16_t opt_isb_ifdrop = 5;
inline constexpr std::uint16_t opt_isb_osdrop = 7;

// Section Header Block comments podtrace writes: the node, and its facts as JSON (continued
// in "facts+=" comments where one option's 65535 bytes do not hold them).
inline constexpr std::string_view node_key = "podtrace node=";
inline constexpr std::string_view facts_key = "podtrace facts=";
inline constexpr std::string_view facts_more_key = "podtrace facts+=";

inline constexpr std::size_t pad4(std::size_t n) {
    return (n + 3) & ~std::size_t{3};
}

}  // namespace podtrace::probes::pcapng
