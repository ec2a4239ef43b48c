// The Packet screen's dissection. podtrace's decoder walks the frame first: its layers say
// where every header starts, including those libtins 4.0 does not parse (VXLAN and its inner
// frame, Geneve, GRE, WireGuard, the packet an ICMP error quotes, SLL2, NFLOG; IPIP's inner
// IPv4 it does parse). From each layer libtins is given the bytes and parses as far as it can;
// where it stops (raw payload) or throws (a cut or malformed header), the decoder's own fields
// are shown and the walk goes on at the decoder's next layer.
#include "tui/dissect.hpp"

#include <tins/tins.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <exception>
#include <limits>
#include <memory>
#include <utility>

#include "core/frame.hpp"
#include "decode/byte_view.hpp"
#include "decode/decoded.hpp"
#include "decode/decoder.hpp"
#include "decode/format.hpp"

namespace podtrace::tui {
namespace {

namespace pd = decode;
namespace lt = core::linktype;

[[gnu::format(printf, 1, 2)]] std::string fmt(const char* f, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, f);
    const int n = std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    if (n < 0) return {};
    if (static_cast<std::size_t>(n) < sizeof buf)
        return std::string(buf, static_cast<std::size_t>(n));
    std::string s(static_cast<std::size_t>(n), '\0');
    va_start(ap, f);
    std::vsnprintf(s.data(), s.size() + 1, f, ap);
    va_end(ap);
    return s;
}

std::string addr(const pd::Addr& a, std::uint8_t version) {
    std::string s;
    pd::format_addr(a, version, s);
    return s;
}

std::string mac(const pd::Mac& m) {
    std::string s;
    pd::format_mac(m, s);
    return s;
}

std::string hw_addr(const std::uint8_t* p, std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += fmt(i ? ":%02x" : "%02x", p[i]);
    return s;
}

const char* ethertype_name(std::uint16_t t) {
    switch (t) {
        case 0x0800: return "IPv4";
        case 0x0806: return "ARP";
        case 0x86dd: return "IPv6";
        case 0x8100: return "802.1Q";
        case 0x88a8: return "802.1ad";
        case 0x6558: return "Ethernet";
        case 0x8847: return "MPLS";
        case 0x88cc: return "LLDP";
        default: return "unknown";
    }
}

// Below 0x600 the SLL protocol is a Linux pseudo-protocol, not an EtherType.
const char* sll_protocol_name(std::uint16_t p) {
    switch (p) {
        case 0x0001: return "802.3";
        case 0x0004: return "802.2 LLC";
        default: return ethertype_name(p);
    }
}

const char* ip_proto_name(std::uint8_t p) {
    switch (p) {
        case 0: return "hop-by-hop options";
        case 1: return "ICMP";
        case 2: return "IGMP";
        case 4: return "IPIP";
        case 6: return "TCP";
        case 17: return "UDP";
        case 41: return "IPv6";
        case 43: return "routing";
        case 44: return "fragment";
        case 47: return "GRE";
        case 50: return "ESP";
        case 51: return "AH";
        case 58: return "ICMPv6";
        case 59: return "no next header";
        case 60: return "destination options";
        case 132: return "SCTP";
        default: return "unknown";
    }
}

const char* sll_packet_type(std::uint16_t t) {
    switch (t) {
        case 0: return "to us";
        case 1: return "broadcast";
        case 2: return "multicast";
        case 3: return "to another host";
        case 4: return "outgoing";
        default: return "unknown";
    }
}

const char* arphrd_name(std::uint16_t t) {
    switch (t) {
        case 1: return "Ethernet";
        case 512: return "PPP";
        case 768: return "IPIP tunnel";
        case 772: return "loopback";
        case 776: return "SIT tunnel";
        case 778: return "IP GRE tunnel";
        case 65534: return "none";
        default: return "unknown";
    }
}

const char* family_name(std::uint32_t f) {
    switch (f) {
        case 2: return "IPv4";
        case 10:
        case 24:
        case 28:
        case 30: return "IPv6";
        default: return "unknown";
    }
}

// Wireshark's words for the ICMP messages podtrace meets (the layer line).
std::string icmp_title(bool v6, std::uint8_t type, std::uint8_t code) {
    if (!v6) {
        switch (type) {
            case 0: return "echo reply";
            case 8: return "echo request";
            case 3: {
                static constexpr const char* kCodes[] = {
                    "network unreachable",      "host unreachable",
                    "protocol unreachable",     "port unreachable",
                    "fragmentation needed",     "source route failed",
                    "network unknown",          "host unknown",
                    "source host isolated",     "network prohibited",
                    "host prohibited",          "network unreachable for TOS",
                    "host unreachable for TOS", "administratively prohibited"};
                return code < std::size(kCodes)
                           ? std::string("destination unreachable (") + kCodes[code] + ")"
                           : "destination unreachable";
            }
            case 4: return "source quench";
            case 5: return "redirect";
            case 11:
                return code == 1 ? "time exceeded (fragment reassembly)"
                                 : "time exceeded (TTL exceeded in transit)";
            case 12: return "parameter problem";
            case 13: return "timestamp request";
            case 14: return "timestamp reply";
            default: break;
        }
    } else {
        switch (type) {
            case 1: {
                static constexpr const char* kCodes[] = {
                    "no route",         "administratively prohibited",
                    "beyond scope",     "address unreachable",
                    "port unreachable", "source address failed policy",
                    "reject route"};
                return code < std::size(kCodes)
                           ? std::string("destination unreachable (") + kCodes[code] + ")"
                           : "destination unreachable";
            }
            case 2: return "packet too big";
            case 3: return "time exceeded";
            case 4: return "parameter problem";
            default:
                if (const char* n = pd::icmp_type_name(true, type, code)) return n;
                break;
        }
    }
    return fmt("type %u", type);
}

std::string tcp_flags(std::uint16_t flags) {
    std::string s;
    pd::format_tcp_flags(flags, s);
    return s;
}

std::string bytes_captured(std::size_t have, std::size_t need) {
    return fmt("%zu of %zu bytes captured", have, need);
}

// Where a header claims to end, from its own fields: what a cut frame is measured against.
std::size_t header_len(const pd::Layer& l, pd::ByteView v) {
    switch (l.proto) {
        case pd::Proto::ethernet: return v.be16(l.offset + 12u) < 0x600 ? 22 : 14;
        case pd::Proto::vlan: return 4;
        case pd::Proto::sll: return 16;
        case pd::Proto::sll2: return 20;
        case pd::Proto::null_loop:
        case pd::Proto::nflog: return 4;
        case pd::Proto::arp: return 8u + 2u * (v.u8(l.offset + 4u) + v.u8(l.offset + 5u));
        case pd::Proto::ipv4:
        case pd::Proto::ipv6: return l.ip.header_len;
        case pd::Proto::tcp: return v.has(l.offset, 13) ? (v.u8(l.offset + 12u) >> 4) * 4u : 20;
        case pd::Proto::udp:
        case pd::Proto::icmp:
        case pd::Proto::icmpv6:
        case pd::Proto::vxlan: return 8;
        case pd::Proto::geneve: return 8u + l.geneve.options_len;
        case pd::Proto::gre:
            return 4u + (l.gre.flags & 0x8000 ? 4 : 0) + (l.gre.flags & 0x2000 ? 4 : 0) +
                   (l.gre.flags & 0x1000 ? 4 : 0);
        case pd::Proto::wireguard:
            switch (l.wg.type) {
                case 1: return 148;
                case 2: return 92;
                case 3: return 64;
                case 4: return 16;
                default: return 4;
            }
    }
    return 0;
}

class Dissector {
public:
    Dissector(std::uint32_t linktype, std::span<const std::uint8_t> bytes, const pd::Decoded& d,
              std::vector<TreeLine>& out)
        : linktype_(linktype), bytes_(bytes), v_(bytes.data(), bytes.size()), d_(d), out_(out) {
        for (std::size_t i = 0; i < d_.nlayers; ++i)
            if (d_.layers[i].quoted) {
                quote_start_ = d_.layers[i].offset;
                break;
            }
    }

