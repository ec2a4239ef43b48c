// libFuzzer target: bytes -> `podtrace report` in every format, over one capture or several
// (a pcapng's sections, each its own file: a node's capture each). Bad input may fail the read;
// whatever was read must report in text, JSON, JUnit and Markdown, and each output keeps its
// format's promises (JSON parses and is ASCII, JUnit has no byte XML forbids, what reaches a
// terminal has no control byte).
#include <cstddef>
#include <cstdint>
#include <sstream>

#include "core/printable.hpp"
#include "fuzz/checks.hpp"
#include "fuzz/input_files.hpp"
#include "report/format.hpp"
#include "report/report.hpp"

namespace pf = podtrace::fuzz;
namespace pr = podtrace::report;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    pr::Options opt;
    opt.input.files = pf::write_captures({data, size}, 4);
    // The input's size picks what else is asked, so every capture is also a valid seed as is.
    opt.expects = {"no-drops"};
    if (size & 1) opt.expects.push_back("encrypted");
    opt.input.clock = (size & 2) == 0;
    opt.input.reorder_s = (size & 4) ? 0 : 1;
    auto opened = pr::Report::open(opt);
    if (!opened) pf::violated("report refused its fixed options: " + opened.error().message);
    pr::Report& r = **opened;
    if (auto read = r.read(); !read) {
        if (read.error().message.empty()) pf::violated("read failed without a reason");
        return 0;
    }
    if (auto done = r.conclude(); !done) pf::violated("conclude: " + done.error().message);
    for (const auto f : {pr::Format::text, pr::Format::md, pr::Format::json, pr::Format::junit}) {
        std::ostringstream out;
        pr::write(r, f, out);
        const std::string text = out.str();
        if (f == pr::Format::json) {
            pf::check_json(text, "report -f json");
            pf::check_json_layout(text, "report -f json");
        }
        if (f == pr::Format::junit) pf::check_xml_chars(text, "report -f junit");
        pf::check_terminal_text(podtrace::core::printable(text, true), "report output");
    }
    return 0;
}
