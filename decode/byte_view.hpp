#pragma once
// Bounds-checked big/little-endian reads over captured bytes. A read past the end yields 0
// instead of touching memory; parsers call has() first to tell truncation from a zero field.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace podtrace::decode {

class ByteView {
public:
    ByteView() = default;
    ByteView(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    std::size_t size() const { return size_; }
    const std::uint8_t* data() const { return data_; }
    bool has(std::size_t off, std::size_t len) const { return off <= size_ && len <= size_ - off; }

    std::uint8_t u8(std::size_t off) const { return off < size_ ? data_[off] : 0; }
    std::uint16_t be16(std::size_t off) const {
        return has(off, 2) ? static_cast<std::uint16_t>(data_[off] << 8 | data_[off + 1]) : 0;
    }
    std::uint32_t be24(std::size_t off) const {
        return has(off, 3) ? std::uint32_t{data_[off]} << 16 | std::uint32_t{data_[off + 1]} << 8 |
                                 data_[off + 2]
                           : 0;
    }
    std::uint32_t be32(std::size_t off) const {
        return has(off, 4) ? std::uint32_t{be16(off)} << 16 | be16(off + 2) : 0;
    }
    std::uint32_t le32(std::size_t off) const {
        return has(off, 4)
                   ? std::uint32_t{data_[off]} | std::uint32_t{data_[off + 1]} << 8 |
                         std::uint32_t{data_[off + 2]} << 16 | std::uint32_t{data_[off + 3]} << 24
                   : 0;
    }
    std::uint64_t le64(std::size_t off) const {
        return has(off, 8) ? std::uint64_t{le32(off)} | std::uint64_t{le32(off + 4)} << 32 : 0;
    }
    // Copies n bytes into dst when all are there, else leaves dst as it was. With n constant
    // this compiles to plain loads and stores.
    void read(std::size_t off, void* dst, std::size_t n) const {
        if (has(off, n)) std::memcpy(dst, data_ + off, n);
    }

private:
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace podtrace::decode
