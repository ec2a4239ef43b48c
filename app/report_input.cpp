// `podtrace report`, input stage: captures -> decoded frames -> sightings on one corrected
// timeline, merged across files in timestamp order (CaptureReader, shared with `tui -r`), into
// the tracer.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <expected>
#include <fstream>
#include <new>
#include <optional>
#include <ostream>
#include <sstream>

#include "app/capture_input.hpp"
#include "core/error.hpp"
#include "probes/capture_file.hpp"
#include "probes/capture_point.hpp"
#include "trace/topology.hpp"

namespace podtrace::app {
namespace {

using probes::CaptureFile;

// A file's sightings in timestamp order, waiting for the merge. Most files arrive in order and
// a sighting only goes to the back; one that is late (dumpcap writes each interface's frames as
// its thread gets them) is inserted where it belongs. A ring over one vector: no allocation per
// frame once it has grown.
class Held {
public:
    bool empty() const { return size_ == 0; }
    std::size_t size() const { return size_; }
    const trace::Sighting& front() const { return ring_[head_]; }
    void pop() {
        head_ = (head_ + 1) & (ring_.size() - 1);
        --size_;
    }
    // The slot the next sighting is built in, in place; file() then puts it in order.
    trace::Sighting& back() {
        if (size_ == ring_.size()) grow();
        return ring_[(head_ + size_) & (ring_.size() - 1)];
    }
    void file() {
        const std::size_t mask = ring_.size() - 1;
        std::size_t i = size_++;
        const std::int64_t ts = ring_[(head_ + i) & mask].ts_ns;
        if (i == 0 || ring_[(head_ + i - 1) & mask].ts_ns <= ts) return;
        const trace::Sighting late = ring_[(head_ + i) & mask];
        for (; i > 0 && ring_[(head_ + i - 1) & mask].ts_ns > ts; --i)
            ring_[(head_ + i) & mask] = ring_[(head_ + i - 1) & mask];
        ring_[(head_ + i) & mask] = late;
    }

private:
    void grow() {
        std::vector<trace::Sighting> bigger(ring_.empty() ? 256 : ring_.size() * 2);
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
        ring_.swap(bigger);
        head_ = 0;
    }
    std::vector<trace::Sighting> ring_;
    std::size_t head_ = 0, size_ = 0;
};

// Sightings a file may hold back for reordering: the reorder window, but never more than this
// many (memory at high packet rates: 4096 is 4 ms at 1M packets/s).
constexpr std::size_t kMaxHeld = 4096;

// The clock pass stops once every node's offset rests on this many sampled packets matched each
// way: with 99% odds the least of 1000 one-way delays lies in their lowest 0.5%.
constexpr std::uint64_t kMinMatches = 1000;
// It asks every this many frames: estimate() takes a few ms.
constexpr std::uint64_t kSettleEvery = 1 << 16;

// One capture file being read: its frames become sightings, held until no later frame of the
// file can be earlier (the file may be out of order by up to `reorder`).
struct Input {
    probes::FileArg spec;
    std::optional<CaptureFile> file;
    std::vector<trace::PointId> points;  // per interface of the file
    std::vector<std::uint64_t> frames_per_if;
    std::int64_t first_ns = INT64_MAX, last_ns = INT64_MIN;
    Held held;
    std::int64_t newest = INT64_MIN;
    std::string error;        // why the file could not be read to its end
    std::string facts_error;  // why the node facts it carries could not be read
    bool done = false;
};

// "\rpodtrace: reading 37%" on stderr while big files are read on a terminal.
class Progress {
public:
    Progress(bool on, std::uint64_t total) : on_(on && total >= (64u << 20)), total_(total) {}
    // Set again once the clock pass has told how much it read.
    void total(std::uint64_t t) { total_ = t; }
    void update(std::uint64_t done) {
        if (!on_) return;
        const auto pct = static_cast<unsigned>(done * 100 / total_);
        if (pct == shown_) return;
        shown_ = pct;
        std::fprintf(stderr, "\rpodtrace: reading %u%%", pct);
    }
    ~Progress() {
        if (on_ && shown_ != ~0u) std::fputs("\r                          \r", stderr);
    }

private:
    bool on_;
    std::uint64_t total_;
    unsigned shown_ = ~0u;
};

std::expected<std::string, Error> slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::unexpected(Error{path + ": cannot open"});
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) return std::unexpected(Error{path + ": read error"});
    return s.str();
}

