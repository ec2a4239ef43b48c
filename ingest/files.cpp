#include "ingest/files.hpp"

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>

#include "core/time.hpp"
#include "decode/decoder.hpp"
#include "ingest/coverage.hpp"
#include "ingest/points.hpp"
#include "ingest/reorder.hpp"
#include "probes/capture_file.hpp"
#include "probes/capture_point.hpp"

namespace podtrace::ingest {
namespace {

using probes::CaptureFile;

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
    ReorderRing<trace::Sighting> held;
    std::int64_t newest = INT64_MIN;
    std::string error;              // why the file could not be read to its end
    std::string facts_error;        // why the node facts it carries could not be read
    probes::Overridden overridden;  // names the file kept over the command line's
    bool done = false;
    std::uint64_t used = 0;  // when last read, for giving up the least recently read's descriptor
};

// The capture points of interfaces the file declared since the last call. Called per frame:
// the check is inline, the naming out of line.
[[gnu::noinline]] void learn_new_interfaces(Input& in, trace::Names& names) {
    const auto& ifs = in.file->interfaces();
    while (in.points.size() < ifs.size()) {
        const auto& i = ifs[in.points.size()];
        in.overridden.add(i.node, i.name);
        in.points.push_back(point_of(names, in.spec, i.node, i.name));
        in.frames_per_if.push_back(0);
    }
}
inline void learn_interfaces(Input& in, trace::Names& names) {
    if (in.points.size() < in.file->interfaces().size()) learn_new_interfaces(in, names);
}

std::uint64_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
}

// How many capture files may hold a descriptor at once: what the limit on open files leaves
// after a margin for everything else (standard streams, kubectl files, a save, libraries' own).
std::size_t open_budget(std::size_t asked) {
    if (asked) return asked;
    constexpr rlim_t kSpare = 64, kMost = 4096, kLeast = 4;
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return kMost;
    return lim.rlim_cur < kSpare + kLeast ? kLeast : std::min(lim.rlim_cur - kSpare, kMost);
}

}  // namespace

struct FileSet::Impl {
    Impl(const InputOptions& o, trace::Names& n, trace::Topology& t)
        : opt(o), names(n), topo(t), step(o.ports) {}
    void fill(Input& in);
    const trace::Sighting* next();
    std::uint64_t bytes_read() const;
    std::expected<void, Error> open_input(Input& in);
    // Before `in` takes a descriptor: the least recently read files give theirs up until it
    // fits the budget (they open again where they stopped).
    void make_room(const Input& in);
    void park(Input& in) {
        if (in.file->park()) --open_files;
    }

    const InputOptions& opt;
    trace::Names& names;
    trace::Topology& topo;
    Step step;
    std::vector<Input> inputs;
    std::vector<std::uint16_t> nodes;  // named by the files when opened
    ClockSummary clocks;
    std::uint64_t total = 0;        // all files' sizes
    std::uint64_t clock_bytes = 0;  // read by the clock pass
    bool rereadable = true;
    bool two_pass = false;
    core::Frame f;
    std::int64_t reorder_ns = 0;
    // The input whose front next() returned: popped, and refilled, on the following call.
    Input* pending = nullptr;
    std::size_t budget = 0;
    std::size_t open_files = 0;   // of those park() can take back
    std::uint64_t tick = 0;       // the clock of Input::used
    std::vector<Input*> holding;  // make_room's scratch
};

std::expected<void, Error> FileSet::Impl::open_input(Input& in) {
    if (in.file) park(in);
    in.file.reset();
    make_room(in);
    auto f = CaptureFile::open(in.spec.path);
    if (!f) return std::unexpected(f.error());
    in.file.emplace(std::move(*f));
    in.used = ++tick;
    if (!in.file->parkable()) return {};
    ++open_files;
    // Room is made once it holds its descriptor again: the budget leaves a margin for that one.
    in.file->on_reopen([this, &in] {
        make_room(in);
        ++open_files;
    });
    return {};
}

// Rare (a parked file's buffer ran dry), and then a quarter of the budget goes at once: one
// scan over the files per budget/4 reopens, rather than keeping them in order on every read.
void FileSet::Impl::make_room(const Input& in) {
    if (open_files < budget) return;
    holding.clear();
    for (Input& o : inputs)
        if (&o != &in && o.file && o.file->parkable() && o.file->holds_descriptor())
            holding.push_back(&o);
    const std::size_t n = std::min(holding.size(), std::max(open_files + 1 - budget, budget / 4));
    std::ranges::nth_element(holding, holding.begin() + static_cast<std::ptrdiff_t>(n) - (n > 0),
                             {}, &Input::used);
    for (std::size_t k = 0; k < n; ++k) park(*holding[k]);
}

