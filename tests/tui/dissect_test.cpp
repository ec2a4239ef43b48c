// The Packet screen's dissection over the bundled and public captures: layers as libtins and
// podtrace's decoder see them, cut frames that say what is missing, the hex dump's layout, and
// the key fields of every frame cross-checked against tshark.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tins/tins.h>
#include <catch2/catch.hpp>

#include "decode/decoded.hpp"
#include "decode/decoder.hpp"
#include "decode/dispatch.hpp"
#include "probes/capture_file.hpp"
#include "core/frame.hpp"
#include "tests/tshark_util.hpp"
#include "tui/dissect.hpp"

namespace {

using podtrace::test::is_prefix;
using podtrace::test::join;
using podtrace::test::on_path;
using podtrace::test::shell_quote;
using podtrace::test::split;

namespace fs = std::filesystem;
namespace pd = podtrace::decode;
namespace pp = podtrace::probes;
using podtrace::tui::hex_dump;
using podtrace::tui::TreeLine;

// The tree's lines as the Packet screen shows them.
std::vector<std::string> dissect(std::uint32_t linktype, std::span<const std::uint8_t> bytes,
                                 const pd::Ports& ports = {}) {
    std::vector<std::string> out;
    for (const TreeLine& l : podtrace::tui::dissect(linktype, bytes, ports)) out.push_back(l.text);
    return out;
}

struct OwnedFrame {
    std::uint32_t linktype = 0;
    std::vector<std::uint8_t> bytes;
};

std::vector<OwnedFrame> load(const fs::path& path) {
    auto file = pp::CaptureFile::open(path.string());
    REQUIRE(file.has_value());
    std::vector<OwnedFrame> frames;
    podtrace::core::Frame f;
    while (file->next(f) == pp::CaptureFile::Read::frame)
        frames.push_back({f.linktype, {f.bytes.begin(), f.bytes.end()}});
    return frames;
}

fs::path example(std::string_view rel) {
    return fs::path(PODTRACE_SOURCE_DIR) / "examples" / rel;
}

// PODTRACE_SHARED_CAPTURES overrides where the public captures are, as in tests/decode.
fs::path shared_dir() {
    if (const char* env = std::getenv("PODTRACE_SHARED_CAPTURES"); env != nullptr && *env)
        return env;
    return fs::path(PODTRACE_SOURCE_DIR) / ".." / "shared" / "captures";
}

bool contains(const std::vector<std::string>& lines, std::string_view text) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

std::size_t index_of(const std::vector<std::string>& lines, std::string_view prefix,
                     std::size_t from = 0) {
    for (std::size_t i = from; i < lines.size(); ++i)
        if (lines[i].starts_with(prefix)) return i;
    return lines.size();
}

std::string text(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

// The first frame of `frames` whose dissection has a line starting with `prefix`.
std::vector<std::string> first_with(const std::vector<OwnedFrame>& frames, std::string_view prefix,
                                    OwnedFrame* which = nullptr) {
    for (const auto& f : frames) {
        auto lines = dissect(f.linktype, f.bytes);
        if (index_of(lines, prefix) < lines.size()) {
            if (which) *which = f;
            return lines;
        }
    }
    FAIL("no frame dissects to a line starting with '" << prefix << "'");
    return {};
}

}  // namespace

TEST_CASE("hex_dump: offset, two groups of 8, ASCII", "[dissect]") {
    const std::vector<std::uint8_t> ip{0x45, 0x00, 0x00, 0x54, 0x7b, 0x2f, 0x40, 0x00, 0x40, 0x01,
                                       0x00, 0x00, 0xac, 0x10, 0x9e, 0x01, 0xac, 0x10, 0xb8, 0x04};
    const auto lines = hex_dump(ip);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "0000  45 00 00 54 7b 2f 40 00  40 01 00 00 ac 10 9e 01  E..T{/@.@.......");
    // A short last line keeps the ASCII column where the full lines have it.
    CHECK(lines[1] == "0010  ac 10 b8 04" + std::string(39, ' ') + "....");
    CHECK(lines[0].find("E..T") == lines[1].find("...."));
    CHECK(hex_dump({}).empty());

    std::vector<std::uint8_t> big(0x10001, 'A');
    const auto many = hex_dump(big);
    REQUIRE(many.size() == 0x1001);
    CHECK(many.back() == "10000  41" + std::string(48, ' ') + "A");  // offsets grow past 4 digits
}