    void run() {
        link();
        for (std::size_t i = 0; i < d_.nlayers; ++i) {
            const pd::Layer& l = d_.layers[i];
            if (l.offset < covered_) continue;  // libtins showed it
            if (l.offset == 0xffff) break;      // clamped: past where a Layer can point
            if (tins(l)) continue;
            own(l);
            last_end_ = l.offset + header_len(l, v_);
        }
        cut();
        if (!refusal_.second.empty() && !said_truncated_ &&
            pd::status_of(d_.reason) != pd::Status::truncated)
            out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(refusal_.first),
                        {"  [malformed: libtins: " + refusal_.second + "]"});
        if (raw_len_ > 0 && raw_off_ >= last_end_)
            layer(fmt("Data, %zu bytes", raw_len_));
        else if (pd::status_of(d_.reason) == pd::Status::unsupported && last_end_ < bytes_.size())
            layer(fmt("Data, %zu bytes", bytes_.size() - last_end_));
        if (pd::status_of(d_.reason) == pd::Status::malformed)
            field(fmt("[malformed: %s]", pd::reason_name(d_.reason)));
        else if (pd::status_of(d_.reason) == pd::Status::unsupported && d_.nlayers == 0)
            field(fmt("[unsupported: %s]", pd::reason_name(d_.reason)));
    }

private:
    void layer(std::string s) { out_.push_back({std::move(s), true}); }
    void field(std::string s) { out_.push_back({"  " + std::move(s)}); }
    // "[truncated: …]": the capture cut the layer short.
    void truncated_field(std::string what) {
        out_.push_back({"  [truncated: " + std::move(what) + ']', false, true});
    }
    std::string name(const char* base, std::size_t off) const {
        return off >= quote_start_ ? std::string(base) + " (quoted)" : std::string(base);
    }

