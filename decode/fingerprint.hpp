#pragma once
#include "decode/byte_view.hpp"
#include "decode/decoded.hpp"

namespace podtrace::decode {

// Bytes of L4 payload folded into the fingerprint. Capture points need a snaplen that keeps
// the innermost headers plus this many bytes, or the fingerprint is marked partial.
inline constexpr std::size_t kFingerprintPayloadBytes = 16;

// The packet's identity over fields no hop rewrites (../shared/DESIGN.md): the same inner
// packet on a cali veth, on tunl0 and inside IPIP/VXLAN on the NIC, before and after
// SNAT/DNAT, gets the same value. Sets d.fingerprint (0 = none), d.fingerprint_partial and
// d.ip_hash.
void compute_fingerprint(Decoded& d, ByteView frame);

// What an ICMP error quoting a packet keeps of it (IP id and length, TCP seq, UDP length, ICMP
// seq): for an ICMP error, the key of the packet it quotes; for any other packet, the key an
// error quoting it would carry. 0 when there is no IP packet. Needs compute_fingerprint's
// d.ip_hash; computed per sighting, not per decode (report decodes most frames twice).
std::uint64_t quote_key(const Decoded& d);

}  // namespace podtrace::decode
