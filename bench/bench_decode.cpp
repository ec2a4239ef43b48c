// podtrace_bench: CPU cost per packet of reading and decoding one capture, in one run:
// libpcap with an empty callback (the floor), libtins, podtrace, and the tcpdump and tshark
// binaries. Each is run R times, interleaved, and the minimum CPU time is kept.
#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <tins/pdu.h>
#include <tins/sniffer.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "decode/decoder.hpp"
#include "probes/capture_file.hpp"

namespace {

using podtrace::core::Frame;
using podtrace::decode::Decoded;
using podtrace::decode::Decoder;
using podtrace::decode::Reason;
using podtrace::decode::Stats;
using podtrace::decode::Status;
using podtrace::probes::CaptureFile;

#ifndef PODTRACE_BENCH_BUILD_TYPE
#define PODTRACE_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef PODTRACE_BENCH_SANITIZER
#define PODTRACE_BENCH_SANITIZER "unknown"
#endif

struct Options {
    std::string file;
    std::vector<std::string> more_files;  // --floor-only reads several
    bool floor_only = false;
    unsigned repeat = 5;
    bool tcpdump = true;
    bool tshark = true;
    std::uint64_t tshark_packets = 0;  // 0: the whole file
};

double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wall_now() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

double tv_s(const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
}

struct Sample {
    std::uint64_t packets = 0;
    double cpu_s = 0, wall_s = 0;
};

// One row of the table: the best of R samples.
struct Row {
    std::string name;
    std::string note;
    std::uint64_t packets = 0;  // read by this reader (external tools: as asked with -c)
    bool counted = true;        // false: external tool, its count is not observable
    double cpu_s = std::numeric_limits<double>::infinity();
    double wall_s = std::numeric_limits<double>::infinity();
    bool failed = false;
    bool skipped = false;
    // Scaled rows ran on `packets` (>= 2) of `file_packets`. Startup (the same run on one packet)
    // is counted once, not multiplied: tshark spends a large fixed time loading dissectors.
    bool scaled = false;
    std::uint64_t file_packets = 0;
    double start_cpu_s = 0, start_wall_s = 0;

