#pragma once
#include "decode/byte_view.hpp"
#include "decode/decoded.hpp"

namespace podtrace::decode {

// Bytes of L4 payload folded into the fingerprint. Capture points need a snaplen that keeps
// the innermost headers plus this many bytes, or the fingerprint is marked partial.
inline constexpr std::size_t kFingerprintPayloadBytes = 16;

// The packet's identity over fields no hop rewrites (../shared/DESIGN.md): the same inner
// packet on a cali veth, on tunl0 and inside IPIP/VXLAN on the NIC, before and after
// SNAT/DNAT, gets the same value. Sets d.fingerprint (0 = none) and d.fingerprint_partial.
void compute_fingerprint(Decoded& d, ByteView frame);

}  // namespace podtrace::decode
