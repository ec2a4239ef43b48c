// Independent oracle: for every frame of every public capture, the fields podtrace decodes must
// equal what `tshark -T fields` prints for the same frame.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "decode/decoded.hpp"
#include "decode/decoder.hpp"
#include "decode/dispatch.hpp"
#include "probes/capture_file.hpp"
#include "core/frame.hpp"
#include "tests/tshark_util.hpp"

namespace {

using podtrace::test::is_prefix;
using podtrace::test::join;
using podtrace::test::on_path;
using podtrace::test::shell_quote;
using podtrace::test::split;

namespace fs = std::filesystem;
namespace pd = podtrace::decode;
namespace pp = podtrace::probes;

enum Field : std::size_t {
    frame_len,
    frame_cap_len,
    ip_src,
    ip_dst,
    ip_proto,
    ip_id,
    ip_ttl,
    ipv6_src,
    ipv6_dst,
    ipv6_hlim,
    udp_srcport,
    udp_dstport,
    tcp_srcport,
    tcp_dstport,
    tcp_seq_raw,
    icmp_type,
    icmp_code,
    icmpv6_type,
    icmpv6_code,
    vxlan_vni,
    geneve_vni,
    wg_type,
    wg_sender,
    wg_receiver,
    wg_counter,
    arp_opcode,
    kFieldCount
};

// frame.len/frame.cap_len check the reader and keep the two frame sequences aligned.
constexpr std::array<const char*, kFieldCount> kFieldNames{
    "frame.len",   "frame.cap_len", "ip.src",      "ip.dst",    "ip.proto",    "ip.id",
    "ip.ttl",      "ipv6.src",      "ipv6.dst",    "ipv6.hlim", "udp.srcport", "udp.dstport",
    "tcp.srcport", "tcp.dstport",   "tcp.seq_raw", "icmp.type", "icmp.code",   "icmpv6.type",
    "icmpv6.code", "vxlan.vni",     "geneve.vni",  "wg.type",   "wg.sender",   "wg.receiver",
    "wg.counter",  "arp.opcode",
};

// podtrace decodes each frame on its own; with reassembly on, tshark dissects a fragmented
// datagram's L4 header on the last fragment instead of the first one that carries it.
constexpr std::string_view kTsharkPrefs = "-o ip.defragment:FALSE -o ipv6.defragment:FALSE";

// Where podtrace and tshark legitimately part ways on a file. Every narrowing says why, and the
// frames it let through are counted in the file's summary line.
struct FileRule {
    std::string_view file{};           // relative to the captures folder
    std::uint16_t wireguard_port = 0;  // as a user would pass it with a flag
    std::string_view tshark_args{};    // extra tshark arguments
    // tshark gives up before podtrace does: tshark's occurrences need only be a prefix of ours.
    bool tshark_stops_early = false;
    // tshark reads on where podtrace stops: ours need only be a prefix of tshark's.
    std::vector<Field> podtrace_prefix{};
    // Not compared on frames podtrace ends with `skipped_when` (Reason::none: on every frame).
    std::vector<Field> skipped{};
    pd::Reason skipped_when = pd::Reason::none;
    std::string_view why{};
};

const std::vector<FileRule>& file_rules() {
    static const std::vector<FileRule> rules{
        {.file = "zeek-spicy-wireguard/testing/Traces/wireguard.pcap",
         .wireguard_port = 51194,
         .why = "WireGuard on 45965<->51194: podtrace told the port, tshark finds it by heuristic"},
        {.file = "zeek-spicy-wireguard/testing/Traces/tailscale_linux.pcap",
         .wireguard_port = 41641,
         .skipped = {wg_type, wg_sender, wg_receiver, wg_counter},
         .skipped_when = pd::Reason::wireguard_bad_message,
         .why = "Tailscale mixes disco messages into WireGuard's port 41641: going by port, "
                "podtrace calls them malformed WireGuard, tshark's heuristic leaves them as "
                "data; wg.* not compared on those frames"},
        {.file = "zeek/testing/btest/Traces/tunnels/gre-over-udp-4754.pcap",
         .tshark_args = "-d udp.port==4754,data",
         .why = "GRE-in-UDP (RFC 8086, port 4754) is payload to podtrace; tshark told the same"},
        {.file = "tcpdump/tests/bigtcp-ipv4-vxlan-ipv4.pcap",
         .tshark_stops_early = true,
         .why = "BIG TCP: tshark rejects UDP length 0 and stops; podtrace reads on by design"},
        {.file = "tcpdump/tests/bigtcp-ipv4-geneve-ipv4.pcap",
         .tshark_stops_early = true,
         .why = "BIG TCP: tshark rejects UDP length 0 and stops; podtrace reads on by design"},
        {.file = "tcpdump/tests/bigtcp-ipv6-vxlan-ipv6.pcap",
         .tshark_stops_early = true,
         .why = "BIG TCP: tshark throws on IPv6 payload length 0 before any UDP field"},
        {.file = "tcpdump/tests/icmpv6-rfc7112.pcap",
         .podtrace_prefix = {ipv6_hlim},
         .why = "the quoted first fragment says IPv6 (41) follows; tshark prints the hop limit "
                "of the 8-byte stub, podtrace decodes one IP header per quote"},
    };
    return rules;
}

bool has(const std::vector<Field>& v, std::size_t f) {
    return std::find(v.begin(), v.end(), Field(f)) != v.end();
}

const FileRule* rule_for(std::string_view rel) {
    for (const auto& r : file_rules())
        if (r.file == rel) return &r;
    return nullptr;
}

using Values = std::array<std::vector<std::string>, kFieldCount>;

std::string dec(std::uint64_t v) {
    return std::to_string(v);
}

std::string hex(std::uint32_t v, int digits) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%0*x", digits, v);
    return buf;
}