    void add(const Sample& s) {
        packets = s.packets;
        cpu_s = std::min(cpu_s, s.cpu_s);
        wall_s = std::min(wall_s, s.wall_s);
    }
    double whole(double measured, double start) const {
        if (!scaled) return measured;
        return start + (measured - start) * static_cast<double>(file_packets - 1) /
                           static_cast<double>(packets - 1);
    }
    double whole_cpu_s() const { return whole(cpu_s, start_cpu_s); }
    double whole_wall_s() const { return whole(wall_s, start_wall_s); }
    double ns_per_packet() const {
        std::uint64_t n = scaled ? file_packets : packets;
        return n ? whole_cpu_s() * 1e9 / static_cast<double>(n) : 0;
    }
};

template <class F>
Sample measure_in_process(F&& read) {
    double c0 = cpu_now(), w0 = wall_now();
    std::uint64_t n = read();
    return Sample{n, cpu_now() - c0, wall_now() - w0};
}

struct PcapCloser {
    void operator()(pcap_t* p) const { pcap_close(p); }
};

std::uint64_t read_libpcap(const std::string& path) {
    char err[PCAP_ERRBUF_SIZE] = {};
    std::unique_ptr<pcap_t, PcapCloser> p(pcap_open_offline(path.c_str(), err));
    if (!p) throw std::runtime_error("libpcap: " + std::string(err));
    std::uint64_t n = 0;
    auto count = [](u_char* user, const pcap_pkthdr*, const u_char*) {
        ++*reinterpret_cast<std::uint64_t*>(user);
    };
    if (pcap_loop(p.get(), -1, count, reinterpret_cast<u_char*>(&n)) == PCAP_ERROR)
        throw std::runtime_error("libpcap: " + std::string(pcap_geterr(p.get())));
    return n;
}

std::uint64_t read_libtins(const std::string& path) {
    Tins::FileSniffer sniffer(path);
    std::uint64_t n = 0;
    sniffer.sniff_loop([&n](Tins::PDU&) {
        ++n;
        return true;
    });
    return n;
}

CaptureFile open_capture(const std::string& path) {
    auto file = CaptureFile::open(path);
    if (!file) throw std::runtime_error("podtrace: " + file.error().message);
    return std::move(*file);
}

void check_end(CaptureFile::Read last, const CaptureFile& file) {
    if (last == CaptureFile::Read::error)
        throw std::runtime_error("podtrace: " + file.error().message);
}

// Reading alone, to show what the decoder adds on top of it.
std::uint64_t read_podtrace(const std::string& path, std::uint64_t& sink) {
    CaptureFile file = open_capture(path);
    Frame frame;
    std::uint64_t n = 0;
    CaptureFile::Read r;
    while ((r = file.next(frame)) == CaptureFile::Read::frame) {
        sink += frame.bytes.size();
        ++n;
    }
    check_end(r, file);
    return n;
}

std::uint64_t decode_podtrace(const std::string& path, std::uint64_t& fingerprints, Stats& stats) {
    CaptureFile file = open_capture(path);
    Decoder decoder;
    Frame frame;
    Decoded decoded;
    std::uint64_t n = 0;
    CaptureFile::Read r;
    while ((r = file.next(frame)) == CaptureFile::Read::frame) {
        decoder.decode(frame, decoded);
        fingerprints ^= decoded.fingerprint;
        ++n;
    }
    check_end(r, file);
    stats = decoder.stats();
    return n;
}

struct ChildResult {
    int status = 0;
    double cpu_s = 0, wall_s = 0;
    std::string stderr_text;
};

// fork/exec with stdout to /dev/null; the child's own rusage (user+sys) is its CPU time.
ChildResult run_child(const std::vector<std::string>& args) {
    int err_pipe[2];
    if (pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    double w0 = wall_now();
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(err_pipe[1], 2);
        execvp(argv[0], argv.data());
        std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
        _exit(127);
    }
    close(err_pipe[1]);
    ChildResult out;
    char buf[4096];
    ssize_t got;
    while ((got = read(err_pipe[0], buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR))
        if (got > 0 && out.stderr_text.size() < 16384) out.stderr_text.append(buf, got);
    close(err_pipe[0]);
    rusage ru{};
    while (wait4(pid, &out.status, 0, &ru) < 0 && errno == EINTR) {
    }
    out.wall_s = wall_now() - w0;
    out.cpu_s = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
    return out;
}

std::string last_line(std::string s) {
    while (!s.empty() && s.back() == '\n') s.pop_back();
    auto nl = s.rfind('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
}

void run_external(Row& row, const std::vector<std::string>& args) {
    if (row.skipped || row.failed) return;
    ChildResult r = run_child(args);
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 127) {
        row.skipped = true;
        row.note = last_line(r.stderr_text);
        return;
    }
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
        row.failed = true;
        row.note = "failed: " + last_line(r.stderr_text);
        return;
    }
    row.add(Sample{row.packets, r.cpu_s, r.wall_s});
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("model name")) {
            auto colon = line.find(':');
            if (colon != std::string::npos)
                return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown";
}

int usage(const char* msg) {
    if (msg) std::fprintf(stderr, "podtrace_bench: %s\n", msg);
    std::fprintf(stderr,
                 "usage: podtrace_bench FILE [--repeat R=5] [--no-tcpdump] [--no-tshark]\n"
                 "                      [--tshark-packets N]  (tshark -c N, CPU scaled to FILE)\n"
                 "       podtrace_bench --floor-only FILE...  (libpcap empty callback only, once;\n"
                 "                      for timing another program's run over the same files)\n");
    return 2;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
}

std::optional<int> parse_args(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") return usage(nullptr), 0;
        if (a == "--floor-only") {
            o.floor_only = true;
        } else if (a == "--no-tshark") {
            o.tshark = false;
        } else if (a == "--no-tcpdump") {
            o.tcpdump = false;
        } else if (a == "--repeat" || a == "--tshark-packets") {
            std::uint64_t v = 0;
            if (i + 1 >= argc || !parse_u64(argv[++i], v))
                return usage("--repeat and --tshark-packets take a non-negative integer");
            if (a == "--repeat") {
                if (v < 1 || v > 1000) return usage("--repeat must be 1..1000");
                o.repeat = static_cast<unsigned>(v);
            } else {
                if (v == 1) return usage("--tshark-packets must be 0 (all) or at least 2");
                o.tshark_packets = v;
            }
        } else if (a.starts_with("-")) {
            return usage("unknown option");
        } else if (o.file.empty()) {
            o.file = a;
        } else {
            o.more_files.emplace_back(a);
        }
    }
    if (o.file.empty()) return usage("missing FILE");
    if (!o.more_files.empty() && !o.floor_only) return usage("only one capture file");
    return std::nullopt;
}

