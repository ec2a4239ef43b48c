#include "app/printable_stream.hpp"

#include <cstring>
#include <iostream>

#include "core/printable.hpp"

namespace podtrace::app {

PrintableBuf::PrintableBuf(std::streambuf* dest) : dest_(dest) {
    setp(buf_, buf_ + sizeof buf_);
}

PrintableBuf::~PrintableBuf() {
    drain(true);
    dest_->pubsync();
}

bool PrintableBuf::drain(bool last) {
    const std::string_view s(pbase(), static_cast<std::size_t>(pptr() - pbase()));
    out_.clear();
    std::size_t i = 0, run = 0;  // [run, i): shown as it is, not yet copied
    while ((i = core::skip_plain(s, i)) < s.size()) {
        const unsigned char b = static_cast<unsigned char>(s[i]);
        const int n = core::printable_length(s, i, !last);
        if (n < 0) break;  // cut by the end of the buffer: kept for the next drain
        if (n > 0) {
            i += static_cast<std::size_t>(n);
            continue;
        }
        out_.append(s.data() + run, i - run);
        core::append_escaped(b, out_);
        run = ++i;
    }
    out_.append(s.data() + run, i - run);
    const bool ok = dest_->sputn(out_.data(), static_cast<std::streamsize>(out_.size())) ==
                    static_cast<std::streamsize>(out_.size());
    // The unfinished sequence (at most 3 bytes) moves to the front.
    const std::size_t left = s.size() - i;
    std::memmove(buf_, s.data() + i, left);
    setp(buf_, buf_ + sizeof buf_);
    pbump(static_cast<int>(left));
    return ok;
}

PrintableBuf::int_type PrintableBuf::overflow(int_type c) {
    if (!drain(false)) return traits_type::eof();
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
    return c;
}

std::streamsize PrintableBuf::xsputn(const char* s, std::streamsize n) {
    std::streamsize done = 0;
    while (done < n) {
        if (pptr() == epptr() && !drain(false)) return done;
        const std::streamsize room = epptr() - pptr();
        const std::streamsize k = std::min(room, n - done);
        std::memcpy(pptr(), s + done, static_cast<std::size_t>(k));
        pbump(static_cast<int>(k));
        done += k;
    }
    return done;
}

int PrintableBuf::sync() {
    if (!drain(false)) return -1;
    return dest_->pubsync();
}

PrintableStreams::PrintableStreams()
    : cout_(std::cout.rdbuf()), cerr_(std::cerr.rdbuf()), out_(cout_), err_(cerr_) {
    std::cout.rdbuf(&out_);
    std::cerr.rdbuf(&err_);
}

PrintableStreams::~PrintableStreams() {
    std::cout.flush();
    std::cerr.flush();
    std::cout.rdbuf(cout_);
    std::cerr.rdbuf(cerr_);
}

}  // namespace podtrace::app
