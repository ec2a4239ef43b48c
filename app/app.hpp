#pragma once
// The command line: main() only calls run(), so tests can drive the tool in-process.
#include <iosfwd>
#include <string>
#include <vector>

#include "decode/dispatch.hpp"

namespace podtrace::app {

// Exit codes: 0 success; 2 bad usage or bad input (a file that cannot be read to its end).
int run(int argc, char** argv);

struct DecodeOptions {
    std::vector<std::string> files;
    bool json = false;
    bool verbose = false;
    bool link = false;
    bool quiet = false;
    long long count = -1;  // stop after this many frames; -1 = all
    decode::Ports ports;
};
int decode_command(const DecodeOptions& opt, std::ostream& out, std::ostream& err);

}  // namespace podtrace::app
