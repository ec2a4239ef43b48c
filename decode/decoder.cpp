#include "decode/decoder.hpp"

#include "decode/fingerprint.hpp"
#include "decode/walker.hpp"

namespace podtrace::decode {

bool linktype_supported(std::uint32_t linktype) {
    namespace lt = probes::linktype;
    switch (linktype) {
        case lt::ethernet:
        case lt::linux_sll:
        case lt::linux_sll2:
        case lt::raw:
        case lt::raw_bsd12:
        case lt::raw_bsd14:
        case lt::ipv4:
        case lt::ipv6:
        case lt::null_bsd:
        case lt::loop:
        case lt::nflog: return true;
        default: return false;
    }
}

Status Decoder::decode(const probes::Frame& frame, Decoded& out) {
    decode_frame(frame, ports_, out);
    stats_.add(out);
    return out.status;
}

void decode_frame(const probes::Frame& frame, const Ports& ports, Decoded& out) {
    out.ts_ns = frame.ts_ns;
    out.linktype = frame.linktype;
    out.caplen = static_cast<std::uint32_t>(frame.bytes.size());
    out.wirelen = frame.wirelen;
    out.interface = frame.interface;
    out.ts_digits = frame.ts_digits;
    out.direction = frame.direction;
    out.reason = Reason::none;
    out.nlayers = 0;
    out.encap_depth = 0;
    out.inner_ip = out.inner_l4 = out.quoted_ip = out.arp = kNone;
    out.payload_offset = out.payload_len = 0;
    out.fingerprint = 0;
    out.fingerprint_partial = false;

    Walker(frame, ports, out).run(frame.linktype);
    out.status = status_of(out.reason);
    compute_fingerprint(out, ByteView(frame.bytes.data(), frame.bytes.size()));
}

Walker::Walker(const probes::Frame& frame, const Ports& ports, Decoded& out)
    : bytes_(frame.bytes.data()),
      end_(frame.bytes.size()),
      wire_end_(frame.wirelen > frame.bytes.size() ? frame.wirelen : frame.bytes.size()),
      ports_(ports),
      d_(out) {}

// run() checks for room before each parser, and each parser pushes at most one layer.
Layer* Walker::push(Proto proto) {
    Layer& l = d_.layers[d_.nlayers++];
    l.proto = proto;
    l.quoted = quoted_;
    l.offset = static_cast<std::uint16_t>(off_ > 0xffff ? 0xffff : off_);
    return &l;
}

Next Walker::fail(Reason reason) {
    // Inside an ICMP quote a short header is expected (errors quote 8+ bytes): not a fault.
    if (!quoted_ && d_.reason == Reason::none) d_.reason = reason;
    return Next::none;
}

void Walker::run(std::uint32_t linktype) {
    namespace lt = probes::linktype;
    Next next;
    switch (linktype) {
        case lt::ethernet: next = Next::ethernet; break;
        case lt::linux_sll: next = sll(); break;
        case lt::linux_sll2: next = sll2(); break;
        case lt::raw:
        case lt::raw_bsd12:
        case lt::raw_bsd14: next = raw(); break;
        case lt::ipv4: next = Next::ipv4; break;
        case lt::ipv6: next = Next::ipv6; break;
        case lt::null_bsd: next = null_loop(false); break;
        case lt::loop: next = null_loop(true); break;
        case lt::nflog: next = nflog(); break;
        default: next = fail(Reason::unsupported_linktype); break;
    }
    // Every parser consumes bytes or stops, and layers and tunnel depth are capped: this ends.
    while (next != Next::none) {
        if (d_.nlayers >= kMaxLayers) {
            fail(Reason::layers_exhausted);
            break;
        }
        switch (next) {
            case Next::none: break;
            case Next::unsupported: next = fail(Reason::unsupported_ethertype); break;
            case Next::ethernet: next = ethernet(); break;
            case Next::vlan: next = vlan(); break;
            case Next::arp: next = arp(); break;
            case Next::ipv4: next = ipv4(); break;
            case Next::ipv6: next = ipv6(); break;
            case Next::tcp: next = tcp(); break;
            case Next::udp: next = udp(); break;
            case Next::icmp: next = icmp(false); break;
            case Next::icmpv6: next = icmp(true); break;
            case Next::gre: next = gre(); break;
            case Next::vxlan: next = vxlan(); break;
            case Next::geneve: next = geneve(); break;
            case Next::wireguard: next = wireguard(); break;
        }
    }
}

// ---- link layers ----

Next Walker::ethernet() {
    ByteView v = here();
    if (!v.has(0, 14)) return fail(Reason::link_truncated);
    Layer* l = push(Proto::ethernet);
    v.copy(0, l->eth.dst.data(), 6);
    v.copy(6, l->eth.src.data(), 6);
    l->eth.ethertype = v.be16(12);
    off_ += 14;
    if (l->eth.ethertype >= 0x600) return by_ethertype(l->eth.ethertype);
    // Below 0x600 the field is an 802.3 length. LLC/SNAP with a zero OUI carries an
    // EtherType (RFC 1042); any other LLC payload is not IP.
    if (v.has(14, 8) && v.be24(14) == 0xaaaa03 && v.be24(17) == 0) {
        l->eth.ethertype = v.be16(20);
        off_ += 8;
        return by_ethertype(l->eth.ethertype);
    }
    return Next::unsupported;
}

Next Walker::vlan() {
    ByteView v = here();
    if (!v.has(0, 4)) return fail(Reason::link_truncated);
    Layer* l = push(Proto::vlan);
    const Layer& prev = d_.layers[d_.nlayers - 2];  // whatever said "a tag follows"
    switch (prev.proto) {
        case Proto::ethernet: l->vlan.tpid = prev.eth.ethertype; break;
        case Proto::vlan: l->vlan.tpid = prev.vlan.ethertype; break;
        case Proto::sll:
        case Proto::sll2: l->vlan.tpid = prev.sll.protocol; break;
        case Proto::geneve: l->vlan.tpid = prev.geneve.protocol; break;
        default: l->vlan.tpid = 0x8100; break;
    }
    l->vlan.tci = v.be16(0);
    l->vlan.ethertype = v.be16(2);
    off_ += 4;
    return l->vlan.ethertype < 0x600 ? Next::unsupported : by_ethertype(l->vlan.ethertype);
}

static probes::Direction direction_of_pkttype(std::uint16_t pkttype) {
    // PACKET_HOST, BROADCAST, MULTICAST, OTHERHOST arrive; PACKET_OUTGOING leaves.
    if (pkttype == 4) return probes::Direction::outbound;
    if (pkttype <= 3) return probes::Direction::inbound;
    return probes::Direction::unknown;
}

static Next by_sll_protocol(std::uint16_t hatype, std::uint16_t protocol) {
    if (hatype == 824) return Next::unsupported;  // ARPHRD_NETLINK: netlink messages
    if (hatype == 778) {                          // ARPHRD_IPGRE: protocol is a GRE type
        Next n = by_gre_protocol(protocol);
        return n == Next::none ? Next::unsupported : n;
    }
    // Values below 0x600 are Linux pseudo-protocols (802.2 LLC, 802.3, CAN …), not ethertypes.
    return protocol < 0x600 ? Next::unsupported : by_ethertype(protocol);
}

Next Walker::sll() {
    ByteView v = here();
    if (!v.has(0, 16)) return fail(Reason::link_truncated);
    Layer* l = push(Proto::sll);
    l->sll.pkttype = v.be16(0);
    l->sll.hatype = v.be16(2);
    std::uint16_t halen = v.be16(4);
    l->sll.halen = static_cast<std::uint8_t>(halen > 8 ? 8 : halen);
    v.copy(6, l->sll.addr.data(), 8);
    l->sll.protocol = v.be16(14);
    l->sll.ifindex = 0;
    if (d_.direction == probes::Direction::unknown)
        d_.direction = direction_of_pkttype(l->sll.pkttype);
    off_ += 16;
    return by_sll_protocol(l->sll.hatype, l->sll.protocol);
}

Next Walker::sll2() {
    ByteView v = here();
    if (!v.has(0, 20)) return fail(Reason::link_truncated);
    Layer* l = push(Proto::sll2);
    l->sll.protocol = v.be16(0);
    l->sll.ifindex = v.be32(4);
    l->sll.hatype = v.be16(8);
    l->sll.pkttype = v.u8(10);
    std::uint8_t halen = v.u8(11);
    l->sll.halen = halen > 8 ? 8 : halen;
    v.copy(12, l->sll.addr.data(), 8);
    if (d_.direction == probes::Direction::unknown)
        d_.direction = direction_of_pkttype(l->sll.pkttype);
    off_ += 20;
    return by_sll_protocol(l->sll.hatype, l->sll.protocol);
}

static Next by_address_family(std::uint32_t family) {
    switch (family) {
        case 2: return Next::ipv4;   // AF_INET everywhere
        case 10:                     // AF_INET6: Linux
        case 24:                     // OpenBSD, NetBSD
        case 28:                     // FreeBSD
        case 30: return Next::ipv6;  // macOS
        default: return Next::unsupported;
    }
}

Next Walker::null_loop(bool network_order) {
    ByteView v = here();
    if (!v.has(0, 4)) return fail(Reason::link_truncated);
    std::uint32_t family = network_order ? v.be32(0) : v.le32(0);
    // DLT_NULL is in the capturing host's byte order: a big-endian writer leaves the low
    // half zero when read little-endian.
    if (!network_order && (family & 0xffff) == 0) family = v.be32(0);
    Layer* l = push(Proto::null_loop);
    l->null.family = family;
    off_ += 4;
    Next n = by_address_family(family);
    return n == Next::unsupported ? fail(Reason::unsupported_link_family) : n;
}

Next Walker::nflog() {
    ByteView v = here();
    if (!v.has(0, 4)) return fail(Reason::link_truncated);
    Layer* l = push(Proto::nflog);
    l->null.family = v.u8(0);
    // TLVs follow, length and type in the capturing host's byte order (Linux: little-endian
    // on every platform podtrace runs on); NFULA_PAYLOAD (9) holds the packet.
    std::size_t pos = 4;
    while (v.has(pos, 4)) {
        std::uint16_t len = static_cast<std::uint16_t>(v.u8(pos) | v.u8(pos + 1) << 8);
        std::uint16_t type =
            static_cast<std::uint16_t>(v.u8(pos + 2) | v.u8(pos + 3) << 8) & 0x7fff;
        if (len < 4) break;
        if (type == 9) {
            off_ += pos + 4;
            limit(len - 4u);
            if (l->null.family == 2) return Next::ipv4;
            if (l->null.family == 10) return Next::ipv6;
            return fail(Reason::unsupported_link_family);
        }
        pos += (len + 3u) & ~3u;
    }
    return fail(Reason::link_truncated);
}

Next Walker::raw() {
    ByteView v = here();
    if (!v.has(0, 1)) return fail(Reason::link_truncated);
    switch (v.u8(0) >> 4) {
        case 4: return Next::ipv4;
        case 6: return Next::ipv6;
        default: return fail(Reason::unsupported_link_family);
    }
}

}  // namespace podtrace::decode