std::string addr(const pd::Addr& a, std::uint8_t version) {
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(version == 4 ? AF_INET : AF_INET6, a.data(), buf, sizeof buf)) return "?";
    return buf;
}

// podtrace's layers, outer to inner, as tshark prints each field.
Values podtrace_values(const pd::Decoded& d) {
    Values v;
    v[frame_len].push_back(dec(d.wirelen));
    v[frame_cap_len].push_back(dec(d.caplen));
    for (std::size_t i = 0; i < d.nlayers && i < d.layers.size(); ++i) {
        const pd::Layer& l = d.layers[i];
        switch (l.proto) {
            case pd::Proto::ipv4:
            case pd::Proto::ipv6:
                if (l.ip.version == 4) {
                    v[ip_src].push_back(addr(l.ip.src, 4));
                    v[ip_dst].push_back(addr(l.ip.dst, 4));
                    v[ip_proto].push_back(dec(l.ip.proto));
                    v[ip_id].push_back(hex(l.ip.id, 4));
                    v[ip_ttl].push_back(dec(l.ip.ttl));
                } else {
                    v[ipv6_src].push_back(addr(l.ip.src, 6));
                    v[ipv6_dst].push_back(addr(l.ip.dst, 6));
                    v[ipv6_hlim].push_back(dec(l.ip.ttl));
                }
                break;
            case pd::Proto::udp:
                v[udp_srcport].push_back(dec(l.udp.sport));
                v[udp_dstport].push_back(dec(l.udp.dport));
                break;
            case pd::Proto::tcp:
                if (l.tcp.captured >= 4) {
                    v[tcp_srcport].push_back(dec(l.tcp.sport));
                    v[tcp_dstport].push_back(dec(l.tcp.dport));
                }
                if (l.tcp.captured >= 8) v[tcp_seq_raw].push_back(dec(l.tcp.seq));
                break;
            case pd::Proto::icmp:
                v[icmp_type].push_back(dec(l.icmp.type));
                v[icmp_code].push_back(dec(l.icmp.code));
                break;
            case pd::Proto::icmpv6:
                v[icmpv6_type].push_back(dec(l.icmp.type));
                v[icmpv6_code].push_back(dec(l.icmp.code));
                break;
            case pd::Proto::vxlan: v[vxlan_vni].push_back(dec(l.vxlan.vni)); break;
            case pd::Proto::geneve: v[geneve_vni].push_back(hex(l.geneve.vni, 6)); break;
            case pd::Proto::wireguard:
                v[wg_type].push_back(dec(l.wg.type));
                if (l.wg.type == 1 || l.wg.type == 2) v[wg_sender].push_back(hex(l.wg.sender, 8));
                if (l.wg.type >= 2 && l.wg.type <= 4)
                    v[wg_receiver].push_back(hex(l.wg.receiver, 8));
                if (l.wg.type == 4) v[wg_counter].push_back(dec(l.wg.counter));
                break;
            case pd::Proto::arp: v[arp_opcode].push_back(dec(l.arp.op)); break;
            default: break;
        }
    }
    return v;
}




