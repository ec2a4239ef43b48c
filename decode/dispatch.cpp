#include "decode/dispatch.hpp"

#include <algorithm>

namespace podtrace::decode {

bool add_port(PortSet& set, std::uint16_t port) {
    if (port == 0) return false;
    if (contains(set, port)) return true;
    auto free = std::find(set.begin(), set.end(), 0);
    if (free == set.end()) return false;
    *free = port;
    return true;
}

}  // namespace podtrace::decode
