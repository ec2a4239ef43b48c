#include "decode/format.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace podtrace::decode {
namespace {

void num(std::string& out, std::uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void hex32(std::string& out, std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    out += buf;
}

const char* icmp4_name(std::uint8_t type, std::uint8_t code) {
    switch (type) {
        case 0: return "echo reply";
        case 8: return "echo request";
        case 3:
            switch (code) {
                case 0: return "net unreachable";
                case 1: return "host unreachable";
                case 2: return "protocol unreachable";
                case 3: return "port unreachable";
                case 4: return "frag-needed";
                case 9:
                case 10:
                case 13: return "admin prohibited";
                default: return "unreachable";
            }
        case 4: return "source quench";
        case 5: return "redirect";
        case 11: return "time exceeded";
        case 12: return "parameter problem";
        case 13: return "timestamp request";
        case 14: return "timestamp reply";
        default: return nullptr;
    }
}

const char* icmp6_name(std::uint8_t type, std::uint8_t code) {
    switch (type) {
        case 1: return code == 4 ? "port unreachable" : "unreachable";
        case 2: return "packet-too-big";
        case 3: return "time exceeded";
        case 4: return "parameter problem";
        case 128: return "echo request";
        case 129: return "echo reply";
        case 130: return "multicast listener query";
        case 131: return "multicast listener report";
        case 132: return "multicast listener done";
        case 133: return "router solicitation";
        case 134: return "router advertisement";
        case 135: return "neighbor solicitation";
        case 136: return "neighbor advertisement";
        case 143: return "MLDv2 report";
        default: return nullptr;
    }
}

bool is_tunnel(Proto p) {
    return p == Proto::vxlan || p == Proto::geneve || p == Proto::gre || p == Proto::ipv4 ||
           p == Proto::ipv6;
}

void ip_part(const Decoded& d, int i, const FormatOptions& opt, std::string& out) {
    const Layer& l = d.layers[i];
    const IpL& ip = l.ip;
    const Layer* next =
        i + 1 < d.nlayers && d.layers[i + 1].quoted == l.quoted ? &d.layers[i + 1] : nullptr;
    bool ports = next && (next->proto == Proto::tcp || next->proto == Proto::udp);
    out += ' ';
    format_addr(ip.src, ip.version, out);
    if (ports) {
        out += '.';
        num(out, next->proto == Proto::tcp ? next->tcp.sport : next->udp.sport);
    }
    out += " > ";
    format_addr(ip.dst, ip.version, out);
    if (ports) {
        out += '.';
        num(out, next->proto == Proto::tcp ? next->tcp.dport : next->udp.dport);
    }
    if (opt.verbose) {
        out += ip.version == 4 ? " (ttl " : " (hlim ";
        num(out, ip.ttl);
        if (ip.version == 4) {
            out += ", id ";
            num(out, ip.id);
            if (ip.df) out += ", DF";
        }
        out += ", len ";
        num(out, ip.total_len);
        out += ')';
    }
    if (ip.fragment) {
        out += " frag id ";
        num(out, ip.version == 4 ? ip.id : ip.frag_id);
        out += " off ";
        num(out, ip.frag_offset);
        if (ip.mf) out += '+';
    }
    if (next && next->proto == Proto::ipv4) out += ip.version == 4 ? " IPIP" : " IPv4-in-IPv6";
    if (next && next->proto == Proto::ipv6)
        out += ip.version == 4 ? " IPv6-in-IPv4" : " IPv6-in-IPv6";
    if (!next && !(ip.fragment && ip.frag_offset)) {
        // Nothing decoded after the header: say what it carries.
        switch (ip.proto) {
            case 6: out += " TCP"; break;
            case 17: out += " UDP"; break;
            case 1: out += " ICMP"; break;
            case 58: out += " ICMP6"; break;
            default: out += " ip-proto "; num(out, ip.proto);
        }
    }
}

void icmp_part(const Layer& l, std::string& out) {
    const IcmpL& c = l.icmp;
    bool v6 = l.proto == Proto::icmpv6;
    out += v6 ? " ICMP6 " : " ICMP ";
    const char* name = icmp_type_name(v6, c.type, c.code);
    if (name) {
        out += name;
    } else {
        out += "type ";
        num(out, c.type);
        out += " code ";
        num(out, c.code);
    }
    bool echo = v6 ? (c.type == 128 || c.type == 129) : (c.type == 0 || c.type == 8);
    if (echo) {
        out += " id ";
        num(out, c.id);
        out += " seq ";
        num(out, c.seq);
    }
    if (c.mtu) {
        out += " mtu ";
        num(out, c.mtu);
    }
}

void wireguard_part(const WireguardL& w, std::string& out) {
    out += " WireGuard ";
    switch (w.type) {
        case 1:
            out += "initiation sender ";
            hex32(out, w.sender);
            break;
        case 2:
            out += "response sender ";
            hex32(out, w.sender);
            out += " receiver ";
            hex32(out, w.receiver);
            break;
        case 3:
            out += "cookie-reply receiver ";
            hex32(out, w.receiver);
            break;
        case 4:
            out += "data receiver ";
            hex32(out, w.receiver);
            out += " counter ";
            num(out, w.counter);
            out += " len ";
            num(out, w.payload_len);
            break;
        default: out += "type "; num(out, w.type);
    }
}

}  // namespace

void format_tcp_flags(std::uint16_t f, std::string& out) {
    out += '[';
    std::size_t start = out.size();
    if (f & 0x02) out += 'S';
    if (f & 0x01) out += 'F';
    if (f & 0x04) out += 'R';
    if (f & 0x08) out += 'P';
    if (f & 0x20) out += 'U';
    if (f & 0x40) out += 'E';
    if (f & 0x80) out += 'W';
    if (f & 0x10) out += '.';
    if (out.size() == start) out += "none";
    out += ']';
}

const char* icmp_type_name(bool v6, std::uint8_t type, std::uint8_t code) {
    return v6 ? icmp6_name(type, code) : icmp4_name(type, code);
}

void format_addr(const Addr& a, std::uint8_t version, std::string& out) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(version == 6 ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf);
    out += buf;
}