// Opens (or reopens) the file; on failure writes the error naming it and returns false.
bool open_input(Input& in, std::string_view command, std::ostream& err) {
    auto f = CaptureFile::open(in.spec.path);
    if (!f) {
        err << "podtrace: " << command << ": " << f.error().message << '\n';
        return false;
    }
    in.file.emplace(std::move(*f));
    return true;
}

// The capture points of interfaces the file declared since the last call. Called per frame:
// the check is inline, the naming out of line.
[[gnu::noinline]] void learn_new_interfaces(Input& in, trace::Names& names) {
    const auto& ifs = in.file->interfaces();
    while (in.points.size() < ifs.size()) {
        const auto& i = ifs[in.points.size()];
        const auto at = probes::capture_point(in.spec, i.node, i.name);
        in.points.push_back(trace::make_point(names, at.node, at.interface));
        in.frames_per_if.push_back(0);
    }
}
inline void learn_interfaces(Input& in, trace::Names& names) {
    if (in.points.size() < in.file->interfaces().size()) learn_new_interfaces(in, names);
}

// ts - shift, saturating: an Interface Statistics Block's time is whatever the file says.
std::int64_t shifted(std::int64_t ts, std::int64_t shift) {
    std::int64_t out = 0;
    if (!__builtin_sub_overflow(ts, shift, &out)) return out;
    return shift > 0 ? INT64_MIN : INT64_MAX;
}

std::uint64_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
}

}  // namespace

bool load_inventory(const ReportOptions& opt, trace::Inventory& inv, std::string_view command,
                    std::ostream& err) {
    using Adder =
        std::expected<void, Error> (trace::Inventory::*)(std::string_view);
    const std::pair<const std::vector<std::string>*, std::pair<const char*, Adder>> sets[] = {
        {&opt.pods_json, {"--pods", &trace::Inventory::add_pods}},
        {&opt.services_json, {"--services", &trace::Inventory::add_services}},
        {&opt.nodes_json, {"--nodes", &trace::Inventory::add_nodes}},
    };
    for (const auto& [files, what] : sets) {
        for (const std::string& f : *files) {
            auto text = slurp(f);
            if (!text) {
                err << "podtrace: " << command << ": " << what.first << ' ' << text.error().message << '\n';
                return false;
            }
            if (auto r = (inv.*what.second)(*text); !r) {
                err << "podtrace: " << command << ": " << what.first << ' ' << f << ": "
                    << r.error().message << '\n';
                return false;
            }
        }
    }
    return true;
}

NodeAddresses node_addresses(const trace::NodeFacts& facts) {
    NodeAddresses a;
    if (facts.nic)
        for (const trace::Cidr& c : facts.nic->addresses) a.own.push_back(c.base);
    for (const trace::FactsLink& t : facts.tunnels)
        for (const trace::Cidr& c : t.addresses) a.own.push_back(c.base);
    for (const auto& [veth, ips] : facts.pods) a.pods.insert(a.pods.end(), ips.begin(), ips.end());
    return a;
}

void infer_direction(trace::Sighting& s, const std::vector<NodeAddresses>& by_node) {
    if (s.direction != core::Direction::unknown || s.at.kind == trace::PointKind::pod_veth ||
        s.at.node >= by_node.size() || s.ip_version == 0)
        return;
    const NodeAddresses& n = by_node[s.at.node];
    const auto in = [](const std::vector<trace::IpAddr>& v, const decode::Addr& a,
                       std::uint8_t version) {
        return std::ranges::find(v, trace::IpAddr{a, version}) != v.end();
    };
    bool out = false, inbound = false;
    if (s.encapsulated()) {
        out = in(n.own, s.outer_src, s.outer_version);
        inbound = in(n.own, s.outer_dst, s.outer_version);
    } else {
        out = in(n.own, s.src, s.ip_version) || in(n.pods, s.src, s.ip_version);
        inbound = in(n.own, s.dst, s.ip_version) || in(n.pods, s.dst, s.ip_version);
    }
    if (out != inbound)
        s.direction = out ? core::Direction::outbound : core::Direction::inbound;
}

