#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace podtrace;
using namespace podtrace::test;
using decode::Proto;
using decode::Reason;
using decode::Status;
namespace lt = core::linktype;

namespace {
Bytes ip_udp() {
    Tins::IP ip("172.16.184.4", "172.16.158.1");
    auto pdu = ip / Tins::UDP(53, 40000) / Tins::RawPDU("hello");
    return bytes_of(pdu);
}
}  // namespace

TEST_CASE("Ethernet from a pod: Calico's ee:ee MAC, IPv4 UDP") {
    auto pkt = Tins::EthernetII("ee:ee:ee:ee:ee:ee", "66:77:88:99:aa:bb") /
               Tins::IP("172.16.184.4", "172.16.158.1") / Tins::UDP(53, 40000) /
               Tins::RawPDU("hello");
    auto d = decode_bytes(bytes_of(pkt));
    REQUIRE(d.status == Status::ok);
    REQUIRE(d.nlayers == 3);
    CHECK(layer(d, 0).proto == Proto::ethernet);
    CHECK(layer(d, 0).eth.dst == decode::Mac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee});
    CHECK(layer(d, 0).eth.ethertype == 0x0800);
    CHECK(d.inner_ip == 1);
    CHECK(d.inner_l4 == 2);
    CHECK(layer(d, 2).udp.dport == 53);
    CHECK(d.payload_len == 5);
    CHECK(d.fingerprint != 0);
}

TEST_CASE("802.1Q and QinQ tags are walked") {
    auto pkt = Tins::EthernetII() / Tins::Dot1Q(100) / Tins::Dot1Q(7) /
               Tins::IP("10.0.0.2", "10.0.0.1") / Tins::TCP(80, 1234);
    auto d = decode_bytes(bytes_of(pkt));
    REQUIRE(d.status == Status::ok);
    REQUIRE(d.nlayers == 5);
    CHECK(layer(d, 1).proto == Proto::vlan);
    CHECK((layer(d, 1).vlan.tci & 0xfff) == 100);
    CHECK((layer(d, 2).vlan.tci & 0xfff) == 7);
    CHECK(layer(d, 4).proto == Proto::tcp);
}

TEST_CASE("Linux cooked SLL keeps direction") {
    Tins::SLL sll;
    sll.packet_type(4);  // PACKET_OUTGOING
    sll.lladdr_type(1);
    sll.lladdr_len(6);
    auto pkt = sll / Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(53, 1000);
    auto d = decode_bytes(bytes_of(pkt), lt::linux_sll);
    REQUIRE(d.status == Status::ok);
    CHECK(layer(d, 0).proto == Proto::sll);
    CHECK(layer(d, 0).sll.pkttype == 4);
    CHECK(d.direction == core::Direction::outbound);
    CHECK(layer(d, 1).proto == Proto::ipv4);
}

TEST_CASE("Linux cooked SLL2 keeps ifindex and direction") {
    Bytes b{0x08, 0x00, 0, 0, 0, 0, 0, 20, 0, 1, 0 /*PACKET_HOST*/, 6, 1, 2, 3, 4, 5, 6, 0, 0};
    auto ip = ip_udp();
    b.insert(b.end(), ip.begin(), ip.end());
    auto d = decode_bytes(b, lt::linux_sll2);
    REQUIRE(d.status == Status::ok);
    CHECK(layer(d, 0).proto == Proto::sll2);
    CHECK(layer(d, 0).sll.ifindex == 20);
    CHECK(d.direction == core::Direction::inbound);
    CHECK(layer(d, 2).udp.sport == 40000);

    Bytes cut(b.begin(), b.begin() + 19);
    auto t = decode_bytes(cut, lt::linux_sll2, static_cast<std::uint32_t>(b.size()));
    CHECK(t.status == Status::truncated);
    CHECK(t.reason == Reason::link_truncated);
}