FileSet::FileSet(const InputOptions& opt, trace::Names& names, trace::Topology& topo)
    : impl_(std::make_unique<Impl>(opt, names, topo)) {}
FileSet::~FileSet() = default;

Step& FileSet::step() {
    return impl_->step;
}
const ClockSummary& FileSet::clocks() const {
    return impl_->clocks;
}
std::uint64_t FileSet::bytes_total() const {
    return impl_->total;
}
std::uint64_t FileSet::clock_bytes() const {
    return impl_->clock_bytes;
}
bool FileSet::two_pass() const {
    return impl_->two_pass;
}
std::size_t FileSet::node_count() const {
    return impl_->nodes.size();
}
std::size_t FileSet::file_count() const {
    return impl_->inputs.size();
}

std::uint64_t FileSet::Impl::bytes_read() const {
    std::uint64_t n = 0;
    for (const Input& in : inputs)
        if (in.file) n += in.file->bytes_read();
    return n;
}
std::uint64_t FileSet::bytes_read() const {
    return impl_->bytes_read();
}

std::expected<void, Error> FileSet::open() {
    Impl& m = *impl_;
    m.inputs.resize(m.opt.files.size());
    for (std::size_t i = 0; i < m.opt.files.size(); ++i) {
        m.inputs[i].spec = probes::parse_file_arg(m.opt.files[i]);
        m.inputs[i].overridden = probes::Overridden(m.inputs[i].spec);
        if (m.inputs[i].spec.path == "-") {
            if (!m.rereadable)
                return std::unexpected(Error{"-: standard input given twice (it is read once)"});
            m.rereadable = false;
        }
        m.total += file_size(m.inputs[i].spec.path);
    }
    m.budget = open_budget(m.opt.max_open_files);
    // Nodes are known from names and annotations only once a file is open: open all first.
    for (Input& in : m.inputs) {
        if (auto r = m.open_input(in); !r) return r;
        // A pcap's single interface, or a pcapng's first section's, is known once opened; a
        // file's node is the node of its first interface or its annotation.
        const auto at = probes::capture_point(in.spec, in.file->node(), "");
        in.overridden.add(in.file->node(), "");
        if (at.node.empty()) continue;
        const std::uint16_t node = m.names.intern(at.node);
        m.nodes.push_back(node);
        if (in.file->node_facts().empty()) continue;
        auto facts = trace::parse_node_facts(in.file->node_facts());
        if (!facts) {
            in.facts_error = facts.error().message;
            continue;
        }
        m.step.learn_node(node, *facts);
        m.topo.set_facts(node, std::move(*facts));
    }
    std::ranges::sort(m.nodes);
    m.nodes.erase(std::unique(m.nodes.begin(), m.nodes.end()), m.nodes.end());
    m.two_pass = m.opt.clock && m.nodes.size() > 1 && m.rereadable;
    if (!m.two_pass && m.nodes.size() > 1)
        m.clocks.note = m.opt.clock ? "not estimated: standard input cannot be read twice"
                                    : "not estimated (--no-clock)";
    return {};
}

