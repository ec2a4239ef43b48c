#include "report/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <streambuf>

#include "process/fd.hpp"
#include "process/write.hpp"

namespace podtrace::report {
namespace {

// A stream onto a descriptor that keeps the first write error's reason (ofstream loses it).
class FdBuf final : public std::streambuf {
public:
    explicit FdBuf(int fd) : fd_(fd) { setp(buf_, buf_ + sizeof buf_); }
    // Sends what is buffered; the first failure, if any, is the result from then on.
    std::expected<void, Error> finish() {
        drain();
        return error_;
    }

protected:
    int_type overflow(int_type c) override {
        if (!drain()) return traits_type::eof();
        if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
        *pptr() = traits_type::to_char_type(c);
        pbump(1);
        return c;
    }
    int sync() override { return drain() ? 0 : -1; }

private:
    bool drain() {
        if (error_ && pptr() > pbase())
            error_ = process::write_all(fd_, {pbase(), static_cast<std::size_t>(pptr() - pbase())});
        setp(buf_, buf_ + sizeof buf_);
        return error_.has_value();
    }
    int fd_;
    char buf_[1 << 16];
    std::expected<void, Error> error_;
};

std::expected<void, Error> write_fd(int fd, const std::function<void(std::ostream&)>& write) {
    FdBuf buf(fd);
    std::ostream os(&buf);
    write(os);
    return buf.finish();
}

}  // namespace

std::expected<void, Error> write_output(const std::string& path,
                                        const std::function<void(std::ostream&)>& write) {
    const auto failed = [&](const std::string& why) {
        return std::unexpected(Error{"cannot write " + path + ": " + why});
    };
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) return std::unexpected(Error{"-o " + path + ": is a directory"});
        const process::Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (fd.get() < 0) return failed(std::strerror(errno));
        if (auto w = write_fd(fd.get(), write); !w) return failed(w.error().message);
        return {};
    }
    std::string tmp = path + ".XXXXXX";
    process::Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (fd.get() < 0) return failed(std::strerror(errno));
    auto w = write_fd(fd.get(), write);
    // mkstemp makes it 0600; a report is as readable as any file the user creates.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    if (w && ::fchmod(fd.get(), 0666 & ~mask) != 0)
        w = std::unexpected(Error{std::strerror(errno)});
    if (w && ::close(fd.release()) != 0) w = std::unexpected(Error{std::strerror(errno)});
    if (w && std::rename(tmp.c_str(), path.c_str()) != 0)
        w = std::unexpected(Error{std::strerror(errno)});
    if (!w) {
        std::remove(tmp.c_str());
        return failed(w.error().message);
    }
    return {};
}

}  // namespace podtrace::report
