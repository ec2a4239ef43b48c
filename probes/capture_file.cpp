#include "probes/capture_file.hpp"

#include "probes/pcapng_format.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

namespace podtrace::probes {
namespace {

constexpr std::uint32_t pcap_magic_us = 0xa1b2c3d4;
constexpr std::uint32_t pcap_magic_ns = 0xa1b23c4d;
constexpr std::size_t pcap_file_header_len = 24;
constexpr std::size_t pcap_record_header_len = 16;
// libpcap's LT_LINKTYPE(): bits 26-31 carry the FCS length, not the link type.
constexpr std::uint32_t pcap_linktype_mask = 0x03ffffff;
constexpr std::uint32_t max_caplen = 256u << 20;
// A file is read 64 KiB at a time once it shows it has that much: it starts at 4 KiB, so that
// thousands of small files open together cost 4 KiB each.
constexpr std::size_t read_chunk = 64u << 10;
constexpr std::size_t first_chunk = 4u << 10;

using namespace pcapng;

__extension__ typedef __int128 int128;

// Reads in the file's byte order. A read past the end yields 0; callers check has() first.
struct Bytes {
    const std::uint8_t* data;
    std::size_t size;
    bool swapped;

    bool has(std::size_t off, std::size_t len) const { return off <= size && len <= size - off; }
    template <class T>
    T get(std::size_t off) const {
        if (!has(off, sizeof(T))) return 0;
        T v;
        std::memcpy(&v, data + off, sizeof v);
        return swapped ? std::byteswap(v) : v;
    }
    std::uint8_t u8(std::size_t off) const { return get<std::uint8_t>(off); }
    std::uint16_t u16(std::size_t off) const { return get<std::uint16_t>(off); }
    std::uint32_t u32(std::size_t off) const { return get<std::uint32_t>(off); }
    std::uint64_t u64(std::size_t off) const { return get<std::uint64_t>(off); }
    // pcapng strings need not be NUL-terminated, but some writers add one.
    std::string str(std::size_t off, std::size_t len) const {
        if (!has(off, len)) return {};
        const auto* p = reinterpret_cast<const char*>(data + off);
        return {p, std::find(p, p + len, '\0')};
    }
};

std::string hex32(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

std::string where(std::size_t off) {
    return " at offset " + std::to_string(off);
}
std::string where(std::size_t off, std::uint64_t frame) {
    return where(off) + " (frame " + std::to_string(frame) + ")";
}

// Calls fn(code, value offset, value length) per option; false if one overruns the body.
template <class Fn>
bool for_each_option(const Bytes& b, std::size_t off, Fn&& fn) {
    while (b.has(off, 4)) {
        const std::uint16_t code = b.u16(off);
        const std::uint16_t len = b.u16(off + 2);
        if (code == opt_endofopt) return true;
        if (!b.has(off + 4, len)) return false;
        fn(code, off + 4, len);
        off += 4 + pad4(len);
    }
    return true;
}

// Timestamp units per second for an if_tsresol value; 0 when it does not fit in 64 bits.
std::uint64_t tsresol_units(std::uint8_t r) {
    if (r & 0x80) return (r & 0x7f) < 64 ? std::uint64_t{1} << (r & 0x7f) : 0;
    if (r > 19) return 0;
    std::uint64_t units = 1;
    for (int i = 0; i < r; ++i) units *= 10;
    return units;
}

// Read as signed: a writer may store a time before 1970 in two's complement (PcapPlusPlus'
// pcapng-example.pcapng has 0xffffffffe1dfd279 µs); read unsigned, it lies 585,000 years ahead,
// where ts_ns cannot go anyway. Results out of range saturate, and say so in `clamped`.
std::int64_t to_ns(std::uint64_t ts, std::uint64_t units, std::int64_t offset_s,
                   bool* clamped = nullptr) {
    constexpr int128 giga = 1'000'000'000;
    constexpr int128 lo = std::numeric_limits<std::int64_t>::min();
    constexpr int128 hi = std::numeric_limits<std::int64_t>::max();
    const int128 ns =
        int128{static_cast<std::int64_t>(ts)} * giga / int128{units} + int128{offset_s} * giga;
    if (clamped) *clamped = ns < lo || ns > hi;
    return static_cast<std::int64_t>(std::clamp(ns, lo, hi));
}

}  // namespace

std::expected<CaptureFile, Error> CaptureFile::open(const std::string& path) {
    auto err = [&](const std::string& what) { return std::unexpected(Error{path + ": " + what}); };
    CaptureFile f;
    f.path_ = path;
    f.fd_ =
        path == "-" ? ::fcntl(0, F_DUPFD_CLOEXEC, 0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f.fd_ < 0) return err(std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(f.fd_, &st) != 0) return err(std::string("cannot stat: ") + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return err("is a directory");
    f.parkable_ = path != "-" && S_ISREG(st.st_mode);
    f.dev_ = st.st_dev;
    f.ino_ = st.st_ino;
    return start(std::move(f));
}

std::expected<CaptureFile, Error> CaptureFile::open_stream(int fd, const std::string& path,
                                                           Wait wait) {
    CaptureFile f;
    f.path_ = path;
    f.fd_ = fd;
    f.wait_ = std::move(wait);
    return start(std::move(f));
}

std::expected<CaptureFile, Error> CaptureFile::start(CaptureFile f) {
    const std::string& path = f.path_;
    auto err = [&](const std::string& what) { return std::unexpected(Error{path + ": " + what}); };
    f.buf_.resize(first_chunk);

    const std::size_t size = f.fill(pcap_file_header_len);
    if (f.failed_) return std::unexpected(f.error_);
    if (size == 0) return err("empty file (0 bytes)");
    if (size < 4) return err("not a pcap or pcapng file (" + std::to_string(size) + " bytes)");

    const Bytes raw{f.at(0), size, false};
    if (raw.u32(0) == block_shb) {
        f.format_ = FileFormat::pcapng;
        core::Frame unused;
        bool got_frame = false;
        if (!f.read_pcapng_block(unused, got_frame)) return std::unexpected(f.error_);
        return f;
    }
    for (const bool swapped : {false, true}) {
        const Bytes h{f.at(0), size, swapped};
        const std::uint32_t magic = h.u32(0);
        if (magic != pcap_magic_us && magic != pcap_magic_ns) continue;
        if (size < pcap_file_header_len)
            return err("truncated pcap file header (" + std::to_string(size) + " of 24 bytes)");
        f.swapped_ = swapped;
        f.pcap_digits_ = magic == pcap_magic_ns ? 9 : 6;
        InterfaceInfo& info = f.interfaces_.emplace_back();
        info.linktype = h.u32(20) & pcap_linktype_mask;
        info.snaplen = h.u32(16);
        info.ts_digits = f.pcap_digits_;
        f.pos_ = pcap_file_header_len;
        return f;
    }
    return err("not a pcap or pcapng file (magic " + hex32(Bytes{f.at(0), size, true}.u32(0)) +
               ")");
}

CaptureFile::CaptureFile(CaptureFile&& other) noexcept {
    *this = std::move(other);
}

CaptureFile& CaptureFile::operator=(CaptureFile&& other) noexcept {
    if (this == &other) return *this;
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    parkable_ = other.parkable_;
    dev_ = other.dev_;
    ino_ = other.ino_;
    on_reopen_ = std::move(other.on_reopen_);
    wait_ = std::move(other.wait_);
    buf_ = std::move(other.buf_);
    buf_start_ = std::exchange(other.buf_start_, 0);
    buf_len_ = std::exchange(other.buf_len_, 0);
    eof_ = other.eof_;
    pos_ = std::exchange(other.pos_, 0);
    format_ = other.format_;
    swapped_ = other.swapped_;
    pcap_digits_ = other.pcap_digits_;
    interfaces_ = std::move(other.interfaces_);
    section_first_if_ = other.section_first_if_;
    if_ts_offset_ = std::move(other.if_ts_offset_);
    if_ts_units_ = std::move(other.if_ts_units_);
    node_ = std::move(other.node_);
    node_facts_ = std::move(other.node_facts_);
    section_annotated_ = other.section_annotated_;
    section_by_dumpcap_ = other.section_by_dumpcap_;
    error_ = std::move(other.error_);
    frames_ = other.frames_;
    ts_out_of_range_ = other.ts_out_of_range_;
    first_ts_out_of_range_ = other.first_ts_out_of_range_;
    failed_ = other.failed_;
    return *this;
}

CaptureFile::~CaptureFile() {
    if (fd_ >= 0) ::close(fd_);
}

bool CaptureFile::fail(const std::string& what) {
    if (failed_) return false;  // the first fault is the one to report
    error_.message = path_ + ": " + what;
    failed_ = true;
    return false;
}

bool CaptureFile::park() {
    if (fd_ < 0 || !parkable_) return false;
    ::close(fd_);
    fd_ = -1;
    return true;
}

bool CaptureFile::reopen() {
    const std::size_t off = buf_start_ + buf_len_;
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    const char* why = nullptr;
    if (fd < 0 || ::fstat(fd, &st) != 0)
        why = std::strerror(errno);
    else if (st.st_dev != dev_ || st.st_ino != ino_)
        why = "the file was replaced while being read";
    else if (::lseek(fd, static_cast<off_t>(off), SEEK_SET) < 0)
        why = std::strerror(errno);
    if (why) {
        if (fd >= 0) ::close(fd);
        eof_ = true;
        return fail(std::string("cannot open again") + where(off) + ": " + why);
    }
    fd_ = fd;
    if (on_reopen_) on_reopen_();
    return true;
}

std::size_t CaptureFile::fill(std::size_t need) {
    std::size_t have = buf_start_ + buf_len_ - pos_;
    if (have >= need || eof_) return have;
    if (pos_ != buf_start_) {
        std::memmove(buf_.data(), at(pos_), have);
        buf_start_ = pos_;
        buf_len_ = have;
    }
    while (buf_len_ < need) {
        // Grown as bytes arrive, not to what a header claims: a record that says 200 MiB in a
        // file of 100 bytes costs no more than the file.
        if (buf_len_ == buf_.size()) buf_.resize(2 * buf_.size());
        if (fd_ < 0 && !reopen()) break;
        if (wait_ && !wait_(fd_)) {
            eof_ = true;
            fail("stopped" + where(buf_start_ + buf_len_));
            break;
        }
        const ssize_t n = ::read(fd_, buf_.data() + buf_len_, buf_.size() - buf_len_);
        if (n < 0 && (errno == EINTR || (wait_ && errno == EAGAIN))) continue;
        if (n <= 0) {
            eof_ = true;
            if (n < 0)
                fail("read error" + where(buf_start_ + buf_len_) + ": " + std::strerror(errno));
            break;
        }
        buf_len_ += static_cast<std::size_t>(n);
        // A read that filled the buffer to the brim says there is more: read more at a time.
        if (buf_len_ == buf_.size() && buf_.size() < read_chunk) buf_.resize(2 * buf_.size());
    }
    return buf_len_;
}

CaptureFile::Read CaptureFile::next(core::Frame& out) {
    if (failed_) return Read::error;
    if (format_ == FileFormat::pcap) return next_pcap(out);
    while (fill(1) > 0) {
        bool got_frame = false;
        if (!read_pcapng_block(out, got_frame)) return Read::error;
        if (got_frame) return Read::frame;
    }
    return failed_ ? Read::error : Read::end;
}

CaptureFile::Read CaptureFile::next_pcap(core::Frame& out) {
    const std::size_t off = pos_;
    // fill() only when the buffer runs short: most records are whole in it already.
    std::size_t remain = buf_start_ + buf_len_ - off;
    if (remain < pcap_record_header_len) remain = fill(pcap_record_header_len);
    if (failed_) return Read::error;
    if (remain == 0) return Read::end;
    if (remain < pcap_record_header_len) {
        fail("truncated record header" + where(off, frames_ + 1) + ": " + std::to_string(remain) +
             " of 16 bytes");
        return Read::error;
    }
    const std::uint32_t caplen = Bytes{at(off), remain, swapped_}.u32(8);
    if (caplen > max_caplen) {
        fail("record" + where(off, frames_ + 1) + ": captured length " + std::to_string(caplen) +
             " exceeds 256 MiB");
        return Read::error;
    }
    if (remain < pcap_record_header_len + caplen) remain = fill(pcap_record_header_len + caplen);
    if (failed_) return Read::error;
    if (caplen > remain - pcap_record_header_len) {
        fail("truncated record" + where(off, frames_ + 1) + ": header says " +
             std::to_string(caplen) + " bytes, " + std::to_string(remain - pcap_record_header_len) +
             " remain");
        return Read::error;
    }
    const Bytes f{at(off), pcap_record_header_len, swapped_};
    const std::int64_t frac_scale = pcap_digits_ == 9 ? 1 : 1000;
    out.ts_ns = std::int64_t{f.u32(0)} * 1'000'000'000 + std::int64_t{f.u32(4)} * frac_scale;
    out.linktype = interfaces_[0].linktype;
    out.wirelen = f.u32(12);
    out.interface = 0;
    out.ts_digits = pcap_digits_;
    out.direction = core::Direction::unknown;
    out.bytes = {at(off) + pcap_record_header_len, caplen};
    pos_ = off + pcap_record_header_len + caplen;
    ++frames_;
    return Read::frame;
}

bool CaptureFile::read_pcapng_block(core::Frame& out, bool& got_frame) {
    const std::size_t off = pos_;
    std::size_t remain = fill(12);
    if (failed_) return false;
    if (remain < 8) {
        return fail("truncated block header" + where(off, frames_ + 1) + ": " +
                    std::to_string(remain) + " bytes remain");
    }
    const std::uint32_t first = Bytes{at(off), remain, swapped_}.u32(0);
    if (first == block_shb) {
        if (remain < 12) return fail("truncated section header" + where(off));
        const std::uint32_t bom = Bytes{at(off), remain, false}.u32(8);
        if (bom != byte_order_magic && bom != std::byteswap(byte_order_magic)) {
            return fail("bad byte-order magic " + hex32(Bytes{at(off), remain, true}.u32(8)) +
                        " in section header" + where(off));
        }
        swapped_ = bom != byte_order_magic;
    }
    const std::uint32_t type = Bytes{at(off), remain, swapped_}.u32(0);
    const std::uint32_t len = Bytes{at(off), remain, swapped_}.u32(4);
    if (len < 12 || len % 4 != 0) {
        return fail("bad block length " + std::to_string(len) + where(off) + " (block type " +
                    hex32(type) + "): " + (len < 12 ? "below 12" : "not a multiple of 4"));
    }
    if (len > max_caplen + 64) {
        return fail("block" + where(off, frames_ + 1) + ": length " + std::to_string(len) +
                    " exceeds 256 MiB");
    }
    remain = fill(len);
    if (failed_) return false;
    if (len > remain) {
        return fail("truncated block" + where(off, frames_ + 1) + ": header says " +
                    std::to_string(len) + " bytes, " + std::to_string(remain) + " remain");
    }
    const Bytes f{at(off), len, swapped_};
    if (const std::uint32_t trailer = f.u32(len - 4); trailer != len) {
        return fail("bad block length " + std::to_string(len) + where(off) + " (block type " +
                    hex32(type) + "): trailing length is " + std::to_string(trailer));
    }
    pos_ = off + len;

    const std::size_t body = off + 8;
    const std::size_t body_len = len - 12;
    const Bytes b{at(body), body_len, swapped_};
    switch (type) {
        case block_shb: {
            if (body_len < 16) return fail("section header" + where(off) + " too short");
            if (const std::uint16_t major = b.u16(4); major != 1) {
                return fail("unsupported pcapng version " + std::to_string(major) + "." +
                            std::to_string(b.u16(6)) + where(off));
            }
            section_first_if_ = interfaces_.size();
            read_shb_options(body, body_len);
            return true;
        }
        case block_idb: return read_idb(off, body, body_len);
        case block_epb:
        case block_pb: {
            const bool obsolete = type == block_pb;
            const char* kind = obsolete ? "PB" : "EPB";
            if (body_len < 20) {
                return fail(std::string(kind) + where(off, frames_ + 1) + " too short (" +
                            std::to_string(len) + " bytes)");
            }
            const std::uint32_t if_id = obsolete ? b.u16(0) : b.u32(0);
            const std::uint64_t ts = std::uint64_t{b.u32(4)} << 32 | b.u32(8);
            const std::uint32_t caplen = b.u32(12);
            if (caplen > body_len - 20) {
                return fail(std::string(kind) + where(off, frames_ + 1) + ": captured length " +
                            std::to_string(caplen) + " exceeds the block's " +
                            std::to_string(body_len - 20) + " data bytes");
            }
            std::uint32_t flags = 0;
            const bool options_ok = for_each_option(
                b, 20 + pad4(caplen), [&](std::uint16_t code, std::size_t v, std::uint16_t n) {
                    if (code == opt_epb_flags && n >= 4) flags = b.u32(v);
                });
            if (!options_ok) {
                return fail(std::string(kind) + where(off, frames_ + 1) +
                            ": an option overruns the block");
            }
            got_frame = emit_packet(out, off, kind, if_id, ts, body + 20, caplen, b.u32(16), flags);
            return got_frame;
        }
        case block_spb: {
            if (body_len < 4) return fail("SPB" + where(off, frames_ + 1) + " too short");
            if (interfaces_.size() <= section_first_if_) {
                return fail("SPB" + where(off, frames_ + 1) +
                            ": its section declares no interface");
            }
            const std::uint32_t origlen = b.u32(0);
            const std::uint32_t snaplen = interfaces_[section_first_if_].snaplen;
            auto caplen = static_cast<std::uint32_t>(std::min<std::size_t>(origlen, body_len - 4));
            if (snaplen != 0) caplen = std::min(caplen, snaplen);  // 0 means no limit
            // No timestamp: 0, whatever if_tsoffset says.
            got_frame = emit_packet(out, off, "SPB", 0, std::nullopt, body + 4, caplen, origlen, 0);
            return got_frame;
        }
        case block_isb: read_isb(body, body_len); return true;
        default: return true;  // NRB, DSB, custom...: nothing a frame needs
    }
}

void CaptureFile::read_shb_options(std::size_t body, std::size_t body_len) {
    const Bytes b{at(body), body_len, swapped_};
    node_.clear();
    node_facts_.clear();
    section_annotated_ = false;
    section_by_dumpcap_ = false;
    // Unchecked, as before annotations were read: a bad SHB option must not lose the packets.
    (void)for_each_option(b, 16, [&](std::uint16_t code, std::size_t v, std::uint16_t n) {
        if (code == opt_shb_userappl) section_by_dumpcap_ = b.str(v, n).starts_with("Dumpcap ");
        if (code != opt_comment) return;
        const std::string c = b.str(v, n);
        if (c.starts_with(node_key)) {
            node_ = c.substr(node_key.size());
            section_annotated_ = true;
        } else if (c.starts_with(facts_key)) {
            node_facts_ = c.substr(facts_key.size());
        } else if (c.starts_with(facts_more_key)) {
            node_facts_ += c.substr(facts_more_key.size());
        }
    });
}

// A malformed ISB loses only what it would have said (a value of the wrong size, an option past
// the block, an undeclared interface): the frames matter more than statistics about them.
void CaptureFile::read_isb(std::size_t body, std::size_t body_len) {
    const Bytes b{at(body), body_len, swapped_};
    const std::uint32_t if_id = b.u32(0);
    if (body_len < 12 || if_id >= interfaces_.size() - section_first_if_) return;
    const std::size_t global = section_first_if_ + if_id;
    InterfaceInfo& info = interfaces_[global];
    // dumpcap writes these times in µs whatever the interface's if_tsresol says (writecap/
    // pcapio.c, 4.0 and later alike); read as ns, its captures would start in January 1970.
    const std::uint64_t units = section_by_dumpcap_ ? 1'000'000 : if_ts_units_[global];
    const auto time = [&](std::size_t v) {
        const std::uint64_t ts = std::uint64_t{b.u32(v)} << 32 | b.u32(v + 4);
        return to_ns(ts, units, if_ts_offset_[global]);
    };
    (void)for_each_option(b, 12, [&](std::uint16_t code, std::size_t v, std::uint16_t n) {
        if (n != 8) return;
        switch (code) {
            case opt_isb_starttime:
                info.capture_start_ns =
                    std::min(info.capture_start_ns.value_or(INT64_MAX), time(v));
                break;
            case opt_isb_endtime:
                info.capture_end_ns = std::max(info.capture_end_ns.value_or(INT64_MIN), time(v));
                break;
            case opt_isb_ifrecv: info.ifrecv = b.u64(v); break;
            case opt_isb_ifdrop: info.ifdrop = b.u64(v); break;
            case opt_isb_osdrop: info.osdrop = b.u64(v); break;
        }
    });
}

bool CaptureFile::read_idb(std::size_t off, std::size_t body, std::size_t body_len) {
    const Bytes b{at(body), body_len, swapped_};
    if (body_len < 8) return fail("IDB" + where(off) + " too short");
    InterfaceInfo info;
    info.linktype = b.u16(0);
    info.snaplen = b.u32(4);
    std::uint8_t tsresol = 6;
    std::int64_t ts_offset = 0;
    const bool options_ok =
        for_each_option(b, 8, [&](std::uint16_t code, std::size_t v, std::uint16_t n) {
            if (code == opt_if_name) info.name = b.str(v, n);
            if (code == opt_if_description) info.description = b.str(v, n);
            if (code == opt_if_tsresol && n >= 1) tsresol = b.u8(v);
            if (code == opt_if_tsoffset && n >= 8) ts_offset = static_cast<std::int64_t>(b.u64(v));
        });
    if (!options_ok) return fail("IDB" + where(off) + ": an option overruns the block");
    if (section_annotated_) {
        if (const auto slash = info.name.find('/'); slash != std::string::npos) {
            info.node = info.name.substr(0, slash);
            info.name.erase(0, slash + 1);
        }
    }
    const std::uint64_t units = tsresol_units(tsresol);
    if (units == 0) {
        return fail("IDB" + where(off) + ": unsupported if_tsresol " + std::to_string(tsresol));
    }
    info.ts_digits = units > 1'000'000 ? 9 : 6;
    interfaces_.push_back(std::move(info));
    if_ts_units_.push_back(units);
    if_ts_offset_.push_back(ts_offset);
    return true;
}

bool CaptureFile::emit_packet(core::Frame& out, std::size_t off, const char* kind,
                              std::uint32_t if_id, std::optional<std::uint64_t> ts,
                              std::size_t data, std::uint32_t caplen, std::uint32_t origlen,
                              std::uint32_t flags) {
    const std::size_t declared = interfaces_.size() - section_first_if_;
    if (if_id >= declared) {
        return fail(std::string(kind) + where(off, frames_ + 1) + " references interface " +
                    std::to_string(if_id) + ", but its section declares " +
                    std::to_string(declared) + (declared == 1 ? " interface" : " interfaces"));
    }
    const std::size_t global = section_first_if_ + if_id;
    const InterfaceInfo& info = interfaces_[global];
    bool clamped = false;
    out.ts_ns = ts ? to_ns(*ts, if_ts_units_[global], if_ts_offset_[global], &clamped) : 0;
    if (clamped && ts_out_of_range_++ == 0) first_ts_out_of_range_ = frames_ + 1;
    out.linktype = info.linktype;
    out.wirelen = origlen;
    out.interface = static_cast<std::uint32_t>(global);
    out.ts_digits = info.ts_digits;
    switch (flags & 3) {
        case 1: out.direction = core::Direction::inbound; break;
        case 2: out.direction = core::Direction::outbound; break;
        default: out.direction = core::Direction::unknown;
    }
    out.bytes = {at(data), caplen};
    ++frames_;
    return true;
}

}  // namespace podtrace::probes
