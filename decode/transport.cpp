// TCP, UDP, ICMP and ICMPv6 (whose errors quote the offending packet, decoded as quoted layers).
#include "decode/walker.hpp"

namespace podtrace::decode {

void Walker::set_payload(std::size_t start) {
    if (quoted_) return;
    d_.inner_l4 = static_cast<std::int8_t>(d_.nlayers - 1);
    d_.payload_offset = static_cast<std::uint16_t>(start > 0xffff ? 0xffff : start);
    std::size_t len = wire_end_ > start ? wire_end_ - start : 0;
    d_.payload_len = static_cast<std::uint16_t>(len > 0xffff ? 0xffff : len);
}

Next Walker::tcp() {
    ByteView v = here();
    // An ICMP error may quote only 8 bytes: ports and sequence number.
    if (!v.has(0, quoted_ ? 4 : 20)) return fail(Reason::tcp_truncated);
    Layer* l = push(Proto::tcp);
    TcpL& t = l->tcp;
    t.sport = v.be16(0);
    t.dport = v.be16(2);
    t.seq = v.be32(4);
    t.ack = v.be32(8);
    std::uint16_t w = v.be16(12);
    t.flags = w & 0x1ff;
    t.window = v.be16(14);
    t.captured = static_cast<std::uint8_t>(v.size() < 20 ? v.size() : 20);
    std::size_t hlen = (w >> 12) * 4u;
    t.options_len = 0;
    if (quoted_) return Next::none;
    if (hlen < 20) return fail(Reason::tcp_bad_offset);
    t.options_len = static_cast<std::uint8_t>(hlen - 20);
    set_payload(off_ + hlen);
    if (!v.has(0, hlen)) return fail(Reason::tcp_truncated);
    return Next::none;
}

Next Walker::udp() {
    ByteView v = here();
    if (!v.has(0, 8)) {
        if (!quoted_ || !v.has(0, 4)) return fail(Reason::udp_truncated);
    }
    Layer* l = push(Proto::udp);
    UdpL& u = l->udp;
    u.sport = v.be16(0);
    u.dport = v.be16(2);
    u.length = v.be16(4);
    if (quoted_) return Next::none;
    // Length 0: a GSO/BIG TCP super-packet or an IPv6 jumbogram; the IP length bounds it.
    // A first fragment carries only part of the datagram its UDP length counts.
    if (u.length != 0 && !fragment_) {
        if (u.length < 8 || u.length > wire_left()) return fail(Reason::udp_bad_length);
        limit(u.length);
    }
    off_ += 8;
    set_payload(off_);
    return by_udp_ports(ports_, u.sport, u.dport);
}

static bool icmp4_is_error(std::uint8_t type) {
    switch (type) {
        case 3:   // destination unreachable (code 4: fragmentation needed)
        case 4:   // source quench
        case 5:   // redirect
        case 11:  // time exceeded
        case 12:  // parameter problem
            return true;
        default: return false;
    }
}

Next Walker::icmp(bool v6) {
    ByteView v = here();
    if (!v.has(0, 4)) return fail(Reason::icmp_truncated);
    Layer* l = push(v6 ? Proto::icmpv6 : Proto::icmp);
    IcmpL& c = l->icmp;
    c.type = v.u8(0);
    c.code = v.u8(1);
    c.id = c.seq = 0;
    c.mtu = 0;
    c.is_error = v6 ? c.type < 128 : icmp4_is_error(c.type);
    bool echo = v6 ? (c.type == 128 || c.type == 129)
                   : (c.type == 0 || c.type == 8 || c.type == 13 || c.type == 14);
    if (echo) {
        c.id = v.be16(4);
        c.seq = v.be16(6);
    } else if (!v6 && c.type == 3 && c.code == 4) {
        c.mtu = v.be16(6);
    } else if (v6 && c.type == 2) {
        c.mtu = v.be32(4);
    }
    if (quoted_) return Next::none;
    set_payload(off_ + 8);
    if (!v.has(0, 8)) return fail(Reason::icmp_truncated);
    if (!c.is_error || !v.has(8, 1)) return Next::none;
    // The quote is decoded once: an error about an error is left as payload.
    quoted_ = true;
    off_ += 8;
    switch (v.u8(8) >> 4) {
        case 4: return Next::ipv4;
        case 6: return Next::ipv6;
        default: return Next::none;
    }
}

}  // namespace podtrace::decode
