#pragma once
// What `podtrace capture` writes: the live source's frames into pcapng files, each a complete
// section (SHB, an IDB per capture point, an ISB per interface when it is closed), rotated by
// size (-C) or time (-G) as tcpdump does, flushed so that nothing waits in memory long.
#include <chrono>
#include <cstdint>
#include <ctime>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/frame.hpp"
#include "probes/live_source.hpp"
#include "probes/pcapng_writer.hpp"

namespace podtrace::probes {

struct CaptureWriterOptions {
    std::string pattern;   // -w FILE; "-" is standard output; strftime patterns with rotate_s
    double rotate_mb = 0;  // -C: a new file FILE1, FILE2 … past this many million bytes
    int rotate_s = 0;      // -G: a new file every this many seconds
    std::uint32_t snaplen = 0;
};

// tcpdump's names: FILE, FILE1, FILE2 ... with -C; strftime(FILE) with -G.
std::string capture_file_name(const std::string& pattern, bool by_time, std::time_t t, int count);

class CaptureWriter {
public:
    CaptureWriter(CaptureWriterOptions opt, LiveSource& src, SectionInfo section);

    // `start_ns`: when capture into this file begins (every frame after it goes here).
    std::expected<void, Error> open(std::time_t now, std::int64_t start_ns);
    std::expected<void, Error> write(const core::Frame& f);
    // -G rotation and the periodic flush: called at least every 100 ms.
    std::expected<void, Error> tick(std::time_t now);
    // `end_ns`: when capture into this file ended, if it took every frame up to then (not
    // after -c, which leaves frames behind in the queue).
    std::expected<void, Error> close(std::optional<std::int64_t> end_ns);

    struct Count {
        std::uint64_t frames = 0;
        std::uint64_t bytes = 0;
    };
    const std::vector<Count>& counts() const { return counts_; }  // per LiveSource interface
    const std::vector<std::string>& files() const { return files_; }

private:
    struct Mapped {
        bool declared = false;
        std::uint32_t id = 0;
        std::uint32_t linktype = 0;
    };
    struct FileInterface {  // an interface of the current file
        std::uint32_t live_index = 0;
        std::int64_t start_ns = 0;
        std::uint64_t frames = 0;
    };
    struct Drops {
        std::uint64_t kernel = 0, queue = 0;
    };

    void declare(std::uint32_t live_index, const std::string& name, std::uint32_t linktype,
                 std::int64_t start_ns);
    // Each interface's Interface Statistics Block, counters over this file only like its span:
    // received = written + dropped by the kernel + dropped by the queue.
    std::vector<InterfaceEnd> interface_ends(std::optional<std::int64_t> end_ns) const;
    std::expected<void, Error> rotate(std::time_t now, std::int64_t boundary_ns);

    CaptureWriterOptions opt_;
    LiveSource& src_;
    SectionInfo section_;
    std::optional<PcapngWriter> writer_;
    std::vector<Mapped> map_;    // LiveSource interface index → this file's interface id
    std::vector<Count> counts_;  // per LiveSource interface, over all files
    std::vector<FileInterface> file_ifs_;  // by interface id in the current file
    std::vector<Drops> base_;  // per LiveSource interface, when the current file was opened
    // The current file's start, then its latest frame: frames drained after the stop can be
    // stamped after it, and capture evidently went on until them.
    std::int64_t last_ns_ = 0;
    std::vector<std::string> files_;
    std::time_t file_start_ = 0;
    int size_count_ = 0;
    bool dirty_ = false;
    std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
};

}  // namespace podtrace::probes
