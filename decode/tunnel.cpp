// Tunnel headers: VXLAN, Geneve, GRE and WireGuard. IPIP needs no header of its own: the
// IP protocol number (4, 41) sends the walker straight to the inner IP header.
#include "decode/walker.hpp"

namespace podtrace::decode {

Next Walker::vxlan() {
    ByteView v = here();
    if (!v.has(0, 8)) return fail(Reason::vxlan_truncated);
    Layer* l = push(Proto::vxlan);
    l->vxlan.flags = v.u8(0);
    l->vxlan.vni = v.be24(4);
    // RFC 7348: the I flag says the VNI is valid; without it this is not VXLAN we can use.
    if (!(l->vxlan.flags & 0x08)) return fail(Reason::vxlan_bad_flags);
    off_ += 8;
    return Next::ethernet;
}

Next Walker::geneve() {
    ByteView v = here();
    if (!v.has(0, 8)) return fail(Reason::geneve_truncated);
    Layer* l = push(Proto::geneve);
    std::uint8_t b0 = v.u8(0);
    l->geneve.options_len = static_cast<std::uint8_t>((b0 & 0x3f) * 4);
    l->geneve.protocol = v.be16(2);
    l->geneve.vni = v.be24(4);
    if (b0 >> 6 != 0) return fail(Reason::geneve_bad_version);
    std::size_t hlen = 8u + l->geneve.options_len;
    if (!v.has(0, hlen)) return fail(Reason::geneve_truncated);
    off_ += hlen;
    if (l->geneve.protocol == 0x6558) return Next::ethernet;
    Next n = by_ethertype(l->geneve.protocol);
    return n == Next::unsupported ? Next::none : n;
}

Next Walker::gre() {
    ByteView v = here();
    if (!v.has(0, 4)) return fail(Reason::gre_truncated);
    Layer* l = push(Proto::gre);
    GreL& g = l->gre;
    g.flags = v.be16(0);
    g.protocol = v.be16(2);
    g.key = 0;
    if ((g.flags & 7) != 0) return Next::none;  // version 1 is PPTP's enhanced GRE: payload
    std::size_t hlen = 4;
    if (g.flags & 0x8000) hlen += 4;  // checksum + reserved
    if (g.flags & 0x2000) {
        g.key = v.be32(hlen);
        hlen += 4;
    }
    if (g.flags & 0x1000) hlen += 4;  // sequence number
    if (!v.has(0, hlen)) return fail(Reason::gre_truncated);
    off_ += hlen;
    return by_gre_protocol(g.protocol);
}

Next Walker::wireguard() {
    ByteView v = here();
    if (!v.has(0, 4)) return fail(Reason::wireguard_truncated);
    Layer* l = push(Proto::wireguard);
    WireguardL& w = l->wg;
    w = {};
    w.type = v.u8(0);
    w.length = static_cast<std::uint32_t>(wire_left());
    // Handshake sizes are fixed by the protocol. Transport data is 16 bytes of header, the
    // plaintext padded to 16 (but never past the MTU, so full-size packets are not multiples
    // of 16) and a 16-byte tag.
    std::size_t need;
    bool size_ok;
    switch (w.type) {
        case 1: need = 8, size_ok = w.length == 148; break;
        case 2: need = 12, size_ok = w.length == 92; break;
        case 3: need = 8, size_ok = w.length == 64; break;
        case 4: need = 16, size_ok = w.length >= 32; break;
        default: need = 4, size_ok = false; break;
    }
    if (v.u8(1) | v.u8(2) | v.u8(3) || !size_ok) return fail(Reason::wireguard_bad_message);
    if (!v.has(0, need)) return fail(Reason::wireguard_truncated);
    switch (w.type) {
        case 1: w.sender = v.le32(4); break;
        case 2:
            w.sender = v.le32(4);
            w.receiver = v.le32(8);
            break;
        case 3: w.receiver = v.le32(4); break;
        case 4:
            w.receiver = v.le32(4);
            w.counter = v.le64(8);
            w.payload_len = w.length - 16;
            break;
    }
    return Next::none;  // the encrypted packet stays opaque; its length is kept
}

}  // namespace podtrace::decode
