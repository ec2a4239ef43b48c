#include "probes/pcapng_writer.hpp"

#include "probes/pcapng_format.hpp"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace podtrace::probes {
namespace {

using namespace pcapng;

constexpr std::size_t buffer_size = 1u << 20;
// An option value holds at most 65535 bytes; longer facts go on in "facts+=" comments.
constexpr std::size_t max_option = 65535;

std::size_t option_size(std::size_t value_len) {
    return 4 + pad4(value_len);
}

std::string os_name() {
    struct utsname u {};
    if (::uname(&u) != 0) return "Linux";
    return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

// Splits the facts so no comment exceeds an option's limit, never inside a UTF-8 sequence.
std::vector<std::string> facts_comments(const std::string& facts) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    bool first = true;
    while (first || pos < facts.size()) {
        const std::string prefix(first ? facts_key : facts_more_key);
        std::size_t n = std::min(facts.size() - pos, max_option - prefix.size());
        while (pos + n < facts.size() && n > 0 &&
               (static_cast<unsigned char>(facts[pos + n]) & 0xc0) == 0x80)
            --n;
        out.push_back(prefix + facts.substr(pos, n));
        pos += n;
        first = false;
    }
    return out;
}

}  // namespace

std::expected<PcapngWriter, Error> PcapngWriter::open(const std::string& path,
                                                      const SectionInfo& section) {
    const bool out = path == "-";
    const int fd = out ? ::fcntl(1, F_DUPFD_CLOEXEC, 0)
                       : ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const std::string name = out ? "standard output" : path;
    if (fd < 0) return std::unexpected(Error{name + ": cannot open: " + std::strerror(errno)});
    return from_fd(fd, name, section);
}

std::expected<PcapngWriter, Error> PcapngWriter::from_fd(int fd, const std::string& name,
                                                         const SectionInfo& section) {
    PcapngWriter w;
    w.path_ = name;
    w.fd_ = fd;
    w.node_ = section.node;
    w.buf_.resize(buffer_size);
    w.put_shb(section);
    return w;
}

PcapngWriter::PcapngWriter(PcapngWriter&& other) noexcept {
    *this = std::move(other);
}

PcapngWriter& PcapngWriter::operator=(PcapngWriter&& other) noexcept {
    if (this == &other) return *this;
    if (fd_ >= 0) (void)close();
    path_ = std::move(other.path_);
    node_ = std::move(other.node_);
    fd_ = std::exchange(other.fd_, -1);
    buf_ = std::move(other.buf_);
    len_ = std::exchange(other.len_, 0);
    ifs_ = std::move(other.ifs_);
    bytes_ = other.bytes_;
    frames_ = other.frames_;
    failed_ = other.failed_;
    error_ = std::move(other.error_);
    return *this;
}

PcapngWriter::~PcapngWriter() {
    if (fd_ >= 0) (void)close();
}

void PcapngWriter::put_shb(const SectionInfo& section) {
    std::vector<std::string> comments;
    // Without a node the reader must not split interface names at '/'.
    if (!section.node.empty()) comments.push_back(std::string(node_key) + section.node);
    if (!section.node_facts.empty()) {
        auto facts = facts_comments(section.node_facts);
        comments.insert(comments.end(), facts.begin(), facts.end());
    }
    const std::string os = section.os.empty() ? os_name() : section.os;
    const std::string appl = section.userappl.substr(0, max_option);
    std::size_t len = 12 + 16 + option_size(appl.size()) + option_size(os.size()) + 4;
    for (const auto& c : comments) len += option_size(c.size());
    if (!reserve(len)) return;
    put_u32(block_shb);
    put_u32(static_cast<std::uint32_t>(len));
    put_u32(byte_order_magic);
    put_u16(1);
    put_u16(0);
    put_u32(0xffffffff);  // section length -1: not known in advance
    put_u32(0xffffffff);
    for (const auto& c : comments) put_option(opt_comment, c.data(), c.size());
    put_option(opt_shb_userappl, appl.data(), appl.size());
    put_option(opt_shb_os, os.data(), os.size());
    put_option(opt_endofopt, nullptr, 0);
    put_u32(static_cast<std::uint32_t>(len));
}

std::uint32_t PcapngWriter::add_interface(const std::string& name, std::uint32_t linktype,
                                          std::uint32_t snaplen) {
    const std::string full = (node_.empty() ? name : node_ + "/" + name).substr(0, max_option);
    const std::uint8_t tsresol = 9;
    const std::size_t len = 12 + 8 + option_size(full.size()) + option_size(1) + 4;
    const auto id = static_cast<std::uint32_t>(ifs_.size());
    ifs_.push_back({linktype});
    if (!reserve(len)) return id;
    put_u32(block_idb);
    put_u32(static_cast<std::uint32_t>(len));
    put_u16(static_cast<std::uint16_t>(linktype));
    put_u16(0);
    put_u32(snaplen);
    put_option(opt_if_name, full.data(), full.size());
    put_option(opt_if_tsresol, &tsresol, 1);
    put_option(opt_endofopt, nullptr, 0);
    put_u32(static_cast<std::uint32_t>(len));
    return id;
}

