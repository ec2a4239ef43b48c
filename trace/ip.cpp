#include "trace/ip.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "decode/format.hpp"

namespace podtrace::trace {

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddr a;
    if (inet_pton(AF_INET, buf, a.addr.data()) == 1) {
        a.version = 4;
        return a;
    }
    if (inet_pton(AF_INET6, buf, a.addr.data()) == 1) {
        a.version = 6;
        return a;
    }
    return std::nullopt;
}

std::string IpAddr::str() const {
    std::string out;
    decode::format_addr(addr, version == 6 ? 6 : 4, out);
    return out;
}

std::size_t IpAddrHash::operator()(const IpAddr& a) const noexcept {
    std::uint64_t lo, hi;
    std::memcpy(&lo, a.addr.data(), 8);
    std::memcpy(&hi, a.addr.data() + 8, 8);
    std::uint64_t h = (lo ^ (hi * 0x9e3779b97f4a7c15ull) ^ a.version) * 0xbf58476d1ce4e5b9ull;
    return static_cast<std::size_t>(h ^ (h >> 31));
}

bool Cidr::contains(const IpAddr& a) const {
    if (a.version != base.version) return false;
    const int full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(a.addr.data(), base.addr.data(), full) != 0) return false;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a.addr[full] & mask) == base.addr[full];
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
    const auto slash = text.find('/');
    auto base = IpAddr::parse(text.substr(0, slash));
    if (!base) return std::nullopt;
    const int max = base->version == 4 ? 32 : 128;
    int prefix = max;
    if (slash != std::string_view::npos) {
        const auto p = text.substr(slash + 1);
        const auto r = std::from_chars(p.data(), p.data() + p.size(), prefix);
        if (p.empty() || r.ec != std::errc() || r.ptr != p.data() + p.size() || prefix < 0 ||
            prefix > max)
            return std::nullopt;
    }
    Cidr c{*base, static_cast<std::uint8_t>(prefix)};
    for (int i = 0; i < 16; ++i) {
        const int bits = std::clamp(prefix - i * 8, 0, 8);
        c.base.addr[i] &= static_cast<std::uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
    }
    return c;
}

std::string Cidr::str() const {
    return base.str() + '/' + std::to_string(prefix);
}

}  // namespace podtrace::trace