struct TsharkRecord {
    std::string number;
    bool packet = false;  // pcapng blocks that are not packets (NRB, custom) have no encap type
    std::array<std::vector<std::string>, kFieldCount> fields;
};



// Runs tshark on one file; an empty `error` means `out` holds one record per tshark frame.
std::vector<TsharkRecord> run_tshark(const fs::path& file, std::string_view extra,
                                     std::string& error) {
    const fs::path err_file =
        fs::temp_directory_path() / ("podtrace-tshark-" + std::to_string(::getpid()) + ".err");
    std::string cmd =
        "tshark -n -r " + shell_quote(file.string()) + " " + std::string(kTsharkPrefs);
    if (!extra.empty()) cmd += " " + std::string(extra);
    cmd += " -T fields -E occurrence=a -E aggregator=, -E separator=/t";
    cmd += " -e frame.number -e frame.encap_type";
    for (const char* f : kFieldNames) cmd += std::string(" -e ") + f;
    cmd += " 2>" + shell_quote(err_file.string());

    std::vector<TsharkRecord> out;
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
        error = "popen failed: " + cmd;
        return out;
    }
    std::string text;
    char buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) text.append(buf, n);
    const int status = ::pclose(pipe);
    if (status != 0) {
        std::ifstream in(err_file);
        const std::string err{std::istreambuf_iterator<char>(in), {}};
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        error = "`" + cmd + "` exited with status " + std::to_string(code) + ": " + err;
    }
    std::error_code ec;
    fs::remove(err_file, ec);
    if (!error.empty()) return out;

    for (const auto& line : split(text, '\n')) {
        if (line.empty()) continue;
        const auto cols = split(line, '\t');
        if (cols.size() != 2 + kFieldCount) {
            error = "unexpected tshark line (" + std::to_string(cols.size()) + " columns): " + line;
            return out;
        }
        TsharkRecord r;
        r.number = cols[0];
        r.packet = !cols[1].empty();
        for (std::size_t f = 0; f < kFieldCount; ++f) r.fields[f] = split(cols[2 + f], ',');
        out.push_back(std::move(r));
    }
    return out;
}

fs::path captures_dir(std::string& source) {
    if (const char* env = std::getenv("PODTRACE_SHARED_CAPTURES"); env != nullptr && *env) {
        source = "PODTRACE_SHARED_CAPTURES";
        return env;
    }
    source = "PODTRACE_SHARED_CAPTURES_DEFAULT";
    return PODTRACE_SHARED_CAPTURES_DEFAULT;
}

