#pragma once
// `podtrace report` as a library: the captures read into a session, the findings, the
// expectations checked, the flows a user asked to see; then drawn in a format (format.hpp).
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "ingest/options.hpp"
#include "report/session.hpp"
#include "trace/expect.hpp"

namespace podtrace::report {

enum class Format : std::uint8_t { text, json, junit, md };

// Which flows are shown (all of them still count for findings and expectations).
struct Filters {
    std::vector<std::string> pods;        // "ns/name" or "name" (any namespace)
    std::vector<std::string> namespaces;  // pods of these namespaces
    std::vector<std::string> ips;
    std::vector<int> ports;
    std::vector<std::string> kinds;    // same-node, cross-node, egress, service, unknown
    std::vector<std::string> between;  // two pods: flows with one at each end
};

struct Options {
    ingest::InputOptions input;
    std::vector<std::string> expects;  // --expect, as typed
    Filters filters;
};

// Bytes read so far and in all (two passes when the clocks are aligned): once with 0 before the
// first byte, then now and then.
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

class Report {
public:
    // What can be checked before a byte is read: the filters (an IP that does not parse, pods
    // named without --pods) and the expectations' grammar.
    static std::expected<std::unique_ptr<Report>, Error> open(const Options& opt);

    // Reads every capture into the session (two passes when several nodes' clocks must be
    // aligned). A file that ends in a fault still counts as far as it was read: its error is in
    // session.files. The error is for input that makes a report impossible (a kubectl file, a
    // capture that cannot be opened).
    std::expected<void, Error> read(const Progress& progress = {});
    // The findings, each expectation evaluated, the flows the filters show. The error: a pod
    // named by --pod/--between or an expectation that is not in --pods.
    std::expected<void, Error> conclude();

    // Every expectation held (or none was given).
    bool held() const;
    // Some capture could not be read to its end.
    bool read_error() const;

    const Options& options() const { return opt_; }

    Session session;
    std::vector<trace::Expectation> expectations;
    std::vector<trace::ExpectResult> results;  // one per expectation, after conclude()
    std::vector<std::uint32_t> shown;          // ids of the flows the filters show

private:
    explicit Report(const Options& opt) : session(opt.input), opt_(opt) {}
    Options opt_;
};

}  // namespace podtrace::report