TEST_CASE("dissect: IPIP on the node NIC, tunl0 without a link layer", "[dissect]") {
    const auto frames = load(example("ipip/k8s-w1.pcapng"));
    const auto lines = first_with(frames, "IPv4, src 192.168.10.101, dst 192.168.10.102");
    INFO(text(lines));
    REQUIRE(lines.size() >= 8);
    CHECK(lines[0].starts_with("Ethernet II, src "));
    CHECK(lines[1] == "  type 0x0800 (IPv4)");
    const std::size_t outer = index_of(lines, "IPv4, src 192.168.10.101");
    const std::size_t inner = index_of(lines, "IPv4, src 172.16.158.1, dst 172.16.184.4");
    REQUIRE(inner < lines.size());
    CHECK(outer < inner);
    CHECK(lines[outer + 1].find("protocol 4 (IPIP)") != std::string::npos);
    CHECK(lines[inner + 1].find("protocol 1 (ICMP)") != std::string::npos);
    CHECK(contains(lines, "ICMP, echo request"));
    CHECK(contains(lines, "Data, 56 bytes"));
    CHECK_FALSE(contains(lines, "truncated"));
    CHECK_FALSE(contains(lines, "malformed"));
    for (const auto& l : lines) CHECK((!l.starts_with(" ") || l.starts_with("  ")));

    const auto tunl0 = first_with(frames, "Raw IP (linktype 101)");
    CHECK(tunl0[0] == "Raw IP (linktype 101): no link-layer header");
    CHECK(tunl0[1].starts_with("IPv4, src 172.16."));
}

TEST_CASE("dissect: ICMP frag-needed quotes the packet it refuses", "[dissect]") {
    const auto frames = load(example("ipip/k8s-w1.pcapng"));
    const auto lines = first_with(frames, "ICMP, destination unreachable (fragmentation needed)");
    INFO(text(lines));
    CHECK(contains(lines, "  type 3, code 4, next-hop MTU 8981"));
    const std::size_t quoted = index_of(lines, "IPv4 (quoted), src 172.16.158.3, dst 172.16.184.4");
    REQUIRE(quoted < lines.size());
    CHECK(lines[quoted + 1].find("flags DF, total length 9001") != std::string::npos);
    CHECK(contains(lines, "[quoted: "));
    CHECK(contains(lines, "ICMP (quoted), echo request"));
}

TEST_CASE("dissect: VXLAN header, then the inner Ethernet frame", "[dissect]") {
    const auto frames = load(example("vxlan/k8s-w1.pcapng"));
    const auto lines = first_with(frames, "VXLAN, VNI 4096");
    INFO(text(lines));
    const std::size_t udp = index_of(lines, "UDP, src port ");
    const std::size_t vx = index_of(lines, "VXLAN, VNI 4096");
    REQUIRE(udp < vx);
    CHECK(lines[udp].ends_with("dst port 4789"));
    CHECK(lines[vx + 1] == "  flags 0x08 (VNI valid)");
    REQUIRE(vx + 2 < lines.size());
    CHECK(lines[vx + 2].starts_with("Ethernet II, src "));
    const std::size_t inner = index_of(lines, "IPv4, src 172.16.", vx);
    CHECK(inner < lines.size());
    CHECK(index_of(lines, "ICMP, echo ", inner) < lines.size());
}

TEST_CASE("dissect: WireGuard messages on UDP 51820", "[dissect]") {
    const auto frames = load(example("wireguard/k8s-w1.pcapng"));
    const auto init = first_with(frames, "WireGuard, handshake initiation");
    CHECK(init[index_of(init, "WireGuard,") + 1].starts_with("  type 1, sender index 0x"));
    const auto resp = first_with(frames, "WireGuard, handshake response");
    CHECK(resp[index_of(resp, "WireGuard,") + 1].find(", receiver index 0x") != std::string::npos);
    const auto data = first_with(frames, "WireGuard, transport data");
    INFO(text(data));
    const std::size_t wg = index_of(data, "WireGuard,");
    CHECK(data[wg + 1].starts_with("  type 4, receiver index 0x"));
    CHECK(data[wg + 1].find(", counter ") != std::string::npos);
    CHECK(data[wg + 2].starts_with("  encrypted packet "));
    CHECK(data[wg - 2].ends_with("dst port 51820"));
}

