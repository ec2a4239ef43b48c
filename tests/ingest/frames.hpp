#pragma once
// Small capture files for the ingest tests, written byte for byte through probes' pcapng writer:
// Ethernet + IPv4 + UDP with 16 payload bytes that make each packet's fingerprint its own.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "../temp_dir.hpp"
#include "probes/pcapng_writer.hpp"

namespace podtrace::test {

// Ethernet (to Calico's MAC when `from_pod`), IPv4 `src` > `dst`, UDP 40000 > 53, payload by `seq`.
inline std::vector<std::uint8_t> udp_frame(std::uint32_t src, std::uint32_t dst, std::uint32_t seq,
                                           bool from_pod = true) {
    std::vector<std::uint8_t> b;
    const auto u8 = [&](unsigned v) { b.push_back(static_cast<std::uint8_t>(v)); };
    const auto u16 = [&](unsigned v) { u8(v >> 8), u8(v & 0xff); };
    const auto u32 = [&](std::uint32_t v) { u16(v >> 16), u16(v & 0xffff); };
    for (int i = 0; i < 6; ++i) u8(from_pod ? 0xee : 0x02);
    for (int i = 0; i < 6; ++i) u8(from_pod ? 0x5a : 0xee);
    u16(0x0800);
    u8(0x45), u8(0), u16(20 + 8 + 16), u16(seq & 0xffff), u16(0x4000), u8(64), u8(17), u16(0);
    u32(src), u32(dst);
    u16(40000), u16(53), u16(8 + 16), u16(0);
    u32(seq), u32(~seq), u32(seq * 2654435761u), u32(0x706f6474);
    return b;
}

inline constexpr std::uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d) {
    return a << 24 | b << 16 | c << 8 | d;
}

struct Packet {
    std::string interface;
    std::int64_t ts_ns;
    std::vector<std::uint8_t> bytes;
};

// A pcapng of one node (`node` annotated, `facts` JSON or ""), its frames in the order given.
inline void write_capture(const std::string& path, const std::string& node,
                          const std::vector<Packet>& packets, const std::string& facts = "") {
    auto w = probes::PcapngWriter::open(path, {"ingest test", node, facts, "test"});
    REQUIRE(w);
    std::vector<std::string> ifs;
    for (const Packet& p : packets) {
        auto it = std::find(ifs.begin(), ifs.end(), p.interface);
        if (it == ifs.end()) {
            w->add_interface(p.interface, core::linktype::ethernet, 262144);
            ifs.push_back(p.interface);
            it = ifs.end() - 1;
        }
        core::Frame f;
        f.ts_ns = p.ts_ns;
        f.ts_digits = 9;
        f.wirelen = static_cast<std::uint32_t>(p.bytes.size());
        f.bytes = p.bytes;
        REQUIRE(w->write(static_cast<std::uint32_t>(it - ifs.begin()), f));
    }
    REQUIRE(w->close());
}

}  // namespace podtrace::test
