#pragma once
// An IP address with its version, and a prefix; parsed from and printed as text.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "decode/decoded.hpp"

namespace podtrace::trace {

struct IpAddr {
    decode::Addr addr{};  // IPv4 in the first 4 bytes, the rest zero
    std::uint8_t version = 0;

    bool operator==(const IpAddr&) const = default;
    auto operator<=>(const IpAddr&) const = default;
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
