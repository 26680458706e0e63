#include "pods/coordinator.hpp"

#include <fmt/format.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <semaphore>
#include <stdexcept>
#include <thread>

#include "common/build_info.hpp"
#include "pods/agent_client.hpp"
#include "pods/rails.hpp"
#include "reports/pair_ends.hpp"
#include "reports/single_results.hpp"

namespace railcheck::pods {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr Seconds kHealthTimeout{2};
constexpr Seconds kInventoryTimeout{30};
constexpr Seconds kServerStartTimeout{10};
constexpr double kAcceptTimeoutS = 30;

// One agent as the coordinator knows it.
struct AgentState {
  explicit AgentState(AgentClient c) : client(std::move(c)) {}
  AgentClient client;
  std::string name;  // the node name, or node/pod when several agents share a node
  std::string node;
  std::string pod;
  bool reachable = false;
  AgentFailure failure = AgentFailure::kNone;  // why it is not reachable
  std::string error;
  Inventory inventory;
};

std::string describe(const AgentState& a) {
  return a.name.empty() || a.name == a.client.address() ? fmt::format("agent {}", a.client.address())
                                                         : fmt::format("agent {} ({})", a.name, a.client.address());
}

std::string headline(const std::vector<reports::Record>& recs) {
  if (recs.empty()) return "no figures";
  const reports::Record& r = recs.back();  // the largest size is the headline
  if (!r.error.empty()) return "FAILED: " + r.error;
  const std::string test = r.test.name();
  if (r.verdict == reports::Verdict::kWaived) return fmt::format("{} waived: {}", test, r.cause);
  if (r.latency_us) {
    return fmt::format("{} {}: p50 {:.2f} us, p99 {:.2f} us", test, verbs::format_size(r.size_bytes),
                       r.latency_us->p50, r.latency_us->p99);
  }
  if (r.bandwidth) {
    return fmt::format("{} {}: {:.2f} Gb/s", test, verbs::format_size(r.size_bytes), r.bandwidth->avg_gbps);
  }
  return test;
}

// One line of records.jsonl (bad UTF-8 in a cause or an error replaced, never thrown).
void write_record_line(std::ostream& out, const reports::Record& rec) {
  out << reports::to_json(rec).dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
}

class Run {
 public:
  Run(const CoordinatorOptions& opt) : opt_(opt), slots_(std::max<uint32_t>(opt.parallel, 1)) {}

  Result<CoordinatorRun> go();

 private:
  void say(std::string_view line) {
    if (!opt_.progress) return;
    std::lock_guard lock(print_mutex_);
    opt_.progress(line);
  }
  Result<std::vector<std::string>> agent_addresses() const;
  Result<void> find_agents();
  void fetch_inventories();
  void run_rail(const reports::RailInfo& rail);
  // The confirmation runs (see coordinator.hpp); the records file is written again after them.
  void confirm_slow();
  // Each member's active MTU on the rail, for the MTU mismatch notes.
  std::vector<std::optional<uint32_t>> member_mtus(const reports::RailInfo& rail) const;
  std::vector<reports::Record> run_pair_test(const reports::RailInfo& rail, uint32_t round, size_t client,
                                             size_t server, const verbs::RunSpec& spec);
  // One try of one test on a pair: the records, or why not, whether that makes the test waived,
  // and whether trying again is pointless (an agent gone, our token refused).
  struct Try {
    std::vector<reports::Record> records;
    std::string cause;
    bool waived = false;
    bool final = false;
  };
  Try try_pair(uint32_t round, size_t client, size_t server, const reports::RailMember& cm,
               const reports::RailMember& sm, const verbs::RunSpec& spec);
  // Posts a test, waiting while the interface is busy (409): a server side of an earlier pair
  // whose client never came holds it until its accept timeout, then its progress timeout.
  AgentResult<json> post_when_free(AgentState& a, const TestRequest& req, Seconds call_timeout);
  // Whether the agent still answers; marks it gone (since `round`) when not. Returns its cause.
  std::optional<std::string> gone(size_t agent, uint32_t round);
  std::optional<std::string> gone_cause(size_t agent);
  // An agent's end on a rail from its inventory: for the records of tests that never ran.
  reports::PairEnd end_of(size_t agent, const reports::RailMember& m) const;

