// One capture thread polls every pcap handle, the netlink link-event socket and an eventfd
// (stop). Frames are copied into preallocated slots and a byte arena, held in a min-heap for
// the reorder window, then handed to the consumer in timestamp order; nothing is allocated per
// packet. A full queue is a counted drop on that interface, never a wait, so the kernel rings
// keep draining.
#include "probes/live_source.hpp"
#include "probes/pod_view.hpp"

#include <fnmatch.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>
#include <utility>

#include "probes/link_watch.hpp"

namespace podtrace::probes {
namespace {

constexpr const char* tunnel_names[] = {"tunl0", "vxlan.calico", "vxlan-v6.calico",
                                        "wireguard.cali", "wg-v6.cali"};
// Frames are held this long (capture time) so that frames of all handles leave sorted.
constexpr std::int64_t reorder_window_ns = 20'000'000;
// A frame stamped this long before a moment when every ring was empty was already read.
constexpr std::int64_t ring_latency_ns = 1'000'000;
constexpr int dispatch_batch = 256;

struct PcapDeleter {
    void operator()(pcap_t* p) const { pcap_close(p); }
};
using Pcap = std::unique_ptr<pcap_t, PcapDeleter>;

struct FdCloser {
    int fd = -1;
    explicit FdCloser(int f = -1) : fd(f) {}
    FdCloser(FdCloser&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    FdCloser& operator=(FdCloser&& o) noexcept {
        std::swap(fd, o.fd);
        return *this;
    }
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

bool is_glob(const std::string& p) {
    return p.find_first_of("*?[") != std::string::npos;
}

bool matches(const std::vector<std::string>& patterns, const std::string& name) {
    for (const auto& p : patterns)
        if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
    return false;
}

std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

bool has_effective_cap(int cap) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &hdr, data) != 0) return true;  // cannot tell: let pcap say
    return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

std::string permission_hint(const std::string& ifname) {
    std::string missing = has_effective_cap(CAP_NET_RAW) ? "" : " (this process lacks it)";
    return "capturing on " + ifname + " needs CAP_NET_RAW" + missing +
           ": run `sudo podtrace ...`, or in a node debug container: `kubectl debug node/NAME "
           "-it --profile=netadmin --image=...`";
}

// pcap_datalink gives a DLT_ value; files (and Frame) use LINKTYPE_ values, which differ for
// raw IP (tunl0, wireguard.cali): DLT_RAW is 12 on Linux, LINKTYPE_RAW 101.
std::uint32_t to_linktype(int dlt) {
    if (dlt == DLT_RAW) return core::linktype::raw;
    return static_cast<std::uint32_t>(dlt);
}

struct OpenResult {
    Pcap handle;
    std::string error;
    bool transient = false;  // gone or down: retried when netlink says it is back
};

OpenResult open_handle(const std::string& name, const LiveOptions& o) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    OpenResult r;
    Pcap p(pcap_create(name.c_str(), errbuf));
    if (!p) {
        r.error = name + ": " + errbuf;
        return r;
    }
    pcap_set_immediate_mode(p.get(), 1);
    pcap_set_tstamp_precision(p.get(), PCAP_TSTAMP_PRECISION_NANO);
    pcap_set_snaplen(p.get(), o.snaplen);
    pcap_set_buffer_size(p.get(), o.buffer_kib * 1024);
    int rc = pcap_activate(p.get());
    if (rc < 0) {
        if (rc == PCAP_ERROR_PERM_DENIED) {
            r.error = permission_hint(name);
        } else {
            r.transient = rc == PCAP_ERROR_NO_SUCH_DEVICE || rc == PCAP_ERROR_IFACE_NOT_UP ||
                          if_nametoindex(name.c_str()) == 0;
            r.error = name + ": " + pcap_geterr(p.get());
        }
        return r;
    }
    if (!o.filter.empty()) {
        bpf_program prog{};
        if (pcap_compile(p.get(), &prog, o.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
            r.error = name + ": filter \"" + o.filter + "\": " + pcap_geterr(p.get());
            return r;
        }
        int set = pcap_setfilter(p.get(), &prog);
        pcap_freecode(&prog);
        if (set != 0) {
            r.error = name + ": setting the filter: " + pcap_geterr(p.get());
            return r;
        }
    }
    if (pcap_setnonblock(p.get(), 1, errbuf) != 0) {
        r.error = name + ": " + errbuf;
        return r;
    }
    r.handle = std::move(p);
    return r;
}

}  // namespace

struct LiveSource::Impl {
    struct Iface {
        InterfaceStats stats;  // guarded by mu
        Pcap handle;           // capture thread only (and open() before it starts)
        int fd = -1;
        std::uint8_t ts_digits = 9;
    };
    // One captured frame. Slots are taken in arrival order and freed in timestamp order; the
    // rings below only advance their tails past freed slots, which the reorder window bounds.
    struct Slot {
        std::int64_t ts = 0;
        std::uint64_t seq = 0;
        std::uint64_t begin = 0, end = 0;  // arena range (monotonic byte positions)
        std::uint32_t iface = 0, linktype = 0, wirelen = 0, caplen = 0;
        std::uint8_t ts_digits = 9;
        bool done = false;
    };