std::expected<void, Error> PcapngWriter::write(std::uint32_t if_id, const core::Frame& frame) {
    if (failed_) return failed();
    if (if_id >= ifs_.size()) {
        return std::unexpected(
            Error{path_ + ": frame for undeclared interface " + std::to_string(if_id)});
    }
    const auto caplen = static_cast<std::uint32_t>(frame.bytes.size());
    const bool has_flags = frame.direction != core::Direction::unknown;
    const std::size_t len = 12 + 20 + pad4(caplen) + (has_flags ? option_size(4) + 4 : 0);
    if (!reserve(len)) return failed();
    const auto ts = static_cast<std::uint64_t>(frame.ts_ns);
    put_u32(block_epb);
    put_u32(static_cast<std::uint32_t>(len));
    put_u32(if_id);
    put_u32(static_cast<std::uint32_t>(ts >> 32));
    put_u32(static_cast<std::uint32_t>(ts));
    put_u32(caplen);
    put_u32(std::max(frame.wirelen, caplen));
    put_bytes(frame.bytes.data(), caplen);
    put_pad();
    if (has_flags) {
        const std::uint32_t flags = frame.direction == core::Direction::inbound ? 1 : 2;
        put_option(opt_epb_flags, &flags, 4);
        put_option(opt_endofopt, nullptr, 0);
    }
    put_u32(static_cast<std::uint32_t>(len));
    ++frames_;
    return {};
}

std::expected<void, Error> PcapngWriter::flush() {
    if (failed_) return failed();
    if (fd_ < 0) return std::unexpected(Error{path_ + ": already closed"});
    std::size_t done = 0;
    while (done < len_) {
        const ssize_t n = ::write(fd_, buf_.data() + done, len_ - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            set_error("write failed", n < 0 ? errno : EIO);
            return failed();
        }
        done += static_cast<std::size_t>(n);
    }
    len_ = 0;
    return {};
}

std::expected<void, Error> PcapngWriter::close(std::span<const InterfaceEnd> ends) {
    if (fd_ >= 0) {
        const auto n = static_cast<std::uint32_t>(std::min(ends.size(), ifs_.size()));
        for (std::uint32_t id = 0; id < n; ++id) put_isb(id, ends[id]);
    }
    return close();
}

std::expected<void, Error> PcapngWriter::close() {
    if (fd_ < 0) return failed_ ? failed() : std::expected<void, Error>{};
    auto flushed = flush();
    // close() can report a deferred write error (NFS, quota): it counts as one.
    if (::close(std::exchange(fd_, -1)) != 0 && flushed) set_error("close failed", errno);
    return failed_ ? failed() : std::expected<void, Error>{};
}

bool PcapngWriter::reserve(std::size_t n) {
    if (failed_) return false;
    if (len_ + n > buf_.size()) {
        if (len_ != 0 && !flush()) return false;
        // A block larger than the buffer (a huge snaplen) grows it once, not per frame.
        if (n > buf_.size()) buf_.resize(n);
    }
    bytes_ += n;
    return true;
}

void PcapngWriter::put_u16(std::uint16_t v) {
    put_bytes(&v, 2);
}

void PcapngWriter::put_u32(std::uint32_t v) {
    put_bytes(&v, 4);
}

void PcapngWriter::put_bytes(const void* p, std::size_t n) {
    if (n != 0) std::memcpy(buf_.data() + len_, p, n);
    len_ += n;
}

void PcapngWriter::put_pad() {
    while (len_ % 4 != 0) buf_[len_++] = 0;
}

void PcapngWriter::put_option(std::uint16_t code, const void* p, std::size_t n) {
    put_u16(code);
    put_u16(static_cast<std::uint16_t>(n));
    put_bytes(p, n);
    put_pad();
}

void PcapngWriter::put_ts(std::int64_t ns) {
    const auto ts = static_cast<std::uint64_t>(ns);
    put_u32(static_cast<std::uint32_t>(ts >> 32));
    put_u32(static_cast<std::uint32_t>(ts));
}

void PcapngWriter::put_isb(std::uint32_t if_id, const InterfaceEnd& e) {
    const std::pair<std::uint16_t, const std::optional<std::int64_t>*> times[] = {
        {opt_isb_starttime, &e.start_ns}, {opt_isb_endtime, &e.end_ns}};
    const std::pair<std::uint16_t, const std::optional<std::uint64_t>*> counts[] = {
        {opt_isb_ifrecv, &e.received},
        {opt_isb_ifdrop, &e.kernel_drops},
        {opt_isb_osdrop, &e.queue_drops}};
    std::size_t options = 0;
    for (const auto& [code, v] : times) options += v->has_value();
    for (const auto& [code, v] : counts) options += v->has_value();
    if (options == 0) return;
    const std::size_t len = 12 + 12 + options * option_size(8) + 4;
    if (!reserve(len)) return;
    put_u32(block_isb);
    put_u32(static_cast<std::uint32_t>(len));
    put_u32(if_id);
    // The block's own time is when its statistics were taken: the end where known.
    put_ts(e.end_ns.value_or(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count()));
    for (const auto& [code, v] : times) {
        if (!*v) continue;
        put_u16(code);
        put_u16(8);
        put_ts(**v);
    }
    for (const auto& [code, v] : counts)
        if (*v) put_option(code, &**v, 8);
    put_option(opt_endofopt, nullptr, 0);
    put_u32(static_cast<std::uint32_t>(len));
}

bool PcapngWriter::set_error(const std::string& what, int err) {
    if (failed_) return false;
    failed_ = true;
    error_.message = path_ + ": " + what + ": " + std::strerror(err);
    return false;
}

}  // namespace podtrace::probes