TEST_CASE("dissect: every prefix of a VXLAN frame says what the cut took", "[dissect]") {
    OwnedFrame vx;
    first_with(load(example("vxlan/k8s-w1.pcapng")), "VXLAN, VNI 4096", &vx);
    REQUIRE(vx.bytes.size() > 100);
    for (std::size_t n = 0; n < vx.bytes.size(); ++n) {
        // An exact-size copy: a read past the cut is a read past the allocation (ASan builds).
        const std::vector<std::uint8_t> cut(vx.bytes.begin(), vx.bytes.begin() + n);
        const auto lines = dissect(vx.linktype, cut);
        INFO("prefix " << n << " of " << vx.bytes.size() << ":\n" << text(lines));
        REQUIRE_FALSE(lines.empty());
        CHECK(lines[0].starts_with("Ethernet II"));
        CHECK(contains(lines, "[truncated: "));
    }
    CHECK(dissect(1, {}) ==
          std::vector<std::string>{"Ethernet II", "  [truncated: 0 of 14 bytes captured]"});
    const std::vector<std::uint8_t> head(vx.bytes.begin(), vx.bytes.begin() + 14 + 18);
    const auto lines = dissect(1, head);
    INFO(text(lines));
    CHECK(lines.back() == "  [truncated: 18 of 20 bytes captured]");
    CHECK(lines[lines.size() - 2] == "IPv4");
    // What the screen styles by: the layers and the cut, marked as such, not found in the text.
    CHECK(podtrace::tui::dissect(1, head).back() ==
          TreeLine{"  [truncated: 18 of 20 bytes captured]", false, true});
    for (const TreeLine& l : podtrace::tui::dissect(vx.linktype, vx.bytes)) {
        CHECK(l.layer == !l.text.starts_with(' '));
        CHECK_FALSE(l.truncated);
    }
}

TEST_CASE("dissect: link types libtins has no class for, and odd frames", "[dissect]") {
    // Null/loopback (host byte order, AF_INET) and a link type nobody decodes.
    Tins::IP ip = Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(53, 40000);
    std::vector<std::uint8_t> pkt = ip.serialize();
    std::vector<std::uint8_t> null{2, 0, 0, 0};
    null.insert(null.end(), pkt.begin(), pkt.end());
    auto lines = dissect(podtrace::core::linktype::null_bsd, null);
    INFO(text(lines));
    CHECK(lines[0] == "Null/Loopback, family 2 (IPv4)");
    CHECK(lines[1] == "IPv4, src 10.0.0.1, dst 10.0.0.2");
    CHECK(contains(lines, "UDP, src port 40000, dst port 53"));

    lines = dissect(147, pkt);
    CHECK(lines[0] == "Link type 147: not dissected");
    CHECK(contains(lines, "Data, 28 bytes"));

    // A TCP data offset below 5 words: the decoder calls it malformed, libtins refuses it.
    Tins::EthernetII eth = Tins::EthernetII() / Tins::IP("10.0.0.2", "10.0.0.1") / Tins::TCP(80);
    std::vector<std::uint8_t> bad = eth.serialize();
    bad[14 + 20 + 12] = 0x20;
    lines = dissect(1, bad);
    INFO(text(lines));
    CHECK(contains(lines, "TCP, src port "));
    CHECK(contains(lines, "[malformed: tcp-bad-offset]"));
    CHECK(contains(lines, "[malformed: libtins: "));
}

TEST_CASE("dissect: public captures, cooked SLL/SLL2, raw IP, Geneve, GRE", "[dissect]") {
    const fs::path dir = shared_dir();
    if (!fs::is_directory(dir)) {
        WARN("skipped: public captures folder " << dir << " is absent");
        return;
    }
    struct Case {
        const char* file;
        std::vector<const char*> lines;  // each must start some line, in this order
    };
    const std::vector<Case> cases{
        {"suricata-verify/tests/decode-sll2-01/input.pcap",
         {"Linux cooked capture v2, interface index 2", "  packet type 4 (outgoing)",
          "  protocol 0x0800 (IPv4)", "IPv4, src 192.168.1.253", "TCP, src port 56478",
          "  options: mss 1460, sack permitted, timestamps "}},
        {"tcpdump/tests/mptcp-v1.pcap",
         {"Linux cooked capture v1, ", "  protocol 0x0800 (IPv4)", "IPv4, src ", "TCP, "}},
        {"tcpdump/tests/LINKTYPE_IPV6.pcap",
         {"Raw IPv6 (linktype 229): no link-layer header", "IPv6, src ", "UDP, "}},
        {"tcpdump/tests/geneve-gcp.pcap",
         {"UDP, src port 62974, dst port 6081", "Geneve, VNI 0",
          "  version 0, options length 40, protocol 0x0800 (IPv4)",
          "IPv4, src 192.168.100.2, dst 192.168.100.1", "TCP, src port 2905, dst port 8080"}},
        {"suricata-verify/tests/bug-5633-gre-01/gre-udp.pcap",
         {"802.1Q VLAN, id 6", "IPv4, src 1.1.1.2", "GRE, protocol 0x0800 (IPv4)",
          "IPv4, src 2.2.2.3, dst 2.2.2.2", "UDP, src port 12345, dst port 514"}},
        {"zeek/testing/btest/Traces/icmp/icmp6-toobig.pcap",
         {"ICMPv6, packet too big", "  type 2, code 0, MTU 1280", "IPv6 (quoted), src fe80::beef",
          "UDP (quoted), src port 30000, dst port 13000"}},
        {"tcpdump/tests/nflog.pcap", {"NFLOG, family 2 (IPv4)", "IPv4, src ", "UDP, "}},
    };
    for (const auto& c : cases) {
        const auto frames = load(dir / c.file);
        REQUIRE_FALSE(frames.empty());
        const auto lines = dissect(frames[0].linktype, frames[0].bytes);
        INFO(c.file << ":\n" << text(lines));
        std::size_t at = 0;
        for (const char* want : c.lines) {
            at = index_of(lines, want, at);
            CHECK(at < lines.size());
            if (at == lines.size()) break;
        }
        CHECK_FALSE(contains(lines, "malformed"));
    }
}

