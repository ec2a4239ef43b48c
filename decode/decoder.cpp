// Walks one frame header by header: link layers, ARP, IPv4/IPv6, TCP/UDP/ICMP and tunnels.
// The parsers share this one file so that run() can inline them all: the walker's state then
// stays in registers, where a call per header cost a quarter of the decode.
#include "decode/decoder.hpp"

#include "decode/byte_view.hpp"
#include "decode/fingerprint.hpp"

namespace podtrace::decode {

std::string unsupported_linktype_text(std::size_t interface, const std::string& name,
                                      std::uint32_t linktype) {
    return "interface " + std::to_string(interface) + (name.empty() ? "" : " (" + name + ")") +
           " has link type " + std::to_string(linktype) + ", which podtrace does not decode";
}

bool linktype_supported(std::uint32_t linktype) {
    namespace lt = core::linktype;
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

Status Decoder::decode(const core::Frame& frame, Decoded& out) {
    decode_frame(frame, ports_, out);
    stats_.add(out);
    return out.status;
}

namespace {

class Walker {
public:
    Walker(const core::Frame& frame, const Ports& ports, Decoded& out)
        : bytes_(frame.bytes.data()),
          end_(frame.bytes.size()),
          wire_end_(frame.wirelen > frame.bytes.size() ? frame.wirelen : frame.bytes.size()),
          ports_(ports),
          d_(out) {}
    void run(std::uint32_t linktype);

private:
    // Each parser reads the header at off_, records a Layer, advances off_ past it and says
    // which decoder reads on. end_ bounds what was captured, wire_end_ what was on the wire;
    // both shrink to the enclosing IP/UDP length so padding is never read as a header.
    NextHeader ethernet();
    NextHeader vlan();
    NextHeader sll();
    NextHeader sll2();
    NextHeader null_loop(bool network_order);
    NextHeader nflog();
    NextHeader raw();
    NextHeader arp();
    NextHeader ipv4();
    NextHeader ipv6();
    NextHeader tcp();
    NextHeader udp();
    NextHeader icmp(bool v6);
    NextHeader vxlan();
    NextHeader geneve();
    NextHeader gre();
    NextHeader wireguard();

    Layer* push(Proto proto);
    // Records the layer just pushed as the outermost IP header or the outermost tunnel.
    void note_outer_ip();
    void note_tunnel();
    NextHeader fail(Reason reason);
    bool enter_ip();  // false when an IP header here would be one tunnel too many
    void note_ip();   // records the IP layer just pushed as the innermost or the quoted one
    void set_payload(std::size_t start);
    ByteView here() const { return {bytes_ + off_, end_ > off_ ? end_ - off_ : 0}; }
    std::size_t wire_left() const { return wire_end_ > off_ ? wire_end_ - off_ : 0; }
    void limit(std::size_t len) {  // the current header says its packet ends off_ + len
        if (off_ + len < end_) end_ = off_ + len;
        if (off_ + len < wire_end_) wire_end_ = off_ + len;
    }

    const std::uint8_t* bytes_;
    std::size_t off_ = 0, end_ = 0, wire_end_ = 0;
    const Ports& ports_;
    Decoded& d_;
    bool quoted_ = false;
    bool seen_ip_ = false;
    bool fragment_ = false;  // the enclosing IP packet is a (first) fragment
};

}  // namespace

void decode_frame(const core::Frame& frame, const Ports& ports, Decoded& out) {
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
    out.outer_ip = out.tunnel = kNone;
    out.payload_offset = out.payload_len = 0;
    out.fingerprint = 0;
    out.fingerprint_partial = false;

    Walker(frame, ports, out).run(frame.linktype);
    out.status = status_of(out.reason);
    compute_fingerprint(out, ByteView(frame.bytes.data(), frame.bytes.size()));
}

namespace {

// run() checks for room before each parser, and each parser pushes at most one layer.
Layer* Walker::push(Proto proto) {
    Layer& l = d_.layers[d_.nlayers++];
    l.proto = proto;
    l.quoted = quoted_;
    l.offset = static_cast<std::uint16_t>(off_ > 0xffff ? 0xffff : off_);
    return &l;
}

NextHeader Walker::fail(Reason reason) {
    // Inside an ICMP quote a short header is expected (errors quote 8+ bytes): not a fault.
    if (!quoted_ && d_.reason == Reason::none) d_.reason = reason;
    return NextHeader::none;
}

// flatten: every parser and helper is inlined here, called once per header or not at all.
[[gnu::flatten]] void Walker::run(std::uint32_t linktype) {
    namespace lt = core::linktype;
    NextHeader next;
    switch (linktype) {
        case lt::ethernet: next = NextHeader::ethernet; break;
        case lt::linux_sll: next = sll(); break;
        case lt::linux_sll2: next = sll2(); break;
        case lt::raw:
        case lt::raw_bsd12:
        case lt::raw_bsd14: next = raw(); break;
        case lt::ipv4: next = NextHeader::ipv4; break;
        case lt::ipv6: next = NextHeader::ipv6; break;
        case lt::null_bsd: next = null_loop(false); break;
        case lt::loop: next = null_loop(true); break;
        case lt::nflog: next = nflog(); break;
        default: next = fail(Reason::unsupported_linktype); break;
    }
    // Every parser consumes bytes or stops, and layers and tunnel depth are capped: this ends.
    while (next != NextHeader::none) {
        if (d_.nlayers >= kMaxLayers) {
            fail(Reason::layers_exhausted);
            break;
        }
        switch (next) {
            case NextHeader::none: break;
            case NextHeader::unsupported: next = fail(Reason::unsupported_ethertype); break;
            case NextHeader::ethernet: next = ethernet(); break;
            case NextHeader::vlan: next = vlan(); break;
            case NextHeader::arp: next = arp(); break;
            case NextHeader::ipv4: next = ipv4(); break;
            case NextHeader::ipv6: next = ipv6(); break;
            case NextHeader::tcp: next = tcp(); break;
            case NextHeader::udp: next = udp(); break;
            case NextHeader::icmp: next = icmp(false); break;
            case NextHeader::icmpv6: next = icmp(true); break;
            case NextHeader::gre: next = gre(); break;
            case NextHeader::vxlan: next = vxlan(); break;
            case NextHeader::geneve: next = geneve(); break;
            case NextHeader::wireguard: next = wireguard(); break;
        }
    }
}

// ---- link layers ----

NextHeader Walker::ethernet() {
    ByteView v = here();
    if (!v.has(0, 14)) return fail(Reason::link_truncated);
    Layer* l = push(Proto::ethernet);
    v.read(0, l->eth.dst.data(), 6);
    v.read(6, l->eth.src.data(), 6);
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
    return NextHeader::unsupported;
}

NextHeader Walker::vlan() {
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
    return l->vlan.ethertype < 0x600 ? NextHeader::unsupported : by_ethertype(l->vlan.ethertype);
}

core::Direction direction_of_pkttype(std::uint16_t pkttype) {
    // PACKET_HOST, BROADCAST, MULTICAST, OTHERHOST arrive; PACKET_OUTGOING leaves.
    if (pkttype == 4) return core::Direction::outbound;
    if (pkttype <= 3) return core::Direction::inbound;
    return core::Direction::unknown;
}

NextHeader by_sll_protocol(std::uint16_t hatype, std::uint16_t protocol) {
    if (hatype == 824) return NextHeader::unsupported;  // ARPHRD_NETLINK: netlink messages
    if (hatype == 778) {                                // ARPHRD_IPGRE: protocol is a GRE type
        NextHeader n = by_gre_protocol(protocol);
        return n == NextHeader::none ? NextHeader::unsupported : n;
    }
    // Values below 0x600 are Linux pseudo-protocols (802.2 LLC, 802.3, CAN …), not ethertypes.
    return protocol < 0x600 ? NextHeader::unsupported : by_ethertype(protocol);
}

NextHeader Walker::sll() {
    ByteView v = here();
    if (!v.has(0, 16)) return fail(Reason::link_truncated);
    Layer* l = push(Proto::sll);
    l->sll.pkttype = v.be16(0);
    l->sll.hatype = v.be16(2);
    std::uint16_t halen = v.be16(4);
    l->sll.halen = static_cast<std::uint8_t>(halen > 8 ? 8 : halen);
    v.read(6, l->sll.addr.data(), 8);
    l->sll.protocol = v.be16(14);
    l->sll.ifindex = 0;
    if (d_.direction == core::Direction::unknown)
        d_.direction = direction_of_pkttype(l->sll.pkttype);
    off_ += 16;
    return by_sll_protocol(l->sll.hatype, l->sll.protocol);
}

NextHeader Walker::sll2() {
    ByteView v = here();
    if (!v.has(0, 20)) return fail(Reason::link_truncated);
    Layer* l = push(Proto::sll2);
    l->sll.protocol = v.be16(0);
    l->sll.ifindex = v.be32(4);
    l->sll.hatype = v.be16(8);
    l->sll.pkttype = v.u8(10);
    std::uint8_t halen = v.u8(11);
    l->sll.halen = halen > 8 ? 8 : halen;
    v.read(12, l->sll.addr.data(), 8);
    if (d_.direction == core::Direction::unknown)
        d_.direction = direction_of_pkttype(l->sll.pkttype);
    off_ += 20;
    return by_sll_protocol(l->sll.hatype, l->sll.protocol);
}

NextHeader by_address_family(std::uint32_t family) {
    switch (family) {
        case 2: return NextHeader::ipv4;   // AF_INET everywhere
        case 10:                           // AF_INET6: Linux
        case 24:                           // OpenBSD, NetBSD
        case 28:                           // FreeBSD
        case 30: return NextHeader::ipv6;  // macOS
        default: return NextHeader::unsupported;
    }
}

NextHeader Walker::null_loop(bool network_order) {
    ByteView v = here();
    if (!v.has(0, 4)) return fail(Reason::link_truncated);
    std::uint32_t family = network_order ? v.be32(0) : v.le32(0);
    // DLT_NULL is in the capturing host's byte order: a big-endian writer leaves the low
    // half zero when read little-endian.
    if (!network_order && (family & 0xffff) == 0) family = v.be32(0);
    Layer* l = push(Proto::null_loop);
    l->null.family = family;
    off_ += 4;
    NextHeader n = by_address_family(family);
    return n == NextHeader::unsupported ? fail(Reason::unsupported_link_family) : n;
}

NextHeader Walker::nflog() {
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
            if (l->null.family == 2) return NextHeader::ipv4;
            if (l->null.family == 10) return NextHeader::ipv6;
            return fail(Reason::unsupported_link_family);
        }
        pos += (len + 3u) & ~3u;
    }
    return fail(Reason::link_truncated);
}

NextHeader Walker::raw() {
    ByteView v = here();
    if (!v.has(0, 1)) return fail(Reason::link_truncated);
    switch (v.u8(0) >> 4) {
        case 4: return NextHeader::ipv4;
        case 6: return NextHeader::ipv6;
        default: return fail(Reason::unsupported_link_family);
    }
}

// ---- ARP, IPv4 and IPv6 (with extension headers and fragments) ----

bool Walker::enter_ip() {
    if (quoted_) return true;  // a quote is not a tunnel
    if (seen_ip_ && ++d_.encap_depth > kMaxEncap) {
        fail(Reason::encap_too_deep);
        return false;
    }
    seen_ip_ = true;
    return true;
}

void Walker::note_outer_ip() {
    if (quoted_) return;
    if (d_.outer_ip == kNone)
        d_.outer_ip = static_cast<std::int8_t>(d_.nlayers - 1);
    else
        note_tunnel();  // an IP header right inside another one
}

void Walker::note_tunnel() {
    if (!quoted_ && d_.outer_ip != kNone && d_.tunnel == kNone)
        d_.tunnel = static_cast<std::int8_t>(d_.nlayers - 1);
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

NextHeader Walker::arp() {
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
        v.read(8, a.sha.data(), 6);
        v.read(14, a.spa.data(), 4);
        v.read(18, a.tha.data(), 6);
        v.read(24, a.tpa.data(), 4);
    }
    return NextHeader::none;
}

NextHeader Walker::ipv4() {
    if (!enter_ip()) return NextHeader::none;
    ByteView v = here();
    if (!v.has(0, 20)) return fail(Reason::ipv4_truncated);
    if (v.u8(0) >> 4 != 4) return fail(Reason::ipv4_bad_version);
    std::size_t hlen = (v.u8(0) & 0x0f) * 4u;
    if (hlen < 20) return fail(Reason::ipv4_bad_header_length);
    Layer* l = push(Proto::ipv4);
    note_outer_ip();
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
    v.read(12, ip.src.data(), 4);
    v.read(16, ip.dst.data(), 4);
    note_ip();
    if (!v.has(0, hlen)) return fail(Reason::ipv4_truncated);

    // Total length 0 is how Linux marks a GSO/BIG TCP super-packet: the frame says how long.
    std::size_t total = ip.total_len ? ip.total_len : wire_left();
    if (total < hlen) return fail(Reason::ipv4_bad_total_length);
    if (total > wire_left() && !quoted_) fail(Reason::ip_payload_truncated);
    limit(total);
    off_ += hlen;
    if (ip.frag_offset != 0) return NextHeader::none;  // not the first fragment: no L4 header here
    fragment_ = ip.mf;
    return by_ip_proto(ip.proto, 4);
}

bool is_ipv6_extension(std::uint8_t nh) {
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

NextHeader Walker::ipv6() {
    if (!enter_ip()) return NextHeader::none;
    ByteView v = here();
    if (!v.has(0, 40)) return fail(Reason::ipv6_truncated);
    if (v.u8(0) >> 4 != 6) return fail(Reason::ipv6_bad_version);
    Layer* l = push(Proto::ipv6);
    note_outer_ip();
    IpL& ip = l->ip;
    ip.version = 6;
    std::uint32_t w0 = v.be32(0);
    ip.tos = static_cast<std::uint8_t>(w0 >> 20);
    ip.flow_label = w0 & 0xfffff;
    std::uint16_t plen = v.be16(4);
    ip.total_len = plen ? plen + 40u : 0;
    ip.proto = v.u8(6);
    ip.ttl = v.u8(7);
    v.read(8, ip.src.data(), 16);
    v.read(24, ip.dst.data(), 16);
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
            return n == 8 ? NextHeader::none : fail(Reason::ipv6_ext_truncated);
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
    if (ip.frag_offset != 0) return NextHeader::none;
    fragment_ = ip.mf;
    return by_ip_proto(nh, 6);
}

// ---- TCP, UDP, ICMP and ICMPv6 (whose errors quote the offending packet, decoded as quoted
// layers) ----

void Walker::set_payload(std::size_t start) {
    if (quoted_) return;
    d_.inner_l4 = static_cast<std::int8_t>(d_.nlayers - 1);
    d_.payload_offset = static_cast<std::uint16_t>(start > 0xffff ? 0xffff : start);
    std::size_t len = wire_end_ > start ? wire_end_ - start : 0;
    d_.payload_len = static_cast<std::uint16_t>(len > 0xffff ? 0xffff : len);
}

NextHeader Walker::tcp() {
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
    if (quoted_) return NextHeader::none;
    if (hlen < 20) return fail(Reason::tcp_bad_offset);
    t.options_len = static_cast<std::uint8_t>(hlen - 20);
    set_payload(off_ + hlen);
    if (!v.has(0, hlen)) return fail(Reason::tcp_truncated);
    return NextHeader::none;
}

NextHeader Walker::udp() {
    ByteView v = here();
    if (!v.has(0, 8)) {
        if (!quoted_ || !v.has(0, 4)) return fail(Reason::udp_truncated);
    }
    Layer* l = push(Proto::udp);
    UdpL& u = l->udp;
    u.sport = v.be16(0);
    u.dport = v.be16(2);
    u.length = v.be16(4);
    if (quoted_) return NextHeader::none;
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

bool icmp4_is_error(std::uint8_t type) {
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

NextHeader Walker::icmp(bool v6) {
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
    if (quoted_) return NextHeader::none;
    set_payload(off_ + 8);
    if (!v.has(0, 8)) return fail(Reason::icmp_truncated);
    if (!c.is_error || !v.has(8, 1)) return NextHeader::none;
    // The quote is decoded once: an error about an error is left as payload.
    quoted_ = true;
    off_ += 8;
    switch (v.u8(8) >> 4) {
        case 4: return NextHeader::ipv4;
        case 6: return NextHeader::ipv6;
        default: return NextHeader::none;
    }
}

// ---- tunnels: VXLAN, Geneve, GRE and WireGuard. IPIP needs no header of its own: the IP
// protocol number (4, 41) sends the walker straight to the inner IP header ----

NextHeader Walker::vxlan() {
    ByteView v = here();
    if (!v.has(0, 8)) return fail(Reason::vxlan_truncated);
    Layer* l = push(Proto::vxlan);
    note_tunnel();
    l->vxlan.flags = v.u8(0);
    l->vxlan.vni = v.be24(4);
    // RFC 7348: the I flag says the VNI is valid; without it this is not VXLAN we can use.
    if (!(l->vxlan.flags & 0x08)) return fail(Reason::vxlan_bad_flags);
    off_ += 8;
    return NextHeader::ethernet;
}

NextHeader Walker::geneve() {
    ByteView v = here();
    if (!v.has(0, 8)) return fail(Reason::geneve_truncated);
    Layer* l = push(Proto::geneve);
    note_tunnel();
    std::uint8_t b0 = v.u8(0);
    l->geneve.options_len = static_cast<std::uint8_t>((b0 & 0x3f) * 4);
    l->geneve.protocol = v.be16(2);
    l->geneve.vni = v.be24(4);
    if (b0 >> 6 != 0) return fail(Reason::geneve_bad_version);
    std::size_t hlen = 8u + l->geneve.options_len;
    if (!v.has(0, hlen)) return fail(Reason::geneve_truncated);
    off_ += hlen;
    if (l->geneve.protocol == 0x6558) return NextHeader::ethernet;
    NextHeader n = by_ethertype(l->geneve.protocol);
    return n == NextHeader::unsupported ? NextHeader::none : n;
}

NextHeader Walker::gre() {
    ByteView v = here();
    if (!v.has(0, 4)) return fail(Reason::gre_truncated);
    Layer* l = push(Proto::gre);
    note_tunnel();
    GreL& g = l->gre;
    g.flags = v.be16(0);
    g.protocol = v.be16(2);
    g.key = 0;
    if ((g.flags & 7) != 0) return NextHeader::none;  // version 1 is PPTP's enhanced GRE: payload
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

NextHeader Walker::wireguard() {
    ByteView v = here();
    if (!v.has(0, 4)) return fail(Reason::wireguard_truncated);
    Layer* l = push(Proto::wireguard);
    note_tunnel();
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
    return NextHeader::none;  // the encrypted packet stays opaque; its length is kept
}

}  // namespace

}  // namespace podtrace::decode