TEST_CASE("raw IP link types: 101, 12, 14, 228, 229") {
    auto ip = ip_udp();
    for (auto type : {lt::raw, lt::raw_bsd12, lt::raw_bsd14, lt::ipv4}) {
        auto d = decode_bytes(ip, type);
        CHECK(d.status == Status::ok);
        CHECK(layer(d, 0).proto == Proto::ipv4);
    }
    auto pkt6 = Tins::IPv6("fd00::2", "fd00::1") / Tins::UDP(53, 1000);
    auto d6 = decode_bytes(bytes_of(pkt6), lt::ipv6);
    CHECK(d6.status == Status::ok);
    CHECK(layer(d6, 0).proto == Proto::ipv6);
    auto raw6 = decode_bytes(bytes_of(pkt6), lt::raw);
    CHECK(layer(raw6, 0).proto == Proto::ipv6);

    Bytes junk{0x10, 0, 0, 0};
    auto bad = decode_bytes(junk, lt::raw);
    CHECK(bad.status == Status::unsupported);
    CHECK(bad.reason == Reason::unsupported_link_family);
}

TEST_CASE("NULL and LOOP families in both byte orders") {
    auto ip = ip_udp();
    Bytes le{2, 0, 0, 0}, be{0, 0, 0, 2}, v6le{30, 0, 0, 0};
    le.insert(le.end(), ip.begin(), ip.end());
    be.insert(be.end(), ip.begin(), ip.end());
    CHECK(decode_bytes(le, lt::null_bsd).status == Status::ok);
    CHECK(decode_bytes(be, lt::null_bsd).status == Status::ok);
    CHECK(decode_bytes(be, lt::loop).status == Status::ok);
    auto bad = decode_bytes(v6le, lt::null_bsd);  // says IPv6, carries nothing
    CHECK(bad.status == Status::truncated);
    Bytes fam{99, 0, 0, 0};
    CHECK(decode_bytes(fam, lt::null_bsd).reason == Reason::unsupported_link_family);
}

TEST_CASE("NFLOG: the payload TLV holds the packet") {
    auto ip = ip_udp();
    Bytes b{2, 0, 0, 0};
    Bytes prefix{8, 0, 10, 0, 'a', 'b', 'c', 'd'};  // NFULA_PREFIX, 4 bytes of text
    b.insert(b.end(), prefix.begin(), prefix.end());
    std::uint16_t len = static_cast<std::uint16_t>(4 + ip.size());
    Bytes tlv{static_cast<std::uint8_t>(len), static_cast<std::uint8_t>(len >> 8), 9, 0};
    b.insert(b.end(), tlv.begin(), tlv.end());
    b.insert(b.end(), ip.begin(), ip.end());
    auto d = decode_bytes(b, lt::nflog);
    REQUIRE(d.status == Status::ok);
    CHECK(layer(d, 0).proto == Proto::nflog);
    CHECK(layer(d, 1).proto == Proto::ipv4);
    CHECK(layer(d, 2).udp.dport == 53);
}

TEST_CASE("unknown link types and ethertypes are counted as unsupported") {
    Bytes b(40, 0);
    auto d = decode_bytes(b, 147);
    CHECK(d.status == Status::unsupported);
    CHECK(d.reason == Reason::unsupported_linktype);

    auto lldp = Tins::EthernetII() / Tins::RawPDU("xxxxxxxx");
    lldp.payload_type(0x88cc);
    auto e = decode_bytes(bytes_of(lldp));
    CHECK(e.status == Status::unsupported);
    CHECK(e.reason == Reason::unsupported_ethertype);
    CHECK(e.fingerprint == 0);

    decode::Decoder dec;
    core::Frame f;
    auto bytes = bytes_of(lldp);
    f.bytes = {bytes.data(), bytes.size()};
    f.wirelen = static_cast<std::uint32_t>(bytes.size());
    dec.decode(f, e);
    dec.decode(f, e);
    CHECK(dec.stats().frames == 2);
    CHECK(dec.stats().by_status[static_cast<int>(Status::unsupported)] == 2);
    CHECK(dec.stats().by_reason[static_cast<int>(Reason::unsupported_ethertype)] == 2);
}

