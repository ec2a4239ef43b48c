#pragma once
// An IP address with its version, and a prefix; parsed from and printed as text.
#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "decode/decoded.hpp"

namespace podtrace::trace {

// An address as two words: the per-packet compares then take a few instructions, where
// std::array's calls memcmp.
struct AddrWords {
    std::uint64_t w0 = 0, w1 = 0;
};
inline AddrWords addr_words(const decode::Addr& a) {
    AddrWords w;
    std::memcpy(&w.w0, a.data(), 8);
    std::memcpy(&w.w1, a.data() + 8, 8);
    return w;
}
inline bool same_addr(const decode::Addr& a, const decode::Addr& b) {
    const AddrWords x = addr_words(a), y = addr_words(b);
    return ((x.w0 ^ y.w0) | (x.w1 ^ y.w1)) == 0;
}
// Byte by byte, as std::array orders: each word read most significant byte first.
inline std::strong_ordering compare_addr(const decode::Addr& a, const decode::Addr& b) {
    const auto big = [](std::uint64_t w) {
        return std::endian::native == std::endian::little ? std::byteswap(w) : w;
    };
    const AddrWords x = addr_words(a), y = addr_words(b);
    if (x.w0 != y.w0) return big(x.w0) <=> big(y.w0);
    return big(x.w1) <=> big(y.w1);
}

struct IpAddr {
    decode::Addr addr{};  // IPv4 in the first 4 bytes, the rest zero
    std::uint8_t version = 0;

    bool operator==(const IpAddr& o) const {
        return same_addr(addr, o.addr) && version == o.version;
    }
    std::strong_ordering operator<=>(const IpAddr& o) const {
        if (const auto c = compare_addr(addr, o.addr); c != 0) return c;
        return version <=> o.version;
    }
    // "172.16.158.1", "fd00::1"; nullopt for anything else.
    static std::optional<IpAddr> parse(std::string_view text);
    std::string str() const;
};

struct IpAddrHash {
    std::size_t operator()(const IpAddr& a) const noexcept;
};

struct Cidr {
    IpAddr base;  // host bits cleared
    std::uint8_t prefix = 0;

    bool contains(const IpAddr& a) const;
    bool operator==(const Cidr&) const = default;
    // "172.16.184.0/24"; a bare address is a /32 or /128.
    static std::optional<Cidr> parse(std::string_view text);
    std::string str() const;
};

}  // namespace podtrace::trace