    // Link types libtins has no class for, or whose header the decoder reads better.
    void link() {
        switch (linktype_) {
            case lt::raw:
            case lt::raw_bsd12:
            case lt::raw_bsd14:
                layer(fmt("Raw IP (linktype %u): no link-layer header", linktype_));
                break;
            case lt::ipv4: layer("Raw IPv4 (linktype 228): no link-layer header"); break;
            case lt::ipv6: layer("Raw IPv6 (linktype 229): no link-layer header"); break;
            default:
                if (!pd::linktype_supported(linktype_)) {
                    layer(fmt("Link type %u: not dissected", linktype_));
                    raw_len_ = bytes_.size();
                }
                break;
        }
    }

    // Parses from layer `l` with libtins and shows every PDU it found; false when libtins has
    // no class to start there or threw.
    bool tins(const pd::Layer& l) {
        const std::uint8_t* p = bytes_.data() + l.offset;
        const auto n = static_cast<std::uint32_t>(bytes_.size() - l.offset);
        std::unique_ptr<Tins::PDU> pdu;
        try {
            switch (l.proto) {
                case pd::Proto::ethernet: pdu = std::make_unique<Tins::EthernetII>(p, n); break;
                case pd::Proto::vlan: pdu = std::make_unique<Tins::Dot1Q>(p, n); break;
                case pd::Proto::sll: pdu = std::make_unique<Tins::SLL>(p, n); break;
                case pd::Proto::arp: pdu = std::make_unique<Tins::ARP>(p, n); break;
                case pd::Proto::ipv4: pdu = std::make_unique<Tins::IP>(p, n); break;
                case pd::Proto::ipv6: pdu = std::make_unique<Tins::IPv6>(p, n); break;
                case pd::Proto::tcp: pdu = std::make_unique<Tins::TCP>(p, n); break;
                case pd::Proto::udp: pdu = std::make_unique<Tins::UDP>(p, n); break;
                case pd::Proto::icmp: pdu = std::make_unique<Tins::ICMP>(p, n); break;
                case pd::Proto::icmpv6: pdu = std::make_unique<Tins::ICMPv6>(p, n); break;
                default: return false;
            }
        } catch (const std::exception& e) {
            tins_error_ = e.what();
            return false;
        }
        tins_error_.clear();
        std::size_t off = l.offset;
        for (const Tins::PDU* q = pdu.get(); q != nullptr; q = q->inner_pdu()) {
            if (q->pdu_type() == Tins::PDU::RAW) {
                raw_off_ = off;
                raw_len_ = q->size();
                covered_ = off;
                last_end_ = off;
                return true;
            }
            show(*q, off);
            off += q->header_size();
        }
        raw_len_ = 0;
        covered_ = last_end_ = off;
        return true;
    }

