#pragma once
// Test helpers: craft packets with libtins, decode them as a capture point would see them.
#include <arpa/inet.h>
#include <tins/tins.h>

#include <cstdint>
#include <vector>

#include "decode/decoder.hpp"

namespace podtrace::test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes bytes_of(Tins::PDU& pdu) {
    return pdu.serialize();
}

// wirelen 0: the frame was captured whole.
inline decode::Decoded decode_bytes(const Bytes& b,
                                    std::uint32_t linktype = core::linktype::ethernet,
                                    std::uint32_t wirelen = 0, const decode::Ports& ports = {}) {
    core::Frame f;
    f.linktype = linktype;
    f.bytes = {b.data(), b.size()};
    f.wirelen = wirelen ? wirelen : static_cast<std::uint32_t>(b.size());
    decode::Decoded d;
    decode::decode_frame(f, ports, d);
    return d;
}

// The 8-byte VXLAN header (I flag, VNI) followed by an inner frame.
inline Bytes vxlan_payload(std::uint32_t vni, const Bytes& inner, std::uint8_t flags = 0x08) {
    Bytes b{flags,
            0,
            0,
            0,
            static_cast<std::uint8_t>(vni >> 16),
            static_cast<std::uint8_t>(vni >> 8),
            static_cast<std::uint8_t>(vni),
            0};
    b.insert(b.end(), inner.begin(), inner.end());
    return b;
}

inline void put_le32(Bytes& b, std::size_t off, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline void put_le64(Bytes& b, std::size_t off, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// A WireGuard transport-data message carrying `plaintext_len` bytes (padded to 16, + tag).
inline Bytes wg_data(std::uint32_t receiver, std::uint64_t counter, std::size_t plaintext_len) {
    Bytes b(16 + ((plaintext_len + 15) / 16) * 16 + 16, 0xab);
    b[0] = 4;
    b[1] = b[2] = b[3] = 0;
    put_le32(b, 4, receiver);
    put_le64(b, 8, counter);
    return b;
}

inline const decode::Layer& layer(const decode::Decoded& d, int i) {
    return d.layers.at(i);
}

inline std::uint32_t v4(const decode::Addr& a) {
    return std::uint32_t{a[0]} << 24 | std::uint32_t{a[1]} << 16 | std::uint32_t{a[2]} << 8 | a[3];
}
inline std::uint32_t v4(const char* dotted) {
    std::uint8_t b[4];
    inet_pton(AF_INET, dotted, b);
    return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
}

}  // namespace podtrace::test
