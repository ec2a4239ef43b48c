#include "fuzz/capture_mutator.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "core/frame.hpp"
#include "fuzz/pcapng_walk.hpp"
#include "probes/pcapng_format.hpp"

// libFuzzer's own mutation of a buffer, for what is not a structure (or not one we know).
extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace podtrace::fuzz {
namespace {

namespace ng = probes::pcapng;
namespace lt = core::linktype;
using Bytes = std::vector<std::uint8_t>;

class Rng {
public:
    explicit Rng(unsigned seed) : r_(seed) {}
    unsigned below(unsigned n) { return n == 0 ? 0 : static_cast<unsigned>(r_() % n); }
    bool one_in(unsigned n) { return below(n) == 0; }
    template <class T, std::size_t N>
    T pick(const std::array<T, N>& a) {
        return a[below(N)];
    }

private:
    std::minstd_rand r_;
};

struct Order {
    bool little = true;
    std::uint32_t get32(const std::uint8_t* p) const {
        return little ? p[0] | p[1] << 8 | p[2] << 16 | std::uint32_t{p[3]} << 24
                      : std::uint32_t{p[0]} << 24 | p[1] << 16 | p[2] << 8 | p[3];
    }
    std::uint16_t get16(const std::uint8_t* p) const {
        return static_cast<std::uint16_t>(little ? p[0] | p[1] << 8 : p[0] << 8 | p[1]);
    }
    void put32(std::uint8_t* p, std::uint32_t v) const {
        for (int i = 0; i < 4; ++i) p[little ? i : 3 - i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
    void put16(std::uint8_t* p, std::uint16_t v) const {
        p[little ? 0 : 1] = static_cast<std::uint8_t>(v);
        p[little ? 1 : 0] = static_cast<std::uint8_t>(v >> 8);
    }
    void append32(Bytes& b, std::uint32_t v) const {
        b.resize(b.size() + 4);
        put32(b.data() + b.size() - 4, v);
    }
    void append16(Bytes& b, std::uint16_t v) const {
        b.resize(b.size() + 2);
        put16(b.data() + b.size() - 2, v);
    }
};

// A length, count or id a reader is most likely to get wrong.
std::uint32_t edge32(Rng& rng, std::uint32_t around) {
    static constexpr std::array<std::uint32_t, 16> k{
        0,     1,     4,      8,          11,         12,         16,         20,
        65535, 65536, 262144, 0x7fffffff, 0x80000000, 0xfffffff0, 0xfffffffc, 0xffffffff};
    switch (rng.below(4)) {
        case 0: return around + rng.below(17) - 8;
        case 1: return around * 2 + 1;
        default: return rng.pick(k);
    }
}

// Strings an interface name, a comment or a podtrace annotation may carry from a hostile file.
constexpr std::array<std::string_view, 14> kHostile{
    "\x1b[2J",
    "\x1b]0;retitled\x07",
    "\xff\xfe",
    "\xc3",
    "\xe2\x82",
    "\xc2\x9b"
    "31m",
    std::string_view("cali\0x", 6),
    "\xf4\x90\x80\x80",
    "podtrace node=",
    "podtrace facts=",
    "podtrace facts+=",
    "1e400",
    "{\"interfaces\":[{\"name\":\"\x1b[2J\"}]}",
    "\"\\ud800\"",
};

constexpr std::array<std::uint32_t, 14> kLinktypes{
    lt::null_bsd, lt::ethernet, lt::raw_bsd12, lt::raw_bsd14,  lt::raw, lt::loop, lt::linux_sll,
    lt::ipv4,     lt::ipv6,     lt::nflog,     lt::linux_sll2, 147,     0xffff,   0x10000001,
};

// --- pcapng ---------------------------------------------------------------------------------

struct Block {
    std::uint32_t type = 0;
    Order order;  // the byte order of its section
    Bytes body;   // between the two lengths
};

struct Pcapng {
    std::vector<Block> blocks;
    Bytes rest;  // what did not parse as a block: kept as it was
};

Pcapng parse_pcapng(const std::uint8_t* data, std::size_t size) {
    Pcapng f;
    const std::size_t end = walk_pcapng(
        data, size, [&](std::size_t off, std::uint32_t type, std::uint32_t len, bool little) {
            f.blocks.push_back({type, Order{little}, Bytes(data + off + 8, data + off + len - 4)});
        });
    f.rest.assign(data + end, data + size);
    return f;
}

Bytes serialize(const Pcapng& f) {
    Bytes out;
    for (const Block& b : f.blocks) {
        const auto len = static_cast<std::uint32_t>(b.body.size() + 12);
        b.order.append32(out, b.type);
        b.order.append32(out, len);
        out.insert(out.end(), b.body.begin(), b.body.end());
        b.order.append32(out, len);
    }
    out.insert(out.end(), f.rest.begin(), f.rest.end());
    return out;
}

// Where a block's options begin, or the body's size when it has none we know of.
std::size_t options_at(const Block& b) {
    const std::size_t n = b.body.size();
    switch (b.type) {
        case ng::block_shb: return std::min<std::size_t>(16, n);
        case ng::block_idb: return std::min<std::size_t>(8, n);
        case ng::block_isb: return std::min<std::size_t>(12, n);
        case ng::block_epb:
            if (n < 20) return n;
            return std::min(n, 20 + ng::pad4(b.order.get32(b.body.data() + 12)));
        default: return n;
    }
}

struct Option {
    std::uint16_t code = 0;
    Bytes value;
};

std::vector<Option> parse_options(const Block& b, std::size_t at) {
    std::vector<Option> opts;
    while (at + 4 <= b.body.size()) {
        const std::uint16_t code = b.order.get16(b.body.data() + at);
        const std::uint16_t len = b.order.get16(b.body.data() + at + 2);
        if (code == ng::opt_endofopt || len > b.body.size() - at - 4) break;
        opts.push_back({code, Bytes(b.body.begin() + static_cast<long>(at) + 4,
                                    b.body.begin() + static_cast<long>(at + 4 + len))});
        at += 4 + ng::pad4(len);
    }
    return opts;
}

void write_options(Block& b, std::size_t at, const std::vector<Option>& opts) {
    b.body.resize(at);
    for (const Option& o : opts) {
        b.order.append16(b.body, o.code);
        b.order.append16(b.body,
                         static_cast<std::uint16_t>(std::min<std::size_t>(o.value.size(), 65535)));
        b.body.insert(b.body.end(), o.value.begin(), o.value.end());
        b.body.resize(b.body.size() + (ng::pad4(o.value.size()) - o.value.size()));
    }
    if (!opts.empty()) {  // no options: no end marker either
        b.order.append16(b.body, ng::opt_endofopt);
        b.order.append16(b.body, 0);
    }
}

Bytes value64(const Order& o, std::uint64_t v) {
    Bytes b(8);
    o.put32(b.data() + (o.little ? 0 : 4), static_cast<std::uint32_t>(v));
    o.put32(b.data() + (o.little ? 4 : 0), static_cast<std::uint32_t>(v >> 32));
    return b;
}

// One option of a block set, replaced, cut or inserted.
void mutate_options(Block& b, Rng& rng) {
    const std::size_t at = options_at(b);
    std::vector<Option> opts = parse_options(b, at);
    Option o;
    if (!opts.empty() && rng.one_in(2)) o = opts[rng.below(static_cast<unsigned>(opts.size()))];
    switch (rng.below(8)) {
        case 0:  // a hostile string in a name, description or comment
            o.code = rng.pick(std::array<std::uint16_t, 4>{ng::opt_comment, ng::opt_if_name,
                                                           ng::opt_if_description, 4});
            [[fallthrough]];
        case 1: {
            const std::string_view s = rng.pick(kHostile);
            const std::size_t pos =
                o.value.empty() ? 0 : rng.below(static_cast<unsigned>(o.value.size() + 1));
            o.value.insert(o.value.begin() + static_cast<long>(pos), s.begin(), s.end());
            break;
        }
        case 2:  // the timestamp resolution: 10^-n, 2^-n, and beyond what a uint64 holds
            o.code = ng::opt_if_tsresol;
            o.value = {rng.pick(
                std::array<std::uint8_t, 10>{0, 3, 6, 9, 10, 19, 20, 63, 0x80 | 30, 0xff})};
            break;
        case 3:  // a seconds offset added to every timestamp
            o.code = ng::opt_if_tsoffset;
            o.value =
                value64(b.order, rng.pick(std::array<std::uint64_t, 5>{
                                     0, 1, 0x7fffffffffffffff, 0x8000000000000000, 10000000000}));
            break;
        case 4:  // counters and times in a statistics block (or where they do not belong)
            o.code = rng.pick(std::array<std::uint16_t, 5>{ng::opt_isb_starttime,
                                                           ng::opt_isb_endtime, ng::opt_isb_ifrecv,
                                                           ng::opt_isb_ifdrop, ng::opt_isb_osdrop});
            o.value =
                value64(b.order, rng.pick(std::array<std::uint64_t, 4>{0, 1, ~0ull, 1ull << 63}));
            break;
        case 5:  // a value one byte short or long of what its code needs
            if (o.value.empty() || rng.one_in(2))
                o.value.push_back(static_cast<std::uint8_t>(rng.below(256)));
            else
                o.value.pop_back();
            break;
        case 6:  // a code nobody defined
            o.code = static_cast<std::uint16_t>(rng.below(65536));
            break;
        default:  // bytes of an existing value, as libFuzzer changes them
            if (!o.value.empty()) {
                o.value.resize(o.value.size() * 2 + 8);
                o.value.resize(
                    LLVMFuzzerMutate(o.value.data(), o.value.size() / 2, o.value.size()));
            }
    }
    if (!opts.empty() && rng.one_in(2))
        opts[rng.below(static_cast<unsigned>(opts.size()))] = std::move(o);
    else if (rng.one_in(8) && !opts.empty())
        opts.erase(opts.begin() + rng.below(static_cast<unsigned>(opts.size())));
    else
        opts.insert(opts.begin() + rng.below(static_cast<unsigned>(opts.size() + 1)), std::move(o));
    write_options(b, at, opts);
}

// A fixed field of a block (link type, snaplen, interface id, timestamp, lengths) set to an
// edge: the body keeps its size, so the block still parses and the reader meets the field.
void mutate_field(Block& b, Rng& rng) {
    const Order& o = b.order;
    std::uint8_t* p = b.body.data();
    const std::size_t n = b.body.size();
    if (b.type == ng::block_idb && n >= 8) {
        if (rng.one_in(2))
            o.put16(p, static_cast<std::uint16_t>(rng.pick(kLinktypes)));
        else
            o.put32(p + 4, edge32(rng, o.get32(p + 4)));
    } else if ((b.type == ng::block_epb && n >= 20) || (b.type == ng::block_isb && n >= 12)) {
        switch (rng.below(b.type == ng::block_epb ? 5 : 3)) {
            case 0: o.put32(p, rng.one_in(2) ? rng.below(4) : edge32(rng, o.get32(p))); break;
            case 1:  // high 32 bits of the timestamp: 1970, 2262 and past, the sign bit
                o.put32(p + 4, rng.pick(std::array<std::uint32_t, 6>{0, 1, 0x7fffffff, 0x80000000,
                                                                     0xffffffff, 0x16bcc41}));
                break;
            case 2: o.put32(p + 8, edge32(rng, o.get32(p + 8))); break;
            case 3: o.put32(p + 12, edge32(rng, o.get32(p + 12))); break;  // captured length
            default: o.put32(p + 16, edge32(rng, o.get32(p + 16)));        // original length
        }
    } else if (b.type == ng::block_shb && n >= 16) {
        if (rng.one_in(2))
            o.put16(p + 4, static_cast<std::uint16_t>(rng.below(3)));  // major version
        else
            o.put32(p + 8 + (o.little ? 0 : 4), edge32(rng, 0));  // section length
    } else if (n >= 4) {
        o.put32(p, edge32(rng, o.get32(p)));
    }
}

// Blocks moved, copied, dropped, or a new section or interface where none was.
void mutate_structure(Pcapng& f, Rng& rng) {
    auto& bl = f.blocks;
    const auto n = static_cast<unsigned>(bl.size());
    const unsigned i = rng.below(n), j = rng.below(n);
    switch (rng.below(5)) {
        case 0:  // a copy: a second section starts where its header is copied to
            bl.insert(bl.begin() + rng.below(n + 1), bl[i]);
            break;
        case 1:
            if (n > 1) bl.erase(bl.begin() + i);
            break;
        case 2: std::swap(bl[i], bl[j]); break;
        case 3: {  // a new interface, one of many: ids of later frames may now name it
            Block idb{ng::block_idb, bl[i].order, Bytes(8)};
            idb.order.put16(idb.body.data(), static_cast<std::uint16_t>(rng.pick(kLinktypes)));
            idb.order.put32(idb.body.data() + 4, rng.one_in(2) ? 262144 : edge32(rng, 0));
            const unsigned copies = rng.one_in(8) ? 64 + rng.below(512) : 1;
            bl.insert(bl.begin() + rng.below(n + 1), copies, idb);
            break;
        }
        default: {  // a copy of a whole section (header onwards) at the end: a second file's worth
            unsigned shb = i;
            while (shb > 0 && bl[shb].type != ng::block_shb) --shb;
            std::vector<Block> section(bl.begin() + shb, bl.end());
            bl.insert(bl.end(), section.begin(), section.end());
        }
    }
}

std::size_t mutate_pcapng(std::uint8_t* data, std::size_t size, std::size_t max_size, Rng& rng) {
    Pcapng f = parse_pcapng(data, size);
    if (f.blocks.empty()) return LLVMFuzzerMutate(data, size, max_size);
    const unsigned choice = rng.below(10);
    if (choice == 0) {  // a block length gone wrong, in the file as written
        Bytes out = serialize(f);
        std::size_t off = 0;
        const unsigned k = rng.below(static_cast<unsigned>(f.blocks.size()));
        for (unsigned i = 0; i < k; ++i) off += f.blocks[i].body.size() + 12;
        const std::size_t at = rng.one_in(2) ? off + 4 : off + f.blocks[k].body.size() + 8;
        f.blocks[k].order.put32(out.data() + at,
                                edge32(rng, f.blocks[k].order.get32(out.data() + at)));
        if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
        std::memcpy(data, out.data(), out.size());
        return out.size();
    }
    Block& b = f.blocks[rng.below(static_cast<unsigned>(f.blocks.size()))];
    switch (choice) {
        case 1:
        case 2:
        case 3: mutate_field(b, rng); break;
        case 4:
        case 5: mutate_options(b, rng); break;
        case 6:
        case 7: mutate_structure(f, rng); break;
        default: {  // the body's bytes (a frame's headers, mostly), lengths kept consistent
            const std::size_t at =
                b.type == ng::block_epb ? std::min<std::size_t>(20, b.body.size()) : 0;
            const std::size_t len = b.body.size() - at;
            Bytes tail(b.body.begin() + static_cast<long>(at), b.body.end());
            tail.resize(len * 2 + 64);
            tail.resize(LLVMFuzzerMutate(tail.data(), len, tail.size()));
            b.body.resize(at);
            b.body.insert(b.body.end(), tail.begin(), tail.end());
            if (b.type == ng::block_epb && at == 20 && rng.one_in(2))
                b.order.put32(b.body.data() + 12, static_cast<std::uint32_t>(tail.size()));
            b.body.resize(ng::pad4(b.body.size()));
        }
    }
    const Bytes out = serialize(f);
    if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
    std::memcpy(data, out.data(), out.size());
    return out.size();
}

// --- classic pcap ---------------------------------------------------------------------------

std::size_t mutate_pcap(std::uint8_t* data, std::size_t size, std::size_t max_size, Order o,
                        Rng& rng) {
    // The records, as offsets of their 16-byte headers.
    std::vector<std::size_t> recs;
    for (std::size_t off = 24; off + 16 <= size;) {
        recs.push_back(off);
        const std::uint32_t caplen = o.get32(data + off + 8);
        if (caplen > size - off - 16) break;
        off += 16 + caplen;
    }
    switch (rng.below(recs.empty() ? 2 : 6)) {
        case 0: o.put32(data + 20, rng.pick(kLinktypes) | (rng.one_in(4) ? 0x14000000u : 0)); break;
        case 1: o.put32(data + 16, edge32(rng, o.get32(data + 16))); break;  // snaplen
        case 2: {  // a record's header: seconds, fraction, captured and original lengths
            std::uint8_t* r = data + recs[rng.below(static_cast<unsigned>(recs.size()))];
            const unsigned field = rng.below(4);
            o.put32(r + 4 * field, field == 0 ? rng.pick(std::array<std::uint32_t, 4>{
                                                    0, 0x7fffffff, 0x80000000, 0xffffffff})
                                              : edge32(rng, o.get32(r + 4 * field)));
            break;
        }
        case 3: {  // a record copied elsewhere
            const std::size_t from = recs[rng.below(static_cast<unsigned>(recs.size()))];
            const std::size_t len =
                std::min<std::size_t>(std::size_t{16} + o.get32(data + from + 8), size - from);
            if (size + len > max_size) return LLVMFuzzerMutate(data, size, max_size);
            const std::size_t to = recs[rng.below(static_cast<unsigned>(recs.size()))];
            const Bytes rec(data + from, data + from + len);
            std::memmove(data + to + len, data + to, size - to);
            std::memcpy(data + to, rec.data(), len);
            return size + len;
        }
        default: return LLVMFuzzerMutate(data, size, max_size);
    }
    return size;
}

}  // namespace

std::size_t mutate_capture(std::uint8_t* data, std::size_t size, std::size_t max_size,
                           unsigned seed) {
    Rng rng(seed);
    // Now and then plain byte mutations, so what the structure hides is reached too.
    if (size < 24 || rng.one_in(8)) return LLVMFuzzerMutate(data, size, max_size);
    if (Order{true}.get32(data) == ng::block_shb) return mutate_pcapng(data, size, max_size, rng);
    const std::uint32_t magic = Order{true}.get32(data);
    if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
        return mutate_pcap(data, size, max_size, Order{true}, rng);
    if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
        return mutate_pcap(data, size, max_size, Order{false}, rng);
    return LLVMFuzzerMutate(data, size, max_size);
}

}  // namespace podtrace::fuzz

// libFuzzer's hook, in the capture targets only (fuzz/CMakeLists.txt links this object into
// them): kube_fuzz's JSON is better left to libFuzzer's own mutations.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t max_size, unsigned seed) {
    return podtrace::fuzz::mutate_capture(data, size, max_size, seed);
}