    void show(const Tins::PDU& pdu, std::size_t off) {
        using Tins::PDU;
        switch (pdu.pdu_type()) {
            case PDU::ETHERNET_II: {
                const auto& e = static_cast<const Tins::EthernetII&>(pdu);
                layer(name("Ethernet II", off) + ", src " + e.src_addr().to_string() + ", dst " +
                      e.dst_addr().to_string());
                field(fmt("type 0x%04x (%s)", e.payload_type(), ethertype_name(e.payload_type())));
                break;
            }
            case PDU::DOT1Q: {
                const auto& q = static_cast<const Tins::Dot1Q&>(pdu);
                layer(fmt("802.1Q VLAN, id %u", unsigned(q.id())));
                field(fmt("priority %u, DEI %u, type 0x%04x (%s)", unsigned(q.priority()),
                          unsigned(q.cfi()), q.payload_type(), ethertype_name(q.payload_type())));
                break;
            }
            case PDU::SLL: {
                const auto& s = static_cast<const Tins::SLL&>(pdu);
                layer(fmt("Linux cooked capture v1, %s", sll_packet_type(s.packet_type())));
                field(fmt("packet type %u (%s), hardware type %u (%s)", s.packet_type(),
                          sll_packet_type(s.packet_type()), s.lladdr_type(),
                          arphrd_name(s.lladdr_type())));
                const auto a = s.address();
                field("address " + hw_addr(a.begin(), std::min<std::size_t>(s.lladdr_len(), 8)));
                field(fmt("protocol 0x%04x (%s)", s.protocol(), sll_protocol_name(s.protocol())));
                break;
            }
            case PDU::ARP: {
                const auto& a = static_cast<const Tins::ARP&>(pdu);
                const std::string spa = a.sender_ip_addr().to_string();
                const std::string tpa = a.target_ip_addr().to_string();
                if (a.opcode() == Tins::ARP::REQUEST)
                    layer(name("ARP", off) + ", request: who has " + tpa + "? tell " + spa);
                else if (a.opcode() == Tins::ARP::REPLY)
                    layer(name("ARP", off) + ", reply: " + spa + " is at " +
                          a.sender_hw_addr().to_string());
                else
                    layer(name("ARP", off) + fmt(", opcode %u", a.opcode()));
                field(fmt("hardware type %u, protocol type 0x%04x (%s), opcode %u",
                          a.hw_addr_format(), a.prot_addr_format(),
                          ethertype_name(a.prot_addr_format()), a.opcode()));
                field("sender " + a.sender_hw_addr().to_string() + " " + spa);
                field("target " + a.target_hw_addr().to_string() + " " + tpa);
                break;
            }
            case PDU::IP: show_ip(static_cast<const Tins::IP&>(pdu), off); break;
            case PDU::IPv6: show_ipv6(static_cast<const Tins::IPv6&>(pdu), off); break;
            case PDU::TCP: show_tcp(static_cast<const Tins::TCP&>(pdu), off); break;
            case PDU::UDP: {
                const auto& u = static_cast<const Tins::UDP&>(pdu);
                layer(name("UDP", off) + fmt(", src port %u, dst port %u", u.sport(), u.dport()));
                field(fmt("length %u, checksum 0x%04x", u.length(), u.checksum()));
                break;
            }
            case PDU::ICMP: {
                const auto& c = static_cast<const Tins::ICMP&>(pdu);
                const std::uint8_t type = c.type(), code = c.code();
                layer(name("ICMP", off) + ", " + icmp_title(false, type, code));
                std::string f = fmt("type %u, code %u", type, code);
                if (type == 0 || type == 8 || type == 13 || type == 14)
                    f += fmt(", id %u, seq %u", c.id(), c.sequence());
                else if (type == 3 && code == 4)
                    f += fmt(", next-hop MTU %u", c.mtu());
                else if (type == 5)
                    f += ", gateway " + c.gateway().to_string();
                field(f + fmt(", checksum 0x%04x", c.checksum()));
                break;
            }
            case PDU::ICMPv6: {
                const auto& c = static_cast<const Tins::ICMPv6&>(pdu);
                const std::uint8_t type = c.type(), code = c.code();
                layer(name("ICMPv6", off) + ", " + icmp_title(true, type, code));
                std::string f = fmt("type %u, code %u", type, code);
                if (type == 128 || type == 129)
                    f += fmt(", id %u, seq %u", c.identifier(), c.sequence());
                else if (type == 2)
                    f += fmt(", MTU %u", v_.be32(off + 4));
                field(f + fmt(", checksum 0x%04x", c.checksum()));
                if (c.has_target_addr()) field("target " + c.target_addr().to_string());
                break;
            }
            default:
                layer(
                    fmt("PDU type %d, %u bytes of header", int(pdu.pdu_type()), pdu.header_size()));
        }
    }

