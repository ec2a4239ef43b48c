#pragma once
// `podtrace decode -j`: one JSON object per frame, on one line (the keys are in the README).
#include <cstdint>
#include <string>
#include <string_view>

#include "decode/decoded.hpp"

namespace podtrace::decode {

// `number`: the frame's number in `file`, from 1; `node`/`interface` "" where unknown.
std::string frame_json(const Decoded& d, const std::string& file, std::uint64_t number,
                       std::string_view node, std::string_view interface);

}  // namespace podtrace::decode
