#include "reports/results.hpp"

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <limits>

namespace railcheck::reports {
namespace {

using nlohmann::json;

constexpr std::array kVerdictNames{"", "pass", "warn", "fail", "waived"};

// Reads fields out of one JSON object, remembering the first error with its JSON path.
// Missing optional fields keep their defaults; a field of the wrong type is an error.
class Reader {
 public:
  Reader(const json& j, std::string path, std::optional<Error>& err) : j_(j), path_(std::move(path)), err_(err) {
    if (!j_.is_object()) fail_at(path_, "an object");
  }

  template <typename T>
  void get(const char* key, T& out, bool required = false) {
    if (err_ || !j_.is_object()) return;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      if (required) fail_at(at(key), "a value (missing)");
      return;
    }
    if (!fits<T>(*it)) return fail_at(at(key), expected_name<T>());
    try {
      out = it->template get<T>();
    } catch (const json::exception&) {
      fail_at(at(key), expected_name<T>());
    }
  }

  template <typename T>
  void get_opt(const char* key, std::optional<T>& out) {
    if (err_ || !j_.is_object()) return;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    T v{};
    get(key, v);
    if (!err_) out = v;
  }

  // Calls fn(Reader&, element) for each element of an array field.
  template <typename Fn>
  void each(const char* key, Fn&& fn) {
    if (err_ || !j_.is_object()) return;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    if (!it->is_array()) return fail_at(at(key), "an array");
    for (size_t i = 0; i < it->size() && !err_; ++i) fn((*it)[i], fmt::format("{}[{}]", at(key), i));
  }

  const json& raw() const { return j_; }
  std::string at(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  void fail_at(const std::string& where, std::string_view what) {
    if (!err_) err_ = Error::make(Errc::kInvalidArgument, fmt::format("results JSON: {} must be {}", where, what));
  }

 private:
  template <typename T>
  static const char* expected_name() {
    if constexpr (std::is_same_v<T, std::string>) return "a string";
    else if constexpr (std::is_same_v<T, bool>) return "true or false";
    else if constexpr (std::is_floating_point_v<T>) return "a number";
    else if constexpr (std::is_integral_v<T>) return "a non-negative integer in range";
    else if constexpr (std::is_same_v<T, std::vector<std::string>>) return "an array of strings";
    else return "of the expected type";
  }

  // JSON's own conversions turn true into 1 and -1 into 4294967295; a number field must be a
  // number, an integer one an integer that fits.
  template <typename T>
  static bool fits(const json& v) {
    if constexpr (std::is_same_v<T, bool>) {
      return v.is_boolean();
    } else if constexpr (std::is_integral_v<T>) {
      if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
      if (!v.is_number_integer()) return false;
      const int64_t i = v.get<int64_t>();
      return i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
             (i < 0 || static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max()));
    } else if constexpr (std::is_floating_point_v<T>) {
      return v.is_number();
    } else {
      return true;
    }
  }