struct CaptureReader::Impl {
    Impl(const ReportOptions& o, ReportData& d) : opt(o), data(d) {}
    void fill(Input& in);
    const trace::Sighting* next();

    const ReportOptions& opt;
    ReportData& data;
    FrameHook hook;
    std::vector<Input> inputs;
    std::vector<NodeAddresses> addresses;  // by node id
    std::vector<std::uint16_t> nodes;      // named by the files when opened
    std::uint64_t clock_bytes = 0;         // read by the clock pass
    std::vector<std::int64_t> offset;      // by node id
    bool rereadable = true;
    bool two_pass = false;
    decode::Decoder decoder;
    decode::Decoded d;
    core::Frame f;
    std::int64_t reorder_ns = 0;
    // The input whose front next() returned: popped, and refilled, on the following call.
    Input* pending = nullptr;
};

CaptureReader::CaptureReader(const ReportOptions& opt, ReportData& data, std::string command)
    : opt_(opt),
      data_(data),
      command_(std::move(command)),
      impl_(std::make_unique<Impl>(opt, data)) {}

void CaptureReader::on_frame(FrameHook hook) {
    impl_->hook = std::move(hook);
}

CaptureReader::~CaptureReader() = default;

std::size_t CaptureReader::file_count() const {
    return impl_->inputs.size();
}

bool CaptureReader::two_pass() const {
    return impl_->two_pass;
}

std::uint64_t CaptureReader::clock_bytes() const {
    return impl_->clock_bytes;
}

std::uint64_t CaptureReader::bytes_read() const {
    std::uint64_t n = 0;
    for (const Input& in : impl_->inputs)
        if (in.file) n += in.file->bytes_read();
    return n;
}

bool CaptureReader::open(std::ostream& err) {
    if (!load_inventory(opt_, data_.inventory, command_, err)) return false;
    data_.tracer.topology().set_inventory(&data_.inventory);

    Impl& m = *impl_;
    m.inputs.resize(opt_.files.size());
    for (std::size_t i = 0; i < opt_.files.size(); ++i) {
        m.inputs[i].spec = probes::parse_file_arg(opt_.files[i]);
        if (m.inputs[i].spec.path == "-") m.rereadable = false;
        total_ += file_size(m.inputs[i].spec.path);
    }

    // Nodes are known from names and annotations only once a file is open: open all first.
    std::vector<std::uint16_t>& nodes = m.nodes;
    for (Input& in : m.inputs) {
        if (!open_input(in, command_, err)) return false;
        // A pcap's single interface, or a pcapng's first section's, is known once opened; a
        // file's node is the node of its first interface or its annotation.
        const auto at = probes::capture_point(in.spec, in.file->node(), "");
        if (at.node.empty()) continue;
        const std::uint16_t node = data_.names.intern(at.node);
        nodes.push_back(node);
        if (in.file->node_facts().empty()) continue;
        auto facts = trace::parse_node_facts(in.file->node_facts());
        if (!facts) {
            in.facts_error = facts.error().message;
            continue;
        }
        if (m.addresses.size() <= node) m.addresses.resize(node + 1);
        m.addresses[node] = node_addresses(*facts);
        data_.tracer.topology().set_facts(node, std::move(*facts));
    }
    std::ranges::sort(nodes);
    nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
    nodes_ = nodes.size();
    m.two_pass = opt_.clock && nodes.size() > 1 && m.rereadable;
    if (!m.two_pass && nodes.size() > 1)
        data_.clock_note = opt_.clock ? "not estimated: standard input cannot be read twice"
                                      : "not estimated (--no-clock)";
    return true;
}

