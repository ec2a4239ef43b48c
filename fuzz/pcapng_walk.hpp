#pragma once
// The block walk both the mutator and the input writer need: a pcapng's blocks by their lengths,
// each read in its section's byte order. Not the reader's (probes/capture_file.cpp), which reads
// from a stream and stops with an error; this one works on bytes in memory and stops quietly.
#include <cstddef>
#include <cstdint>

#include "probes/pcapng_format.hpp"

namespace podtrace::fuzz {

// Calls on_block(offset, type, length, little_endian) for each block from the start, until a
// length that does not walk (under 12, not a multiple of 4, past the end). Returns where it
// stopped: what follows is not a block.
template <typename OnBlock>
std::size_t walk_pcapng(const std::uint8_t* data, std::size_t size, OnBlock on_block) {
    bool little = true;
    const auto get32 = [&](std::size_t o) {
        const std::uint32_t v =
            data[o] | data[o + 1] << 8 | data[o + 2] << 16 | std::uint32_t{data[o + 3]} << 24;
        return little ? v : __builtin_bswap32(v);
    };
    std::size_t off = 0;
    while (off + 12 <= size) {
        // An SHB's type reads the same in both orders; its byte-order magic says which.
        if (get32(off) == probes::pcapng::block_shb) little = data[off + 8] == 0x4d;
        const std::uint32_t type = get32(off), len = get32(off + 4);
        if (len < 12 || len % 4 != 0 || len > size - off) break;
        on_block(off, type, len, little);
        off += len;
    }
    return off;
}

}  // namespace podtrace::fuzz
