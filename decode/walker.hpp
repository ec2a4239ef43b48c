#pragma once
// Internal to decode/: walks one frame header by header, filling a Decoded in place.
#include <cstddef>
#include <cstdint>

#include "decode/byte_view.hpp"
#include "decode/decoded.hpp"
#include "decode/dispatch.hpp"
#include "probes/frame.hpp"

namespace podtrace::decode {

class Walker {
public:
    Walker(const probes::Frame& frame, const Ports& ports, Decoded& out);
    void run(std::uint32_t linktype);

private:
    // Each parser reads the header at off_, records a Layer, advances off_ past it and says
    // which decoder reads on. end_ bounds what was captured, wire_end_ what was on the wire;
    // both shrink to the enclosing IP/UDP length so padding is never read as a header.
    Next ethernet();
    Next vlan();
    Next sll();
    Next sll2();
    Next null_loop(bool network_order);
    Next nflog();
    Next raw();
    Next arp();
    Next ipv4();
    Next ipv6();
    Next tcp();
    Next udp();
    Next icmp(bool v6);
    Next vxlan();
    Next geneve();
    Next gre();
    Next wireguard();

    Layer* push(Proto proto);
    Next fail(Reason reason);
    bool enter_ip();  // false when an IP header here would be one tunnel too many
    void note_ip();   // records the IP layer just pushed as the innermost or the quoted one
    void set_payload(std::size_t start);
    ByteView here() const { return {bytes_ + off_, end_ > off_ ? end_ - off_ : 0}; }
    std::size_t wire_left() const { return wire_end_ > off_ ? wire_end_ - off_ : 0; }
    void limit(std::size_t len) {  // the current header says its packet ends off_ + len
        if (off_ + len < end_) end_ = off_ + len;
        if (off_ + len < wire_end_) wire_end_ = off_ + len;
    }

    const std::uint8_t* bytes_;
    std::size_t off_ = 0, end_ = 0, wire_end_ = 0;
    const Ports& ports_;
    Decoded& d_;
    bool quoted_ = false;
    bool seen_ip_ = false;
    bool fragment_ = false;  // the enclosing IP packet is a (first) fragment
};

}  // namespace podtrace::decode