TEST_CASE("ARP for 169.254.1.1 answered by proxy with ee:ee:ee:ee:ee:ee") {
    auto req = Tins::ARP::make_arp_request("169.254.1.1", "172.16.158.1", "66:77:88:99:aa:bb");
    auto rep = Tins::ARP::make_arp_reply("172.16.158.1", "169.254.1.1", "66:77:88:99:aa:bb",
                                         "ee:ee:ee:ee:ee:ee");
    auto dq = decode_bytes(bytes_of(req));
    REQUIRE(dq.status == Status::ok);
    REQUIRE(dq.arp == 1);
    CHECK(layer(dq, 1).arp.op == 1);
    CHECK(layer(dq, 1).arp.tpa == std::array<std::uint8_t, 4>{169, 254, 1, 1});
    auto dr = decode_bytes(bytes_of(rep));
    CHECK(layer(dr, 1).arp.sha == decode::Mac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee});
    CHECK(dr.fingerprint != dq.fingerprint);

    auto b = bytes_of(req);
    b.resize(14 + 20);
    auto t = decode_bytes(b, lt::ethernet, 42);
    CHECK(t.status == Status::truncated);
    CHECK(t.reason == Reason::arp_truncated);
}

TEST_CASE("every cut of a frame is truncated or ok, never out of bounds") {
    auto inner = Tins::EthernetII() / Tins::IP("172.16.184.4", "172.16.158.1") /
                 Tins::TCP(80, 40000) / Tins::RawPDU(std::string(40, 'x'));
    auto vx = Tins::EthernetII() / Tins::IP("192.168.10.102", "192.168.10.101") /
              Tins::UDP(4789, 55555) / Tins::RawPDU(vxlan_payload(4096, bytes_of(inner)));
    auto full = bytes_of(vx);
    auto whole = decode_bytes(full);
    REQUIRE(whole.status == Status::ok);
    for (std::size_t n = 0; n < full.size(); ++n) {
        Bytes cut(full.begin(), full.begin() + n);
        auto d = decode_bytes(cut, lt::ethernet, static_cast<std::uint32_t>(full.size()));
        INFO("cut at " << n);
        // Cuts inside the innermost TCP payload still decode every header.
        std::size_t headers_end = 14 + 20 + 8 + 8 + 14 + 20 + 20;
        CHECK(d.status == (n >= headers_end ? Status::ok : Status::truncated));
    }
}

TEST_CASE("802.3 with LLC/SNAP carries an EtherType; other LLC is unsupported") {
    auto arp = Tins::ARP::make_arp_request("10.0.0.2", "10.0.0.1", "66:77:88:99:aa:bb");
    auto arp_bytes = bytes_of(arp);
    Bytes b(arp_bytes.begin(), arp_bytes.begin() + 12);  // MACs
    Bytes body{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06};
    body.insert(body.end(), arp_bytes.begin() + 14, arp_bytes.end());
    b.push_back(0);
    b.push_back(static_cast<std::uint8_t>(body.size()));
    b.insert(b.end(), body.begin(), body.end());
    auto d = decode_bytes(b);
    REQUIRE(d.status == Status::ok);
    CHECK(layer(d, 0).eth.ethertype == 0x0806);
    CHECK(layer(d, 1).proto == Proto::arp);
    CHECK(layer(d, 1).offset == 22);

    b[14] = 0x42;  // STP's LLC SAP
    CHECK(decode_bytes(b).reason == Reason::unsupported_ethertype);
}

TEST_CASE("a first UDP fragment's length counts the whole datagram") {
    Tins::IP first("10.0.0.2", "10.0.0.1");
    first.flags(Tins::IP::MORE_FRAGMENTS);
    auto p = first / Tins::UDP(53, 1000) / Tins::RawPDU(std::string(64, 'a'));
    auto b = bytes_of(p);
    b[20 + 5] = 200;  // the datagram is 200 bytes; this fragment carries 72
    auto d = decode_bytes(b, lt::raw);
    CHECK(d.status == Status::ok);
    CHECK(layer(d, 1).udp.length == 200);
    CHECK(d.payload_len == 64);
}

TEST_CASE("a VLAN tag after a cooked header keeps the cooked protocol as its TPID") {
    Bytes b{0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00};
    auto ip = Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(53, 1000);
    auto ib = bytes_of(ip);
    b.insert(b.end(), ib.begin(), ib.end());
    auto d = decode_bytes(b, lt::linux_sll);
    REQUIRE(d.status == Status::ok);
    CHECK(layer(d, 1).proto == Proto::vlan);
    CHECK(layer(d, 1).vlan.tpid == 0x8100);
    CHECK((layer(d, 1).vlan.tci & 0xfff) == 100);
    CHECK(layer(d, 2).proto == Proto::ipv4);
}
