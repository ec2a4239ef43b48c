// libFuzzer target: bytes -> the pcap/pcapng reader, every frame decoded, every name made
// printable. The reader must end in a frame, the end or an error naming where, never read
// outside its buffer, and keep what it promises of a frame.
#include <cstddef>
#include <cstdint>

#include "core/printable.hpp"
#include "decode/decoder.hpp"
#include "fuzz/checks.hpp"
#include "fuzz/input_files.hpp"
#include "probes/capture_file.hpp"

namespace pf = podtrace::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = pf::write_file({data, size}, "capture");
    auto f = podtrace::probes::CaptureFile::open(path);
    if (!f) {
        if (f.error().message.empty()) pf::violated("open failed without a reason");
        return 0;
    }
    podtrace::decode::Decoder decoder;
    static podtrace::decode::Decoded d;
    podtrace::core::Frame frame;
    std::uint64_t frames = 0;
    for (;;) {
        const auto r = f->next(frame);
        if (r == podtrace::probes::CaptureFile::Read::end) break;
        if (r == podtrace::probes::CaptureFile::Read::error) {
            if (f->error().message.empty()) pf::violated("read error without a reason");
            pf::check_terminal_text(podtrace::core::printable(f->error().message), "reader error");
            break;
        }
        ++frames;
        if (frame.bytes.size() > size) pf::violated("a frame larger than the file");
        decoder.decode(frame, d);
    }
    if (f->frames_read() != frames) pf::violated("frames_read() != frames returned");
    for (const auto& i : f->interfaces())
        pf::check_terminal_text(podtrace::core::printable(i.name), "interface name");
    pf::check_terminal_text(podtrace::core::printable(f->node()), "node annotation");
    return 0;
}
