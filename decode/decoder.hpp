#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/frame.hpp"
#include "decode/decoded.hpp"
#include "decode/dispatch.hpp"

namespace podtrace::decode {

// Counts of frames by status and reason: what every later stage shows so nothing is silent.
struct Stats {
    std::uint64_t frames = 0;
    std::array<std::uint64_t, 4> by_status{};
    std::array<std::uint64_t, kReasonCount> by_reason{};
    void add(const Decoded& d);
    void merge(const Stats& other);
};

class Decoder {
public:
    explicit Decoder(Ports ports = {}) : ports_(ports) {}
    // Fills `out` (reusing it: no allocation) and counts the outcome.
    Status decode(const core::Frame& frame, Decoded& out);
    const Stats& stats() const { return stats_; }
    const Ports& ports() const { return ports_; }

private:
    Ports ports_;
    Stats stats_;
};

// Whether frames of this LINKTYPE_ value can be decoded at all.
bool linktype_supported(std::uint32_t linktype);
// "interface 0 (eth0) has link type 147, which podtrace does not decode": what decode and
// report say of a file's interface (its index, its name if any) before giving exit 2.
std::string unsupported_linktype_text(std::size_t interface, const std::string& name,
                                      std::uint32_t linktype);

// Decodes without counting; what Decoder::decode does before it counts.
void decode_frame(const core::Frame& frame, const Ports& ports, Decoded& out);

}  // namespace podtrace::decode