void print_row(const Row& r, double floor_ns) {
    if (r.skipped || r.failed) {
        std::printf("%-32s %s\n", r.name.c_str(), r.note.c_str());
        return;
    }
    char packets[32];
    std::snprintf(packets, sizeof packets, "%llu%s", static_cast<unsigned long long>(r.packets),
                  r.counted ? "" : "*");
    double ns = r.ns_per_packet();
    std::printf("%-32s %11s %9.3f %9.3f %9.1f %8.2f  %s\n", r.name.c_str(), packets,
                r.whole_cpu_s(), r.whole_wall_s(), ns, floor_ns > 0 ? ns / floor_ns : 0.0,
                r.note.c_str());
}

void print_stats(const Stats& s) {
    std::printf("\npodtrace decode outcome (one pass): %llu frames",
                static_cast<unsigned long long>(s.frames));
    for (std::size_t i = 0; i < s.by_status.size(); ++i)
        std::printf(", %s %llu", podtrace::decode::status_name(static_cast<Status>(i)),
                    static_cast<unsigned long long>(s.by_status[i]));
    std::printf("\n");
    for (std::size_t i = 0; i < s.by_reason.size(); ++i) {
        auto reason = static_cast<Reason>(i);
        if (reason == Reason::none || s.by_reason[i] == 0) continue;
        std::printf("  %-28s %llu\n", podtrace::decode::reason_name(reason),
                    static_cast<unsigned long long>(s.by_reason[i]));
    }
}

void print_target(const char* what, double value, const char* target, bool met) {
    std::printf("%s = %.2f (target %s)  %s\n", what, value, target, met ? "met" : "NOT MET");
}