void format_mac(const Mac& m, std::string& out) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                  m[5]);
    out += buf;
}

void format_time(std::int64_t ts_ns, std::uint8_t digits, std::string& out) {
    std::time_t secs = static_cast<std::time_t>(ts_ns / 1'000'000'000);
    std::int64_t frac = ts_ns % 1'000'000'000;
    if (frac < 0) {
        frac += 1'000'000'000;
        --secs;
    }
    std::tm tm{};
    localtime_r(&secs, &tm);
    char buf[48];
    if (digits == 9)
        std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%09lld", tm.tm_hour, tm.tm_min, tm.tm_sec,
                      static_cast<long long>(frac));
    else
        std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%06lld", tm.tm_hour, tm.tm_min, tm.tm_sec,
                      static_cast<long long>(frac / 1000));
    out += buf;
}

void format_layers(const Decoded& d, const FormatOptions& opt, std::string& out) {
    bool quote_started = false;
    for (int i = 0; i < d.nlayers; ++i) {
        const Layer& l = d.layers[i];
        if (l.quoted && !quote_started) {
            out += " | quoted";
            quote_started = true;
        } else if (i > 0 && !l.quoted && is_tunnel(d.layers[i - 1].proto) &&
                   (l.proto == Proto::ethernet || l.proto == Proto::ipv4 ||
                    l.proto == Proto::ipv6)) {
            out += " |";
        }
        switch (l.proto) {
            case Proto::ethernet:
                if (opt.link) {
                    out += ' ';
                    format_mac(l.eth.src, out);
                    out += " > ";
                    format_mac(l.eth.dst, out);
                }
                if (i + 1 == d.nlayers && l.eth.ethertype != 0x0800 && l.eth.ethertype != 0x86dd &&
                    l.eth.ethertype != 0x0806) {
                    char buf[24];
                    std::snprintf(buf, sizeof buf, " ethertype 0x%04x", l.eth.ethertype);
                    out += buf;
                }
                break;
            case Proto::vlan:
                out += " vlan ";
                num(out, l.vlan.tci & 0x0fff);
                break;
            case Proto::sll:
            case Proto::sll2:
                if (opt.link && l.proto == Proto::sll2) {
                    out += " ifindex ";
                    num(out, l.sll.ifindex);
                }
                break;
            case Proto::null_loop:
            case Proto::nflog: break;
            case Proto::arp: {
                const ArpL& a = l.arp;
                Addr spa{}, tpa{};
                std::copy(a.spa.begin(), a.spa.end(), spa.begin());
                std::copy(a.tpa.begin(), a.tpa.end(), tpa.begin());
                if (a.op == 1) {
                    out += " ARP who-has ";
                    format_addr(tpa, 4, out);
                    out += " tell ";
                    format_addr(spa, 4, out);
                } else if (a.op == 2) {
                    out += " ARP reply ";
                    format_addr(spa, 4, out);
                    out += " is-at ";
                    format_mac(a.sha, out);
                } else {
                    out += " ARP op ";
                    num(out, a.op);
                }
                break;
            }
            case Proto::ipv4:
            case Proto::ipv6: ip_part(d, i, opt, out); break;
            case Proto::tcp: {
                const TcpL& t = l.tcp;
                out += " TCP ";
                if (l.quoted) {
                    if (t.captured >= 8) {
                        out += "seq ";
                        num(out, t.seq);
                    }
                    break;
                }
                format_tcp_flags(t.flags, out);
                out += " seq ";
                num(out, t.seq);
                if (t.flags & 0x10) {
                    out += " ack ";
                    num(out, t.ack);
                }
                out += " win ";
                num(out, t.window);
                if (i == d.inner_l4) {
                    out += " len ";
                    num(out, d.payload_len);
                }
                break;
            }
            case Proto::udp: {
                bool tunnel = i + 1 < d.nlayers && !d.layers[i + 1].quoted;
                if (!tunnel) {
                    out += " UDP";
                    if (!l.quoted && l.udp.length >= 8) {
                        out += " len ";
                        num(out, l.udp.length - 8u);
                    }
                }
                break;
            }
            case Proto::icmp:
            case Proto::icmpv6:
                icmp_part(l, out);
                if (i == d.inner_l4 && !l.icmp.is_error) {
                    out += " len ";
                    num(out, d.payload_len);
                }
                break;
            case Proto::vxlan:
                out += " VXLAN vni ";
                num(out, l.vxlan.vni);
                break;
            case Proto::geneve:
                out += " Geneve vni ";
                num(out, l.geneve.vni);
                break;
            case Proto::gre:
                out += " GRE";
                if (l.gre.flags & 0x2000) {
                    out += " key ";
                    num(out, l.gre.key);
                }
                if (i + 1 == d.nlayers) {
                    char buf[24];
                    std::snprintf(buf, sizeof buf, " proto 0x%04x", l.gre.protocol);
                    out += buf;
                }
                break;
            case Proto::wireguard: wireguard_part(l.wg, out); break;
        }
    }
    if (d.status != Status::ok) {
        if (d.reason == Reason::unsupported_linktype) {
            out += " linktype ";
            num(out, d.linktype);
        }
        out += " [";
        out += status_name(d.status);
        out += ": ";
        out += reason_name(d.reason);
        out += ']';
    }
    if (opt.verbose && d.fingerprint) {
        char buf[32];
        std::snprintf(buf, sizeof buf, " fp %016llx%s",
                      static_cast<unsigned long long>(d.fingerprint),
                      d.fingerprint_partial ? "~" : "");
        out += buf;
    }
}

std::string stats_text(const Stats& s) {
    std::ostringstream out;
    out << s.frames << (s.frames == 1 ? " frame" : " frames") << ':';
    const char* sep = " ";
    for (std::size_t st = 0; st < s.by_status.size(); ++st) {
        if (!s.by_status[st] && st != 0) continue;
        out << sep << s.by_status[st] << ' ' << status_name(static_cast<Status>(st));
        sep = ", ";
        if (st == 0) continue;
        const char* rsep = " (";
        for (std::size_t r = 1; r < kReasonCount; ++r) {
            auto reason = static_cast<Reason>(r);
            if (status_of(reason) != static_cast<Status>(st) || !s.by_reason[r]) continue;
            out << rsep << reason_name(reason) << ' ' << s.by_reason[r];
            rsep = ", ";
        }
        out << ')';
    }
    return out.str();
}

}  // namespace podtrace::decode
