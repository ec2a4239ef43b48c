// `podtrace decode`: every frame of every file, one line each (text or JSON).
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "app/app.hpp"
#include "app/command.hpp"
#include "decode/decoder.hpp"
#include "decode/format.hpp"
#include "probes/capture_file.hpp"
#include "probes/capture_point.hpp"

namespace podtrace::app {
namespace {

using nlohmann::json;
using namespace podtrace::decode;

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

json frame_json(const Decoded& d, const std::string& file, std::uint64_t number,
                const probes::CapturePoint& at) {
    json j{{"file", file},
           {"frame", number},
           {"ts_ns", d.ts_ns},
           {"linktype", d.linktype},
           {"caplen", d.caplen},
           {"len", d.wirelen},
           {"status", status_name(d.status)},
           {"reason", d.reason == Reason::none ? json(nullptr) : json(reason_name(d.reason))},
           {"encap_depth", d.encap_depth}};
    j["node"] = at.node.empty() ? json(nullptr) : json(at.node);
    j["interface"] = at.interface.empty() ? json(nullptr) : json(at.interface);
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
    return j;
}

// "12 frames: 10 ok, 2 truncated (tcp-truncated 2)"
void print_summary(const Stats& s, std::ostream& err) {
    err << "podtrace: " << s.frames << (s.frames == 1 ? " frame" : " frames") << ':';
    const char* sep = " ";
    for (std::size_t st = 0; st < s.by_status.size(); ++st) {
        if (!s.by_status[st] && st != 0) continue;
        err << sep << s.by_status[st] << ' ' << status_name(static_cast<Status>(st));
        sep = ", ";
        if (st == 0) continue;
        const char* rsep = " (";
        for (std::size_t r = 1; r < kReasonCount; ++r) {
            auto reason = static_cast<Reason>(r);
            if (status_of(reason) != static_cast<Status>(st) || !s.by_reason[r]) continue;
            err << rsep << reason_name(reason) << ' ' << s.by_reason[r];
            rsep = ", ";
        }
        err << ')';
    }
    err << '\n';
}

}  // namespace

int decode_command(const DecodeOptions& opt, std::ostream& out, std::ostream& err) {
    Decoder decoder(opt.ports);
    Decoded d;
    FormatOptions fmt{opt.verbose, opt.link};
    std::string line;
    std::vector<probes::CapturePoint> points;  // per interface of the current file
    long long printed = 0;
    int rc = 0;
    auto input_error = [&](const std::string& message) {
        out.flush();
        err << "podtrace: " << message << '\n';
        rc = 2;
    };
    for (const std::string& arg : opt.files) {
        const probes::FileArg spec = probes::parse_file_arg(arg);
        auto file = probes::CaptureFile::open(spec.path);
        if (!file) {
            input_error(file.error().message);
            continue;
        }
        points.clear();
        core::Frame frame;
        probes::CaptureFile::Next r = probes::CaptureFile::Next::end;
        while ((opt.count < 0 || printed < opt.count) &&
               (r = file->next(frame)) == probes::CaptureFile::Next::frame) {
            decoder.decode(frame, d);
            ++printed;
            const auto& ifs = file->interfaces();
            while (points.size() < ifs.size())  // pcapng declares interfaces as it goes
                points.push_back(
                    probes::capture_point(spec, ifs[points.size()].node, ifs[points.size()].name));
            const probes::CapturePoint& at = points[frame.interface];
            if (opt.json) {
                out << frame_json(d, spec.path, file->frames_read(), at).dump() << '\n';
                continue;
            }
            line.clear();
            format_time(d.ts_ns, d.ts_digits, line);
            line.append(" ").append(at.node);
            if (!at.interface.empty()) line.append("/").append(at.interface);
            if (d.direction == core::Direction::inbound) line += " In";
            if (d.direction == core::Direction::outbound) line += " Out";
            format_layers(d, fmt, line);
            line += '\n';
            out << line;
        }
        if (r == probes::CaptureFile::Next::error) input_error(file->error().message);
        for (std::size_t i = 0; i < file->interfaces().size(); ++i) {
            const auto& info = file->interfaces()[i];
            if (!linktype_supported(info.linktype))
                input_error(spec.path + ": interface " + std::to_string(i) +
                            (info.name.empty() ? "" : " (" + info.name + ")") + " has link type " +
                            std::to_string(info.linktype) + ", which podtrace does not decode");
        }
        if (opt.count >= 0 && printed >= opt.count) break;
    }
    out.flush();
    if (!opt.quiet) print_summary(decoder.stats(), err);
    return rc;
}

namespace {

// Adds each --*-port value to a tunnel's port set, refusing what does not fit.
void add_ports(const std::vector<int>& ports, decode::PortSet& set, const char* flag) {
    for (int p : ports) {
        if (p < 1 || p > 65535)
            throw CLI::ValidationError(flag, std::to_string(p) + " is not a UDP port (1-65535)");
        if (!decode::add_port(set, static_cast<std::uint16_t>(p)))
            throw CLI::ValidationError(flag, "too many ports (at most 8 per tunnel kind)");
    }
}

}  // namespace

void add_tunnel_port_options(CLI::App* sub, TunnelPorts& p) {
    sub->add_option("--vxlan-port", p.vxlan,
                    "also decode VXLAN on this UDP port (4789, 8472 always)");
    sub->add_option("--geneve-port", p.geneve, "also decode Geneve on this UDP port (6081 always)");
    sub->add_option("--wireguard-port", p.wireguard,
                    "also decode WireGuard on this UDP port (51820 always)");
}

void apply_tunnel_ports(const TunnelPorts& p, decode::Ports& ports) {
    add_ports(p.vxlan, ports.vxlan, "--vxlan-port");
    add_ports(p.geneve, ports.geneve, "--geneve-port");
    add_ports(p.wireguard, ports.wireguard, "--wireguard-port");
}

Command add_decode_command(CLI::App& cli) {
    struct State {
        DecodeOptions opt;
        TunnelPorts tunnel_ports;
    };
    auto st = std::make_shared<State>();
    auto* sub = cli.add_subcommand(
        "decode", "Decode capture files, one line per frame, tunnels made explicit");
    sub->add_option("files", st->opt.files,
                    "pcap or pcapng files, '-' for standard input; NODE=FILE names the node")
        ->required();
    sub->add_flag("-j,--json", st->opt.json, "JSON lines: one object per frame");
    sub->add_flag("-v,--verbose", st->opt.verbose, "TTL, IP ID, DF, lengths, fingerprint");
    sub->add_flag("-e,--link", st->opt.link, "MAC addresses and cooked-header fields");
    sub->add_flag("-q,--quiet", st->opt.quiet, "no summary of frame outcomes on stderr");
    sub->add_option("-c,--count", st->opt.count, "stop after this many frames")
        ->check(CLI::PositiveNumber);
    add_tunnel_port_options(sub, st->tunnel_ports);
    sub->callback([st] { apply_tunnel_ports(st->tunnel_ports, st->opt.ports); });
    return {sub, [st] { return decode_command(st->opt, std::cout, std::cerr); }};
}

}  // namespace podtrace::app
