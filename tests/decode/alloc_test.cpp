// Decoding allocates nothing per packet: counted by replacing operator new in this binary.
#include <atomic>
#include <cstdlib>
#include <new>

#include <catch2/catch.hpp>

#include "decode/format.hpp"
#include "helpers.hpp"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

using namespace podtrace;
using namespace podtrace::test;

TEST_CASE("decode and fingerprint allocate nothing, whatever the frame") {
    auto inner = Tins::EthernetII() / Tins::IP("172.16.184.4", "172.16.158.1") /
                 Tins::TCP(80, 40000) / Tins::RawPDU(std::string(100, 'x'));
    auto vx = Tins::EthernetII() / Tins::IP("192.168.10.102", "192.168.10.101") /
              Tins::UDP(4789, 55555) / Tins::RawPDU(vxlan_payload(4096, bytes_of(inner)));
    auto wg = Tins::EthernetII() / Tins::IP("192.168.10.102", "192.168.10.101") /
              Tins::UDP(51820, 51820) / Tins::RawPDU(wg_data(1, 2, 100));
    std::vector<Bytes> frames{bytes_of(vx), bytes_of(wg), Bytes(3, 0)};
    decode::Decoder decoder;
    decode::Decoded d;
    std::string line;
    line.reserve(512);
    long before = g_allocations.load();
    for (int round = 0; round < 100; ++round) {
        for (const Bytes& b : frames) {
            core::Frame f;
            f.bytes = {b.data(), b.size()};
            f.wirelen = static_cast<std::uint32_t>(b.size());
            decoder.decode(f, d);
            line.clear();
            decode::format_layers(d, {.verbose = true}, line);
        }
    }
    CHECK(g_allocations.load() - before == 0);
    CHECK(decoder.stats().frames == 300);
}