// Pass 1: fingerprints seen on several nodes, for the clock offsets, until they settle. The files
// are merged by time since each one's first frame, so that a prefix covers the same stretch on
// every node: captures of one incident start together, while node clocks may be seconds apart.
bool CaptureReader::align_clocks(std::ostream& err,
                                 const std::function<void(std::uint64_t)>& progress) {
    Impl& m = *impl_;
    if (m.two_pass) {
        trace::ClockEstimator est;
        decode::Decoder decoder(opt_.ports);
        // Each file's next frame: a view into its own buffer, valid while the others are read.
        struct Pending {
            core::Frame f;
            std::int64_t first_ns = 0;
            bool has = false;
        };
        std::vector<Pending> pending(m.inputs.size());
        const auto advance = [&](std::size_t i) {
            Input& in = m.inputs[i];
            pending[i].has = in.file->next(pending[i].f) == CaptureFile::Next::frame;
            if (pending[i].has) learn_interfaces(in, data_.names);
        };
        for (std::size_t i = 0; i < m.inputs.size(); ++i) {
            if (!open_input(m.inputs[i], command_, err)) return false;
            advance(i);
            pending[i].first_ns = pending[i].f.ts_ns;
        }
        std::vector<std::uint16_t> named;
        const auto settled = [&] {
            // Interfaces declared since opening may name more nodes.
            named = m.nodes;
            for (const Input& in : m.inputs)
                for (const trace::PointId p : in.points) named.push_back(p.node);
            return est.settled(named, kMinMatches);
        };
        std::uint64_t frames = 0;
        std::int64_t reach = 0;
        bool stopped = false;
        for (;;) {
            std::size_t i = pending.size();
            std::int64_t since = 0;
            for (std::size_t j = 0; j < pending.size(); ++j) {
                if (!pending[j].has) continue;
                const std::int64_t t = shifted(pending[j].f.ts_ns, pending[j].first_ns);
                if (i == pending.size() || t < since) i = j, since = t;
            }
            if (i == pending.size()) break;
            if (frames && frames % kSettleEvery == 0) {
                if (progress) progress(bytes_read());
                if (!opt_.clock_full && settled()) {
                    stopped = true;
                    break;
                }
            }
            ++frames;
            reach = std::max(reach, since);
            Input& in = m.inputs[i];
            const core::Frame& f = pending[i].f;
            decoder.decode(f, m.d);
            if (trace::sightable(m.d)) {
                const trace::PointId at = in.points[f.interface];
                if (est.wants(at.node, m.d.fingerprint, m.d.fingerprint_partial)) {
                    trace::Sighting s = trace::make_sighting(m.d, at);
                    infer_direction(s, m.addresses);
                    est.add(s);
                }
            }
            advance(i);
        }
        data_.clocks = est.estimate();
        if (stopped) {
            data_.clock_frames = frames;
            data_.clock_span_ns = reach;
        }
        m.clock_bytes = bytes_read();
        for (Input& in : m.inputs) {
            in.points.clear();
            in.frames_per_if.clear();
            if (!open_input(in, command_, err)) return false;
        }
    }
    for (const trace::NodeClock& c : data_.clocks) {
        if (!c.estimated) continue;
        if (m.offset.size() <= c.node) m.offset.resize(c.node + 1, 0);
        m.offset[c.node] = c.offset_ns;
    }
    // Pass 2 starts: every file's first sightings wait for the merge.
    m.decoder = decode::Decoder(opt_.ports);
    m.reorder_ns = static_cast<std::int64_t>(opt_.reorder_s * 1e9);
    for (Input& in : m.inputs) m.fill(in);
    return true;
}

