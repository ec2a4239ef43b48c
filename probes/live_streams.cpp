// Live pcapng streams (`podtrace tui --follow`): a thread per stream, each with its CaptureFile and
// a ring of fixed size the ingest thread takes frames from (nothing allocated per frame).
#include "probes/live_streams.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>

#include "core/clock.hpp"
#include "probes/capture_file.hpp"

namespace podtrace::probes {
namespace {

using Steady = std::chrono::steady_clock;

struct Record {            // trivial: the ring is allocated without being written
    std::uint64_t offset;  // absolute byte position; in the ring at offset % size
    std::int64_t ts_ns, arrival_ns;
    std::uint32_t caplen, wirelen, linktype, interface;
    std::uint8_t ts_digits;
    core::Direction direction;
};

constexpr std::size_t kSlots = 16384;  // records per ring (a power of two)

// "-" -> 0, "/dev/fd/3" or "/proc/self/fd/3" -> 3, else -1.
int inherited_fd(const std::string& path) {
    if (path == "-") return 0;
    for (const std::string_view prefix : {"/dev/fd/", "/proc/self/fd/"}) {
        if (!path.starts_with(prefix) || path.size() == prefix.size()) continue;
        int fd = 0;
        const char* end = path.data() + path.size();
        const auto r = std::from_chars(path.data() + prefix.size(), end, fd);
        if (r.ec == std::errc{} && r.ptr == end) return fd;
    }
    return -1;
}

}  // namespace

const char* state_name(LiveStreams::State s) {
    switch (s) {
        case LiveStreams::State::waiting: return "waiting";
        case LiveStreams::State::reading: return "reading";
        case LiveStreams::State::ended: return "ended";
        case LiveStreams::State::failed: return "failed";
        case LiveStreams::State::stopped: return "stopped";
    }
    return "";
}

struct Stream {
    std::string path;
    int fd = -1;  // until the reader takes it over
    bool can_stall = true;
    std::thread thread;
    // Below under Impl::mu.
    LiveStreams::Info info;
    std::size_t size = 0;  // ring bytes
    std::unique_ptr<std::uint8_t[]> ring;
    std::unique_ptr<Record[]> records;
    std::uint64_t head = 0, tail = 0;   // records waiting: [head, tail)
    std::uint64_t taken = 0;            // of them, handed out by take()
    std::uint64_t write = 0, read = 0;  // absolute byte positions: after the newest, the oldest
    std::uint64_t truncated = 0;        // frames larger than the ring, cut to it
};

struct LiveStreams::Impl {
    std::vector<std::unique_ptr<Stream>> streams;
    std::mutex mu;
    std::condition_variable feed_cv, space_cv;
    std::uint64_t gen = 0, seen_gen = 0;  // bumped on every frame or change
    bool ingest_waiting = false;
    int readers_waiting = 0;
    std::atomic<bool> stopping{false};
    int wake_fd = -1;  // an eventfd made readable by stop(): wakes every poll() at once

