#pragma once
// Everything a subcommand writes to std::cout and std::cerr goes through core::printable: what
// came from input (an interface name, a pod name, a file name in an error) cannot put a control
// sequence on the user's terminal. Binary output (`capture -w -`) goes to the descriptor, not
// through these streams.
#include <streambuf>
#include <string>

namespace podtrace::app {

// A streambuf that passes text on to `dest` as core::printable would have it, newlines kept. A
// UTF-8 sequence cut by a flush waits for the rest.
class PrintableBuf final : public std::streambuf {
public:
    explicit PrintableBuf(std::streambuf* dest);
    ~PrintableBuf() override;  // what is left goes out, an unfinished sequence escaped
    PrintableBuf(const PrintableBuf&) = delete;
    PrintableBuf& operator=(const PrintableBuf&) = delete;

protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;

private:
    // Sends what the put area holds; a sequence cut at its end stays unless `last`.
    bool drain(bool last);
    std::streambuf* dest_;
    char buf_[1 << 16];
    std::string out_;
};

// Installs a PrintableBuf on std::cout and std::cerr; restores them (flushed) when destroyed.
class PrintableStreams {
public:
    PrintableStreams();
    ~PrintableStreams();
    PrintableStreams(const PrintableStreams&) = delete;
    PrintableStreams& operator=(const PrintableStreams&) = delete;

private:
    std::streambuf* cout_;
    std::streambuf* cerr_;
    PrintableBuf out_, err_;
};

}  // namespace podtrace::app
