#pragma once
// Reads pcap (µs/ns, either byte order) and pcapng (many sections and interfaces, mixed link
// types) from a memory-mapped file. Hand-written because libpcap refuses pcapng files whose
// interfaces have different link types and does not say which interface a packet came from.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "probes/frame.hpp"

namespace podtrace::probes {

struct FileError {
    std::string message;  // names the file, and the byte offset where the fault is
};

struct InterfaceInfo {
    std::string name;  // pcapng if_name; "" where the format has none (classic pcap)
    std::string description;
    std::uint32_t linktype = linktype::ethernet;
    std::uint32_t snaplen = 0;
    std::uint8_t ts_digits = 6;
};

enum class FileFormat : std::uint8_t { pcap, pcapng };

class CaptureFile {
public:
    static std::expected<CaptureFile, FileError> open(const std::string& path);

    CaptureFile(CaptureFile&&) noexcept;
    CaptureFile& operator=(CaptureFile&&) noexcept;
    CaptureFile(const CaptureFile&) = delete;
    CaptureFile& operator=(const CaptureFile&) = delete;
    ~CaptureFile();

    enum class Next : std::uint8_t { frame, end, error };
    // Fills `out` with a view into the mapped file, valid while this object lives.
    // `error` means the rest of the file cannot be read; error() says why and where.
    // Frames read before it stay valid.
    Next next(Frame& out);

    const std::string& path() const { return path_; }
    FileFormat format() const { return format_; }
    // Interfaces seen so far (pcapng declares them as it goes; classic pcap has one).
    const std::vector<InterfaceInfo>& interfaces() const { return interfaces_; }
    const FileError& error() const { return error_; }
    std::uint64_t frames_read() const { return frames_; }

private:
    CaptureFile() = default;
    Next next_pcap(Frame& out);
    bool read_pcapng_block(Frame& out, bool& got_frame);
    bool read_idb(std::size_t off, std::size_t body, std::size_t body_len);
    bool emit_packet(Frame& out, std::size_t off, const char* kind, std::uint32_t if_id,
                     std::uint64_t ts, std::size_t data, std::uint32_t caplen,
                     std::uint32_t origlen, std::uint32_t flags);
    bool fail(const std::string& what);
    void unmap() noexcept;

    std::string path_;
    const std::uint8_t* base_ = nullptr;
    std::size_t size_ = 0;
    std::size_t pos_ = 0;
    FileFormat format_ = FileFormat::pcap;
    bool swapped_ = false;  // file byte order differs from the host's
    std::uint8_t pcap_digits_ = 6;
    std::vector<InterfaceInfo> interfaces_;
    std::size_t section_first_if_ = 0;  // pcapng: interface ids are per section
    std::vector<std::int64_t> if_ts_offset_;  // pcapng if_tsoffset, seconds
    std::vector<std::uint64_t> if_ts_units_;  // pcapng: timestamp units per second
    FileError error_;
    std::uint64_t frames_ = 0;
    bool failed_ = false;  // error() is sticky: next() keeps returning Next::error
};

}  // namespace podtrace::probes
