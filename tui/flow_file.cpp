#include "tui/flow_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "probes/pcapng_writer.hpp"

namespace podtrace::tui {
namespace {

// Writes the frames into `fd` as one pcapng section, an interface per capture point. Frames
// of one node: the section names it and the interfaces are bare (podtrace reads them back as
// captured). Of several: the interfaces are named "node/interface" in a section naming no node,
// as PcapngWriter has one node per section and Wireshark 4.0 mislabels the interfaces of
// a file's later sections. Error: what failed, naming the file.
std::expected<void, Error> write_frames(int fd, const std::string& name,
                                        const std::vector<SavedFrame>& frames) {
    const std::uint16_t node = frames.front().rec.at.node;
    const bool one_node =
        std::ranges::all_of(frames, [&](const SavedFrame& s) { return s.rec.at.node == node; });
    auto w = probes::PcapngWriter::from_fd(
        fd, name, {"podtrace " PODTRACE_VERSION, one_node ? frames.front().node : "", "", ""});
    if (!w) return std::unexpected(w.error());
    // (node << 16 | interface) << 32 | linktype -> interface id
    std::vector<std::pair<std::uint64_t, std::uint32_t>> ids;
    for (const SavedFrame& s : frames) {
        const trace::PointId at = s.rec.at;
        const std::uint64_t key =
            (std::uint64_t{at.node} << 16 | at.interface) << 32 | s.rec.linktype;
        auto it = std::ranges::find(ids, key, &std::pair<std::uint64_t, std::uint32_t>::first);
        if (it == ids.end()) {
            const std::string iface = one_node              ? s.interface
                                      : s.interface.empty() ? s.node
                                                            : s.node + '/' + s.interface;
            it = ids.insert(ids.end(), {key, w->add_interface(iface, s.rec.linktype, 262144)});
        }
        core::Frame f;
        f.ts_ns = s.rec.ts_ns;
        f.linktype = s.rec.linktype;
        f.wirelen = s.rec.wirelen;
        f.ts_digits = s.rec.ts_digits;
        f.direction = s.rec.direction;
        f.bytes = s.bytes;
        if (auto r = w->write(it->second, f); !r) return std::unexpected(r.error());
    }
    if (auto r = w->close(); !r) return std::unexpected(r.error());
    return {};
}

}  // namespace

std::expected<std::string, Error> write_flow_file(std::uint32_t flow,
                                                  const std::vector<SavedFrame>& frames,
                                                  std::uint64_t lost, const std::string& dir) {
    const std::string id = std::to_string(flow);
    const std::string base = (dir.empty() ? std::string(".") : dir) + "/podtrace-flow" + id;
    const std::string first = base + ".pcapng";
    if (frames.empty())
        return std::unexpected(Error{"flow " + id + ": none of its frames is kept any more (" +
                                     std::to_string(lost) + " let go; --keep keeps more)"});
    // Written beside, then moved into place under a name nobody has: never half a file, never
    // over another.
    std::string tmp = base + ".pcapng.XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0)
        return std::unexpected(Error{"cannot write " + first + ": " + std::strerror(errno)});
    auto written = write_frames(fd, first, frames);  // closes fd
    const mode_t mask = ::umask(0);
    ::umask(mask);
    if (written && ::chmod(tmp.c_str(), 0666 & ~mask) != 0)
        written = std::unexpected(Error{"cannot write " + first + ": " + std::strerror(errno)});
    if (!written) {
        std::remove(tmp.c_str());
        return std::unexpected(written.error());
    }
    for (int n = 1;; ++n) {
        const std::string path = n == 1 ? first : base + '-' + std::to_string(n) + ".pcapng";
        int r = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
        if (r != 0 && errno == EINVAL) {  // a file system without RENAME_NOREPLACE
            struct stat st {};
            errno = EEXIST;
            r = ::stat(path.c_str(), &st) == 0 ? -1 : std::rename(tmp.c_str(), path.c_str());
        }
        if (r == 0) {
            std::string msg =
                "saved " + std::to_string(frames.size()) + " frames of flow " + id + " to " + path;
            if (lost) msg += " (" + std::to_string(lost) + " no longer kept)";
            return msg;
        }
        if (errno == EEXIST) continue;
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        return std::unexpected(Error{"cannot write " + path + ": " + why});
    }
}

}  // namespace podtrace::tui