namespace {

// The fields compared with tshark, as `tshark -T fields -e` names them.
constexpr std::array<const char*, 17> kFields{
    "ip.src",      "ip.dst",      "ip.ttl",      "ipv6.src",    "ipv6.dst",  "ipv6.hlim",
    "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "icmp.type", "icmp.code",
    "vxlan.vni",   "wg.type",     "wg.sender",   "wg.receiver", "wg.counter"};
using Values = std::array<std::vector<std::string>, kFields.size()>;

std::size_t field_index(std::string_view name) {
    return static_cast<std::size_t>(std::find(kFields.begin(), kFields.end(), name) -
                                    kFields.begin());
}

// "… key VALUE, …" or "… key VALUE" (the value ends at a comma or the end).
std::string after(std::string_view line, std::string_view key) {
    const std::size_t at = line.find(key);
    if (at == std::string_view::npos) return {};
    const std::string_view rest = line.substr(at + key.size());
    return std::string(rest.substr(0, rest.find(',')));
}

// Reads the dissection back into tshark's fields: outer to inner, quoted layers included
// (tshark reports the headers an ICMP error quotes under the same field names).
Values dissected_values(const std::vector<std::string>& lines) {
    Values v;
    auto add = [&](std::string_view f, std::string value) {
        if (!value.empty()) v[field_index(f)].push_back(std::move(value));
    };
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string& l = lines[i];
        const std::string next = i + 1 < lines.size() ? lines[i + 1] : "";
        if (l.starts_with("IPv4")) {
            add("ip.src", after(l, ", src "));
            add("ip.dst", after(l, ", dst "));
            add("ip.ttl", after(next, "ttl "));
        } else if (l.starts_with("IPv6")) {
            add("ipv6.src", after(l, ", src "));
            add("ipv6.dst", after(l, ", dst "));
            add("ipv6.hlim", after(next, "hop limit "));
        } else if (l.starts_with("UDP") || l.starts_with("TCP")) {
            const std::string p = l.starts_with("UDP") ? "udp" : "tcp";
            add(p + ".srcport", after(l, "src port "));
            add(p + ".dstport", after(l, "dst port "));
        } else if (l.starts_with("ICMP,") || l.starts_with("ICMP (quoted),")) {
            add("icmp.type", after(next, "  type "));
            add("icmp.code", after(next, "code "));
        } else if (l.starts_with("VXLAN, VNI ")) {
            add("vxlan.vni", after(l, "VNI "));
        } else if (l.starts_with("WireGuard")) {
            add("wg.type", after(next, "  type "));
            add("wg.sender", after(next, "sender index "));
            add("wg.receiver", after(next, "receiver index "));
            add("wg.counter", after(next, "counter "));
        }
    }
    return v;
}




