#pragma once
// Sightings of packets crafted with libtins, decoded as the capture point would see them.
#include "../decode/helpers.hpp"
#include "trace/sighting.hpp"

namespace podtrace::test {

inline const Tins::HWAddress<6> kCali(std::string("ee:ee:ee:ee:ee:ee"));
inline const Tins::HWAddress<6> kPodMac(std::string("4e:5a:1c:00:00:01"));
inline const Tins::HWAddress<6> kNicMac(std::string("02:00:c0:a8:0a:65"));
inline const Tins::HWAddress<6> kPeerMac(std::string("02:00:c0:a8:0a:66"));

inline Tins::IP ip(const char* src, const char* dst, std::uint8_t ttl, std::uint16_t id = 0x1234) {
    Tins::IP p(dst, src);
    p.ttl(ttl);
    p.id(id);
    p.flags(Tins::IP::DONT_FRAGMENT);
    return p;
}

inline Tins::TCP tcp(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                     std::uint16_t flags = Tins::TCP::SYN) {
    Tins::TCP t(dport, sport);
    t.seq(seq);
    t.flags(flags);
    t.window(64240);
    return t;
}

inline trace::Sighting sight(trace::Names& names, const char* node, const char* iface,
                             std::int64_t ts_ns, Tins::PDU& pdu,
                             std::uint32_t linktype = core::linktype::ethernet) {
    auto d = decode_bytes(bytes_of(pdu), linktype);
    d.ts_ns = ts_ns;
    return trace::make_sighting(d, trace::make_point(names, node, iface));
}

}  // namespace podtrace::test
