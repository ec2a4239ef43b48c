#include "decode/json.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "decode/format.hpp"

namespace podtrace::decode {
namespace {

using nlohmann::json;

std::string addr_text(const Addr& a, std::uint8_t version) {
    std::string s;
    format_addr(a, version, s);
    return s;
}

std::string mac_text(const Mac& m) {
    std::string s;
    format_mac(m, s);
    return s;
}

json layer_json(const Layer& l) {
    json j{{"proto", proto_name(l.proto)}, {"offset", l.offset}};
    if (l.quoted) j["quoted"] = true;
    switch (l.proto) {
        case Proto::ethernet:
            j.update({{"src", mac_text(l.eth.src)},
                      {"dst", mac_text(l.eth.dst)},
                      {"ethertype", l.eth.ethertype}});
            break;
        case Proto::vlan:
            j.update({{"tpid", l.vlan.tpid},
                      {"vid", l.vlan.tci & 0x0fff},
                      {"pcp", l.vlan.tci >> 13},
                      {"ethertype", l.vlan.ethertype}});
            break;
        case Proto::sll:
        case Proto::sll2:
            j.update({{"pkttype", l.sll.pkttype},
                      {"hatype", l.sll.hatype},
                      {"protocol", l.sll.protocol}});
            if (l.proto == Proto::sll2) j["ifindex"] = l.sll.ifindex;
            break;
        case Proto::null_loop:
        case Proto::nflog: j["family"] = l.null.family; break;
        case Proto::arp: {
            Addr spa{}, tpa{};
            std::copy(l.arp.spa.begin(), l.arp.spa.end(), spa.begin());
            std::copy(l.arp.tpa.begin(), l.arp.tpa.end(), tpa.begin());
            j.update({{"op", l.arp.op},
                      {"sender_mac", mac_text(l.arp.sha)},
                      {"sender_ip", addr_text(spa, 4)},
                      {"target_mac", mac_text(l.arp.tha)},
                      {"target_ip", addr_text(tpa, 4)}});
            break;
        }
        case Proto::ipv4:
        case Proto::ipv6: {
            const IpL& ip = l.ip;
            j.update({{"src", addr_text(ip.src, ip.version)},
                      {"dst", addr_text(ip.dst, ip.version)},
                      {"protocol", ip.proto},
                      {"ttl", ip.ttl},
                      {"tos", ip.tos},
                      {"header_len", ip.header_len},
                      {"total_len", ip.total_len}});
            if (ip.version == 4)
                j.update({{"id", ip.id}, {"df", ip.df}});
            else
                j["flow_label"] = ip.flow_label;
            if (ip.fragment) {
                j.update({{"frag_offset", ip.frag_offset}, {"mf", ip.mf}});
                if (ip.version == 6) j["frag_id"] = ip.frag_id;
            }
            break;
        }
        case Proto::tcp:
            j.update({{"sport", l.tcp.sport}, {"dport", l.tcp.dport}, {"seq", l.tcp.seq}});
            if (l.tcp.captured >= 20)
                j.update({{"ack", l.tcp.ack},
                          {"flags", l.tcp.flags},
                          {"window", l.tcp.window},
                          {"options_len", l.tcp.options_len}});
            break;
        case Proto::udp:
            j.update({{"sport", l.udp.sport}, {"dport", l.udp.dport}, {"length", l.udp.length}});
            break;
        case Proto::icmp:
        case Proto::icmpv6:
            j.update({{"type", l.icmp.type}, {"code", l.icmp.code}});
            if (l.icmp.is_error) j["error"] = true;
            if (l.icmp.mtu) j["mtu"] = l.icmp.mtu;
            if (l.icmp.id || l.icmp.seq) j.update({{"id", l.icmp.id}, {"seq", l.icmp.seq}});
            break;
        case Proto::vxlan: j.update({{"vni", l.vxlan.vni}, {"flags", l.vxlan.flags}}); break;
        case Proto::geneve:
            j.update({{"vni", l.geneve.vni},
                      {"protocol", l.geneve.protocol},
                      {"options_len", l.geneve.options_len}});
            break;
        case Proto::gre:
            j.update({{"protocol", l.gre.protocol}, {"flags", l.gre.flags}});
            if (l.gre.flags & 0x2000) j["key"] = l.gre.key;
            break;
        case Proto::wireguard:
            j.update({{"type", l.wg.type}, {"length", l.wg.length}});
            if (l.wg.type == 1 || l.wg.type == 2) j["sender"] = l.wg.sender;
            if (l.wg.type >= 2 && l.wg.type <= 4) j["receiver"] = l.wg.receiver;
            if (l.wg.type == 4)
                j.update({{"counter", l.wg.counter}, {"payload_len", l.wg.payload_len}});
            break;
    }
    return j;
}

}  // namespace

std::string frame_json(const Decoded& d, const std::string& file, std::uint64_t number,
                       std::string_view node, std::string_view interface) {
    json j{{"file", file},
           {"frame", number},
           {"ts_ns", d.ts_ns},
           {"linktype", d.linktype},
           {"caplen", d.caplen},
           {"len", d.wirelen},
           {"status", status_name(d.status)},
           {"reason", d.reason == Reason::none ? json(nullptr) : json(reason_name(d.reason))},
           {"encap_depth", d.encap_depth}};
    j["node"] = node.empty() ? json(nullptr) : json(node);
    j["interface"] = interface.empty() ? json(nullptr) : json(interface);
    j["direction"] = d.direction == core::Direction::inbound    ? json("in")
                     : d.direction == core::Direction::outbound ? json("out")
                                                                : json(nullptr);
    json layers = json::array();
    for (int i = 0; i < d.nlayers; ++i) layers.push_back(layer_json(d.layers[i]));
    j["layers"] = std::move(layers);
    if (const Layer* ip = d.inner_ip_layer()) {
        json inner{{"src", addr_text(ip->ip.src, ip->ip.version)},
                   {"dst", addr_text(ip->ip.dst, ip->ip.version)},
                   {"protocol", ip->ip.proto}};
        if (const Layer* l4 = d.inner_l4_layer()) {
            if (l4->proto == Proto::tcp)
                inner.update({{"sport", l4->tcp.sport}, {"dport", l4->tcp.dport}});
            if (l4->proto == Proto::udp)
                inner.update({{"sport", l4->udp.sport}, {"dport", l4->udp.dport}});
            inner["payload_len"] = d.payload_len;
        }
        j["inner"] = std::move(inner);
    }
    if (d.fingerprint) {
        char buf[20];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(d.fingerprint));
        j["fingerprint"] = buf;
        j["fingerprint_partial"] = d.fingerprint_partial;
    }
    // Plain ASCII whatever the input held: bytes that are not UTF-8 (a pcapng name, a file name)
    // become U+FFFD, where dump() would throw, and everything past ASCII a \uXXXX escape.
    return j.dump(-1, ' ', true, json::error_handler_t::replace);
}

}  // namespace podtrace::decode