// One Values per packet tshark dissected; `error` says why there are none.
std::vector<Values> tshark_values(const fs::path& file, std::string_view extra,
                                  std::string& error) {
    // Each frame on its own, as podtrace dissects it: no reassembly.
    std::string cmd = "tshark -n -r " + shell_quote(file.string()) +
                      " -o ip.defragment:FALSE -o ipv6.defragment:FALSE " + std::string(extra) +
                      " -T fields -E occurrence=a -E aggregator=, -E separator=/t";
    for (const char* f : kFields) cmd += std::string(" -e ") + f;
    cmd += " 2>/dev/null";
    std::vector<Values> out;
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
        error = "popen failed: " + cmd;
        return out;
    }
    std::string all;
    char buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) all.append(buf, n);
    const int status = ::pclose(pipe);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        error = "`" + cmd + "` failed";
        return out;
    }
    for (const auto& line : split(all, '\n')) {
        if (line.empty()) continue;
        const auto cols = split(line, '\t');
        if (cols.size() != kFields.size()) {
            error = "unexpected tshark line: " + line;
            return out;
        }
        Values v;
        for (std::size_t f = 0; f < kFields.size(); ++f) v[f] = split(cols[f], ',');
        out.push_back(std::move(v));
    }
    return out;
}



}  // namespace

TEST_CASE("dissect: addresses, TTLs, ports, VNIs, WireGuard indices match tshark",
          "[dissect][tshark]") {
    if (!on_path("tshark")) {
        WARN("skipped: tshark is not on PATH");
        return;
    }
    struct Source {
        fs::path file;
        std::uint16_t wireguard_port = 0;  // as a user would pass it with a flag
        std::string_view tshark_args{};
    };
    std::vector<Source> sources{
        {example("ipip/k8s-w1.pcapng")},
        {example("vxlan/k8s-w1.pcapng")},
        {example("wireguard/k8s-w1.pcapng")},
    };
    const fs::path dir = shared_dir();
    if (fs::is_directory(dir)) {
        // A few files per kind the Packet screen must read: IPIP, VXLAN, WireGuard, cooked
        // SLL/SLL2, raw IP, ICMP errors, GRE. tshark starts in ~0.3 s: the list stays short.
        for (const char* rel : {
                 "zeek/testing/btest/Traces/tunnels/4in4.pcap",
                 "suricata-verify/tests/bug-4571-01/ipv4_over_ipv4.pcap",
                 "tcpdump/tests/vxlan.pcap",
                 "pcapplusplus/Tests/Packet++Test/PacketExamples/Vxlan1.pcap",
                 "pcapplusplus/Tests/Packet++Test/PacketExamples/WireGuard.pcap",
                 "tcpdump/tests/mptcp-v1.pcap",
                 "pcapplusplus/Tests/Pcap++Test/PcapExamples/sll2.pcap",
                 "pcapplusplus/Tests/Pcap++Test/PcapExamples/raw_ip.pcap",
                 "tcpdump/tests/LINKTYPE_IPV4.pcap",
                 "zeek/testing/btest/Traces/icmp/icmp6-toobig.pcap",
                 "zeek/testing/btest/Traces/tunnels/gre-sample.pcap",
             })
            sources.push_back({dir / rel});
        // WireGuard on 45965<->51194: podtrace is told the port, tshark finds it by heuristic.
        sources.push_back({dir / "zeek-spicy-wireguard/testing/Traces/wireguard.pcap", 51194});
    } else {
        WARN("public captures folder " << dir << " is absent: bundled examples only");
    }

    std::uint64_t frames = 0, partial = 0;
    for (const auto& src : sources) {
        std::string error;
        const auto theirs = tshark_values(src.file, src.tshark_args, error);
        INFO(src.file);
        REQUIRE(error.empty());
        const auto ours = load(src.file);
        REQUIRE(theirs.size() == ours.size());
        pd::Ports ports;
        if (src.wireguard_port) pd::add_port(ports.wireguard, src.wireguard_port);
        for (std::size_t i = 0; i < ours.size(); ++i) {
            const auto lines = dissect(ours[i].linktype, ours[i].bytes, ports);
            const Values v = dissected_values(lines);
            // Where the frame was cut or malformed, we compare what we did dissect.
            const bool cut = contains(lines, "[truncated: ") || contains(lines, "[malformed: ");
            partial += cut;
            ++frames;
            for (std::size_t f = 0; f < kFields.size(); ++f) {
                if (v[f] == theirs[i][f] || (cut && is_prefix(v[f], theirs[i][f]))) continue;
                FAIL_CHECK(src.file.filename()
                           << " frame " << i + 1 << ": " << kFields[f] << " dissect='" << join(v[f])
                           << "' tshark='" << join(theirs[i][f]) << "'\n"
                           << text(lines));
            }
        }
    }
    std::cout << "dissect vs tshark: " << sources.size() << " files, " << frames << " frames ("
              << partial << " cut or malformed, compared as far as dissected)\n";
}
