#include "decode/fingerprint.hpp"

namespace podtrace::decode {
namespace {

// Left out on purpose: TTL, checksums, DSCP/ECN, addresses, ports and the ICMP echo
// identifier — hops and NAT rewrite them; trace/ compares them afterwards to explain how.
struct Hasher {
    std::uint64_t h = 0x6a09e667f3bcc909ull;
    void add(std::uint64_t v) {
        h ^= v;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    std::uint64_t done() const {
        std::uint64_t x = h;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ull;
        x ^= x >> 33;
        return x ? x : 1;  // 0 means "no fingerprint"
    }
};

// inline: hashed for every packet, where a call costs about as much as the hashing.
inline void add_ip(Hasher& h, const IpL& ip) {
    h.add(std::uint64_t{ip.version} | std::uint64_t{ip.proto} << 8 |
          std::uint64_t{ip.total_len} << 16 | std::uint64_t{ip.id} << 48);
    h.add(std::uint64_t{ip.frag_offset} | std::uint64_t{ip.mf} << 16 |
          std::uint64_t{ip.frag_id} << 32);
}

// The fields of an IP packet's first 8 L4 bytes that an ICMP error quote keeps and that no NAT
// rewrites (add_ip hashes the IP header's).
inline void add_quotable_l4(Hasher& h, const Layer* l4) {
    if (!l4) return;
    switch (l4->proto) {
        case Proto::tcp:
            if (l4->tcp.captured >= 8) h.add(l4->tcp.seq);
            break;
        case Proto::udp: h.add(l4->udp.length); break;
        case Proto::icmp:
        case Proto::icmpv6: h.add(std::uint64_t{l4->icmp.type} << 16 | l4->icmp.seq); break;
        default: break;
    }
}

const Layer* after(const Decoded& d, int ip) {
    return ip + 1 < d.nlayers ? &d.layers[ip + 1] : nullptr;
}

// The quoted packet identifies what an ICMP error is about; its addresses and ports may be
// rewritten back by NAT like the outer ones, so only invariant fields are used.
void add_quote(Hasher& h, const Decoded& d) {
    if (d.quoted_ip == kNone) return;
    add_ip(h, d.layers[d.quoted_ip].ip);
    add_quotable_l4(h, after(d, d.quoted_ip));
}

}  // namespace

void compute_fingerprint(Decoded& d, ByteView frame) {
    Hasher h;
    if (d.inner_ip == kNone) {
        if (d.arp == kNone) return;
        const ArpL& a = d.layers[d.arp].arp;
        std::uint64_t spa = 0, tpa = 0, sha = 0;
        for (auto b : a.spa) spa = spa << 8 | b;
        for (auto b : a.tpa) tpa = tpa << 8 | b;
        for (auto b : a.sha) sha = sha << 8 | b;
        h.add(std::uint64_t{a.op} << 48 | spa << 16);
        h.add(tpa << 32);
        h.add(sha);
        d.fingerprint = h.done();
        return;
    }
    add_ip(h, d.layers[d.inner_ip].ip);
    d.ip_hash = h.h;
    bool digest = true;
    if (const Layer* l4 = d.inner_l4_layer()) {
        switch (l4->proto) {
            case Proto::tcp:
                h.add(std::uint64_t{l4->tcp.seq} << 32 | l4->tcp.ack);
                h.add(std::uint64_t{l4->tcp.flags} << 16 | l4->tcp.window);
                break;
            case Proto::udp: h.add(l4->udp.length); break;
            case Proto::icmp:
            case Proto::icmpv6:
                h.add(std::uint64_t{l4->icmp.type} << 56 | std::uint64_t{l4->icmp.code} << 48 |
                      std::uint64_t{l4->icmp.seq} << 32 | l4->icmp.mtu);
                if (l4->icmp.is_error) {
                    add_quote(h, d);
                    digest = false;
                }
                break;
            default: break;
        }
    } else {
        digest = false;  // a later fragment or a protocol we leave as payload: headers only
    }
    if (!digest) {
        d.fingerprint = h.done();
        return;
    }
    std::size_t want =
        d.payload_len < kFingerprintPayloadBytes ? d.payload_len : kFingerprintPayloadBytes;
    std::size_t have = frame.size() > d.payload_offset ? frame.size() - d.payload_offset : 0;
    if (have < want) d.fingerprint_partial = true;
    // Zero-padded past what the payload has or the capture kept.
    std::uint64_t w[2] = {};
    static_assert(sizeof w == kFingerprintPayloadBytes);
    const std::size_t n = want < have ? want : have;
    if (n == sizeof w)
        frame.read(d.payload_offset, w, sizeof w);  // the usual case, as two loads
    else
        frame.read(d.payload_offset, w, n);
    h.add(w[0]);
    h.add(w[1]);
    h.add(want);
    d.fingerprint = h.done();
}

std::uint64_t quote_key(const Decoded& d) {
    if (d.quoted_ip != kNone) {
        Hasher h;
        add_quote(h, d);
        return h.done();
    }
    if (d.inner_ip == kNone) return 0;
    // The quote key starts with the same IP header hash as the fingerprint: resume from it.
    Hasher h{d.ip_hash};
    add_quotable_l4(h, d.inner_l4_layer());
    return h.done();
}

}  // namespace podtrace::decode
