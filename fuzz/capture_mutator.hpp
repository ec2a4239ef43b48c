#pragma once
// A structure-aware mutator for pcap and pcapng files. libFuzzer's own byte mutations rarely get
// past a block length check; this one edits what a capture is made of (block lengths, link
// types, interface ids, timestamps, options, EPB lengths, whole blocks and sections) and leaves
// the rest well-formed, so the reader, the tracer and every output behind it are reached.
#include <cstddef>
#include <cstdint>

namespace podtrace::fuzz {

// LLVMFuzzerCustomMutator's contract: mutate data[0, size) in place, at most max_size bytes,
// return the new size. Falls back to libFuzzer's byte mutations for what is not a capture.
std::size_t mutate_capture(std::uint8_t* data, std::size_t size, std::size_t max_size,
                           unsigned seed);

}  // namespace podtrace::fuzz
