#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace podtrace;
using namespace podtrace::test;
using decode::Proto;
using decode::Reason;
using decode::Status;
namespace lt = core::linktype;

TEST_CASE("IPv4 header fields, options and DF") {
    Tins::IP ip("172.16.184.4", "172.16.158.1");
    ip.ttl(63);
    ip.id(0x1234);
    ip.flags(Tins::IP::DONT_FRAGMENT);
    ip.add_option(Tins::IP::option(Tins::IP::NOOP));
    ip.add_option(Tins::IP::option(Tins::IP::NOOP));
    ip.add_option(Tins::IP::option(Tins::IP::NOOP));
    ip.add_option(Tins::IP::option(Tins::IP::END));
    auto pkt = ip / Tins::ICMP(Tins::ICMP::ECHO_REQUEST);
    auto d = decode_bytes(bytes_of(pkt), lt::raw);
    REQUIRE(d.status == Status::ok);
    const auto& l = layer(d, 0).ip;
    CHECK(v4(l.src) == v4("172.16.158.1"));
    CHECK(v4(l.dst) == v4("172.16.184.4"));
    CHECK(l.ttl == 63);
    CHECK(l.id == 0x1234);
    CHECK(l.df);
    CHECK_FALSE(l.fragment);
    CHECK(l.header_len == 24);
    CHECK(l.total_len == 24 + 8);
    CHECK(layer(d, 1).proto == Proto::icmp);
}

TEST_CASE("IPv4 fragments: the first carries L4, the rest do not") {
    Tins::IP first("10.0.0.2", "10.0.0.1");
    first.flags(Tins::IP::MORE_FRAGMENTS);
    first.id(77);
    auto p1 = first / Tins::UDP(53, 1000) / Tins::RawPDU(std::string(32, 'a'));
    auto d1 = decode_bytes(bytes_of(p1), lt::raw);
    CHECK(d1.status == Status::ok);
    CHECK(layer(d1, 0).ip.mf);
    CHECK(layer(d1, 0).ip.fragment);
    CHECK(d1.inner_l4 == 1);

    Tins::IP rest("10.0.0.2", "10.0.0.1");
    rest.id(77);
    rest.fragment_offset(5);  // 40 bytes
    rest.protocol(17);
    auto p2 = rest / Tins::RawPDU(std::string(24, 'b'));
    auto d2 = decode_bytes(bytes_of(p2), lt::raw);
    CHECK(d2.status == Status::ok);
    CHECK(d2.nlayers == 1);
    CHECK(layer(d2, 0).ip.frag_offset == 40);
    CHECK(d2.inner_l4 == decode::kNone);
    CHECK(d2.fingerprint != 0);
    CHECK(d2.fingerprint != d1.fingerprint);
}

TEST_CASE("IPv4 malformed and truncated variants") {
    auto pkt = Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(53, 1000) / Tins::RawPDU("abcd");
    auto good = bytes_of(pkt);

    auto bad_version = good;
    bad_version[0] = 0x55;
    CHECK(decode_bytes(bad_version, lt::ipv4).reason == Reason::ipv4_bad_version);

    auto bad_ihl = good;
    bad_ihl[0] = 0x44;
    auto d = decode_bytes(bad_ihl, lt::ipv4);
    CHECK(d.status == Status::malformed);
    CHECK(d.reason == Reason::ipv4_bad_header_length);

    auto bad_total = good;
    bad_total[2] = 0;
    bad_total[3] = 10;  // shorter than the header
    CHECK(decode_bytes(bad_total, lt::ipv4).reason == Reason::ipv4_bad_total_length);

    auto long_total = good;
    long_total[3] = static_cast<std::uint8_t>(long_total[3] + 100);  // claims bytes never sent
    auto lt_ = decode_bytes(long_total, lt::ipv4);
    CHECK(lt_.status == Status::truncated);
    CHECK(lt_.reason == Reason::ip_payload_truncated);
    CHECK(lt_.nlayers == 2);  // still decodes what is there

    Bytes short_hdr(good.begin(), good.begin() + 12);
    auto s = decode_bytes(short_hdr, lt::ipv4, static_cast<std::uint32_t>(good.size()));
    CHECK(s.reason == Reason::ipv4_truncated);
}

TEST_CASE("IPv4 total length 0 is a GSO/BIG TCP super-packet sized by the frame") {
    auto pkt = Tins::IP("10.0.0.2", "10.0.0.1") / Tins::TCP(80, 1000) /
               Tins::RawPDU(std::string(100, 'z'));
    auto b = bytes_of(pkt);
    b[2] = b[3] = 0;
    auto d = decode_bytes(b, lt::ipv4);
    CHECK(d.status == Status::ok);
    CHECK(layer(d, 0).ip.total_len == 0);
    CHECK(d.payload_len == 100);
}

TEST_CASE("IPv6 with hop-by-hop, destination options and a fragment header") {
    // libtins writes option-less extension headers 2 bytes long: build them by hand.
    Bytes b{0x60, 0, 0, 0, 0, 8 + 8 + 10, 0 /*hop-by-hop*/, 64};
    for (int i = 0; i < 32; ++i) b.push_back(static_cast<std::uint8_t>(i == 15 || i == 31));
    Bytes hbh{60 /*dest opts*/, 0, 1, 4, 0, 0, 0, 0};  // PadN
    Bytes dst{17 /*UDP*/, 0, 1, 4, 0, 0, 0, 0};
    Bytes udp_hi{0x03, 0xe8, 0x00, 0x35, 0, 10, 0, 0, 'h', 'i'};
    for (auto* part : {&hbh, &dst, &udp_hi}) b.insert(b.end(), part->begin(), part->end());
    auto d = decode_bytes(b, lt::ipv6);
    REQUIRE(d.status == Status::ok);
    CHECK(layer(d, 0).ip.header_len == 56);
    CHECK(layer(d, 0).ip.proto == 17);
    CHECK(layer(d, 1).udp.dport == 53);

    // A fragment header (next header 44), first fragment, then UDP.
    Bytes frag{0x60, 0, 0, 0, 0, 16, 44, 64};
    for (int i = 0; i < 32; ++i) frag.push_back(static_cast<std::uint8_t>(i == 15 || i == 31));
    Bytes fh{17, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef};  // offset 0, M=1, id 0xdeadbeef
    frag.insert(frag.end(), fh.begin(), fh.end());
    Bytes udp{0x03, 0xe8, 0x00, 0x35, 0, 8, 0, 0};
    frag.insert(frag.end(), udp.begin(), udp.end());
    auto f = decode_bytes(frag, lt::ipv6);
    REQUIRE(f.status == Status::ok);
    CHECK(layer(f, 0).ip.fragment);
    CHECK(layer(f, 0).ip.mf);
    CHECK(layer(f, 0).ip.frag_id == 0xdeadbeef);
    CHECK(layer(f, 1).proto == Proto::udp);

    Bytes later = frag;
    later[42] = 0x00;
    later[43] = 0x10;  // offset 16, no M
    auto l = decode_bytes(later, lt::ipv6);
    CHECK(l.nlayers == 1);
    CHECK(layer(l, 0).ip.frag_offset == 16);

    Bytes cut(frag.begin(), frag.begin() + 44);
    auto t = decode_bytes(cut, lt::ipv6, static_cast<std::uint32_t>(frag.size()));
    CHECK(t.reason == Reason::ipv6_ext_truncated);

    Bytes bad = frag;
    bad[0] = 0x40;
    CHECK(decode_bytes(bad, lt::ipv6).reason == Reason::ipv6_bad_version);
}
