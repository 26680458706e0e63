// Profiles: reading and checking profile documents, and the shipped ones compiled in.
#include <fmt/format.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <span>

#include <nlohmann/json.hpp>

#include "reports/builtin_profiles.hpp"
#include "reports/judge.hpp"

namespace railcheck::reports {
namespace {

using nlohmann::json;

// Walks one object of a profile: every key must be known; a value of the wrong type or out
// of range is an error naming its path. The first error wins.
class ProfileReader {
 public:
  ProfileReader(const json& j, std::string path, std::string_view origin, std::optional<Error>& err)
      : j_(j), path_(std::move(path)), origin_(origin), err_(err) {
    if (!j_.is_object()) fail(path_.empty() ? "the document" : path_, "must be an object");
  }

  // Rejects keys not in `known`.
  void only(std::span<const char* const> known) {
    if (err_ || !j_.is_object()) return;
    for (const auto& [key, value] : j_.items()) {
      if (std::ranges::find_if(known, [&](const char* k) { return key == k; }) == known.end()) {
        fail(at(key), fmt::format("is not a profile field (known here: {})", fmt::join(known, ", ")));
        return;
      }
    }
  }

  void number(const char* key, double& out, double min, double max, bool max_exclusive = false) {
    const json* v = find(key);
    if (v == nullptr) return;
    if (!v->is_number()) return fail(at(key), "must be a number");
    const double d = v->get<double>();
    if (d < min || d > max || (max_exclusive && d >= max)) {
      return fail(at(key), fmt::format("is {}, must be in [{}, {}{}", d, min, max, max_exclusive ? ")" : "]"));
    }
    out = d;
  }

  void integer(const char* key, uint32_t& out, uint32_t min) {
    const json* v = find(key);
    if (v == nullptr) return;
    if (!v->is_number_integer() || v->get<int64_t>() < 0 || v->get<int64_t>() > int64_t{UINT32_MAX}) {
      return fail(at(key), "must be a non-negative integer");
    }
    if (v->get<int64_t>() < min) return fail(at(key), fmt::format("is {}, must be at least {}", v->get<int64_t>(), min));
    out = v->get<uint32_t>();
  }

  void string(const char* key, std::string& out) {
    const json* v = find(key);
    if (v == nullptr) return;
    if (!v->is_string()) return fail(at(key), "must be a string");
    out = v->get<std::string>();
  }

  // Calls fn(ProfileReader&) for a nested object, when present.
  template <typename Fn>
  void object(const char* key, Fn&& fn) {
    const json* v = find(key);
    if (v == nullptr) return;
    ProfileReader nested(*v, at(key), origin_, err_);
    if (!err_) fn(nested);
  }

 private:
  const json* find(const char* key) const {
    if (err_ || !j_.is_object()) return nullptr;
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  std::string at(std::string_view key) const { return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key); }
  void fail(const std::string& where, std::string_view what) {
    if (!err_) {
      err_ = Error::make(Errc::kInvalidArgument, fmt::format("profile {}: {} {}", origin_, where, what),
                         "see profiles/profile.schema.json for the fields and their ranges");
    }
  }

  const json& j_;
  std::string path_;
  std::string_view origin_;
  std::optional<Error>& err_;
};

void read_limits(ProfileReader& r, LatencyLimitsUs& l) {
  static constexpr const char* kKeys[] = {"write", "read", "send"};
  r.only(kKeys);
  r.number("write", l.write, 0, 1e9);
  r.number("read", l.read, 0, 1e9);
  r.number("send", l.send, 0, 1e9);
}

bool looks_like_path(std::string_view s) { return s.find('/') != std::string_view::npos || s.ends_with(".json"); }

}  // namespace

double LatencyLimitsUs::for_test(std::string_view test) const noexcept {
  const std::string_view verb = test.substr(0, test.find('_'));
  if (verb == "write") return write;
  if (verb == "read") return read;
  if (verb == "send") return send;
  return 0;
}

std::vector<std::string> builtin_profile_names() {
  std::vector<std::string> names;
  for (const auto& p : kBuiltinProfiles) names.emplace_back(p.name);
  return names;
}

Result<Profile> profile_from_json(const json& doc, std::string_view origin) {
  std::optional<Error> err;
  Profile p;
  p.name = std::string(origin);
  ProfileReader top(doc, "", origin, err);
  static constexpr const char* kTop[] = {"$schema", "description", "bandwidth", "latency", "outliers", "causes"};
  top.only(kTop);
  std::string schema_ref;
  top.string("$schema", schema_ref);
  top.string("description", p.description);
  top.object("bandwidth", [&](ProfileReader& r) {
    static constexpr const char* kKeys[] = {"rate_fraction", "min_gbps"};
    r.only(kKeys);
    r.number("rate_fraction", p.bw_rate_fraction, 0, 1);
    r.number("min_gbps", p.bw_min_gbps, 0, 1e6);
  });
  top.object("latency", [&](ProfileReader& r) {
    static constexpr const char* kKeys[] = {"p50_max_us", "p99_max_us"};
    r.only(kKeys);
    r.object("p50_max_us", [&](ProfileReader& l) { read_limits(l, p.lat_p50_max_us); });
    r.object("p99_max_us", [&](ProfileReader& l) { read_limits(l, p.lat_p99_max_us); });
  });
  top.object("outliers", [&](ProfileReader& r) {
    static constexpr const char* kKeys[] = {"pct", "min_pairs"};
    r.only(kKeys);
    r.number("pct", p.outlier_pct, 0, 100, /*max_exclusive=*/true);
    r.integer("min_pairs", p.outlier_min_pairs, 2);
  });
  top.object("causes", [&](ProfileReader& r) {
    static constexpr const char* kKeys[] = {"roce_min_mtu"};
    r.only(kKeys);
    r.integer("roce_min_mtu", p.roce_min_mtu, 0);
  });
  if (err) return std::unexpected(*err);
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