    void show_ip(const Tins::IP& ip, std::size_t off) {
        layer(name("IPv4", off) + ", src " + ip.src_addr().to_string() + ", dst " +
              ip.dst_addr().to_string());
        const unsigned flags = ip.flags();
        const char* f = (flags & Tins::IP::DONT_FRAGMENT) && (flags & Tins::IP::MORE_FRAGMENTS)
                            ? "DF MF"
                        : flags & Tins::IP::DONT_FRAGMENT  ? "DF"
                        : flags & Tins::IP::MORE_FRAGMENTS ? "MF"
                                                           : "none";
        field(fmt("ttl %u, id 0x%04x (%u), flags %s, total length %u, protocol %u (%s)", ip.ttl(),
                  ip.id(), ip.id(), f, ip.tot_len(), ip.protocol(), ip_proto_name(ip.protocol())));
        field(fmt("header length %u, DSCP %u, ECN %u, fragment offset %u, checksum 0x%04x",
                  unsigned(ip.head_len()) * 4, ip.tos() >> 2, ip.tos() & 3,
                  unsigned(ip.fragment_offset()) * 8, ip.checksum()));
        for (const auto& o : ip.options())
            field(fmt("option %u, %zu bytes of data", unsigned(o.option().number), o.data_size()));
        note_cut(off, ip.tot_len());
    }

    // libtins takes an IP packet cut short as it is: say what is missing.
    void note_cut(std::size_t off, std::size_t claimed) {
        const std::size_t have = bytes_.size() - off;
        if (have >= claimed) return;
        if (off >= quote_start_) {
            field(fmt("[quoted: %zu of %zu bytes]", have, claimed));
        } else {
            truncated_field(bytes_captured(have, claimed));
            said_truncated_ = true;
        }
    }

    void show_ipv6(const Tins::IPv6& ip, std::size_t off) {
        layer(name("IPv6", off) + ", src " + ip.src_addr().to_string() + ", dst " +
              ip.dst_addr().to_string());
        field(fmt("hop limit %u, next header %u (%s), payload length %u", ip.hop_limit(),
                  ip.next_header(), ip_proto_name(ip.next_header()), ip.payload_length()));
        field(fmt("traffic class 0x%02x, flow label 0x%05x", ip.traffic_class(),
                  unsigned(ip.flow_label())));
        for (const auto& h : ip.headers()) {
            const std::uint8_t type = h.option();
            if (type == Tins::IPv6::FRAGMENT && h.data_size() >= 6) {
                const std::uint8_t* p = h.data_ptr();
                const unsigned fo = unsigned(p[0]) << 8 | p[1];
                const unsigned id =
                    unsigned(p[2]) << 24 | unsigned(p[3]) << 16 | unsigned(p[4]) << 8 | p[5];
                field(fmt("fragment header: offset %u, %s, id 0x%08x", fo & 0xfff8,
                          fo & 1 ? "more fragments" : "last fragment", id));
            } else {
                field(fmt("extension header %u (%s), %zu bytes", type, ip_proto_name(type),
                          h.data_size() + 2));
            }
        }
        if (ip.payload_length() != 0) note_cut(off, ip.payload_length() + 40u);
    }

    void show_tcp(const Tins::TCP& t, std::size_t off) {
        layer(name("TCP", off) + fmt(", src port %u, dst port %u", t.sport(), t.dport()));
        const std::uint16_t flags = t.flags() & 0x1ff;
        field(fmt("flags %s (0x%03x), seq %u, ack %u, window %u", tcp_flags(flags).c_str(), flags,
                  t.seq(), t.ack_seq(), t.window()));
        field(fmt("header length %u, checksum 0x%04x, urgent pointer %u",
                  unsigned(t.data_offset()) * 4, t.checksum(), t.urg_ptr()));
        std::string opts;
        for (const auto& o : t.options()) {
            if (!opts.empty()) opts += ", ";
            const std::uint8_t* p = o.data_ptr();
            const std::size_t n = o.data_size();
            switch (o.option()) {
                case Tins::TCP::NOP: opts += "nop"; break;
                case Tins::TCP::EOL: opts += "eol"; break;
                case Tins::TCP::MSS:
                    opts += n == 2 ? fmt("mss %u", unsigned(p[0]) << 8 | p[1]) : "mss ?";
                    break;
                case Tins::TCP::WSCALE: opts += n == 1 ? fmt("wscale %u", p[0]) : "wscale ?"; break;
                case Tins::TCP::SACK_OK: opts += "sack permitted"; break;
                case Tins::TCP::SACK: opts += fmt("sack (%zu blocks)", n / 8); break;
                case Tins::TCP::TSOPT:
                    if (n == 8) {
                        const pd::ByteView b(p, n);
                        opts += fmt("timestamps %u/%u", b.be32(0), b.be32(4));
                    } else {
                        opts += "timestamps ?";
                    }
                    break;
                default: opts += fmt("option %u (%zu bytes)", unsigned(o.option()), n); break;
            }
        }
        if (!opts.empty()) field("options: " + opts);
    }

