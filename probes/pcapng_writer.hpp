#pragma once
// Writes pcapng (host byte order, nanosecond timestamps) to a file or to standard output ("-"):
// one section whose header names the node it was captured on, one interface per capture point
// named "<node>/<interface>", added as they appear. Hand-written: libpcap cannot write pcapng.
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/frame.hpp"

namespace podtrace::probes {

struct SectionInfo {
    std::string userappl;    // shb_userappl, e.g. "podtrace 0.1.0"
    std::string node;        // "podtrace node=<node>" comment; the interface name prefix
    std::string node_facts;  // JSON; "" writes no facts comment
    std::string os;          // shb_os; "" = this machine's uname (files made for tests fix it)
};

// How capture on one interface went while this file was written: its Interface Statistics
// Block, written when the file is closed. Unknown values stay out of the block.
struct InterfaceEnd {
    std::optional<std::int64_t> start_ns;  // isb_starttime: capture into this file began
    // isb_endtime: capture into this file ended. The stop, not the last frame: a reader learns
    // that the interface was still capturing, and saw nothing, after that frame.
    std::optional<std::int64_t> end_ns;
    std::optional<std::uint64_t> received;      // isb_ifrecv
    std::optional<std::uint64_t> kernel_drops;  // isb_ifdrop
    std::optional<std::uint64_t> queue_drops;   // isb_osdrop: lost between kernel and file
};

class PcapngWriter {
public:
    // Creates or truncates `path`; "-" writes to standard output (a duplicate of fd 1).
    static std::expected<PcapngWriter, Error> open(const std::string& path,
                                                   const SectionInfo& section);
    // Takes ownership of `fd`; `name` is what error messages call it.
    static std::expected<PcapngWriter, Error> from_fd(int fd, const std::string& name,
                                                      const SectionInfo& section);

    PcapngWriter(PcapngWriter&&) noexcept;
    PcapngWriter& operator=(PcapngWriter&&) noexcept;
    PcapngWriter(const PcapngWriter&) = delete;
    PcapngWriter& operator=(const PcapngWriter&) = delete;
    ~PcapngWriter();  // closes without reporting: call close() to learn whether all was written

    // Declares a capture point; returns its id for write(). `name` is the bare interface name.
    std::uint32_t add_interface(const std::string& name, std::uint32_t linktype,
                                std::uint32_t snaplen);
    std::uint32_t interface_count() const { return static_cast<std::uint32_t>(ifs_.size()); }

    // Buffers one frame (Frame::interface is ignored: `if_id` says where it was seen). Errors are
    // sticky: once a write failed every later call reports it.
    std::expected<void, Error> write(std::uint32_t if_id, const core::Frame& frame);
    // Hands everything buffered to the kernel.
    std::expected<void, Error> flush();
    // Flushes and closes; the writer is unusable afterwards.
    std::expected<void, Error> close();
    // Writes an Interface Statistics Block per interface first: ends[id] for interface id (one
    // with nothing known, or beyond `ends`, gets none). Timestamps are in ns, as frames'.
    std::expected<void, Error> close(std::span<const InterfaceEnd> ends);

    const std::string& path() const { return path_; }
    std::uint64_t bytes_written() const { return bytes_; }  // buffered ones included
    std::uint64_t frames_written() const { return frames_; }

private:
    PcapngWriter() = default;
    void put_shb(const SectionInfo& section);
    bool reserve(std::size_t n);  // makes room for n bytes, flushing first when needed
    void put_u16(std::uint16_t v);
    void put_u32(std::uint32_t v);
    void put_bytes(const void* p, std::size_t n);
    void put_pad();
    void put_option(std::uint16_t code, const void* p, std::size_t n);
    void put_ts(std::int64_t ns);  // an EPB's timestamp layout: high 32 bits, then low
    void put_isb(std::uint32_t if_id, const InterfaceEnd& end);
    std::expected<void, Error> failed() const { return std::unexpected(error_); }
    bool set_error(const std::string& what, int err);

    struct Interface {
        std::uint32_t linktype;
    };
    std::string path_;
    std::string node_;
    int fd_ = -1;
    std::vector<std::uint8_t> buf_;  // the reused write buffer
    std::size_t len_ = 0;
    std::vector<Interface> ifs_;
    std::uint64_t bytes_ = 0;
    std::uint64_t frames_ = 0;
    bool failed_ = false;
    Error error_;
};

}  // namespace podtrace::probes
