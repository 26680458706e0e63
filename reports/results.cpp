#include "reports/results.hpp"

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <fstream>

#include "common/json_reader.hpp"
#include "reports/pair_ends.hpp"

namespace railcheck::reports {
namespace {

using nlohmann::json;

constexpr std::array kVerdictNames{"", "pass", "warn", "fail", "waived"};

template <typename T>
json opt_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

// An object member that must be there: fn(reader) on it, else "<path> must be an object (missing)".
template <typename Fn>
void required_object(JsonReader& r, std::string_view key, Fn&& fn) {
  if (r.ok() && r.find(key) == nullptr) return r.fail(key, "must be an object (missing)");
  r.object(key, std::forward<Fn>(fn));
}

// One end's counters: {"name": delta, ...}, or null (not read).
void read_end_counters(JsonReader& r, std::string_view key, std::optional<std::vector<verbs::CounterDelta>>& out) {
  const json* j = r.find(key);
  if (j == nullptr || j->is_null()) return;
  r.object(key, [&](JsonReader& o) {
    std::vector<verbs::CounterDelta> deltas;
    for (const auto& [name, value] : o.raw().items()) {
      verbs::CounterDelta d{.name = name, .delta = 0, .meaning = verbs::counter_meaning(name)};
      o.require(name, d.delta);
      deltas.push_back(std::move(d));
    }
    out = std::move(deltas);
  });
}

void read_counters(JsonReader& r, RecordCounters& c) {
  read_end_counters(r, "src", c.src);
  read_end_counters(r, "dst", c.dst);
  r.get("note", c.note);
}

void read_record(JsonReader& r, Record& rec) {
  r.require("rail", rec.rail);
  required_object(r, "src", [&](JsonReader& e) { read_end(e, rec.src); });
  required_object(r, "dst", [&](JsonReader& e) { read_end(e, rec.dst); });
  std::string test;
  if (r.require("test", test)) {
    if (auto id = verbs::parse_test_id(test)) rec.test = *id;
    else r.fail("test", fmt::format("must be a test name (\"{}\" is not one: {})", test, id.error().hint));
  }
  r.require("size_bytes", rec.size_bytes);
  r.get("bidir", rec.bidir);
  r.get("qps", rec.qps);
  r.get("iters", rec.iters);
  r.get("elapsed_s", rec.elapsed_s);
  r.object("latency_us", [&](JsonReader& l) {
    LatencyUs v;
    l.get("count", v.count);
    l.require("min", v.min);
    l.require("p50", v.p50);
    l.get("p90", v.p90);
    l.require("p99", v.p99);
    l.get("p99_9", v.p99_9);
    l.require("max", v.max);
    l.get("mean", v.mean);
    l.get("stdev", v.stdev);
    rec.latency_us = v;
  });
  r.object("bandwidth", [&](JsonReader& b) {
    Bandwidth v;
    b.get("messages", v.messages);
    b.require("avg_gbps", v.avg_gbps);
    b.get("peak_gbps", v.peak_gbps);
    b.get("msg_rate_mpps", v.msg_rate_mpps);
    rec.bandwidth = v;
  });
  r.get("error", rec.error);
  r.get("attempts", rec.attempts);
  r.get("round", rec.round);
  r.get("remeasured", rec.remeasured);
  r.object("counters", [&](JsonReader& c) { read_counters(c, rec.counters); });
  std::string verdict;
  if (r.get("verdict", verdict)) {
    if (auto v = parse_verdict(verdict)) rec.verdict = *v;
    else r.fail("verdict", "must be one of \"pass\", \"warn\", \"fail\", \"waived\" or \"\"");
  }
  r.get("cause", rec.cause);
}

JsonErrors results_errors() { return JsonErrors("results JSON: "); }

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
         {"src", to_json(r.src)},
         {"dst", to_json(r.dst)},
         {"test", r.test.name()},
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
  // Written only when known, so documents of runs without them stay as they were.
  if (r.remeasured > 0) j["remeasured"] = r.remeasured;
  if (!r.counters.empty()) {
    j["counters"] = {{"src", verbs::counters_json(r.counters.src)}, {"dst", verbs::counters_json(r.counters.dst)}};
    if (!r.counters.note.empty()) j["counters"]["note"] = r.counters.note;
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
  return {{"schema_version", kResultsSchema},  // what this writer writes, whatever was read
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
  JsonErrors errors = results_errors();
  Results out;
  JsonReader top(j, "", errors);
  top.require("schema_version", out.schema_version);
  if (errors.failed()) return errors.unexpected();
  // The same major version: "railcheck.results/v1" itself, or a minor "railcheck.results/v1.N"
  // (never "v12").
  const std::string_view want = kResultsMajor;
  const std::string& got = out.schema_version;
  if (got != want && !(got.starts_with(want) && got[want.size()] == '.')) {
    return fail(Errc::kInvalidArgument,
                fmt::format("results JSON: schema_version is '{}', this railcheck reads {}", out.schema_version, want),
                "re-render it with the railcheck version that wrote it, or rerun the test");
  }
  top.object("meta", [&](JsonReader& m) {
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
    m.get("spec", out.meta.spec);
  });
  top.each("nodes", [&](const json& e, const std::string& path) {
    NodeInfo n;
    JsonReader r(e, path, errors);
    r.require("node", n.node);
    r.get("pod", n.pod);
    r.get("agent", n.agent);
    r.get("reachable", n.reachable);
    r.get("error", n.error);
    r.get("rail_map", n.rail_map);
    r.get("checks", n.checks);
    out.nodes.push_back(std::move(n));
  });
  top.each("rails", [&](const json& e, const std::string& path) {
    RailInfo rail;
    JsonReader r(e, path, errors);
    r.require("name", rail.name);
    r.get("grouped_by", rail.grouped_by);
    r.get("missing_nodes", rail.missing_nodes);
    r.each("members", [&](const json& me, const std::string& mpath) {
      RailMember m;
      JsonReader mr(me, mpath, errors);
      mr.require("node", m.node);
      mr.require("interface", m.interface);
      mr.get("ip", m.ip);
      rail.members.push_back(std::move(m));
    });
    out.rails.push_back(std::move(rail));
  });
  top.each("records", [&](const json& e, const std::string& path) {
    Record rec;
    JsonReader r(e, path, errors);
    read_record(r, rec);
    out.records.push_back(std::move(rec));
  });
  top.get("notes", out.notes);
  if (errors.failed()) return errors.unexpected();
  return out;
}

Result<Record> record_from_json(const json& j) {
  JsonErrors errors = results_errors();
  Record rec;
  JsonReader r(j, "record", errors);
  read_record(r, rec);
  if (errors.failed()) return errors.unexpected();
  return rec;
}

namespace {

Result<Results> checked_results(const json& j, const std::string& source) {
  if (j.is_discarded()) {
    return fail(Errc::kInvalidArgument, fmt::format("{} is not valid JSON", source),
                "give the results.json the coordinator wrote (or `railcheck lat/bw --format json`)");
  }
  auto r = results_from_json(j);
  if (!r) return fail(r.error().code, fmt::format("{}: {}", source, r.error().what), r.error().hint);
  return r;
}

}  // namespace

Result<Results> load_results(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail_errno(fmt::format("open results file {}", path), errno, "give the results.json the coordinator wrote");
  return checked_results(json::parse(in, nullptr, /*allow_exceptions=*/false), path);
}

Result<Results> parse_results(std::string_view text, const std::string& source) {
  return checked_results(json::parse(text, nullptr, /*allow_exceptions=*/false), source);
}

}  // namespace railcheck::reports