    // The decoder's view of a layer libtins did not parse.
    void own(const pd::Layer& l) {
        const std::size_t off = l.offset;
        const std::size_t have = bytes_.size() > off ? bytes_.size() - off : 0;
        const std::size_t hlen = header_len(l, v_);
        const bool quoted = l.quoted;
        switch (l.proto) {
            case pd::Proto::ethernet:
                layer(name("Ethernet II", off) + ", src " + mac(l.eth.src) + ", dst " +
                      mac(l.eth.dst));
                field(fmt("type 0x%04x (%s)", l.eth.ethertype, ethertype_name(l.eth.ethertype)));
                break;
            case pd::Proto::vlan:
                layer(fmt("802.1Q VLAN, id %u", l.vlan.tci & 0xfffu));
                field(fmt("priority %u, DEI %u, type 0x%04x (%s)", l.vlan.tci >> 13,
                          (l.vlan.tci >> 12) & 1u, l.vlan.ethertype,
                          ethertype_name(l.vlan.ethertype)));
                break;
            case pd::Proto::sll:
            case pd::Proto::sll2: {
                const bool v2 = l.proto == pd::Proto::sll2;
                layer(v2 ? fmt("Linux cooked capture v2, interface index %u", l.sll.ifindex)
                         : fmt("Linux cooked capture v1, %s", sll_packet_type(l.sll.pkttype)));
                field(fmt("packet type %u (%s), hardware type %u (%s)", l.sll.pkttype,
                          sll_packet_type(l.sll.pkttype), l.sll.hatype, arphrd_name(l.sll.hatype)));
                field("address " + hw_addr(l.sll.addr.data(), l.sll.halen));
                field(
                    fmt("protocol 0x%04x (%s)", l.sll.protocol, sll_protocol_name(l.sll.protocol)));
                break;
            }
            case pd::Proto::null_loop:
                layer(fmt("Null/Loopback, family %u (%s)", l.null.family,
                          family_name(l.null.family)));
                break;
            case pd::Proto::nflog:
                layer(fmt("NFLOG, family %u (%s)", l.null.family, family_name(l.null.family)));
                break;
            case pd::Proto::arp:
                layer(name("ARP", off) + fmt(", opcode %u", l.arp.op));
                field(fmt("hardware type %u, protocol type 0x%04x (%s)", l.arp.htype, l.arp.ptype,
                          ethertype_name(l.arp.ptype)));
                break;
            case pd::Proto::ipv4:
            case pd::Proto::ipv6: own_ip(l, have); break;
            case pd::Proto::tcp: {
                const pd::TcpL& t = l.tcp;
                layer(name("TCP", off) + fmt(", src port %u, dst port %u", t.sport, t.dport));
                if (t.captured >= 14)
                    field(fmt("flags %s (0x%03x), seq %u, ack %u", tcp_flags(t.flags).c_str(),
                              t.flags, t.seq, t.ack));
                else if (t.captured >= 8)
                    field(fmt("seq %u", t.seq));
                if (t.captured >= 16) field(fmt("window %u", t.window));
                if (quoted && t.captured < 20)
                    field(fmt("[quoted: %u of 20 header bytes]", t.captured));
                break;
            }
            case pd::Proto::udp:
                layer(name("UDP", off) +
                      fmt(", src port %u, dst port %u", l.udp.sport, l.udp.dport));
                if (have >= 6) field(fmt("length %u", l.udp.length));
                break;
            case pd::Proto::icmp:
            case pd::Proto::icmpv6: {
                const bool v6 = l.proto == pd::Proto::icmpv6;
                const pd::IcmpL& c = l.icmp;
                layer(name(v6 ? "ICMPv6" : "ICMP", off) + ", " + icmp_title(v6, c.type, c.code));
                std::string f = fmt("type %u, code %u", c.type, c.code);
                if (c.id || c.seq) f += fmt(", id %u, seq %u", c.id, c.seq);
                if (c.mtu) f += fmt(v6 ? ", MTU %u" : ", next-hop MTU %u", c.mtu);
                field(f);
                break;
            }
            case pd::Proto::vxlan:
                layer(fmt("VXLAN, VNI %u", l.vxlan.vni));
                field(fmt("flags 0x%02x (%s)", l.vxlan.flags,
                          l.vxlan.flags & 0x08 ? "VNI valid" : "VNI not valid"));
                break;
            case pd::Proto::geneve:
                layer(fmt("Geneve, VNI %u", l.geneve.vni));
                field(fmt(
                    "version %u, options length %u, protocol 0x%04x (%s)", v_.u8(off) >> 6,
                    l.geneve.options_len, l.geneve.protocol,
                    l.geneve.protocol == 0x6558 ? "Ethernet" : ethertype_name(l.geneve.protocol)));
                if (v_.u8(off + 1) & 0xc0)
                    field(fmt("flags%s%s", v_.u8(off + 1) & 0x80 ? " O (control)" : "",
                              v_.u8(off + 1) & 0x40 ? " C (critical options)" : ""));
                break;
            case pd::Proto::gre: {
                const pd::GreL& g = l.gre;
                layer(fmt("GRE, protocol 0x%04x (%s)", g.protocol,
                          g.protocol == 0x6558 ? "Ethernet" : ethertype_name(g.protocol)));
                std::string f = fmt("flags 0x%04x, version %u", g.flags & 0xfff8u, g.flags & 7u);
                if (g.flags & 0x2000) f += fmt(", key 0x%08x (%u)", g.key, g.key);
                field(f);
                break;
            }
            case pd::Proto::wireguard: own_wireguard(l, have); break;
        }
        if (l.proto == pd::Proto::ipv4 || l.proto == pd::Proto::ipv6) return;
        if (have < hlen && !quoted) {
            truncated_field(bytes_captured(have, hlen));
            said_truncated_ = true;
        }
        refused(quoted);
    }