int run(const Options& o) {
    std::error_code ec;
    auto file_size = std::filesystem::file_size(o.file, ec);
    if (ec) {
        std::fprintf(stderr, "podtrace_bench: %s: %s\n", o.file.c_str(), ec.message().c_str());
        return 2;
    }

    Row floor{.name = "libpcap pcap_loop (floor)", .note = "empty callback"};
    Row pt_read{.name = "podtrace CaptureFile only", .note = "read frames, no decode"};
    Row pt{.name = "podtrace read+decode", .note = "CaptureFile + Decoder::decode, fingerprint"};
    Row tins{.name = "libtins FileSniffer", .note = "sniff_loop building PDUs"};
    Row tcpdump{.name = "tcpdump -n -r", .note = "stdout to /dev/null", .counted = false};
    Row tshark{.name = "tshark -n -r", .note = "stdout to /dev/null", .counted = false};

    // The floor first, once: it gives the packet count the external tools are asked for.
    std::uint64_t total = read_libpcap(o.file);
    tcpdump.packets = total;
    tcpdump.skipped = !o.tcpdump;
    if (!o.tcpdump) tcpdump.note = "skipped (--no-tcpdump)";
    std::vector<std::string> tshark_args{"tshark", "-n", "-r", o.file};
    tshark.packets = total;
    Row tshark_one{.name = "tshark -c 1", .note = "startup"};
    tshark_one.skipped = true;
    if (o.tshark_packets > 0 && o.tshark_packets < total) {
        tshark_args.insert(tshark_args.end(), {"-c", std::to_string(o.tshark_packets)});
        tshark.packets = o.tshark_packets;
        tshark.scaled = true;
        tshark.file_packets = total;
        tshark.name = "tshark -n -r -c " + std::to_string(o.tshark_packets) + " SCALED";
        tshark_one.skipped = !o.tshark;
        tshark_one.packets = 1;
    }
    std::vector<std::string> tshark_one_args{"tshark", "-n", "-r", o.file, "-c", "1"};
    tshark.skipped = !o.tshark;
    if (!o.tshark) tshark.note = "skipped (--no-tshark)";

    std::uint64_t sink = 0, fingerprints = 0;
    Stats stats;
    std::vector<std::string> inconsistent;
    auto track = [&inconsistent](Row& row, const Sample& s) {
        if (row.cpu_s != std::numeric_limits<double>::infinity() && s.packets != row.packets)
            inconsistent.push_back(row.name + " counted differently between repeats");
        row.add(s);
    };
    // Interleaved so that noise from other load spreads over all readers alike.
    for (unsigned rep = 0; rep < o.repeat; ++rep) {
        track(floor, measure_in_process([&] { return read_libpcap(o.file); }));
        track(pt_read, measure_in_process([&] { return read_podtrace(o.file, sink); }));
        fingerprints = 0;
        track(pt, measure_in_process([&] { return decode_podtrace(o.file, fingerprints, stats); }));
        track(tins, measure_in_process([&] { return read_libtins(o.file); }));
        run_external(tcpdump, {"tcpdump", "-n", "-r", o.file});
        run_external(tshark, tshark_args);
        run_external(tshark_one, tshark_one_args);
    }
    if (tshark.scaled && !tshark.skipped) {
        char note[200];
        std::snprintf(note, sizeof note,
                      "SCALED to the whole file: startup (-c 1: %.2f s CPU) once + the rest "
                      "x%.1f; stdout to /dev/null",
                      tshark_one.cpu_s,
                      static_cast<double>(total - 1) / static_cast<double>(tshark.packets - 1));
        tshark.start_cpu_s = tshark_one.cpu_s;
        tshark.start_wall_s = tshark_one.wall_s;
        tshark.note = note;
        if (tshark_one.failed) {
            tshark.failed = true;
            tshark.note = tshark_one.note;
        }
    }

    std::printf("machine: %s, %u cores\n", cpu_model().c_str(),
                static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN)));
    std::printf("build: %s, sanitizer %s; %s\n", PODTRACE_BENCH_BUILD_TYPE,
                PODTRACE_BENCH_SANITIZER, pcap_lib_version());
    std::printf("file: %s, %llu bytes (%.1f MB), %llu packets, %.0f bytes/packet\n", o.file.c_str(),
                static_cast<unsigned long long>(file_size), file_size / 1e6,
                static_cast<unsigned long long>(total),
                total ? static_cast<double>(file_size) / total : 0.0);
    std::printf(
        "minimum of %u runs each, CPU = user+sys of the process (external: of the child)\n\n",
        o.repeat);
    std::printf("%-32s %11s %9s %9s %9s %8s\n", "reader", "packets", "CPU s", "wall s", "ns/pkt",
                "x floor");
    double floor_ns = floor.ns_per_packet();
    for (const Row* r : {&floor, &pt_read, &pt, &tins, &tcpdump, &tshark}) print_row(*r, floor_ns);
    std::printf(
        "* not counted: an external tool's output goes to /dev/null; its exit status is "
        "checked\n\n");

    double pt_ns = pt.ns_per_packet();
    print_target("podtrace / floor", pt_ns / floor_ns, "<= 1.25", pt_ns / floor_ns <= 1.25);
    print_target("libtins / podtrace", tins.ns_per_packet() / pt_ns, ">= 2",
                 tins.ns_per_packet() / pt_ns >= 2);

    print_stats(stats);
    std::printf("xor of fingerprints: %016llx (bytes read check %llu)\n",
                static_cast<unsigned long long>(fingerprints),
                static_cast<unsigned long long>(sink));

    int rc = 0;
    for (const Row* r : {&floor, &pt_read, &pt, &tins}) {
        if (r->packets != total) {
            std::fprintf(stderr, "podtrace_bench: %s counted %llu packets, libpcap %llu\n",
                         r->name.c_str(), static_cast<unsigned long long>(r->packets),
                         static_cast<unsigned long long>(total));
            rc = 1;
        }
    }
    if (stats.frames != total) {
        std::fprintf(stderr, "podtrace_bench: Decoder::stats() counted %llu frames, libpcap %llu\n",
                     static_cast<unsigned long long>(stats.frames),
                     static_cast<unsigned long long>(total));
        rc = 1;
    }
    for (const auto& msg : inconsistent) {
        std::fprintf(stderr, "podtrace_bench: %s\n", msg.c_str());
        rc = 1;
    }
    for (const Row* r : {&tcpdump, &tshark}) {
        if (r->failed) {
            std::fprintf(stderr, "podtrace_bench: %s %s\n", r->name.c_str(), r->note.c_str());
            rc = 1;
        }
    }
    return rc;
}

}  // namespace

// The floor alone, as a process: its CPU time (from outside, e.g. /usr/bin/time) is comparable
// with another whole program's over the same files, startup and page cache reads included.
int run_floor_only(const Options& o) {
    std::uint64_t total = read_libpcap(o.file);
    for (const auto& f : o.more_files) total += read_libpcap(f);
    std::printf("%llu packets\n", static_cast<unsigned long long>(total));
    return 0;
}

int main(int argc, char** argv) {
    Options o;
    if (auto rc = parse_args(argc, argv, o)) return *rc;
    try {
        return o.floor_only ? run_floor_only(o) : run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "podtrace_bench: %s\n", e.what());
        return 1;
    }
}
