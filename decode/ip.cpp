// ARP, IPv4 and IPv6 (with extension headers and fragments).
#include "decode/walker.hpp"

namespace podtrace::decode {

bool Walker::enter_ip() {
    if (quoted_) return true;  // a quote is not a tunnel
    if (seen_ip_ && ++d_.encap_depth > kMaxEncap) {
        fail(Reason::encap_too_deep);
        return false;
    }
    seen_ip_ = true;
    return true;
}

void Walker::note_ip() {
    auto index = static_cast<std::int8_t>(d_.nlayers - 1);
    if (quoted_) {
        if (d_.quoted_ip == kNone) d_.quoted_ip = index;
    } else {
        d_.inner_ip = index;
        d_.inner_l4 = kNone;
    }
}

Next Walker::arp() {
    ByteView v = here();
    if (!v.has(0, 8)) return fail(Reason::arp_truncated);
    Layer* l = push(Proto::arp);
    ArpL& a = l->arp;
    a = {};
    a.htype = v.be16(0);
    a.ptype = v.be16(2);
    a.op = v.be16(6);
    if (!quoted_) d_.arp = static_cast<std::int8_t>(d_.nlayers - 1);
    if (v.u8(4) == 6 && v.u8(5) == 4) {  // Ethernet/IPv4, the only kind Calico meets
        if (!v.has(8, 20)) return fail(Reason::arp_truncated);
        v.copy(8, a.sha.data(), 6);
        v.copy(14, a.spa.data(), 4);
        v.copy(18, a.tha.data(), 6);
        v.copy(24, a.tpa.data(), 4);
    }
    return Next::none;
}

Next Walker::ipv4() {
    if (!enter_ip()) return Next::none;
    ByteView v = here();
    if (!v.has(0, 20)) return fail(Reason::ipv4_truncated);
    if (v.u8(0) >> 4 != 4) return fail(Reason::ipv4_bad_version);
    std::size_t hlen = (v.u8(0) & 0x0f) * 4u;
    if (hlen < 20) return fail(Reason::ipv4_bad_header_length);
    Layer* l = push(Proto::ipv4);
    IpL& ip = l->ip;
    ip.version = 4;
    ip.tos = v.u8(1);
    ip.total_len = v.be16(2);
    ip.id = v.be16(4);
    std::uint16_t frag = v.be16(6);
    ip.df = frag & 0x4000;
    ip.mf = frag & 0x2000;
    ip.frag_offset = static_cast<std::uint16_t>((frag & 0x1fff) * 8u);
    ip.fragment = ip.mf || ip.frag_offset != 0;
    ip.frag_id = 0;
    ip.flow_label = 0;
    ip.ttl = v.u8(8);
    ip.proto = v.u8(9);
    ip.header_len = static_cast<std::uint16_t>(hlen);
    ip.src = {};
    ip.dst = {};
    v.copy(12, ip.src.data(), 4);
    v.copy(16, ip.dst.data(), 4);
    note_ip();
    if (!v.has(0, hlen)) return fail(Reason::ipv4_truncated);

    // Total length 0 is how Linux marks a GSO/BIG TCP super-packet: the frame says how long.
    std::size_t total = ip.total_len ? ip.total_len : wire_left();
    if (total < hlen) return fail(Reason::ipv4_bad_total_length);
    if (total > wire_left() && !quoted_) fail(Reason::ip_payload_truncated);
    limit(total);
    off_ += hlen;
    if (ip.frag_offset != 0) return Next::none;  // not the first fragment: no L4 header here
    fragment_ = ip.mf;
    return by_ip_proto(ip.proto, 4);
}

static bool is_ipv6_extension(std::uint8_t nh) {
    switch (nh) {
        case 0:    // hop-by-hop options
        case 43:   // routing
        case 44:   // fragment
        case 51:   // authentication header
        case 60:   // destination options
        case 135:  // mobility
        case 139:  // HIP
        case 140:  // shim6
            return true;
        default: return false;
    }
}

Next Walker::ipv6() {
    if (!enter_ip()) return Next::none;
    ByteView v = here();
    if (!v.has(0, 40)) return fail(Reason::ipv6_truncated);
    if (v.u8(0) >> 4 != 6) return fail(Reason::ipv6_bad_version);
    Layer* l = push(Proto::ipv6);
    IpL& ip = l->ip;
    ip.version = 6;
    std::uint32_t w0 = v.be32(0);
    ip.tos = static_cast<std::uint8_t>(w0 >> 20);
    ip.flow_label = w0 & 0xfffff;
    std::uint16_t plen = v.be16(4);
    ip.total_len = plen ? plen + 40u : 0;
    ip.proto = v.u8(6);
    ip.ttl = v.u8(7);
    v.copy(8, ip.src.data(), 16);
    v.copy(24, ip.dst.data(), 16);
    ip.id = 0;
    ip.frag_id = 0;
    ip.frag_offset = 0;
    ip.df = ip.mf = ip.fragment = false;
    note_ip();
    // Payload length 0 without a jumbo option is BIG TCP (RFC 2675 jumbograms are rare).
    std::size_t total = plen ? plen + 40u : wire_left();
    if (total > wire_left() && !quoted_) fail(Reason::ip_payload_truncated);
    limit(total);

    std::size_t pos = 40;
    std::uint8_t nh = ip.proto;
    for (int n = 0; is_ipv6_extension(nh); ++n) {
        if (n == 8 || !v.has(pos, 8)) {
            ip.header_len = static_cast<std::uint16_t>(pos);
            return n == 8 ? Next::none : fail(Reason::ipv6_ext_truncated);
        }
        std::uint8_t next = v.u8(pos);
        std::size_t len;
        if (nh == 44) {
            std::uint16_t fo = v.be16(pos + 2);
            ip.fragment = true;
            ip.frag_offset = fo & 0xfff8;
            ip.mf = fo & 1;
            ip.frag_id = v.be32(pos + 4);
            len = 8;
        } else if (nh == 51) {
            len = (v.u8(pos + 1) + 2u) * 4u;
        } else {
            len = (v.u8(pos + 1) + 1u) * 8u;
        }
        pos += len;
        nh = next;
    }
    ip.proto = nh;
    ip.header_len = static_cast<std::uint16_t>(pos);
    if (!v.has(0, pos) && !quoted_) return fail(Reason::ipv6_ext_truncated);
    off_ += pos;
    if (ip.frag_offset != 0) return Next::none;
    fragment_ = ip.mf;
    return by_ip_proto(nh, 6);
}

}  // namespace podtrace::decode