    LiveOptions opts;
    std::string node;
    std::vector<std::string> watch;  // patterns new links are matched against
    LinkWatch links;
    FdCloser wake;

    mutable std::mutex mu;
    std::condition_variable cv;
    std::vector<std::unique_ptr<Iface>> ifaces;  // index = Frame::interface; never shrinks
    std::vector<Slot> slots;
    std::uint64_t slot_head = 0, slot_tail = 0;
    std::unique_ptr<std::uint8_t[]> arena;  // not zeroed: pages are touched only when used
    std::size_t arena_size = 0;
    std::uint64_t arena_head = 0, arena_tail = 0;
    std::vector<std::uint32_t> heap;  // capture thread: slots not yet released, min-ts first
    std::vector<std::uint32_t> fifo;  // released in order, for the consumer
    std::uint64_t fifo_head = 0, fifo_tail = 0;
    std::uint64_t seq = 0;
    bool consumer_waiting = false;
    bool finished = false;        // the capture thread flushed everything and ended
    std::int64_t held_slot = -1;  // slot the consumer's last Frame views
    std::atomic<bool> stopping{false};
    bool privileges_dropped_hint = false;
    std::thread thread;

    explicit Impl(LinkWatch lw) : links(std::move(lw)) {}

    // --- slots (mu held) ---
    bool alloc(std::uint32_t caplen, std::uint32_t& idx) {
        const std::uint64_t cap = slots.size();
        if (slot_head - slot_tail >= cap) return false;
        const std::uint64_t asize = arena_size;
        std::uint64_t pos = arena_head % asize;
        std::uint64_t skip = pos + caplen > asize ? asize - pos : 0;
        if (arena_head + skip + caplen - arena_tail > asize) return false;
        idx = static_cast<std::uint32_t>(slot_head % cap);
        Slot& s = slots[idx];
        s.begin = arena_head + skip;
        s.end = s.begin + caplen;
        s.done = false;
        arena_head = s.end;
        ++slot_head;
        return true;
    }
    void release_slot(std::uint32_t idx) {
        slots[idx].done = true;
        const std::uint64_t cap = slots.size();
        while (slot_tail < slot_head && slots[slot_tail % cap].done) {
            arena_tail = slots[slot_tail % cap].end;
            ++slot_tail;
        }
        if (slot_tail == slot_head) arena_tail = arena_head;
    }
    bool heap_less(std::uint32_t a, std::uint32_t b) const {  // std heap is a max-heap
        const Slot& x = slots[a];
        const Slot& y = slots[b];
        return x.ts != y.ts ? x.ts > y.ts : x.seq > y.seq;
    }
    // Moves frames stamped up to `cutoff` to the consumer's queue.
    void release_until(std::int64_t cutoff) {
        bool pushed = false;
        auto cmp = [this](std::uint32_t a, std::uint32_t b) { return heap_less(a, b); };
        while (!heap.empty() && slots[heap.front()].ts <= cutoff) {
            std::pop_heap(heap.begin(), heap.end(), cmp);
            fifo[fifo_head++ % fifo.size()] = heap.back();
            heap.pop_back();
            pushed = true;
        }
        if (pushed && consumer_waiting) cv.notify_one();
    }

