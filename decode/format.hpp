#pragma once
// tcpdump-style one-line rendering of a Decoded, with each tunnel boundary shown as " | ".
#include <cstdint>
#include <string>

#include "decode/decoded.hpp"
#include "decode/decoder.hpp"

namespace podtrace::decode {

struct FormatOptions {
    bool verbose = false;  // -v: TTL, IP ID, DF, lengths, fingerprint
    bool link = false;     // -e: MAC addresses and cooked-header fields
};

// Appends to `out` (callers reuse one string: no allocation once it has grown).
void format_time(std::int64_t ts_ns, std::uint8_t digits, std::string& out);  // local time
void format_layers(const Decoded& d, const FormatOptions& opt, std::string& out);
void format_addr(const Addr& a, std::uint8_t version, std::string& out);
void format_mac(const Mac& m, std::string& out);
void format_tcp_flags(std::uint16_t flags, std::string& out);  // "[S.]", as tcpdump
// "echo request", "frag-needed", …; nullptr for a type without a name here.
const char* icmp_type_name(bool v6, std::uint8_t type, std::uint8_t code);
// Every frame counted by status and reason: "12 frames: 10 ok, 2 truncated (tcp-truncated 2)".
std::string stats_text(const Stats& s);

}  // namespace podtrace::decode