// Pass 1: fingerprints seen on several nodes, for the clock offsets, until they settle. The files
// are merged by time since each one's first frame, so that a prefix covers the same stretch on
// every node: captures of one incident start together, while node clocks may be seconds apart.
std::expected<void, Error> FileSet::align_clocks(
    const std::function<void(std::uint64_t)>& progress) {
    Impl& m = *impl_;
    if (m.two_pass) {
        trace::ClockEstimator est;
        // Each file's next frame: a view into its own buffer, valid while the others are read.
        struct Pending {
            core::Frame f;
            std::int64_t first_ns = 0;
            bool has = false;
        };
        std::vector<Pending> pending(m.inputs.size());
        const auto advance = [&](std::size_t i) {
            Input& in = m.inputs[i];
            in.used = ++m.tick;
            pending[i].has = in.file->next(pending[i].f) == CaptureFile::Read::frame;
            if (pending[i].has) learn_interfaces(in, m.names);
        };
        for (std::size_t i = 0; i < m.inputs.size(); ++i) {
            if (auto r = m.open_input(m.inputs[i]); !r) return r;
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
        trace::Sighting s;
        for (;;) {
            std::size_t i = pending.size();
            std::int64_t since = 0;
            for (std::size_t j = 0; j < pending.size(); ++j) {
                if (!pending[j].has) continue;
                const std::int64_t t = core::sub_ns(pending[j].f.ts_ns, pending[j].first_ns);
                if (i == pending.size() || t < since) i = j, since = t;
            }
            if (i == pending.size()) break;
            if (frames && frames % kSettleEvery == 0) {
                if (progress) progress(m.bytes_read());
                if (!m.opt.clock_full && settled()) {
                    stopped = true;
                    break;
                }
            }
            ++frames;
            reach = std::max(reach, since);
            const core::Frame& f = pending[i].f;
            const decode::Decoded& d = m.step.decode(f);
            if (trace::sightable(d)) {
                const trace::PointId at = m.inputs[i].points[f.interface];
                if (est.wants(at.node, d.fingerprint, d.fingerprint_partial)) {
                    m.step.sight(at, d.ts_ns, 0, s);
                    est.add(s);
                }
            }
            advance(i);
        }
        m.clocks.clocks = est.estimate();
        if (stopped) {
            m.clocks.frames = frames;
            m.clocks.span_ns = reach;
        }
        m.clock_bytes = m.bytes_read();
        for (Input& in : m.inputs) {
            in.points.clear();
            in.frames_per_if.clear();
            if (auto r = m.open_input(in); !r) return r;
        }
    }
    m.step.set_clocks(m.clocks.clocks);
    // Pass 2 starts: every file's first sightings wait for the merge.
    m.step.new_pass();
    m.reorder_ns = static_cast<std::int64_t>(m.opt.reorder_s * 1e9);
    for (Input& in : m.inputs) m.fill(in);
    return {};
}

// Pass 2: reads until the oldest held sighting can no longer be preceded by an unread frame.
void FileSet::Impl::fill(Input& in) {
    in.used = ++tick;
    while (!in.done &&
           (in.held.empty() || (core::sub_ns(in.newest, in.held.front().ts_ns) < reorder_ns &&
                                in.held.size() < kMaxHeld))) {
        const auto r = in.file->next(f);
        if (r != CaptureFile::Read::frame) {
            // A capture cut short (a killed tcpdump) still tells what it holds: the report
            // covers the frames before the fault, and the fault makes the exit code 2.
            if (r == CaptureFile::Read::error) in.error = in.file->error().message;
            in.done = true;
            park(in);
            break;
        }
        learn_interfaces(in, names);
        const trace::PointId at = in.points[f.interface];
        ++in.frames_per_if[f.interface];
        const std::int64_t ts = step.corrected(at.node, f.ts_ns);
        in.first_ns = std::min(in.first_ns, ts);
        in.last_ns = std::max(in.last_ns, ts);
        in.newest = std::max(in.newest, ts);
        if (step.take(f, at, ts, in.held.back())) in.held.file();
    }
}

const trace::Sighting* FileSet::Impl::next() {
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

const trace::Sighting* FileSet::next() {
    return impl_->next();
}

std::vector<FileSummary> FileSet::finish() {
    Impl& m = *impl_;
    std::vector<FileSummary> out;
    for (Input& in : m.inputs) {
        FileSummary fs;
        fs.path = in.spec.path;
        fs.frames = in.file->frames_read();
        fs.ts_out_of_range = in.file->ts_out_of_range();
        fs.first_ts_out_of_range = in.file->first_ts_out_of_range();
        fs.error = in.error;
        learn_interfaces(in, m.names);  // those declared after the last frame, if any
        const auto& ifs = in.file->interfaces();
        for (std::size_t i = 0; i < ifs.size(); ++i) {
            const trace::PointId p = in.points[i];
            fs.interfaces.push_back({m.names.name(p.node), m.names.name(p.interface),
                                     ifs[i].linktype, in.frames_per_if[i]});
            cover(m.topo, p, in.first_ns, in.last_ns, ifs[i].capture_start_ns,
                  ifs[i].capture_end_ns, m.step.offset(p.node));
            // Frames podtrace cannot decode are bad input, as decode has it: exit 2, named.
            if (fs.error.empty() && in.frames_per_if[i] &&
                !decode::linktype_supported(ifs[i].linktype))
                fs.error = in.spec.path + ": " +
                           decode::unsupported_linktype_text(i, ifs[i].name, ifs[i].linktype);
        }
        fs.facts_error = in.facts_error;
        if (std::string n = in.overridden.text(); !n.empty()) fs.notes.push_back(std::move(n));
        out.push_back(std::move(fs));
    }
    return out;
}

}  // namespace podtrace::ingest
