// The stats file (--stats-file): the workers' counters and every destination's numbers as JSON
// (format_stats_json, pure), and how a file that others read is replaced (replace_file): never
// seen half written, never written through a link someone planted, the previous one kept when
// the new one cannot be written.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "control/report/metrics.h"

namespace fastvs {

// {"workers": [{<every counter>, "conns": N, "drops": {<every reason>}}, ...],
//  "destinations": [{"service": "tcp:VIP:PORT", "rip": "RIP:PORT", "weight", "activeconns",
//  "inactconns", "conns", "inpkts", "outpkts"}, ...]}, raw counters (not since -Z).
std::string format_stats_json(const MetricsSnapshot& m);

// Replaces `path` with `data`: written to a new file of a random name beside it (created with
// O_EXCL, so no name planted in the directory is followed), fsync'd, then renamed over `path`
// (rename replaces a link at `path` itself, never its target). On any error the temporary file
// is removed and `path` is left as it was; the error names the step and the cause.
Status replace_file(const std::string& path, std::string_view data, unsigned mode = 0644);

}  // namespace fastvs