// Pass 2: reads until the oldest held sighting can no longer be preceded by an unread frame.
void CaptureReader::Impl::fill(Input& in) {
    while (!in.done && (in.held.empty() || (in.newest - in.held.front().ts_ns < reorder_ns &&
                                            in.held.size() < kMaxHeld))) {
        const auto r = in.file->next(f);
        if (r != CaptureFile::Next::frame) {
            // A capture cut short (a killed tcpdump) still tells what it holds: the report
            // covers the frames before the fault, and the fault makes the exit code 2.
            if (r == CaptureFile::Next::error) in.error = in.file->error().message;
            in.done = true;
            break;
        }
        learn_interfaces(in, data.names);
        decoder.decode(f, d);
        const trace::PointId at = in.points[f.interface];
        ++in.frames_per_if[f.interface];
        const std::int64_t shift = at.node < offset.size() ? offset[at.node] : 0;
        const std::int64_t ts = d.ts_ns - shift;
        in.first_ns = std::min(in.first_ns, ts);
        in.last_ns = std::max(in.last_ns, ts);
        in.newest = std::max(in.newest, ts);
        const std::uint64_t ref = hook ? hook(f, d, at) : 0;
        if (!trace::sightable(d)) continue;
        // Placement new: make_sighting's result is built in the ring slot, not copied there.
        trace::Sighting& s = *::new (&in.held.back()) trace::Sighting(trace::make_sighting(d, at));
        s.ts_ns = ts;
        s.ref = ref;
        infer_direction(s, addresses);
        in.held.file();
    }
}

const trace::Sighting* CaptureReader::Impl::next() {
    if (pending) {
        pending->held.pop();
        fill(*pending);
    }
    Input* next = nullptr;
    for (Input& in : inputs)
        if (!in.held.empty() && (!next || in.held.front().ts_ns < next->held.front().ts_ns))
            next = &in;
    pending = next;
    return next ? &next->held.front() : nullptr;
}

const trace::Sighting* CaptureReader::next() {
    return impl_->next();
}

void CaptureReader::finish(std::ostream& err) {
    Impl& m = *impl_;
    for (Input& in : m.inputs) {
        FileSummary fs;
        fs.path = in.spec.path;
        fs.frames = in.file->frames_read();
        fs.error = in.error;
        if (!in.error.empty()) err << "podtrace: " << command_ << ": " << in.error << '\n';
        learn_interfaces(in, data_.names);  // those declared after the last frame, if any
        const auto& ifs = in.file->interfaces();
        for (std::size_t i = 0; i < ifs.size(); ++i) {
            const trace::PointId p = in.points[i];
            fs.interfaces.push_back({data_.names.name(p.node), data_.names.name(p.interface),
                                     ifs[i].linktype, in.frames_per_if[i]});
            // The file's span, widened to what its statistics say this interface captured: a
            // capture that saw nothing after its last frame still covers the time until it
            // stopped (and the hop a packet missed then). An end before the file's last frame
            // is a writer's mistake (units), not a capture: such statistics are not used.
            const std::int64_t shift = p.node < m.offset.size() ? m.offset[p.node] : 0;
            const auto& isb = ifs[i];
            std::int64_t from = in.first_ns, to = in.last_ns;
            if (!isb.capture_end_ns || shifted(*isb.capture_end_ns, shift) >= in.last_ns) {
                if (isb.capture_start_ns)
                    from = std::min(from, shifted(*isb.capture_start_ns, shift));
                if (isb.capture_end_ns) to = std::max(to, shifted(*isb.capture_end_ns, shift));
            }
            if (from <= to) data_.tracer.topology().cover(p, from, to);
        }
        fs.facts_error = in.facts_error;
        data_.files.push_back(std::move(fs));
    }
    data_.decode = m.decoder.stats();
}

bool read_captures(const ReportOptions& opt, ReportData& data, std::ostream& err) {
    CaptureReader reader(opt, data, "report");
    if (!reader.open(err)) return false;
    const std::uint64_t total = reader.bytes_total();
    Progress progress(opt.progress && ::isatty(2), reader.two_pass() ? 2 * total : total);
    if (!reader.align_clocks(err, [&](std::uint64_t done) { progress.update(done); })) return false;
    const std::uint64_t base = reader.clock_bytes();  // pass 2 follows what the clock pass read
    progress.total(base + total);
    while (const trace::Sighting* s = reader.next()) {
        data.tracer.add(*s);
        if ((++data.sightings & 0xffff) == 0) progress.update(base + reader.bytes_read());
    }
    data.tracer.finish();
    reader.finish(err);
    return true;
}

}  // namespace podtrace::app
