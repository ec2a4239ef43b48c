#include "decode/decoded.hpp"
#include "decode/decoder.hpp"

namespace podtrace::decode {

const char* reason_name(Reason r) {
    switch (r) {
        case Reason::none: return "none";
        case Reason::link_truncated: return "link-truncated";
        case Reason::arp_truncated: return "arp-truncated";
        case Reason::ipv4_truncated: return "ipv4-truncated";
        case Reason::ipv6_truncated: return "ipv6-truncated";
        case Reason::ip_payload_truncated: return "ip-payload-truncated";
        case Reason::ipv6_ext_truncated: return "ipv6-ext-truncated";
        case Reason::tcp_truncated: return "tcp-truncated";
        case Reason::udp_truncated: return "udp-truncated";
        case Reason::icmp_truncated: return "icmp-truncated";
        case Reason::vxlan_truncated: return "vxlan-truncated";
        case Reason::geneve_truncated: return "geneve-truncated";
        case Reason::gre_truncated: return "gre-truncated";
        case Reason::wireguard_truncated: return "wireguard-truncated";
        case Reason::ipv4_bad_version: return "ipv4-bad-version";
        case Reason::ipv4_bad_header_length: return "ipv4-bad-header-length";
        case Reason::ipv4_bad_total_length: return "ipv4-bad-total-length";
        case Reason::ipv6_bad_version: return "ipv6-bad-version";
        case Reason::tcp_bad_offset: return "tcp-bad-offset";
        case Reason::udp_bad_length: return "udp-bad-length";
        case Reason::vxlan_bad_flags: return "vxlan-bad-flags";
        case Reason::geneve_bad_version: return "geneve-bad-version";
        case Reason::wireguard_bad_message: return "wireguard-bad-message";
        case Reason::encap_too_deep: return "encap-too-deep";
        case Reason::layers_exhausted: return "layers-exhausted";
        case Reason::unsupported_linktype: return "unsupported-linktype";
        case Reason::unsupported_ethertype: return "unsupported-ethertype";
        case Reason::unsupported_link_family: return "unsupported-link-family";
        case Reason::count_: break;
    }
    return "?";
}

const char* status_name(Status s) {
    switch (s) {
        case Status::ok: return "ok";
        case Status::truncated: return "truncated";
        case Status::malformed: return "malformed";
        case Status::unsupported: return "unsupported";
    }
    return "?";
}

const char* proto_name(Proto p) {
    switch (p) {
        case Proto::ethernet: return "ethernet";
        case Proto::vlan: return "vlan";
        case Proto::sll: return "sll";
        case Proto::sll2: return "sll2";
        case Proto::null_loop: return "null";
        case Proto::nflog: return "nflog";
        case Proto::arp: return "arp";
        case Proto::ipv4: return "ipv4";
        case Proto::ipv6: return "ipv6";
        case Proto::tcp: return "tcp";
        case Proto::udp: return "udp";
        case Proto::icmp: return "icmp";
        case Proto::icmpv6: return "icmpv6";
        case Proto::vxlan: return "vxlan";
        case Proto::geneve: return "geneve";
        case Proto::gre: return "gre";
        case Proto::wireguard: return "wireguard";
    }
    return "?";
}

void Stats::add(const Decoded& d) {
    ++frames;
    ++by_status[static_cast<std::size_t>(d.status)];
    ++by_reason[static_cast<std::size_t>(d.reason)];
}

void Stats::merge(const Stats& o) {
    frames += o.frames;
    for (std::size_t i = 0; i < by_status.size(); ++i) by_status[i] += o.by_status[i];
    for (std::size_t i = 0; i < by_reason.size(); ++i) by_reason[i] += o.by_reason[i];
}

}  // namespace podtrace::decode
