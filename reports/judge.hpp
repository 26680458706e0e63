#pragma once
// Verdicts: a profile of thresholds, and judge(), which turns a run's raw records into
// pass / warn / fail with a cause. The coordinator and `railcheck report` both call it, so a
// saved run can be re-judged later with another profile.
//
// Profiles are JSON files (schema: profiles/profile.schema.json). The shipped ones,
// profiles/default.json (real NICs: the NVIDIA certification gates) and profiles/lab.json
// (Soft-RoCE under qemu), are compiled into the binary, so it needs no files at run time.
// The rules are described in docs/report-schema.md ("Verdicts").

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"
#include "reports/results.hpp"
#include "verbs/ops.hpp"
#include "verbs/spec.hpp"

namespace railcheck::reports {

class RecordTable;  // reports/record_table.hpp

// Per-verb latency limits in microseconds, by the op table's profile keys (verbs::profile_keys():
// "write", "read", "send", "atomic"; write_imm goes by "write"). A key absent or 0 has no limit.
struct LatencyLimitsUs {
  std::map<std::string, double, std::less<>> by_key;

  [[nodiscard]] double of(std::string_view key) const noexcept {
    auto it = by_key.find(key);
    return it == by_key.end() ? 0 : it->second;
  }
  [[nodiscard]] double for_op(verbs::Op op) const noexcept { return of(verbs::op_info(op).profile_key); }
  void set(std::string_view key, double us) { by_key.insert_or_assign(std::string(key), us); }
  // Equal when every key gives the same limit (absent and 0 are the same: no limit).
  bool operator==(const LatencyLimitsUs& o) const noexcept {
    for (std::string_view k : verbs::profile_keys()) {
      if (of(k) != o.of(k)) return false;
    }
    return true;
  }
};

// Thresholds, plain data. The defaults are profiles/default.json's values.
struct Profile {
  std::string name = "default";  // a shipped profile's name, or the path it was read from
  std::string description;
  // Bandwidth (average Gb/s), gated at every size from bw_gate_from_bytes up (where a port
  // saturates) and at the largest size each pair ran a test with.
  double bw_rate_fraction = 0.90;  // x the slower end's port rate (x2 bidirectional); 0: off
  double bw_min_gbps = 0;          // floor whatever the rate, and when no rate is known; 0: off
  uint64_t bw_gate_from_bytes = 1 << 20;  // 0: only the largest size
  // What the coordinator runs when its options do not say (the lab's small counted runs).
  verbs::BandwidthDefaults run_bandwidth;
  // Latency, gated at the smallest size each pair ran a test with.
  // An atomic is a round trip like a read: the read gate.
  LatencyLimitsUs lat_p50_max_us{.by_key = {{"write", 2.5}, {"read", 4.5}, {"send", 2.5}, {"atomic", 4.5}}};
  LatencyLimitsUs lat_p99_max_us{};
  // Outliers: a pair this many percent below its rail's median bandwidth (or above its
  // median p50 latency) for the same test and size is a warning; 0: off.
  double outlier_pct = 25;
  uint32_t outlier_min_pairs = 3;  // fewer pairs than this in a group: no median, no outliers
  // Causes: a RoCE port whose active MTU is below this is named as a likely cause; 0: off.
  uint32_t roce_min_mtu = 4096;
  // A fault counter (verbs::is_fault) that moved during a test warns even when the figures
  // pass: a lossy link that retransmission hides is still a lossy link.
  bool counter_faults = true;
  // A retransmission counter counts (as a warning and as a cause) from this delta up (the other
  // fault counters from 1): 1 on real NICs,
  // where a healthy lossless link retransmits nothing; more under Soft-RoCE in a TCG guest,
  // whose stalls fire rxe's retransmission timer now and then.
  uint64_t counter_min_delta = 1;

  bool operator==(const Profile&) const = default;
};

// The profiles compiled into the binary, by name ("default", "lab").
std::vector<std::string> builtin_profile_names();

// Reads a profile document. Unknown fields and wrong types are errors naming the field's
// path ("bandwidth.rate_fraction"); missing fields keep the default profile's values.
// `origin` (a file name or a shipped profile's name) leads every message and names the
// profile.
Result<Profile> profile_from_json(const nlohmann::json& doc, std::string_view origin);

// A shipped profile's name ("default", "lab"), or a path to a profile file (anything with a
// '/' or ending in ".json").
Result<Profile> load_profile(std::string_view name_or_path);

// Sets every record's verdict and cause, and meta.profile. Waived records stay waived;
// records with an error fail with the error as cause; the rest are checked against the
// profile's gates and their rail's medians; warnings and failures then get the likely causes
// the data shows (GPU-NIC class SYS, RoCE MTU, a slow link, one node in every slow pair).
// Returns the judged table of the records (row i from record i), for the reporters; an error
// when the records outgrow a table's limits (reports/record_table.hpp), nothing judged then.
Result<RecordTable> judge(Results& results, const Profile& profile);

}  // namespace railcheck::reports