  const json& j_;
  std::string path_;
  std::optional<Error>& err_;
};

template <typename T>
json opt_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json end_json(const PairEnd& e) {
  return {{"node", e.node},
          {"pod", e.pod},
          {"interface", e.interface},
          {"ip", e.ip},
          {"device", e.device},
          {"gid", e.gid},
          {"pci_address", e.pci_address},
          {"link_layer", e.link_layer},
          {"active_mtu", opt_json(e.active_mtu)},
          {"rate_gbps", opt_json(e.rate_gbps)},
          {"mem", e.mem},
          {"gpu", opt_json(e.gpu)},
          {"gpu_pci_address", e.gpu_pci_address},
          {"gpu_class", e.gpu_class},
          {"mem_registration", e.mem_registration},
          {"mem_note", e.mem_note}};
}

void read_end(const json& j, const std::string& path, std::optional<Error>& err, PairEnd& e) {
  Reader r(j, path, err);
  r.get("node", e.node, true);
  r.get("pod", e.pod);
  r.get("interface", e.interface, true);
  r.get("ip", e.ip);
  r.get("device", e.device);
  r.get("gid", e.gid);
  r.get("pci_address", e.pci_address);
  r.get("link_layer", e.link_layer);
  r.get_opt("active_mtu", e.active_mtu);
  r.get_opt("rate_gbps", e.rate_gbps);
  r.get("mem", e.mem);
  r.get_opt("gpu", e.gpu);
  r.get("gpu_pci_address", e.gpu_pci_address);
  r.get("gpu_class", e.gpu_class);
  r.get("mem_registration", e.mem_registration);
  r.get("mem_note", e.mem_note);
}

void read_record(const json& j, const std::string& path, std::optional<Error>& err, Record& rec) {
  Reader r(j, path, err);
  r.get("rail", rec.rail, true);
  if (!err && r.raw().contains("src")) read_end(r.raw()["src"], r.at("src"), err, rec.src);
  else r.fail_at(r.at("src"), "an object (missing)");
  if (!err && r.raw().contains("dst")) read_end(r.raw()["dst"], r.at("dst"), err, rec.dst);
  else r.fail_at(r.at("dst"), "an object (missing)");
  r.get("test", rec.test, true);
  r.get("size_bytes", rec.size_bytes, true);
  r.get("bidir", rec.bidir);
  r.get("qps", rec.qps);
  r.get("iters", rec.iters);
  r.get("elapsed_s", rec.elapsed_s);
  if (!err && r.raw().contains("latency_us") && !r.raw()["latency_us"].is_null()) {
    Reader l(r.raw()["latency_us"], r.at("latency_us"), err);
    LatencyUs v;
    l.get("count", v.count);
    l.get("min", v.min, true);
    l.get("p50", v.p50, true);
    l.get("p90", v.p90);
    l.get("p99", v.p99, true);
    l.get("p99_9", v.p99_9);
    l.get("max", v.max, true);
    l.get("mean", v.mean);
    l.get("stdev", v.stdev);
    rec.latency_us = v;
  }
  if (!err && r.raw().contains("bandwidth") && !r.raw()["bandwidth"].is_null()) {
    Reader b(r.raw()["bandwidth"], r.at("bandwidth"), err);
    Bandwidth v;
    b.get("messages", v.messages);
    b.get("avg_gbps", v.avg_gbps, true);
    b.get("peak_gbps", v.peak_gbps);
    b.get("msg_rate_mpps", v.msg_rate_mpps);
    rec.bandwidth = v;
  }
  r.get("error", rec.error);
  r.get("attempts", rec.attempts);
  r.get("round", rec.round);
  std::string verdict;
  r.get("verdict", verdict);
  if (!err) {
    if (auto v = parse_verdict(verdict)) rec.verdict = *v;
    else r.fail_at(r.at("verdict"), "one of \"pass\", \"warn\", \"fail\", \"waived\" or \"\"");
  }
  r.get("cause", rec.cause);
}

}  // namespace

std::string_view to_string(Verdict v) noexcept { return kVerdictNames[static_cast<size_t>(v)]; }

Result<Verdict> parse_verdict(std::string_view text) {
  for (size_t i = 0; i < kVerdictNames.size(); ++i) {
    if (text == kVerdictNames[i]) return static_cast<Verdict>(i);
  }
  return fail(Errc::kInvalidArgument, fmt::format("unknown verdict '{}'", text),
              "expected pass, warn, fail or waived");
}

json to_json(const Record& r) {
  json j{{"rail", r.rail},
         {"src", end_json(r.src)},
         {"dst", end_json(r.dst)},
         {"test", r.test},
         {"size_bytes", r.size_bytes},
         {"bidir", r.bidir},
         {"qps", r.qps},
         {"iters", r.iters},
         {"elapsed_s", r.elapsed_s},
         {"latency_us", nullptr},
         {"bandwidth", nullptr},
         {"error", r.error},
         {"attempts", r.attempts},
         {"round", r.round},
         {"verdict", to_string(r.verdict)},
         {"cause", r.cause}};
  if (r.latency_us) {
    const auto& l = *r.latency_us;
    j["latency_us"] = {{"count", l.count}, {"min", l.min}, {"p50", l.p50},   {"p90", l.p90},    {"p99", l.p99},
                       {"p99_9", l.p99_9}, {"max", l.max}, {"mean", l.mean}, {"stdev", l.stdev}};
  }
  if (r.bandwidth) {
    const auto& b = *r.bandwidth;
    j["bandwidth"] = {{"messages", b.messages},
                      {"avg_gbps", b.avg_gbps},
                      {"peak_gbps", b.peak_gbps},
                      {"msg_rate_mpps", b.msg_rate_mpps}};
  }
  return j;
}