    // --- capture thread ---
    struct DispatchCtx {
        Impl* self;
        std::uint32_t iface;
        std::uint32_t linktype;
        std::uint8_t ts_digits;
    };
    static void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
        auto* c = reinterpret_cast<DispatchCtx*>(user);
        Impl& self = *c->self;
        std::uint32_t idx = 0;
        if (!self.alloc(h->caplen, idx)) {
            ++self.ifaces[c->iface]->stats.queue_drops;
            return;
        }
        Slot& s = self.slots[idx];
        const std::int64_t frac = c->ts_digits == 9 ? h->ts.tv_usec : h->ts.tv_usec * 1000LL;
        s.ts = std::int64_t{h->ts.tv_sec} * 1'000'000'000 + frac;
        s.seq = self.seq++;
        s.iface = c->iface;
        s.linktype = c->linktype;
        s.wirelen = h->len;
        s.caplen = h->caplen;
        s.ts_digits = c->ts_digits;
        std::memcpy(self.arena.get() + s.begin % self.arena_size, bytes, h->caplen);
        self.heap.push_back(idx);
        std::push_heap(self.heap.begin(), self.heap.end(),
                       [&self](std::uint32_t a, std::uint32_t b) { return self.heap_less(a, b); });
    }

    // Reads what the ring holds. False when the handle failed: the caller detaches it.
    bool drain(std::uint32_t i, bool& emptied) {
        Iface& f = *ifaces[i];
        DispatchCtx ctx{this, i, f.stats.linktype, f.ts_digits};
        emptied = false;
        for (int round = 0; round < 64; ++round) {
            std::lock_guard lock(mu);
            int n = pcap_dispatch(f.handle.get(), dispatch_batch, on_packet,
                                  reinterpret_cast<u_char*>(&ctx));
            if (n < 0) return false;
            if (n < dispatch_batch) {
                emptied = true;
                return true;
            }
        }
        return true;
    }

    void poll_stats(Iface& f) {  // mu held
        pcap_stat ps{};
        if (f.handle && pcap_stats(f.handle.get(), &ps) == 0)
            f.stats.kernel_drops = std::uint64_t{ps.ps_drop} + ps.ps_ifdrop;
    }

    void detach(std::uint32_t i, const std::string& why) {
        std::lock_guard lock(mu);
        Iface& f = *ifaces[i];
        poll_stats(f);
        f.handle.reset();
        f.fd = -1;
        f.stats.attached = false;
        if (!why.empty()) f.stats.error = why;
    }

    // Attaches `name` unless it already is. Returns "" or the error; a transient failure (the
    // link went again, or is down) is no error.
    std::string attach(const std::string& name, bool report_transient) {
        std::uint32_t index = 0;
        {
            std::lock_guard lock(mu);
            for (; index < ifaces.size(); ++index)
                if (ifaces[index]->stats.name == name) break;
            if (index < ifaces.size() && ifaces[index]->stats.attached) return {};
        }
        OpenResult r = open_handle(name, opts);
        if (!r.handle && r.transient && !report_transient) return {};
        std::lock_guard lock(mu);
        if (index == ifaces.size()) {
            if (!r.handle && r.transient) return {};
            ifaces.push_back(std::make_unique<Iface>());
            ifaces.back()->stats.name = name;
        }
        Iface& f = *ifaces[index];
        if (!r.handle) {
            f.stats.error = r.error;
            f.stats.attached = false;
            return r.error;
        }
        f.handle = std::move(r.handle);
        f.fd = pcap_get_selectable_fd(f.handle.get());
        f.stats.linktype = to_linktype(pcap_datalink(f.handle.get()));
        f.stats.attached = true;
        f.stats.error.clear();
        f.ts_digits =
            pcap_get_tstamp_precision(f.handle.get()) == PCAP_TSTAMP_PRECISION_NANO ? 9 : 6;
        return {};
    }

    void detach_name(const std::string& name) {
        std::uint32_t i = 0;
        {
            std::lock_guard lock(mu);
            for (; i < ifaces.size(); ++i)
                if (ifaces[i]->stats.name == name && ifaces[i]->stats.attached) break;
            if (i == ifaces.size()) return;
        }
        bool emptied = false;
        drain(i, emptied);  // what it captured before it went still counts
        detach(i, "");
    }

    void on_link(const LinkEvent& ev) {
        switch (ev.kind) {
            case LinkEvent::Kind::added:
                if (matches(watch, ev.link.name) && ev.link.up) attach(ev.link.name, false);
                break;
            case LinkEvent::Kind::removed: detach_name(ev.link.name); break;
            case LinkEvent::Kind::resync:
                if (auto list = links.links())
                    for (const auto& l : *list)
                        if (l.up && matches(watch, l.name)) attach(l.name, false);
                break;
        }
    }

