// Standard output and error of every subcommand pass through PrintableBuf: controls from input
// come out as \xNN, valid UTF-8 as it is, even when a sequence is split across writes.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "app/printable_stream.hpp"

using podtrace::app::PrintableBuf;

namespace {

std::string through(const std::vector<std::string>& writes, bool flush_between = false) {
    std::ostringstream sink;
    {
        PrintableBuf buf(sink.rdbuf());
        std::ostream out(&buf);
        for (const std::string& w : writes) {
            out << w;
            if (flush_between) out.flush();
        }
    }
    return sink.str();
}

}  // namespace

TEST_CASE("printable stream: controls escaped, newlines and UTF-8 kept") {
    CHECK(through({"ok\n", "ens5\x1b[2J\n", "pod→1\n"}) == "ok\nens5\\x1b[2J\npod→1\n");
    CHECK(through({"a\xff\xfe" "b\n"}) == "a\\xff\\xfeb\n");
}

TEST_CASE("printable stream: a UTF-8 sequence split across writes and flushes stays whole") {
    CHECK(through({"x\xe2", "\x86", "\x92y"}, true) == "x\xe2\x86\x92y");
    CHECK(through({"x\xe2\x86"}) == "x\\xe2\\x86");  // never finished: escaped at the end
}

TEST_CASE("printable stream: more than its buffer, in one write") {
    std::string big(200000, 'a');
    big[100000] = '\x1b';
    const std::string out = through({big});
    CHECK(out.size() == big.size() + 3);
    CHECK(out.substr(100000, 4) == "\\x1b");
}
