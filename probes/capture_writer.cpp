#include "probes/capture_writer.hpp"

#include <algorithm>

#include "core/clock.hpp"

namespace podtrace::probes {

using Clock = std::chrono::steady_clock;

// tcpdump's names: FILE, FILE1, FILE2 ... with -C; strftime(FILE) with -G.
std::string capture_file_name(const std::string& pattern, bool by_time, std::time_t t, int count) {
    std::string name = pattern;
    if (by_time) {
        std::tm tm{};
        ::localtime_r(&t, &tm);
        std::vector<char> buf(pattern.size() * 4 + 256);
        const std::size_t n = std::strftime(buf.data(), buf.size(), pattern.c_str(), &tm);
        if (n > 0) name.assign(buf.data(), n);
    }
    if (count > 0) name += std::to_string(count);
    return name;
}

CaptureWriter::CaptureWriter(CaptureWriterOptions opt, LiveSource& src, SectionInfo section)
    : opt_(std::move(opt)), src_(src), section_(std::move(section)) {}

std::expected<void, Error> CaptureWriter::open(std::time_t now, std::int64_t start_ns) {
    file_start_ = now;
    auto w = PcapngWriter::open(
        capture_file_name(opt_.pattern, opt_.rotate_s > 0, now, size_count_), section_);
    if (!w) return std::unexpected(w.error());
    writer_ = std::move(*w);
    files_.push_back(writer_->path());
    map_.assign(map_.size(), Mapped{});
    file_ifs_.clear();
    last_ns_ = start_ns;
    // Every capture point gets its IDB up front: a silent interface is evidence too.
    const auto stats = src_.stats();
    base_.assign(stats.size(), Drops{});
    for (std::uint32_t i = 0; i < stats.size(); ++i) {
        base_[i] = {stats[i].kernel_drops, stats[i].queue_drops};
        if (stats[i].attached) declare(i, stats[i].name, stats[i].linktype, start_ns);
    }
    return {};
}

std::expected<void, Error> CaptureWriter::write(const core::Frame& f) {
    if (opt_.rotate_mb > 0 && writer_->bytes_written() > opt_.rotate_mb * 1e6) {
        ++size_count_;
        // Frames leave the source in time order: the earlier ones are all in this file.
        if (auto r = rotate(file_start_, f.ts_ns); !r) return r;
    }
    if (f.interface >= map_.size() || !map_[f.interface].declared ||
        map_[f.interface].linktype != f.linktype) {
        // A new (or re-attached) capture point: one stats() copy per interface and file.
        const auto stats = src_.stats();
        const std::string name = f.interface < stats.size() ? stats[f.interface].name
                                                            : "if" + std::to_string(f.interface);
        // It was capturing by its first frame at the latest.
        declare(f.interface, name, f.linktype, f.ts_ns);
    }
    const std::uint32_t id = map_[f.interface].id;
    if (auto r = writer_->write(id, f); !r) return r;
    ++file_ifs_[id].frames;
    last_ns_ = std::max(last_ns_, f.ts_ns);
    Count& c = counts_[f.interface];
    ++c.frames;
    c.bytes += f.wirelen;
    dirty_ = true;
    return {};
}

// -G: a new file every rotate_s seconds, named by strftime at that time.
std::expected<void, Error> CaptureWriter::tick(std::time_t now) {
    if (opt_.rotate_s > 0 && now - file_start_ >= opt_.rotate_s) {
        size_count_ = 0;
        // Frames stamped within the source's reorder window (ms) before this go to the next
        // file; a report's 100 ms grace for a missing hop makes that moot.
        return rotate(now, core::wall_ns());
    }
    // Crash safety: nothing waits in memory over 1 s; a stream (kubectl ... -w -) feeding
    // a live view flushes every 200 ms.
    const auto every =
        opt_.pattern == "-" ? std::chrono::milliseconds(200) : std::chrono::seconds(1);
    if (dirty_ && Clock::now() - last_flush_ >= every) {
        dirty_ = false;
        last_flush_ = Clock::now();
        return writer_->flush();
    }
    return {};
}

std::expected<void, Error> CaptureWriter::close(std::optional<std::int64_t> end_ns) {
    if (!writer_) return {};
    auto r = writer_->close(interface_ends(end_ns));
    writer_.reset();
    return r;
}

void CaptureWriter::declare(std::uint32_t live_index, const std::string& name,
                            std::uint32_t linktype, std::int64_t start_ns) {
    if (live_index >= map_.size()) {
        map_.resize(live_index + 1);
        counts_.resize(live_index + 1);
    }
    // Appeared since the file was opened: all its drops are this file's.
    if (live_index >= base_.size()) base_.resize(live_index + 1);
    const auto snaplen = opt_.snaplen;
    map_[live_index] = {true, writer_->add_interface(name, linktype, snaplen), linktype};
    file_ifs_.push_back({live_index, start_ns, 0});
}

std::vector<InterfaceEnd> CaptureWriter::interface_ends(std::optional<std::int64_t> end_ns) const {
    const auto stats = src_.stats();
    // A handle attached again counts from 0: what it says is then all this file's.
    const auto since = [](std::uint64_t now, std::uint64_t base) {
        return now >= base ? now - base : now;
    };
    std::vector<InterfaceEnd> ends(file_ifs_.size());
    for (std::uint32_t id = 0; id < file_ifs_.size(); ++id) {
        const FileInterface& fi = file_ifs_[id];
        InterfaceEnd& e = ends[id];
        e.start_ns = fi.start_ns;
        // An IDB replaced by another (the interface came back with a new link type) ended
        // at an unknown time, as did an interface that is gone.
        if (map_[fi.live_index].id != id || fi.live_index >= stats.size()) continue;
        const auto& s = stats[fi.live_index];
        if (s.attached && end_ns) e.end_ns = std::max(*end_ns, last_ns_);
        e.kernel_drops = since(s.kernel_drops, base_[fi.live_index].kernel);
        e.queue_drops = since(s.queue_drops, base_[fi.live_index].queue);
        e.received = fi.frames + *e.kernel_drops + *e.queue_drops;
    }
    return ends;
}

std::expected<void, Error> CaptureWriter::rotate(std::time_t now, std::int64_t boundary_ns) {
    if (auto r = close(boundary_ns); !r) return r;
    return open(now, boundary_ns);
}

}  // namespace podtrace::probes