std::vector<fs::path> capture_files(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        const auto ext = e.path().extension();
        if (ext == ".pcap" || ext == ".pcapng") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

struct FileResult {
    std::uint64_t frames = 0;
    std::uint64_t narrowed = 0;  // frames that differ only where a rule or a partial decode allows
    std::vector<std::string> mismatches;
};

pd::Ports ports_for(const FileRule* rule) {
    pd::Ports ports;
    if (rule != nullptr && rule->wireguard_port != 0) {
        auto slot = std::find(ports.wireguard.begin(), ports.wireguard.end(), 0);
        if (slot != ports.wireguard.end()) *slot = rule->wireguard_port;
    }
    return ports;
}

FileResult compare_file(const fs::path& path, const std::string& rel, const FileRule* rule,
                        pd::Stats& stats) {
    FileResult res;
    std::string error;
    const auto records = run_tshark(path, rule ? rule->tshark_args : "", error);
    if (!error.empty()) {
        res.mismatches.push_back(error);
        return res;
    }
    auto file = pp::CaptureFile::open(path.string());
    if (!file) {
        res.mismatches.push_back("podtrace cannot open: " + file.error().message);
        return res;
    }

    pd::Decoder decoder(ports_for(rule));
    pd::Decoded d;
    podtrace::core::Frame frame;
    std::size_t rec = 0;
    std::uint64_t podtrace_frames = 0;
    for (;;) {
        const auto next = file->next(frame);
        if (next == pp::CaptureFile::Read::error) {
            res.mismatches.push_back("podtrace reader error after " +
                                     std::to_string(podtrace_frames) +
                                     " frames: " + file->error().message);
            break;
        }
        if (next == pp::CaptureFile::Read::end) break;
        ++podtrace_frames;
        decoder.decode(frame, d);
        while (rec < records.size() && !records[rec].packet) ++rec;
        if (rec == records.size()) continue;  // counted below
        const TsharkRecord& t = records[rec++];
        ++res.frames;

        const Values p = podtrace_values(d);
        const bool partial = d.status != pd::Status::ok;
        bool narrowed = false;
        for (std::size_t f = 0; f < kFieldCount; ++f) {
            const auto& pv = p[f];
            const auto& tv = t.fields[f];
            if (pv == tv) continue;
            const bool skip =
                rule && has(rule->skipped, f) &&
                (rule->skipped_when == pd::Reason::none || rule->skipped_when == d.reason);
            // A frame podtrace could not decode fully is compared over the layers it did decode.
            const bool ours_prefix = partial || (rule && has(rule->podtrace_prefix, f));
            const bool theirs_prefix = rule && rule->tshark_stops_early;
            if (skip || (ours_prefix && is_prefix(pv, tv)) ||
                (theirs_prefix && is_prefix(tv, pv))) {
                narrowed = true;
                continue;
            }
            std::ostringstream m;
            m << rel << " frame " << t.number;
            if (std::to_string(podtrace_frames) != t.number)
                m << " (podtrace frame " << podtrace_frames << ")";
            m << ": " << kFieldNames[f] << " podtrace='" << join(pv) << "' tshark='" << join(tv)
              << "' [podtrace " << pd::status_name(d.status) << "/" << pd::reason_name(d.reason)
              << "]";
            res.mismatches.push_back(m.str());
        }
        res.narrowed += narrowed;
    }
    std::size_t tshark_packets = 0;
    for (const auto& r : records) tshark_packets += r.packet;
    if (tshark_packets != podtrace_frames) {
        res.mismatches.push_back(rel + ": podtrace read " + std::to_string(podtrace_frames) +
                                 " frames, tshark " + std::to_string(tshark_packets) + " packets");
    }
    stats.merge(decoder.stats());

    const pd::Stats& s = decoder.stats();
    std::ostringstream line;
    line << "tshark oracle: " << rel << ": " << s.frames << " frames (";
    for (std::size_t i = 0; i < s.by_status.size(); ++i)
        line << (i ? ", " : "") << pd::status_name(pd::Status(i)) << " " << s.by_status[i];
    line << ")";
    for (std::size_t i = 1; i < pd::kReasonCount; ++i)
        if (s.by_reason[i] != 0)
            line << " " << pd::reason_name(pd::Reason(i)) << "=" << s.by_reason[i];
    line << ", " << res.narrowed << " frames compared partially, " << res.mismatches.size()
         << " mismatches";
    if (rule) line << "; rule: " << rule->why;
    std::cout << line.str() << '\n';
    return res;
}

}  // namespace

TEST_CASE("decoded fields match tshark on every public capture", "[tshark]") {
    std::string source;
    const fs::path dir = captures_dir(source);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        WARN("skipped: captures folder " << dir << " (from " << source << ") is absent");
        return;
    }
    if (!on_path("tshark")) {
        WARN("skipped: tshark is not on PATH");
        return;
    }

    const auto files = capture_files(dir);
    REQUIRE_FALSE(files.empty());
    for (const auto& r : file_rules()) {
        INFO("rule names a file that is not in " << dir);
        CHECK(fs::exists(dir / r.file));
    }

    pd::Stats total;
    std::uint64_t compared = 0, narrowed = 0, mismatches = 0;
    for (const auto& path : files) {
        const std::string rel = fs::relative(path, dir).generic_string();
        const FileResult res = compare_file(path, rel, rule_for(rel), total);
        compared += res.frames;
        narrowed += res.narrowed;
        mismatches += res.mismatches.size();
        if (res.mismatches.empty()) continue;
        std::ostringstream m;
        m << rel << ": " << res.mismatches.size() << " mismatches";
        for (std::size_t i = 0; i < res.mismatches.size() && i < 20; ++i)
            m << "\n  " << res.mismatches[i];
        if (res.mismatches.size() > 20) m << "\n  ...";
        FAIL_CHECK(m.str());
    }
    std::cout << "tshark oracle: " << files.size() << " files, " << total.frames
              << " frames decoded, " << compared << " compared with tshark (" << narrowed
              << " partially), " << mismatches << " mismatches\n";
}