    void read(Stream& s);
    bool push(Stream& s, const core::Frame& f, std::uint64_t bytes_read);
    void publish(Stream& s, const CaptureFile& f, State state, std::string error = {});
    void changed() {  // under mu
        ++gen;
        if (ingest_waiting) feed_cv.notify_one();
    }
};

LiveStreams::LiveStreams(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::expected<std::unique_ptr<LiveStreams>, Error> LiveStreams::open(
    const std::vector<std::string>& paths, std::size_t ring_bytes) {
    auto impl = std::make_unique<Impl>();
    for (std::size_t i = 0; i < paths.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (paths[i] == paths[j])
                return std::unexpected(Error{paths[i] + ": given twice (one reader per stream)"});
    auto out = std::unique_ptr<LiveStreams>(new LiveStreams(std::move(impl)));
    Impl& m = *out->impl_;
    m.wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m.wake_fd < 0)
        return std::unexpected(Error{std::string("eventfd: ") + std::strerror(errno)});
    for (const std::string& path : paths) {
        Stream* s = m.streams.emplace_back(std::make_unique<Stream>()).get();  // closes its fd
        s->path = path;
        // An inherited descriptor is duplicated, not reopened: that works for a socket too, and
        // leaves its flags alone. Else O_NONBLOCK: a FIFO's open would otherwise wait for its
        // writer. Reads wait in poll().
        const int inherited = inherited_fd(path);
        s->fd = inherited >= 0 ? ::fcntl(inherited, F_DUPFD_CLOEXEC, 0)
                               : ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (s->fd < 0)
            return std::unexpected(Error{path + ": cannot open: " + std::strerror(errno)});
        struct stat st {};
        if (::fstat(s->fd, &st) != 0)
            return std::unexpected(Error{path + ": cannot stat: " + std::strerror(errno)});
        if (S_ISDIR(st.st_mode)) return std::unexpected(Error{path + ": is a directory"});
        if (inherited < 0) {  // our own open file description: back to blocking reads
            const int fl = ::fcntl(s->fd, F_GETFL);
            if (fl >= 0) ::fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK);
        }
        s->can_stall = !S_ISREG(st.st_mode);
        s->size = std::max<std::size_t>(ring_bytes, 4096);
    }
    return out;
}

LiveStreams::~LiveStreams() {
    stop();
    join();
    for (auto& s : impl_->streams)
        if (s->fd >= 0) ::close(s->fd);
    if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
}

void LiveStreams::start() {
    for (auto& s : impl_->streams)
        if (!s->thread.joinable() && s->fd >= 0)
            s->thread = std::thread([this, st = s.get()] { impl_->read(*st); });
}

void LiveStreams::stop() {
    Impl& m = *impl_;
    if (m.stopping.exchange(true)) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(m.wake_fd, &one, sizeof one);
    std::lock_guard lk(m.mu);
    m.space_cv.notify_all();
    m.feed_cv.notify_all();
}

void LiveStreams::join() {
    for (auto& s : impl_->streams)
        if (s->thread.joinable()) s->thread.join();
}

std::size_t LiveStreams::size() const {
    return impl_->streams.size();
}

const std::string& LiveStreams::path(std::size_t i) const {
    return impl_->streams[i]->path;
}

bool LiveStreams::can_stall(std::size_t i) const {
    return impl_->streams[i]->can_stall;
}

void LiveStreams::Impl::publish(Stream& s, const CaptureFile& f, State state, std::string error) {
    std::lock_guard lk(mu);
    Info& i = s.info;
    ++i.version;
    i.state = state;
    i.node = f.node();
    i.facts = f.node_facts();
    const auto& ifs = f.interfaces();
    i.interfaces.resize(ifs.size());
    for (std::size_t k = 0; k < ifs.size(); ++k)
        i.interfaces[k] = {ifs[k].name, ifs[k].node, ifs[k].capture_start_ns,
                           ifs[k].capture_end_ns};
    i.bytes = f.bytes_read();
    i.error = std::move(error);
    changed();
}

bool LiveStreams::Impl::push(Stream& s, const core::Frame& f, std::uint64_t bytes_read) {
    const std::uint64_t len = std::min<std::uint64_t>(f.bytes.size(), s.size);
    std::unique_lock lk(mu);
    std::uint64_t pos = 0;
    for (;;) {
        if (stopping) return false;
        pos = s.write;
        if (pos % s.size + len > s.size) pos += s.size - pos % s.size;  // contiguous: start over
        const bool empty = s.head == s.tail;
        if (s.tail - s.head < kSlots && (empty || pos + len - s.read <= s.size)) break;
        // Full: the ingest thread is behind. Waiting leaves the rest in the pipe, and the writer
        // waits in turn, rather than losing frames here.
        ++readers_waiting;
        space_cv.wait(lk);
        --readers_waiting;
    }
    if (!s.ring) {  // pages are touched only as frames arrive
        s.ring = std::make_unique_for_overwrite<std::uint8_t[]>(s.size);
        s.records = std::make_unique_for_overwrite<Record[]>(kSlots);
    }
    if (len) std::memcpy(s.ring.get() + pos % s.size, f.bytes.data(), len);
    if (len < f.bytes.size()) ++s.truncated;
    s.records[s.tail % kSlots] = {
        pos,        f.ts_ns,    core::steady_ns(), static_cast<std::uint32_t>(len),
        f.wirelen,  f.linktype, f.interface,       f.ts_digits,
        f.direction};
    if (s.head == s.tail) s.read = pos;
    ++s.tail;
    s.write = pos + len;
    ++s.info.frames;
    s.info.bytes = bytes_read;
    changed();
    return true;
}

void LiveStreams::Impl::read(Stream& s) {
    const int wake = wake_fd;
    auto wait = [wake](int fd) {
        pollfd p[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
        for (;;) {
            const int n = ::poll(p, 2, -1);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return true;  // let read() say what is wrong
            if (p[1].revents) return false;
            if (p[0].revents) return true;
        }
    };
    const int fd = std::exchange(s.fd, -1);
    auto file = CaptureFile::open_stream(fd, s.path, wait);
    if (!file) {
        std::lock_guard lk(mu);
        ++s.info.version;
        s.info.state = stopping ? State::stopped : State::failed;
        s.info.error = file.error().message;
        changed();
        return;
    }
    publish(s, *file, State::reading);
    std::size_t interfaces = file->interfaces().size();
    core::Frame f;
    for (;;) {
        const auto r = file->next(f);
        if (r == CaptureFile::Read::frame) {
            if (file->interfaces().size() != interfaces) {  // a new interface or section
                interfaces = file->interfaces().size();
                publish(s, *file, State::reading);
            }
            if (!push(s, f, file->bytes_read())) break;
            continue;
        }
        if (r == CaptureFile::Read::end)
            publish(s, *file, State::ended);
        else if (stopping)
            publish(s, *file, State::stopped);
        else
            publish(s, *file, State::failed, file->error().message);
        return;
    }
    publish(s, *file, State::stopped);
}

bool LiveStreams::info(std::size_t i, Info& out) const {
    Impl& m = *impl_;
    std::lock_guard lk(m.mu);
    const Stream& s = *m.streams[i];
    out.frames = s.info.frames;
    out.bytes = s.info.bytes;
    if (out.version == s.info.version) return false;
    out = s.info;
    return true;
}

void LiveStreams::take(std::size_t i, std::size_t max, std::vector<Item>& out) {
    Impl& m = *impl_;
    out.clear();
    std::lock_guard lk(m.mu);
    Stream& s = *m.streams[i];
    const std::uint64_t n = std::min<std::uint64_t>(max, s.tail - s.head);
    for (std::uint64_t k = 0; k < n; ++k) {
        const Record& r = s.records[(s.head + k) % kSlots];
        Item& it = out.emplace_back();
        it.frame.ts_ns = r.ts_ns;
        it.frame.linktype = r.linktype;
        it.frame.wirelen = r.wirelen;
        it.frame.interface = r.interface;
        it.frame.ts_digits = r.ts_digits;
        it.frame.direction = r.direction;
        it.frame.bytes = {s.ring.get() + r.offset % s.size, r.caplen};
        it.arrival_ns = r.arrival_ns;
    }
    s.taken = n;
}

void LiveStreams::release(std::size_t i) {
    Impl& m = *impl_;
    std::lock_guard lk(m.mu);
    Stream& s = *m.streams[i];
    if (!s.taken) return;
    s.head += s.taken;
    s.taken = 0;
    s.read = s.head == s.tail ? s.write : s.records[s.head % kSlots].offset;
    if (m.readers_waiting) m.space_cv.notify_all();
}

void LiveStreams::wait(std::chrono::steady_clock::time_point deadline) {
    Impl& m = *impl_;
    std::unique_lock lk(m.mu);
    m.ingest_waiting = true;
    m.feed_cv.wait_until(lk, deadline, [&] { return m.gen != m.seen_gen || m.stopping; });
    m.ingest_waiting = false;
    m.seen_gen = m.gen;
}

}  // namespace podtrace::probes
