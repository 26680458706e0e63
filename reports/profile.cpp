// Profiles: reading and checking profile documents, and the shipped ones compiled in.
#include <fmt/format.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <span>

#include <nlohmann/json.hpp>

#include "common/json_reader.hpp"
#include "reports/builtin_profiles.hpp"
#include "reports/judge.hpp"
#include "verbs/ops.hpp"

namespace railcheck::reports {
namespace {

using nlohmann::json;

// "is not a profile field (known here: a, b)": what an unknown key of a profile object is.
std::string unknown(std::span<const std::string_view> known) {
  return fmt::format("is not a profile field (known here: {})", fmt::join(known, ", "));
}

void only(JsonReader& r, std::initializer_list<std::string_view> known) {
  const std::span<const std::string_view> keys(known.begin(), known.size());
  r.only(keys, unknown(keys));
}

// An integer of at least `min` ("is 1, must be at least 2").
void at_least(JsonReader& r, std::string_view key, uint32_t& out, uint32_t min) {
  uint32_t v = out;
  if (!r.get(key, v)) return;
  if (v < min) return r.fail(key, fmt::format("is {}, must be at least {}", v, min));
  out = v;
}

void read_limits(JsonReader& r, LatencyLimitsUs& l) {
  const std::vector<std::string_view> keys = verbs::profile_keys();
  r.only(keys, unknown(keys));
  for (std::string_view k : keys) {
    double us = l.of(k);
    if (r.get_in(k, us, 0.0, 1e9)) l.set(k, us);
  }
}

bool looks_like_path(std::string_view s) { return s.find('/') != std::string_view::npos || s.ends_with(".json"); }

}  // namespace

std::vector<std::string> builtin_profile_names() {
  std::vector<std::string> names;
  for (const auto& p : kBuiltinProfiles) names.emplace_back(p.name);
  return names;
}

Result<Profile> profile_from_json(const json& doc, std::string_view origin) {
  JsonErrors errors(fmt::format("profile {}: ", origin), "see profiles/profile.schema.json for the fields and their ranges");
  Profile p;
  p.name = std::string(origin);
  JsonReader top(doc, "", errors);
  only(top, {"$schema", "description", "bandwidth", "latency", "outliers", "causes", "run"});
  std::string schema_ref;
  top.get("$schema", schema_ref);
  top.get("description", p.description);
  top.object("bandwidth", [&](JsonReader& r) {
    only(r, {"rate_fraction", "min_gbps", "gate_from_bytes"});
    r.get_in("rate_fraction", p.bw_rate_fraction, 0.0, 1.0);
    r.get_in("min_gbps", p.bw_min_gbps, 0.0, 1e6);
    r.get_in("gate_from_bytes", p.bw_gate_from_bytes, uint64_t{0}, verbs::kMaxMessageBytes);
  });
  top.object("run", [&](JsonReader& run) {
    only(run, {"bandwidth"});
    run.object("bandwidth", [&](JsonReader& r) {
      only(r, {"size_bytes", "qps", "iters"});
      verbs::BandwidthDefaults& d = p.run_bandwidth;
      uint64_t size = 0, iters = 0;
      uint32_t qps = 0;
      if (r.get_in("size_bytes", size, uint64_t{1}, verbs::kMaxMessageBytes)) d.size_bytes = size;
      if (r.get_in("qps", qps, 1u, verbs::kMaxQps)) d.qps = qps;
      if (r.get_in("iters", iters, uint64_t{1}, verbs::kMaxIters)) d.iters = iters;
    });
  });
  top.object("latency", [&](JsonReader& r) {
    only(r, {"p50_max_us", "p99_max_us"});
    r.object("p50_max_us", [&](JsonReader& l) { read_limits(l, p.lat_p50_max_us); });
    r.object("p99_max_us", [&](JsonReader& l) { read_limits(l, p.lat_p99_max_us); });
  });
  top.object("outliers", [&](JsonReader& r) {
    only(r, {"pct", "min_pairs"});
    double pct = p.outlier_pct;
    if (r.get_in("pct", pct, 0.0, 100.0)) {
      if (pct >= 100) r.fail("pct", fmt::format("is {}, must be in [0, 100)", pct));
      else p.outlier_pct = pct;
    }
    at_least(r, "min_pairs", p.outlier_min_pairs, 2);
  });
  top.object("causes", [&](JsonReader& r) {
    only(r, {"roce_min_mtu", "counter_faults", "counter_min_delta"});
    r.get("roce_min_mtu", p.roce_min_mtu);
    r.get("counter_faults", p.counter_faults);
    r.get_in("counter_min_delta", p.counter_min_delta, uint64_t{1}, uint64_t{1} << 40);
  });
  if (errors.failed()) return errors.unexpected();
  return p;
}

Result<Profile> load_profile(std::string_view name_or_path) {
  if (!looks_like_path(name_or_path)) {
    for (const auto& b : kBuiltinProfiles) {
      if (name_or_path != b.name) continue;
      json doc = json::parse(b.json, nullptr, /*allow_exceptions=*/false);
      if (doc.is_discarded()) {
        return fail(Errc::kInvalidArgument, fmt::format("built-in profile {} is not valid JSON", b.name));
      }
      return profile_from_json(doc, b.name);
    }
    return fail(Errc::kNotFound, fmt::format("no profile named '{}'", name_or_path),
                fmt::format("give one of {} or the path of a profile file (see profiles/)",
                            fmt::join(builtin_profile_names(), ", ")));
  }
  const std::string path(name_or_path);
  std::ifstream in(path);
  if (!in) return fail_errno(fmt::format("open profile {}", path), errno, "give a profile file (see profiles/)");
  try {
    const json doc = json::parse(in);
    return profile_from_json(doc, path);
  } catch (const json::parse_error& e) {
    return fail(Errc::kInvalidArgument, fmt::format("profile {}: not valid JSON at byte {}", path, e.byte),
                "see profiles/default.json for the format");
  }
}

}  // namespace railcheck::reports
