#pragma once
// Live capture on many interfaces at once (libpcap), merged into one stream in timestamp
// order. cali* veths that appear while it runs are attached, vanished ones detached, driven
// by netlink link events (libnl-3).
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/frame.hpp"

namespace podtrace::probes {

struct LiveOptions {
    // Interface names or globs ("cali*"); empty: every cali* veth, every Calico tunnel present
    // (tunl0, vxlan.calico, vxlan-v6.calico, wireguard.cali, wg-v6.cali) and the NIC that
    // holds the default route.
    std::vector<std::string> interfaces;
    std::string filter;  // BPF, compiled per handle for its link type
    // Headers are what tracing needs: 512 bytes hold Ethernet + IPv4 + UDP + VXLAN + Ethernet +
    // IPv6 with extension headers + TCP with options + the 16 payload bytes the fingerprint
    // reads. Full packets in immediate mode fill a 4 MiB ring with 32 GSO frames and drop
    // (bench/capture_bench.sh: 153-343 drops per 64 MiB transfer at 262144, 0 at 512).
    int snaplen = 512;
    int buffer_kib = 4096;             // kernel ring per handle
    std::size_t queue_frames = 65536;  // bounded queue between capture and consumer
    std::string node;                  // node name for capture points; "" = hostname
};

struct InterfaceStats {
    std::string name;
    std::uint32_t linktype = 0;
    bool attached = false;     // false once the interface vanished
    std::uint64_t frames = 0;  // handed to the consumer
    std::uint64_t bytes = 0;
    std::uint64_t kernel_drops = 0;  // pcap_stats ps_drop + ps_ifdrop
    std::uint64_t queue_drops = 0;   // the consumer fell behind and the queue was full
    std::string error;               // why it could not be (re)attached, e.g. after --user
};

class LiveSource {
public:
    static std::expected<LiveSource, Error> open(const LiveOptions& options);
    LiveSource(LiveSource&&) noexcept;
    LiveSource& operator=(LiveSource&&) noexcept;
    ~LiveSource();

    enum class Wait : std::uint8_t { frame, timeout, stopped };
    // The next frame in timestamp order; Frame::interface indexes interfaces(). The view is
    // valid until the next call. `stopped` once stop() was called and the queue is drained.
    Wait next(core::Frame& out, std::chrono::milliseconds timeout);
    // Callable from any thread (not from a signal handler: set a flag there, call this after).
    void stop();

    const std::string& node() const;
    // A snapshot: every interface attached so far, also those gone since. Indices are stable:
    // an interface that comes back under the same name gets its old entry (and index) again.
    std::vector<InterfaceStats> stats() const;

private:
    struct Impl;
    explicit LiveSource(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// tcpdump -Z: switch to `user` (its uid, gid and groups) once the handles are open. Interfaces
// that appear later can then not be attached (that needs CAP_NET_RAW): their InterfaceStats
// carry the error and the capture goes on without them.
std::expected<void, Error> drop_privileges(const std::string& user);

}  // namespace podtrace::probes