    // libtins threw on the layer just shown. The outer layers throw for what is wrong inside, so
    // the deepest refusal is the one that names the culprit; run() shows it unless the capture
    // was cut (which explains it).
    void refused(bool quoted) {
        if (!tins_error_.empty() && !quoted) refusal_ = {out_.size(), std::move(tins_error_)};
        tins_error_.clear();
    }

    void own_ip(const pd::Layer& l, std::size_t have) {
        const pd::IpL& ip = l.ip;
        const std::size_t off = l.offset;
        layer(name(ip.version == 4 ? "IPv4" : "IPv6", off) + ", src " + addr(ip.src, ip.version) +
              ", dst " + addr(ip.dst, ip.version));
        if (ip.version == 4) {
            const char* f = ip.df && ip.mf ? "DF MF" : ip.df ? "DF" : ip.mf ? "MF" : "none";
            field(fmt("ttl %u, id 0x%04x (%u), flags %s, total length %u, protocol %u (%s)", ip.ttl,
                      ip.id, ip.id, f, ip.total_len, ip.proto, ip_proto_name(ip.proto)));
            field(fmt("header length %u, DSCP %u, ECN %u, fragment offset %u", ip.header_len,
                      ip.tos >> 2, ip.tos & 3, ip.frag_offset));
        } else {
            field(fmt("hop limit %u, next header %u (%s), payload length %u", ip.ttl, ip.proto,
                      ip_proto_name(ip.proto), ip.total_len ? ip.total_len - 40 : 0));
            field(fmt("traffic class 0x%02x, flow label 0x%05x, headers %u bytes", ip.tos,
                      ip.flow_label, ip.header_len));
            if (ip.fragment)
                field(fmt("fragment header: offset %u, %s, id 0x%08x", ip.frag_offset,
                          ip.mf ? "more fragments" : "last fragment", ip.frag_id));
        }
        // The whole packet the header claims (0: GSO/BIG TCP, as long as the frame).
        const std::size_t claimed = std::max<std::size_t>(ip.total_len, ip.header_len);
        if (ip.total_len == 0) field("length 0: a GSO/BIG TCP packet, as long as the frame");
        if (have < claimed) note_cut(off, claimed);
        refused(l.quoted);
    }

    void own_wireguard(const pd::Layer& l, std::size_t have) {
        const pd::WireguardL& w = l.wg;
        static constexpr const char* kTypes[] = {"unknown", "handshake initiation",
                                                 "handshake response", "cookie reply",
                                                 "transport data"};
        layer(std::string("WireGuard, ") + kTypes[w.type <= 4 ? w.type : 0]);
        std::string f = fmt("type %u", w.type);
        if (w.type == 1 || w.type == 2) f += fmt(", sender index 0x%08x", w.sender);
        if (w.type >= 2 && w.type <= 4) f += fmt(", receiver index 0x%08x", w.receiver);
        if (w.type == 4) f += fmt(", counter %llu", static_cast<unsigned long long>(w.counter));
        field(f);
        if (w.type == 4) {
            field(fmt("encrypted packet %u bytes (with the 16-byte tag)", w.payload_len));
            const std::size_t got = have > 16 ? have - 16 : 0;
            if (got < w.payload_len) {
                truncated_field(bytes_captured(got, w.payload_len));
                said_truncated_ = true;
            }
        } else
            field(fmt("message length %u", w.length));
    }