json to_json(const Results& r) {
  json nodes = json::array();
  for (const auto& n : r.nodes) {
    nodes.push_back({{"node", n.node},
                     {"pod", n.pod},
                     {"agent", n.agent},
                     {"reachable", n.reachable},
                     {"error", n.error},
                     {"rail_map", n.rail_map},
                     {"checks", n.checks}});
  }
  json rails = json::array();
  for (const auto& rail : r.rails) {
    json members = json::array();
    for (const auto& m : rail.members) members.push_back({{"node", m.node}, {"interface", m.interface}, {"ip", m.ip}});
    rails.push_back({{"name", rail.name},
                     {"grouped_by", rail.grouped_by},
                     {"members", std::move(members)},
                     {"missing_nodes", rail.missing_nodes}});
  }
  json records = json::array();
  for (const auto& rec : r.records) records.push_back(to_json(rec));
  const auto& m = r.meta;
  return {{"schema_version", r.schema_version},
          {"meta",
           {{"started", m.started},
            {"finished", m.finished},
            {"railcheck_version", m.railcheck_version},
            {"git_commit", m.git_commit},
            {"mode", m.mode},
            {"pattern", m.pattern},
            {"cross_rail", m.cross_rail},
            {"tests", m.tests},
            {"spec", m.spec},
            {"connection", m.connection},
            {"clock", m.clock},
            {"profile", m.profile}}},
          {"nodes", std::move(nodes)},
          {"rails", std::move(rails)},
          {"records", std::move(records)},
          {"notes", r.notes}};
}

Result<Results> results_from_json(const json& j) {
  std::optional<Error> err;
  Results out;
  Reader top(j, "", err);
  top.get("schema_version", out.schema_version, true);
  if (err) return std::unexpected(*err);
  // The same major version: "railcheck.results/v1" itself, or a later minor "railcheck.results/v1.N"
  // (never "v12").
  const std::string_view want = kResultsSchema;
  const std::string& got = out.schema_version;
  if (got != want && !(got.starts_with(want) && got[want.size()] == '.')) {
    return fail(Errc::kInvalidArgument,
                fmt::format("results JSON: schema_version is '{}', this railcheck reads {}", out.schema_version, want),
                "re-render it with the railcheck version that wrote it, or rerun the test");
  }
  if (j.contains("meta")) {
    Reader m(j["meta"], "meta", err);
    m.get("started", out.meta.started);
    m.get("finished", out.meta.finished);
    m.get("railcheck_version", out.meta.railcheck_version);
    m.get("git_commit", out.meta.git_commit);
    m.get("mode", out.meta.mode);
    m.get("pattern", out.meta.pattern);
    m.get("cross_rail", out.meta.cross_rail);
    m.get("tests", out.meta.tests);
    m.get("profile", out.meta.profile);
    m.get("connection", out.meta.connection);
    m.get("clock", out.meta.clock);
    if (!err && m.raw().contains("spec")) out.meta.spec = m.raw()["spec"];
  }
  top.each("nodes", [&](const json& e, const std::string& path) {
    NodeInfo n;
    Reader r(e, path, err);
    r.get("node", n.node, true);
    r.get("pod", n.pod);
    r.get("agent", n.agent);
    r.get("reachable", n.reachable);
    r.get("error", n.error);
    if (!err && e.contains("rail_map")) n.rail_map = e["rail_map"];
    if (!err && e.contains("checks")) n.checks = e["checks"];
    out.nodes.push_back(std::move(n));
  });
  top.each("rails", [&](const json& e, const std::string& path) {
    RailInfo rail;
    Reader r(e, path, err);
    r.get("name", rail.name, true);
    r.get("grouped_by", rail.grouped_by);
    r.get("missing_nodes", rail.missing_nodes);
    r.each("members", [&](const json& me, const std::string& mpath) {
      RailMember m;
      Reader mr(me, mpath, err);
      mr.get("node", m.node, true);
      mr.get("interface", m.interface, true);
      mr.get("ip", m.ip);
      rail.members.push_back(std::move(m));
    });
    out.rails.push_back(std::move(rail));
  });
  top.each("records", [&](const json& e, const std::string& path) {
    Record rec;
    read_record(e, path, err, rec);
    out.records.push_back(std::move(rec));
  });
  top.get("notes", out.notes);
  if (err) return std::unexpected(*err);
  return out;
}

Result<Record> record_from_json(const json& j) {
  std::optional<Error> err;
  Record rec;
  read_record(j, "record", err, rec);
  if (err) return std::unexpected(*err);
  return rec;
}

Result<Results> load_results(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail_errno(fmt::format("open results file {}", path), errno, "give the results.json the coordinator wrote");
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return fail(Errc::kInvalidArgument, fmt::format("{} is not valid JSON", path),
                "give the results.json the coordinator wrote (or `railcheck lat/bw --format json`)");
  }
  auto r = results_from_json(j);
  if (!r) return fail(r.error().code, fmt::format("{}: {}", path, r.error().what), r.error().hint);
  return r;
}

}  // namespace railcheck::reports