    void run() {
        std::vector<pollfd> fds;
        std::vector<std::uint32_t> owner;  // fds[k + 2] belongs to ifaces[owner[k]]
        std::int64_t last_stats = now_ns();
        while (!stopping.load(std::memory_order_relaxed)) {
            fds.clear();
            owner.clear();
            fds.push_back({wake.fd, POLLIN, 0});
            fds.push_back({links.fd(), POLLIN, 0});
            {
                std::lock_guard lock(mu);
                for (std::uint32_t i = 0; i < ifaces.size(); ++i)
                    if (ifaces[i]->handle) {
                        fds.push_back({ifaces[i]->fd, POLLIN, 0});
                        owner.push_back(i);
                    }
            }
            bool holding;
            {
                std::lock_guard lock(mu);
                holding = !heap.empty();
            }
            const std::int64_t before_poll = now_ns();
            int n = ::poll(fds.data(), fds.size(), holding ? 5 : 200);
            if (n < 0 && errno != EINTR) break;
            if (fds[0].revents & POLLIN) {
                std::uint64_t v;
                [[maybe_unused]] auto r = ::read(wake.fd, &v, sizeof v);
            }
            bool all_emptied = true;
            for (std::size_t k = 0; k < owner.size(); ++k) {
                if (!fds[k + 2].revents) continue;
                bool emptied = false;
                if (!drain(owner[k], emptied)) {
                    // ENODEV or "went down": the pod is gone; anything else is worth keeping.
                    std::string err;
                    {
                        std::lock_guard lock(mu);
                        err = pcap_geterr(ifaces[owner[k]]->handle.get());
                    }
                    const std::string& name = ifaces[owner[k]]->stats.name;
                    bool gone = if_nametoindex(name.c_str()) == 0 ||
                                err.find("went down") != std::string::npos ||
                                err.find("disappeared") != std::string::npos;
                    detach(owner[k], gone ? "" : name + ": " + err);
                    continue;
                }
                all_emptied = all_emptied && emptied;
            }
            if (fds[1].revents) links.read_events([this](const LinkEvent& ev) { on_link(ev); });
            const std::int64_t now = now_ns();
            std::int64_t cutoff = now - reorder_window_ns;
            if (all_emptied) cutoff = std::max(cutoff, before_poll - ring_latency_ns);
            std::lock_guard lock(mu);
            release_until(cutoff);
            if (now - last_stats >= 1'000'000'000) {
                for (auto& f : ifaces) poll_stats(*f);
                last_stats = now;
            }
        }
        std::vector<std::uint32_t> live;
        {
            std::lock_guard lock(mu);
            for (std::uint32_t i = 0; i < ifaces.size(); ++i)
                if (ifaces[i]->handle) live.push_back(i);
        }
        for (auto i : live) {
            bool emptied = false;
            drain(i, emptied);
        }
        std::lock_guard lock(mu);
        for (auto& f : ifaces) poll_stats(*f);
        release_until(INT64_MAX);
        finished = true;
        cv.notify_all();
    }
};