    // The header the decoder wanted next but the capture cut before it was whole.
    void cut() {
        if (pd::status_of(d_.reason) != pd::Status::truncated || said_truncated_) return;
        const char* what = nullptr;
        std::size_t need = 0;
        switch (d_.reason) {
            case pd::Reason::link_truncated:
                if (d_.nlayers > 0) {
                    what = "802.1Q VLAN", need = 4;
                    break;
                }
                switch (linktype_) {
                    case lt::ethernet: what = "Ethernet II", need = 14; break;
                    case lt::linux_sll: what = "Linux cooked capture v1", need = 16; break;
                    case lt::linux_sll2: what = "Linux cooked capture v2", need = 20; break;
                    case lt::nflog: what = "NFLOG", need = 4; break;
                    default: what = "Null/Loopback", need = 4; break;
                }
                break;
            case pd::Reason::arp_truncated: what = "ARP", need = 28; break;
            case pd::Reason::ipv4_truncated: what = "IPv4", need = 20; break;
            case pd::Reason::ipv6_truncated: what = "IPv6", need = 40; break;
            case pd::Reason::tcp_truncated: what = "TCP", need = 20; break;
            case pd::Reason::udp_truncated: what = "UDP", need = 8; break;
            case pd::Reason::icmp_truncated: what = icmp_name(), need = 8; break;
            case pd::Reason::vxlan_truncated: what = "VXLAN", need = 8; break;
            case pd::Reason::geneve_truncated: what = "Geneve", need = 8; break;
            case pd::Reason::gre_truncated: what = "GRE", need = 4; break;
            case pd::Reason::wireguard_truncated: what = "WireGuard", need = 4; break;
            default: break;
        }
        if (what == nullptr) {
            truncated_field(pd::reason_name(d_.reason));
            return;
        }
        const std::size_t start = std::min(last_end_, bytes_.size());
        layer(what);
        truncated_field(bytes_captured(bytes_.size() - start, need));
    }

    const char* icmp_name() const {
        const pd::Layer* ip = d_.inner_ip_layer();
        return ip && ip->ip.version == 6 ? "ICMPv6" : "ICMP";
    }

    std::uint32_t linktype_;
    std::span<const std::uint8_t> bytes_;
    pd::ByteView v_;
    const pd::Decoded& d_;
    std::vector<TreeLine>& out_;
    std::size_t quote_start_ = std::numeric_limits<std::size_t>::max();
    std::size_t covered_ = 0;                      // libtins showed every header before this offset
    std::size_t last_end_ = 0;                     // where the last header shown ends
    std::size_t raw_off_ = 0, raw_len_ = 0;        // the payload libtins left unparsed
    std::string tins_error_;                       // why libtins refused the layer being shown
    std::pair<std::size_t, std::string> refusal_;  // where to say so (out_ index), and what
    bool said_truncated_ = false;
};

}  // namespace

std::vector<TreeLine> dissect(std::uint32_t linktype, std::span<const std::uint8_t> bytes,
                              const decode::Ports& ports) {
    core::Frame frame;
    frame.linktype = linktype;
    frame.wirelen = static_cast<std::uint32_t>(bytes.size());
    frame.bytes = bytes;
    // Not on the stack: a Decoded is a few KiB and the UI thread may call this often.
    auto d = std::make_unique<decode::Decoded>();
    decode::decode_frame(frame, ports, *d);
    std::vector<TreeLine> out;
    Dissector(linktype, bytes, *d, out).run();
    return out;
}

std::vector<std::string> hex_dump(std::span<const std::uint8_t> bytes) {
    std::vector<std::string> out;
    out.reserve((bytes.size() + 15) / 16);
    for (std::size_t off = 0; off < bytes.size(); off += 16) {
        const std::size_t n = std::min<std::size_t>(16, bytes.size() - off);
        std::string line = fmt("%04zx  ", off);
        for (std::size_t i = 0; i < 16; ++i) {
            if (i == 8) line += ' ';
            line += i < n ? fmt("%02x", bytes[off + i]) : "  ";
            if (i < 15) line += ' ';
        }
        line += "  ";
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint8_t c = bytes[off + i];
            line += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.';
        }
        out.push_back(std::move(line));
    }
    return out;
}

}  // namespace podtrace::tui
