// libFuzzer target for the decoder.
// Input: link type (2 bytes, big-endian), Ports selector (1 byte), then the frame.
// Built by fuzz/build.sh (CMake, clang 16); the whole pipeline has targets of its own.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "core/frame.hpp"
#include "decode/decoded.hpp"
#include "decode/decoder.hpp"
#include "decode/dispatch.hpp"
#include "decode/format.hpp"

namespace {

namespace pd = podtrace::decode;
namespace lt = podtrace::core::linktype;

constexpr std::array<std::uint32_t, 11> kLinktypes{
    lt::null_bsd,  lt::ethernet, lt::raw_bsd12, lt::raw_bsd14, lt::raw,        lt::loop,
    lt::linux_sll, lt::ipv4,     lt::ipv6,      lt::nflog,     lt::linux_sll2,
};

// Seeds carry the real link type; any other value still lands on a supported one.
std::uint32_t pick_linktype(std::uint16_t v) {
    for (const auto t : kLinktypes)
        if (t == v) return t;
    return kLinktypes[v % kLinktypes.size()];
}

pd::Ports pick_ports(std::uint8_t sel) {
    pd::Ports p;
    // 4789 collides with VXLAN: exercises the dispatch order.
    constexpr std::array<std::uint16_t, 4> kExtraWg{0, 51194, 41641, 4789};
    p.wireguard[1] = kExtraWg[sel & 3];
    if (sel & 0x04) p.vxlan = {};
    if (sel & 0x08) p.geneve[1] = 53;  // DNS bytes read as Geneve
    if (sel & 0x10) p.wireguard[2] = 53;
    if (sel & 0x20) p.vxlan[2] = 80;
    return p;
}

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "decode_fuzz: invariant violated: %s\n", what);
    __builtin_trap();
}

bool index_ok(std::int8_t i, std::uint8_t n) {
    return i == pd::kNone || (i >= 0 && i < n);
}

// What decoded.hpp promises, checked on every input.
void check(const pd::Decoded& d, const podtrace::core::Frame& f) {
    if (d.nlayers > pd::kMaxLayers) violated("nlayers > kMaxLayers");
    if (d.caplen != f.bytes.size()) violated("caplen != captured bytes");
    if (d.status != pd::status_of(d.reason)) violated("status != status_of(reason)");
    if (!index_ok(d.inner_ip, d.nlayers) || !index_ok(d.inner_l4, d.nlayers) ||
        !index_ok(d.quoted_ip, d.nlayers) || !index_ok(d.arp, d.nlayers))
        violated("layer index out of range");
    for (std::size_t i = 0; i < d.nlayers; ++i)
        if (d.layers[i].offset > d.caplen) violated("layer offset beyond caplen");
    // A truncated frame may point past the capture (TCP data offset beyond it); a full one not.
    if (d.status == pd::Status::ok && d.payload_offset > d.caplen)
        violated("payload_offset beyond caplen on an ok frame");
}

volatile std::uint64_t g_sink;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    static pd::Decoded d;  // reused across inputs, as a Decoder's caller does

    podtrace::core::Frame f;
    const std::uint8_t sel = data[2];
    f.linktype = pick_linktype(static_cast<std::uint16_t>(data[0] << 8 | data[1]));
    f.bytes = std::span<const std::uint8_t>(data + 3, size - 3);
    f.wirelen = static_cast<std::uint32_t>(f.bytes.size());
    if (sel & 0x40) f.wirelen += 4096;  // cut by a snaplen
    f.ts_digits = (sel & 0x80) ? 9 : 6;

    pd::Decoder decoder(pick_ports(sel));
    const pd::Status st = decoder.decode(f, d);
    if (st != d.status) violated("decode() result != Decoded::status");
    check(d, f);

    std::uint64_t h = d.fingerprint ^ d.payload_len ^ (std::uint64_t{d.encap_depth} << 8);
    h += static_cast<std::uint64_t>(*pd::status_name(d.status));
    h += static_cast<std::uint64_t>(*pd::reason_name(d.reason));
    for (std::size_t i = 0; i < d.nlayers; ++i) {
        h = h * 31 + d.layers[i].offset + static_cast<std::uint64_t>(d.layers[i].quoted);
        h += static_cast<std::uint64_t>(*pd::proto_name(d.layers[i].proto));
    }
    // The text rendering reads every layer too: it must hold on whatever the decoder made.
    static std::string line;
    line.clear();
    pd::format_layers(d, {.verbose = (sel & 1) != 0, .link = (sel & 2) != 0}, line);
    g_sink = h + line.size();
    return 0;
}
