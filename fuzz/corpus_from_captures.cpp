// Writes one fuzz seed per frame of a capture: link type (2 bytes, big-endian), Ports
// selector (1 byte, see decode_fuzz.cpp), then the frame bytes.
// Usage: corpus_from_captures OUT_DIR PORTS_SELECTOR NAME_PREFIX CAPTURE
// Built with g++ by make_corpus.sh: clang 14 cannot compile capture_file.hpp's <expected>.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "probes/capture_file.hpp"

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: " << argv[0] << " OUT_DIR PORTS_SELECTOR NAME_PREFIX CAPTURE\n";
        return 2;
    }
    const std::string out_dir = argv[1];
    const auto sel = static_cast<std::uint8_t>(std::strtoul(argv[2], nullptr, 0));
    const std::string prefix = argv[3];

    auto file = podtrace::probes::CaptureFile::open(argv[4]);
    if (!file) {
        std::cerr << file.error().message << '\n';
        return 1;
    }
    podtrace::core::Frame frame;
    std::uint64_t n = 0;
    for (;;) {
        const auto next = file->next(frame);
        if (next == podtrace::probes::CaptureFile::Read::end) break;
        if (next == podtrace::probes::CaptureFile::Read::error) {
            std::cerr << file->error().message << '\n';
            return 1;
        }
        const char head[3] = {static_cast<char>(frame.linktype >> 8 & 0xff),
                              static_cast<char>(frame.linktype & 0xff), static_cast<char>(sel)};
        std::ofstream out(out_dir + "/" + prefix + "-" + std::to_string(++n), std::ios::binary);
        out.write(head, sizeof head);
        out.write(reinterpret_cast<const char*>(frame.bytes.data()),
                  static_cast<std::streamsize>(frame.bytes.size()));
        if (!out) {
            std::cerr << "cannot write to " << out_dir << '\n';
            return 1;
        }
    }
    std::cout << n << '\n';
    return 0;
}
