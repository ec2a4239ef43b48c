#pragma once
// Reads pcap (µs/ns, either byte order) and pcapng (many sections and interfaces, mixed link
// types) from a file or a pipe ("-" is standard input). Hand-written because libpcap refuses
// pcapng files whose interfaces have different link types and does not say which interface a
// packet came from.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/frame.hpp"

namespace podtrace::probes {

struct InterfaceInfo {
    std::string name;  // pcapng if_name; "" where the format has none (classic pcap)
    // The node of a "<node>/<iface>" if_name in a section podtrace annotated; name is the iface.
    std::string node;
    std::string description;
    std::uint32_t linktype = core::linktype::ethernet;
    std::uint32_t snaplen = 0;
    std::uint8_t ts_digits = 6;
    // What the file's Interface Statistics Blocks say, where they do (pcapng; podtrace writes
    // them last, so they are known once next() returned Read::end): when capture on this
    // interface began and ended, in ns since the epoch (the earliest start and the latest end
    // of several), which may be well past its last frame; and the latest counters.
    std::optional<std::int64_t> capture_start_ns, capture_end_ns;
    std::optional<std::uint64_t> ifrecv, ifdrop, osdrop;  // isb_ifrecv, isb_ifdrop, isb_osdrop
};

enum class FileFormat : std::uint8_t { pcap, pcapng };

class CaptureFile {
public:
    static std::expected<CaptureFile, Error> open(const std::string& path);
    // A live stream (pipe, FIFO, /dev/fd/N) already open as `fd` (taken over), named `path`:
    // every read() waits on `wait(fd)` first, which returns false to give up (a stop), so a
    // reader blocked on a quiet writer can be ended; the input then fails with "stopped".
    // Opening reads the header, so it waits too.
    using Wait = std::function<bool(int fd)>;
    static std::expected<CaptureFile, Error> open_stream(int fd, const std::string& path,
                                                         Wait wait);

    CaptureFile(CaptureFile&&) noexcept;
    CaptureFile& operator=(CaptureFile&&) noexcept;
    CaptureFile(const CaptureFile&) = delete;
    CaptureFile& operator=(const CaptureFile&) = delete;
    ~CaptureFile();

    enum class Read : std::uint8_t { frame, end, error };
    // Fills `out` with a view into the read buffer, valid until the next call to next().
    // `error` means the rest of the file cannot be read; error() says why and where.
    Read next(core::Frame& out);

    const std::string& path() const { return path_; }
    FileFormat format() const { return format_; }
    // Interfaces seen so far (pcapng declares them as it goes; classic pcap has one).
    const std::vector<InterfaceInfo>& interfaces() const { return interfaces_; }
    const Error& error() const { return error_; }
    // podtrace's section annotations ("podtrace node=NAME", "podtrace facts=JSON" comments) of
    // the latest section header read; empty where absent.
    const std::string& node() const { return node_; }
    const std::string& node_facts() const { return node_facts_; }
    std::uint64_t frames_read() const { return frames_; }
    // Frames stamped where int64 nanoseconds cannot reach (before 1677-09-21 or after
    // 2262-04-11; pcapng's 64-bit times and if_tsoffset can say so): their time is clamped to
    // the nearest end. How many, and the first one's number (0: none).
    std::uint64_t ts_out_of_range() const { return ts_out_of_range_; }
    std::uint64_t first_ts_out_of_range() const { return first_ts_out_of_range_; }
    std::uint64_t bytes_read() const { return pos_; }  // for progress against the file's size

    // A regular file opened by path may give up its descriptor between reads (many files read
    // at once, more than the process may hold open): park() closes it, keeping what was read,
    // and the next read that needs bytes opens the same file again where it stopped. A file
    // replaced meanwhile (another inode) fails that read. False when the descriptor stays
    // (standard input, a pipe, a stream) or is already closed.
    bool park();
    bool parkable() const { return parkable_; }
    bool holds_descriptor() const { return fd_ >= 0; }
    // Called when a parked file has opened again (a reader keeping within a budget of
    // descriptors parks another one there).
    void on_reopen(std::function<void()> f) { on_reopen_ = std::move(f); }

private:
    CaptureFile() = default;
    static std::expected<CaptureFile, Error> start(CaptureFile f);
    Read next_pcap(core::Frame& out);
    bool read_pcapng_block(core::Frame& out, bool& got_frame);
    bool read_idb(std::size_t off, std::size_t body, std::size_t body_len);
    void read_shb_options(std::size_t body, std::size_t body_len);
    void read_isb(std::size_t body, std::size_t body_len);
    // `ts` in the interface's units; none (an SPB): 0.
    bool emit_packet(core::Frame& out, std::size_t off, const char* kind, std::uint32_t if_id,
                     std::optional<std::uint64_t> ts, std::size_t data, std::uint32_t caplen,
                     std::uint32_t origlen, std::uint32_t flags);
    bool fail(const std::string& what);
    // Makes the bytes from pos_ on readable through at(), `need` of them unless the input ends
    // first; returns how many are readable. May move the buffer: take pointers after calling.
    std::size_t fill(std::size_t need);
    bool reopen();
    const std::uint8_t* at(std::size_t file_offset) const {
        return buf_.data() + (file_offset - buf_start_);
    }

    std::string path_;
    int fd_ = -1;
    bool parkable_ = false;
    std::uint64_t dev_ = 0, ino_ = 0;  // what park() expects to find at path_ again
    std::function<void()> on_reopen_;
    Wait wait_;  // open_stream: called before each read()
    // Read in chunks rather than mapped: copying 64 KiB at a time out of the page cache costs
    // less than faulting in the pages of a mapping (bench/: 0.08 s against 0.2 s for 640 MB).
    std::vector<std::uint8_t> buf_;
    std::size_t buf_start_ = 0;  // file offset of buf_[0]
    std::size_t buf_len_ = 0;
    bool eof_ = false;
    std::size_t pos_ = 0;  // file offset of the next unread byte
    FileFormat format_ = FileFormat::pcap;
    bool swapped_ = false;  // file byte order differs from the host's
    std::uint8_t pcap_digits_ = 6;
    std::vector<InterfaceInfo> interfaces_;
    std::size_t section_first_if_ = 0;        // pcapng: interface ids are per section
    std::vector<std::int64_t> if_ts_offset_;  // pcapng if_tsoffset, seconds
    std::vector<std::uint64_t> if_ts_units_;  // pcapng: timestamp units per second
    std::string node_;
    std::string node_facts_;
    bool section_annotated_ = false;   // the current section's SHB carried "podtrace node="
    bool section_by_dumpcap_ = false;  // its shb_userappl names dumpcap
    Error error_;
    std::uint64_t frames_ = 0;
    std::uint64_t ts_out_of_range_ = 0, first_ts_out_of_range_ = 0;
    bool failed_ = false;  // error() is sticky: next() keeps returning Read::error
};

}  // namespace podtrace::probes