LiveSource::LiveSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LiveSource::LiveSource(LiveSource&&) noexcept = default;
LiveSource& LiveSource::operator=(LiveSource&& o) noexcept {
    if (this != &o) {
        stop();
        if (impl_ && impl_->thread.joinable()) impl_->thread.join();
        impl_ = std::move(o.impl_);
    }
    return *this;
}
LiveSource::~LiveSource() {
    if (!impl_) return;
    stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

std::expected<LiveSource, Error> LiveSource::open(const LiveOptions& options) {
    if (options.snaplen <= 0 || options.buffer_kib <= 0 || options.queue_frames == 0)
        return std::unexpected(Error{"snaplen, buffer size and queue length must be > 0"});
    auto lw = LinkWatch::open();
    if (!lw) return std::unexpected(lw.error());
    auto impl = std::make_unique<Impl>(std::move(*lw));
    impl->opts = options;
    impl->node = options.node;
    if (impl->node.empty()) {
        char host[256] = {};
        gethostname(host, sizeof host - 1);
        impl->node = host;
    }
    auto list = impl->links.links();
    if (!list) return std::unexpected(list.error());

    std::vector<std::string> initial;  // in the order they are attached
    auto add = [&initial](const std::string& n) {
        if (std::find(initial.begin(), initial.end(), n) == initial.end()) initial.push_back(n);
    };
    auto pod = options.interfaces.empty() ? detect_pod_view()
                                          : std::expected<std::optional<PodView>, Error>{};
    if (options.interfaces.empty() && pod && *pod) {
        // Pod mode: only the pod's own end of its veth exists here.
        impl->watch.push_back((*pod)->interface);
        add((*pod)->interface);
    } else if (options.interfaces.empty()) {
        impl->watch.push_back("cali*");
        for (const char* t : tunnel_names) impl->watch.push_back(t);
        for (const auto& l : *list)
            if (matches(impl->watch, l.name)) add(l.name);
        auto nic = impl->links.default_route_interface();
        if (!nic) return std::unexpected(nic.error());
        if (!nic->empty()) add(*nic);
    } else {
        impl->watch = options.interfaces;
        for (const auto& pattern : options.interfaces) {
            bool found = false;
            for (const auto& l : *list)
                if (fnmatch(pattern.c_str(), l.name.c_str(), 0) == 0) {
                    add(l.name);
                    found = true;
                }
            if (!found && !is_glob(pattern))
                return std::unexpected(Error{"interface " + pattern + ": no such link"});
        }
    }

    const std::size_t q = options.queue_frames;
    // Room for the reorder window at veth speed (GSO frames reach 64 KiB); pages are only
    // touched as the ring goes round.
    const std::size_t arena = std::clamp<std::size_t>(q * 2048, 4u << 20, 128u << 20);
    impl->slots.resize(q);
    impl->fifo.resize(q);
    impl->heap.reserve(q);
    impl->arena_size = std::max<std::size_t>(arena, static_cast<std::size_t>(options.snaplen));
    impl->arena.reset(new std::uint8_t[impl->arena_size]);

    for (const auto& name : initial) {
        bool explicit_name = !options.interfaces.empty() &&
                             std::find(options.interfaces.begin(), options.interfaces.end(),
                                       name) != options.interfaces.end();
        std::string err = impl->attach(name, explicit_name);
        if (!err.empty()) return std::unexpected(Error{err});
    }
    impl->wake = FdCloser(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (impl->wake.fd < 0)
        return std::unexpected(Error{std::string("eventfd: ") + std::strerror(errno)});
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->run(); });
    return LiveSource(std::move(impl));
}

LiveSource::Wait LiveSource::next(core::Frame& out, std::chrono::milliseconds timeout) {
    Impl& m = *impl_;
    std::unique_lock lock(m.mu);
    if (m.held_slot >= 0) {
        m.release_slot(static_cast<std::uint32_t>(m.held_slot));
        m.held_slot = -1;
    }
    auto ready = [&m] { return m.fifo_tail != m.fifo_head || m.finished; };
    if (!ready()) {
        m.consumer_waiting = true;
        m.cv.wait_for(lock, timeout, ready);
        m.consumer_waiting = false;
    }
    if (m.fifo_tail == m.fifo_head) return m.finished ? Wait::stopped : Wait::timeout;
    const std::uint32_t idx = m.fifo[m.fifo_tail++ % m.fifo.size()];
    const Impl::Slot& s = m.slots[idx];
    out.ts_ns = s.ts;
    out.linktype = s.linktype;
    out.wirelen = s.wirelen;
    out.interface = s.iface;
    out.ts_digits = s.ts_digits;
    out.direction = core::Direction::unknown;  // a live pcap handle does not say
    out.bytes = {m.arena.get() + s.begin % m.arena_size, s.caplen};
    auto& st = m.ifaces[s.iface]->stats;
    ++st.frames;
    st.bytes += s.wirelen;
    m.held_slot = idx;
    return Wait::frame;
}

void LiveSource::stop() {
    if (!impl_) return;
    impl_->stopping.store(true);
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(impl_->wake.fd, &one, sizeof one);
}

const std::string& LiveSource::node() const {
    return impl_->node;
}

std::vector<InterfaceStats> LiveSource::stats() const {
    std::lock_guard lock(impl_->mu);
    std::vector<InterfaceStats> out;
    out.reserve(impl_->ifaces.size());
    for (const auto& f : impl_->ifaces) out.push_back(f->stats);
    return out;
}

std::expected<void, Error> drop_privileges(const std::string& user) {
    errno = 0;
    const passwd* pw = getpwnam(user.c_str());
    if (!pw)
        return std::unexpected(Error{"--user " + user + ": no such user" +
                                     (errno ? std::string(": ") + std::strerror(errno) : "")});
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    if (initgroups(user.c_str(), gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
        return std::unexpected(
            Error{"--user " + user + ": cannot switch to it: " + std::strerror(errno)});
    // Make sure there is no way back (setuid(0) must fail now).
    if (uid != 0 && setuid(0) == 0)
        return std::unexpected(Error{"--user " + user + ": root privileges were kept"});
    return {};
}

}  // namespace podtrace::probes