  const CoordinatorOptions& opt_;
  std::counting_semaphore<> slots_;
  std::mutex print_mutex_;
  std::vector<AgentState> agents_;
  std::map<std::string, size_t> by_name_;

  std::mutex state_mutex_;
  std::map<size_t, std::string> gone_;  // agent -> "agent X unreachable since round k"
  std::vector<reports::Record> records_;  // while they fit in opt_.keep_records
  bool records_dropped_ = false;
  reports::RecordTable table_;
  std::map<std::pair<const reports::RailInfo*, size_t>, uint32_t> end_hint_;  // (rail, member) -> end id
  // By table row: the pair and test it came from, for the confirmation runs.
  struct Origin {
    const reports::RailInfo* rail = nullptr;
    size_t client = 0, server = 0;  // agents
    uint32_t round = 0;
    size_t test = 0;                // index into opt_.tests
  };
  std::vector<Origin> origins_;
  std::ofstream records_file_;
  std::string records_file_error_;
  std::string table_error_;  // the table is full: what limit
  std::vector<std::string> notes_;

  void keep(const reports::RailInfo& rail, size_t client, size_t server, std::vector<reports::Record> records);
};

// Under state_mutex_: the pair's records into the table, the records file and, while they
// fit, memory.
void Run::keep(const reports::RailInfo& rail, size_t client, size_t server, std::vector<reports::Record> records) {
  const size_t client_agent = by_name_.at(rail.members[client].node), server_agent = by_name_.at(rail.members[server].node);
  uint32_t& src = end_hint_.try_emplace({&rail, client}, UINT32_MAX).first->second;
  uint32_t& dst = end_hint_.try_emplace({&rail, server}, UINT32_MAX).first->second;
  for (const reports::Record& rec : records) {
    if (table_error_.empty()) {
      auto s = table_.intern_end(rec.src, src);
      auto d = s ? table_.intern_end(rec.dst, dst) : s;
      auto row = d ? table_.add(rec, *s, *d) : Result<size_t>(std::unexpected(d.error()));
      if (row) {
        src = *s, dst = *d;
        const auto test = std::ranges::find(opt_.tests, rec.test, &verbs::RunSpec::test) - opt_.tests.begin();
        origins_.push_back({.rail = &rail, .client = client_agent, .server = server_agent, .round = rec.round,
                            .test = static_cast<size_t>(test)});
      } else {  // past one of the table's limits (record_table.hpp)
        table_error_ = row.error().what;
        say(fmt::format("{}: the records after the first {} go to {} only", table_error_, table_.size(),
                        opt_.records_path.empty() ? "memory" : opt_.records_path));
      }
    }
    if (records_file_.is_open() && records_file_error_.empty()) {
      write_record_line(records_file_, rec);
    }
  }
  if (records_file_.is_open() && records_file_error_.empty() && !records_file_.flush()) {
    records_file_error_ = fmt::format("writing {} failed ({}): the records after {} are lost", opt_.records_path,
                                      std::strerror(errno), table_.size() - records.size());
  }
  if (records_dropped_) return;
  if (opt_.records_path.empty() || records_.size() + records.size() <= opt_.keep_records) {
    std::ranges::move(records, std::back_inserter(records_));
    return;
  }
  records_dropped_ = true;
  std::vector<reports::Record>().swap(records_);
  say(fmt::format("more than {} records: keeping them in {} and a compact table only (--keep-records)",
                  opt_.keep_records, opt_.records_path));
}

Result<std::vector<std::string>> Run::agent_addresses() const {
  if (!opt_.agents.empty()) return opt_.agents;
  auto ips = resolve_all(opt_.discover);
  if (!ips) return std::unexpected(ips.error());
  std::vector<std::string> out;
  for (const auto& ip : *ips) out.push_back(fmt::format("{}:{}", ip, opt_.agent_port));
  return out;
}

Result<void> Run::find_agents() {
  const auto deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(Seconds(opt_.wait_s));
  std::map<std::string, AgentState> found;  // address -> state
  std::map<std::string, std::string> last_error;
  std::string resolve_error;
  bool announced = false;
  for (;;) {
    auto addrs = agent_addresses();
    if (!addrs) resolve_error = addrs.error().message();
    else resolve_error.clear();
    size_t healthy = 0;
    for (const std::string& a : addrs.value_or(std::vector<std::string>{})) {
      auto hp = parse_agent_address(a, opt_.agent_port);
      if (!hp) return std::unexpected(hp.error());
      auto [it, added] = found.try_emplace(a, AgentClient(hp->first, hp->second, opt_.token));
      if (it->second.reachable) {
        ++healthy;
        continue;
      }
      auto h = it->second.client.health(kHealthTimeout);
      if (h) {
        it->second.reachable = true;
        it->second.node = h->value("node", "");
        it->second.pod = h->value("pod", "");
        ++healthy;
      } else {
        last_error[a] = h.error().message;
      }
    }
    const size_t known = addrs ? addrs->size() : 0;
    const bool enough = opt_.expect_nodes > 0 ? healthy >= opt_.expect_nodes && healthy == known
                                              : known > 0 && healthy == known;
    if (enough || SteadyClock::now() >= deadline) break;
    if (!announced) {
      say(fmt::format("waiting up to {:.0f} s for agents: {} of {} answer{}", opt_.wait_s, healthy, known,
                      opt_.expect_nodes ? fmt::format(" ({} expected)", opt_.expect_nodes) : ""));
      announced = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (found.empty()) {
    return fail(Errc::kNotFound,
                opt_.agents.empty() ? fmt::format("no agent found behind {}: {}", opt_.discover,
                                                  resolve_error.empty() ? "no A records" : resolve_error)
                                    : "no agent address given",
                "is the rdma-tools DaemonSet running, and its headless Service named as --discover says?");
  }
  for (auto& [addr, st] : found) {
    if (!st.reachable) st.error = last_error[addr];
    agents_.push_back(std::move(st));
  }
  return {};
}

void Run::fetch_inventories() {
  std::vector<std::jthread> threads;
  for (AgentState& a : agents_) {
    if (!a.reachable) continue;
    threads.emplace_back([&a] {
      auto got = a.client.inventory(kInventoryTimeout);
      if (!got) {
        a.reachable = false;
        a.failure = got.error().kind;
        a.error = got.error().message;
        return;
      }
      auto inv = inventory_from_json(*got);
      if (!inv) {
        a.error = fmt::format("its inventory: {}", inv.error().message());
        return;
      }
      a.inventory = std::move(*inv);
      if (!a.inventory.error.empty()) a.error = "its rail map: " + a.inventory.error;
      if (!a.inventory.node.empty()) a.node = a.inventory.node;
      if (!a.inventory.pod.empty()) a.pod = a.inventory.pod;
    });
  }
  threads.clear();  // joins
  // Names: the node, or node/pod where agents share a node (several pods per node, the lab).
  std::map<std::string, int> per_node;
  for (const AgentState& a : agents_) per_node[a.node]++;
  for (size_t i = 0; i < agents_.size(); ++i) {
    AgentState& a = agents_[i];
    if (a.node.empty()) a.name = a.client.address();
    else a.name = per_node[a.node] > 1 && !a.pod.empty() ? fmt::format("{}/{}", a.node, a.pod) : a.node;
    by_name_[a.name] = i;
  }
}

std::optional<std::string> Run::gone_cause(size_t agent) {
  std::lock_guard lock(state_mutex_);
  auto it = gone_.find(agent);
  if (it == gone_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Run::gone(size_t agent, uint32_t round) {
  if (auto c = gone_cause(agent)) return c;
  if (agents_[agent].client.health(kHealthTimeout)) return std::nullopt;
  std::lock_guard lock(state_mutex_);
  auto [it, added] = gone_.try_emplace(agent, fmt::format("{} unreachable since round {}", describe(agents_[agent]),
                                                          round));
  if (added) notes_.push_back(it->second);
  return it->second;
}

AgentResult<json> Run::post_when_free(AgentState& a, const TestRequest& req, Seconds call_timeout) {
  const auto deadline =
      SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(Seconds(kAcceptTimeoutS + opt_.test_timeout_s + 1));
  for (;;) {
    auto r = a.client.post_test(req, call_timeout);
    if (r || r.error().kind != AgentFailure::kBusy || SteadyClock::now() >= deadline) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

reports::PairEnd Run::end_of(size_t agent, const reports::RailMember& m) const {
  const AgentState& a = agents_[agent];
  if (a.inventory.rail_map) {
    for (const topology::RailPort& p : a.inventory.rail_map->ports) {
      if (p.interface == m.interface) return reports::interface_end(p, a.name, a.pod);
    }
  }
  reports::PairEnd e;  // no rail map: what the rail grouping knows
  e.node = a.name;
  e.pod = a.pod;
  e.interface = m.interface;
  e.ip = m.ip;
  for (const auto& f : a.inventory.interfaces) {
    if (f.interface == m.interface) e.device = f.rdma_device;
  }
  return e;
}

Run::Try Run::try_pair(uint32_t round, size_t client, size_t server, const reports::RailMember& cm,
                       const reports::RailMember& sm, const verbs::RunSpec& spec) {
  Try t;
  TestRequest sreq{.role = Role::kServer, .interface = sm.interface, .spec = spec, .name = agents_[server].name,
                   .peer = {}, .port = 0, .peer_end = std::nullopt, .timeout_s = opt_.test_timeout_s,
                   .accept_timeout_s = kAcceptTimeoutS};
  auto srv = post_when_free(agents_[server], sreq, kServerStartTimeout);
  if (!srv) {
    t.cause = srv.error().message;
    if (srv.error().kind == AgentFailure::kUnreachable) {
      if (auto c = gone(server, round)) t.cause = *c, t.final = true;
    }
    return t;
  }
  // The server's end as its agent describes it travels to the client, which builds both ends.
  std::optional<reports::PairEnd> server_end;
  if (const auto it = srv->find("end"); it != srv->end()) {
    if (auto e = reports::end_from_json(*it, "end")) server_end = std::move(*e);
  }
  TestRequest creq{.role = Role::kClient, .interface = cm.interface, .spec = spec, .name = agents_[client].name,
                   .peer = agents_[server].client.host(), .port = srv->value("port", uint16_t{0}),
                   .peer_end = server_end, .timeout_s = opt_.test_timeout_s, .accept_timeout_s = kAcceptTimeoutS};
  auto res = post_when_free(agents_[client], creq, Seconds(opt_.pair_timeout_s));
  if (res) {
    const json records = res->value("records", json::array());
    for (const auto& rj : records) {
      auto rec = reports::record_from_json(rj);
      if (!rec) {
        t.cause = fmt::format("{} sent a record this coordinator cannot read: {}", describe(agents_[client]),
                              rec.error().message());
        t.records.clear();
        return t;
      }
      t.records.push_back(std::move(*rec));
    }
    if (t.records.empty()) t.cause = fmt::format("{} sent no records", describe(agents_[client]));
    return t;
  }
  t.cause = res.error().message;
  t.waived = res.error().kind == AgentFailure::kWaived;
  if (t.waived) return t;
  // Which side went away? A dead agent's pairs fail with that cause, without retries.
  if (auto c = gone(client, round)) return t.cause = *c, t.final = true, t;
  if (auto c = gone(server, round)) return t.cause = *c, t.final = true, t;
  t.final = res.error().kind == AgentFailure::kUnauthorized;
  return t;
}

std::vector<reports::Record> Run::run_pair_test(const reports::RailInfo& rail, uint32_t round, size_t client,
                                                size_t server, const verbs::RunSpec& spec) {
  const reports::RailMember& cm = *std::ranges::find(rail.members, agents_[client].name, &reports::RailMember::node);
  const reports::RailMember& sm = *std::ranges::find(rail.members, agents_[server].name, &reports::RailMember::node);
  Try last;
  uint32_t attempts = 0;
  for (uint32_t attempt = 0; attempt <= opt_.retries; ++attempt) {
    if (auto c = gone_cause(client)) { last.cause = *c; break; }
    if (auto c = gone_cause(server)) { last.cause = *c; break; }
    ++attempts;
    last = try_pair(round, client, server, cm, sm, spec);
    if (!last.records.empty()) {
      // Both ends came built by the client's agent: the schedule adds the rail, round and tries.
      for (reports::Record& r : last.records) {
        r.rail = rail.name;
        r.round = round;
        r.attempts = attempts;
      }
      return std::move(last.records);
    }
    if (last.waived || last.final) break;
  }
  auto unrun = reports::unrun_records(spec, rail.name, end_of(client, cm), end_of(server, sm), last.waived, last.cause);
  for (reports::Record& r : unrun) {
    r.attempts = std::max<uint32_t>(attempts, 1);
    r.round = round;
  }
  return unrun;
}

void Run::run_rail(const reports::RailInfo& rail) {
  std::vector<size_t> member_agent;
  for (const auto& m : rail.members) member_agent.push_back(by_name_.at(m.node));
  const Schedule sched = make_schedule(opt_.pattern, static_cast<uint32_t>(rail.members.size()));
  const size_t total = sched.pair_count();
  say(fmt::format("rail {} (by {}): {} members, {} {} round(s), {} pair(s)", rail.name, rail.grouped_by,
                  rail.members.size(), sched.round_count(), to_string(opt_.pattern), total));
  if (total == 0) {
    std::lock_guard lock(state_mutex_);
    notes_.push_back(fmt::format("rail {} has {} member(s): nothing to pair", rail.name, rail.members.size()));
    return;
  }
  const auto started = SteadyClock::now();
  size_t done = 0;
  for (size_t r = 0; r < sched.round_count(); ++r) {
    const Round round = sched.round(r);
    const auto round_no = static_cast<uint32_t>(r + 1);
    std::atomic<size_t> next{0};
    std::vector<std::jthread> workers;
    const size_t n_workers = std::min<size_t>(round.size(), std::max<uint32_t>(opt_.parallel, 1));
    for (size_t w = 0; w < n_workers; ++w) {
      workers.emplace_back([&] {
        for (size_t i = next++; i < round.size(); i = next++) {
          slots_.acquire();
          const size_t c = member_agent[round[i].client];
          const size_t s = member_agent[round[i].server];
          std::vector<reports::Record> pair_records;
          std::string line = fmt::format("[{} {}/{}] {}/{} -> {}/{}:", rail.name, round_no, sched.round_count(),
                                         agents_[c].name, rail.members[round[i].client].interface, agents_[s].name,
                                         rail.members[round[i].server].interface);
          for (const verbs::RunSpec& t : opt_.tests) {
            auto recs = run_pair_test(rail, round_no, c, s, t);
            line += " " + headline(recs) + ";";
            pair_records.insert(pair_records.end(), recs.begin(), recs.end());
          }
          slots_.release();
          line.pop_back();
          say(line);
          std::lock_guard lock(state_mutex_);
          keep(rail, round[i].client, round[i].server, std::move(pair_records));
        }
      });
    }
    workers.clear();  // joins: the round is over
    done += round.size();
    const double elapsed = Seconds(SteadyClock::now() - started).count();
    const double eta = done == 0 ? 0 : elapsed / static_cast<double>(done) * static_cast<double>(total - done);
    say(fmt::format("[{}] round {}/{} done: {}/{} pairs, {:.0f} s elapsed{}", rail.name, round_no, sched.round_count(),
                    done, total, elapsed, done < total ? fmt::format(", ETA {:.0f} s", eta) : std::string{}));
  }
}

std::vector<std::optional<uint32_t>> Run::member_mtus(const reports::RailInfo& rail) const {
  std::vector<std::optional<uint32_t>> out;
  const auto index = table_.find_rail(rail.name);
  for (const auto& m : rail.members) {
    // What the engine measured on the member's port (its ends in the records), else the rail map's.
    std::optional<uint32_t> mtu = end_of(by_name_.at(m.node), m).active_mtu;
    if (index) {
      for (uint32_t e : table_.rail_ends(*index)) {
        const reports::PairEnd& end = table_.end(e);
        if (end.node == m.node && end.interface == m.interface && end.active_mtu) mtu = end.active_mtu;
      }
    }
    out.push_back(mtu);
  }
  return out;
}

void Run::confirm_slow() {
  if (!opt_.profile || opt_.confirm == 0 || origins_.empty()) return;
  // Rows and records_ match one for one only while neither dropped any.
  if (records_dropped_ || !table_error_.empty() || records_.size() != table_.size()) {
    notes_.push_back("slow pairs were not measured again: the run outgrew memory (--keep-records)");
    return;
  }
  bool changed = false;
  for (uint32_t pass = 1; pass <= opt_.confirm; ++pass) {
    reports::judge(table_, *opt_.profile);
    // The slow tests of pairs (errors are retried already, waived tests cannot be slow): their rows.
    std::map<std::tuple<const reports::RailInfo*, size_t, size_t, size_t>, std::vector<size_t>> slow;
    for (size_t i = 0; i < table_.size(); ++i) {
      const auto& row = table_.row(i);
      if (!row.measured() || (row.verdict != reports::Verdict::kWarn && row.verdict != reports::Verdict::kFail)) continue;
      const Origin& o = origins_[i];
      if (o.test < opt_.tests.size()) slow[{o.rail, o.client, o.server, o.test}].push_back(i);
    }
    if (slow.empty()) break;
    say(fmt::format("confirming {} slow pair test(s), run {}/{}", slow.size(), pass, opt_.confirm));
    for (const auto& [key, rows] : slow) {
      const auto& [rail, client, server, test] = key;
      std::vector<reports::Record> again = run_pair_test(*rail, origins_[rows.front()].round, client, server, opt_.tests[test]);
      std::string line = fmt::format("[{} confirm {}/{}] {} -> {}: {}", rail->name, pass, opt_.confirm,
                                     agents_[client].name, agents_[server].name, headline(again));
      say(line);
      for (size_t i : rows) {
        reports::Record& kept = records_[i];
        auto it = std::ranges::find(again, kept.size_bytes, &reports::Record::size_bytes);
        if (it == again.end() || !it->error.empty() || (!it->latency_us && !it->bandwidth)) continue;
        kept.latency_us = it->latency_us;
        kept.bandwidth = it->bandwidth;
        kept.iters = it->iters;
        kept.elapsed_s = it->elapsed_s;
        kept.counters = it->counters;
        ++kept.remeasured;
        table_.replace_figures(i, kept);
        changed = true;
      }
    }
  }
  // The file holds what the run concluded: every record again, the confirmed ones as measured last.
  if (!changed || !records_file_.is_open() || !records_file_error_.empty()) return;
  records_file_.close();
  records_file_.open(opt_.records_path, std::ios::binary | std::ios::trunc);
  for (const reports::Record& rec : records_) {
    write_record_line(records_file_, rec);
  }
  if (!records_file_.flush()) {
    records_file_error_ = fmt::format("writing {} again after the confirmation runs failed ({})", opt_.records_path,
                                      std::strerror(errno));
  }
}

Result<CoordinatorRun> Run::go() {
  CoordinatorRun run;
  reports::Results& out = run.results;
  out.meta.started = reports::utc_now();
  out.meta.railcheck_version = std::string(build_info().version);
  out.meta.git_commit = std::string(build_info().git_commit);
  out.meta.mode = "cluster";
  out.meta.pattern = std::string(to_string(opt_.pattern));
  json specs = json::object();
  for (const verbs::RunSpec& t : opt_.tests) {
    out.meta.tests.push_back(t.test().name());
    specs[t.test().name()] = verbs::to_json(t);
  }
  out.meta.spec = std::move(specs);

  if (auto ok = find_agents(); !ok) return std::unexpected(ok.error());
  fetch_inventories();

  size_t reachable = 0, unauthorized = 0;
  for (const AgentState& a : agents_) {
    if (a.reachable) ++reachable;
    else if (a.failure == AgentFailure::kUnauthorized) ++unauthorized;
  }
  say(fmt::format("{} agent(s), {} answering", agents_.size(), reachable));
  for (const AgentState& a : agents_) {
    // The error names the agent's address already; add its node where known.
    if (!a.reachable) say(a.name.empty() || a.name == a.client.address() ? "  " + a.error : fmt::format("  {}: {}", a.name, a.error));
  }
  if (unauthorized > 0 && unauthorized == agents_.size()) {
    return fail(Errc::kPeer, fmt::format("every agent ({}) refused our token (401)", agents_.size()),
                "give the coordinator the agents' token (--token-file, the release's Secret)");
  }
  if (reachable == 0) {
    return fail(Errc::kPeer, fmt::format("none of the {} agent(s) answered", agents_.size()),
                fmt::format("first error: {}", agents_.front().error));
  }
  if (opt_.expect_nodes > 0 && reachable < opt_.expect_nodes) {
    out.notes.push_back(fmt::format("expected {} agents, {} answered", opt_.expect_nodes, reachable));
  }

  std::vector<NodeFacts> facts;
  for (const AgentState& a : agents_) {
    out.nodes.push_back({.node = a.name, .pod = a.pod, .agent = a.client.address(), .reachable = a.reachable,
                         .error = a.error, .rail_map = a.inventory.rail_map_json, .checks = a.inventory.checks});
    if (a.reachable) facts.push_back({.node = a.name, .interfaces = a.inventory.interfaces});
  }
  RailGrouping grouping = group_rails(facts);
  out.rails = grouping.rails;
  for (auto& n : grouping.notes) notes_.push_back(std::move(n));
  if (out.rails.empty()) {
    return fail(Errc::kNotFound, "no rail: no agent reported an interface with an RDMA device",
                "run `railcheck topo` in an agent pod: are its SR-IOV networks attached (Multus annotations)?");
  }
  for (const auto& rail : out.rails) {
    if (!rail.missing_nodes.empty()) {
      notes_.push_back(fmt::format("rail {} is missing on {}", rail.name, fmt::join(rail.missing_nodes, ", ")));
    }
  }

  if (!opt_.records_path.empty()) {
    records_file_.open(opt_.records_path, std::ios::binary | std::ios::trunc);
    if (!records_file_) {
      return fail_errno(fmt::format("open {}", opt_.records_path), errno, "give a writable report folder (-o)");
    }
  }
  size_t planned = 0;
  for (const auto& rail : out.rails) {
    planned += pair_count(opt_.pattern, static_cast<uint32_t>(rail.members.size()));
  }
  table_.reserve(planned * opt_.tests.size());
  {
    std::vector<std::jthread> rails;
    for (const auto& rail : out.rails) rails.emplace_back([this, &rail] { run_rail(rail); });
  }
  confirm_slow();
  for (const auto& rail : out.rails) {
    for (auto& note : mtu_mismatches(rail, member_mtus(rail))) notes_.push_back(std::move(note));
  }
  if (!records_file_error_.empty()) notes_.push_back(records_file_error_);
  if (!table_error_.empty() && records_dropped_) {
    return fail(Errc::kInvalidArgument, fmt::format("the run outgrew the coordinator's record table ({})", table_error_),
                fmt::format("every record is in {}; test fewer nodes or rails per coordinator run", opt_.records_path));
  }

  // Records in a stable order: rail order, then round, client, test, size.
  std::map<std::string, size_t> rail_index;
  for (size_t i = 0; i < out.rails.size(); ++i) rail_index[out.rails[i].name] = i;
  std::map<verbs::TestId, size_t> test_index;
  for (size_t i = 0; i < opt_.tests.size(); ++i) test_index[opt_.tests[i].test()] = i;
  std::ranges::stable_sort(records_, [&](const reports::Record& a, const reports::Record& b) {
    return std::tuple(rail_index[a.rail], a.round, a.src.node, test_index[a.test], a.size_bytes) <
           std::tuple(rail_index[b.rail], b.round, b.src.node, test_index[b.test], b.size_bytes);
  });
  out.records = std::move(records_);
  run.complete = !records_dropped_;
  run.table = std::move(table_);
  for (auto& n : notes_) out.notes.push_back(std::move(n));
  out.meta.finished = reports::utc_now();
  return run;
}

}  // namespace

Result<std::vector<std::string>> resolve_all(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res); rc != 0) {
    return fail(Errc::kNotFound, fmt::format("resolve {}: {}", name, ::gai_strerror(rc)),
                "is the name the headless Service of the agents (<release>-agents.<namespace>.svc)?");
  }
  std::set<std::string> ips;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    char host[NI_MAXHOST] = {};
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST) == 0) ips.insert(host);
  }
  ::freeaddrinfo(res);
  return std::vector<std::string>(ips.begin(), ips.end());
}

Result<CoordinatorRun> run_coordinator(const CoordinatorOptions& options) {
  if (options.agents.empty() && options.discover.empty()) {
    return fail(Errc::kInvalidArgument, "no agents: give --agents HOST:PORT,... or --discover NAME");
  }
  if (options.tests.empty()) return fail(Errc::kInvalidArgument, "no tests to run", "give --tests");
  Run run(options);
  return run.go();
}

}  // namespace railcheck::pods
