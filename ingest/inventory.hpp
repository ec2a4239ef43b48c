#pragma once
// The kubectl JSON files a user gives (--pods, --services, --nodes) read into the inventory.
#include <expected>

#include "core/error.hpp"
#include "ingest/options.hpp"
#include "trace/inventory.hpp"

namespace podtrace::ingest {

// The error names the flag and the file: "--pods pods.json: items[3].status.podIP: ...".
std::expected<void, Error> load_inventory(const InputOptions& opt, trace::Inventory& inv);

}  // namespace podtrace::ingest
