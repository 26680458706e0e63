#include "reports/record_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace railcheck::reports {
namespace {

// Every field of an end, separated by a byte no name contains.
std::string end_key(const PairEnd& e) {
  std::string k;
  k.reserve(160);
  for (const std::string* s : {&e.node, &e.pod, &e.interface, &e.ip, &e.device, &e.gid, &e.pci_address,
                               &e.link_layer, &e.mem, &e.gpu_pci_address, &e.gpu_class, &e.mem_registration,
                               &e.mem_note, &e.placement_note, &e.scatter_to_cqe, &e.budget_note}) {
    k += *s;
    k += '\x1f';
  }
  k += e.active_mtu ? fmt::format("{}", *e.active_mtu) : "-";
  k += '\x1f';
  k += e.rate_gbps ? fmt::format("{:x}", std::bit_cast<uint64_t>(*e.rate_gbps)) : "-";  // exact, and cheap
  k += '\x1f';
  k += e.gpu ? fmt::format("{}", *e.gpu) : "-";
  for (const std::optional<int>* v : {&e.cpu, &e.numa_node}) k += *v ? fmt::format("\x1f{}", **v) : "\x1f-";
  k += '\x1f';
  k += e.relaxed_ordering ? (*e.relaxed_ordering ? "1" : "0") : "-";
  k += e.inline_bytes ? fmt::format("\x1f{}", *e.inline_bytes) : "\x1f-";
  k += e.budget_gbps ? fmt::format("\x1f{:x}", std::bit_cast<uint64_t>(*e.budget_gbps)) : "\x1f-";
  return k;
}

template <typename Id>
Id intern(std::string_view text, std::vector<std::string>& pool, std::unordered_map<std::string, Id>& ids,
          const char* what) {
  // One string for the lookup; try_emplace keeps it only when the text is new.
  auto [it, fresh] = ids.try_emplace(std::string(text), static_cast<Id>(pool.size()));
  if (fresh) {
    if (pool.size() >= std::numeric_limits<Id>::max()) {
      throw std::length_error(fmt::format("record table: more than {} distinct {}", std::numeric_limits<Id>::max(), what));
    }
    pool.emplace_back(text);
  }
  return it->second;
}

// a == b for the short names a record carries (rails, tests), compared 8 bytes at a time
// inline: this runs a few times for every record added, where a call to memcmp costs more than
// the comparison.
[[gnu::always_inline]] inline bool same(std::string_view a, std::string_view b) noexcept {
  const size_t n = a.size();
  if (n != b.size()) return false;
  auto word = [](const char* p) {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
  };
  if (n < 8) {
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  for (size_t i = 0; i + 8 <= n; i += 8) {
    if (word(a.data() + i) != word(b.data() + i)) return false;
  }
  return word(a.data() + n - 8) == word(b.data() + n - 8);  // the last bytes, overlapping
}

}  // namespace

namespace {

// A limit the table met, as an Error.
std::unexpected<Error> limit_error(const std::length_error& e) {
  return fail(Errc::kInvalidArgument, e.what(), "test fewer nodes, rails or kinds of test per run");
}

}  // namespace

Result<uint32_t> RecordTable::intern_end(const PairEnd& end) {
  try {
    return intern_end_or_throw(end);
  } catch (const std::length_error& e) {
    return limit_error(e);
  }
}

Result<size_t> RecordTable::add(const Record& r, uint32_t src, uint32_t dst) {
  try {
    return add_or_throw(r, src, dst);
  } catch (const std::length_error& e) {
    return limit_error(e);
  }
}

Result<size_t> RecordTable::add(const Record& r) {
  auto src = intern_end(r.src);
  if (!src) return std::unexpected(src.error());
  auto dst = intern_end(r.dst);
  if (!dst) return std::unexpected(dst.error());
  return add(r, *src, *dst);
}

uint32_t RecordTable::intern_end_or_throw(const PairEnd& end) {
  auto [it, fresh] = end_ids_.try_emplace(end_key(end), static_cast<uint32_t>(ends_.size()));
  if (fresh) {
    const uint32_t node = intern<uint32_t>(end.node, nodes_, node_ids_, "nodes");
    auto [port, new_port] = port_ids_.try_emplace(end.node + '\n' + end.interface, static_cast<uint32_t>(port_ids_.size()));
    const uint16_t mem = name_id(end.mem);
    ends_.push_back({.facts = end, .node = node, .port = port->second});
    end_mem_.push_back(mem);
  }
  return it->second;
}

uint16_t RecordTable::name_id(std::string_view name) {
  return intern<uint16_t>(name, names_, name_ids_, "rail, test and memory names");
}

uint32_t RecordTable::text_id(std::string_view text) { return intern<uint32_t>(text, texts_, text_ids_, "texts"); }

uint16_t RecordTable::rail_index(std::string_view name) {
  if (auto known = find_rail(name)) return *known;
  if (rails_.size() >= UINT16_MAX) throw std::length_error("record table: more than 65535 rails");
  rails_.push_back({.name = name_id(name), .ends = {}, .local = {}});
  return static_cast<uint16_t>(rails_.size() - 1);
}

std::optional<uint16_t> RecordTable::find_rail(std::string_view name) const {
  auto it = std::ranges::find_if(rails_, [&](const Rail& r) { return names_[r.name] == name; });
  if (it == rails_.end()) return std::nullopt;
  return static_cast<uint16_t>(it - rails_.begin());
}

uint16_t RecordTable::local_end(uint16_t rail, uint32_t end) {
  Rail& r = rails_[rail];
  if (end >= r.local.size()) r.local.resize(ends_.size(), 0);
  uint16_t& local = r.local[end];
  if (local == 0) {
    if (r.ends.size() >= UINT16_MAX) {
      throw std::length_error(fmt::format("record table: rail {} has more than {} ends", names_[r.name], UINT16_MAX));
    }
    r.ends.push_back(end);
    local = static_cast<uint16_t>(r.ends.size());
  }
  return static_cast<uint16_t>(local - 1);
}

uint16_t RecordTable::kind_of(const Record& r, uint32_t src, uint32_t dst, uint16_t& rail) {
  const uint16_t src_mem = end_mem_[src], dst_mem = end_mem_[dst];
  const auto recent = std::ranges::find_if(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(recent_count_),
                                           [&](const Recent& k) {
                                             return k.size_bytes == r.size_bytes && k.qps == r.qps && k.bidir == r.bidir &&
                                                    k.src_mem == src_mem && k.dst_mem == dst_mem && k.test == r.test &&
                                                    same(k.rail, r.rail);
                                           });
  if (recent != recent_.begin() + static_cast<std::ptrdiff_t>(recent_count_)) {
    rail = recent->rail_index;
    return recent->kind;
  }

  rail = rail_index(r.rail);
  // The label (test_label()) from the test and the ends' memory.
  const std::string label_text = test_label(r.test, r.bidir, ends_[src].facts.mem, ends_[dst].facts.mem);
  const uint16_t label = name_id(label_text);
  auto [it, fresh] = kind_ids_.try_emplace({rail, label, r.size_bytes, r.qps}, static_cast<uint16_t>(kinds_.size()));
  if (fresh) {
    if (kinds_.size() >= UINT16_MAX) {
      kind_ids_.erase(it);
      throw std::length_error("record table: more than 65535 kinds of row (rail, test, size and QP count)");
    }
    auto [series, new_series] = series_ids_.try_emplace({rail, label}, static_cast<uint16_t>(series_.size()));
    if (new_series) {
      series_.push_back({.rail = rail, .label = label, .test = r.test, .plain = label_text == r.test.name(),
                         .latency = r.is_latency(), .kinds = {}});
    }
    series_[series->second].kinds.push_back(it->second);
    kinds_.push_back({.rail = rail,
                      .label = label,
                      .test = r.test,
                      .series = series->second,
                      .size_bytes = r.size_bytes,
                      .qps = r.qps,
                      .latency = r.is_latency(),
                      .bidir = r.bidir});
  }
  // Remembered first, the oldest forgotten.
  if (recent_count_ < recent_.size()) ++recent_count_;
  std::move_backward(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(recent_count_) - 1,
                     recent_.begin() + static_cast<std::ptrdiff_t>(recent_count_));
  recent_.front() = {.rail = r.rail,
                     .test = r.test,
                     .size_bytes = r.size_bytes,
                     .qps = r.qps,
                     .src_mem = src_mem,
                     .dst_mem = dst_mem,
                     .bidir = r.bidir,
                     .rail_index = rail,
                     .kind = it->second};
  return it->second;
}

void RecordTable::reserve(size_t rows) {
  rows_.reserve(rows);
  // Room for every row to be a latency row: address space only, the pages the p99s of a run
  // with fewer latency rows never reach are never touched.
  p99_.reserve(rows);
  latency_bits_.reserve(rows / 64 + 1);
  latency_before_.reserve(rows / 64 + 1);
}

size_t RecordTable::add_or_throw(const Record& r, uint32_t src, uint32_t dst) {
  if (rows_.size() >= UINT32_MAX) throw std::length_error("record table: more than 4294967295 rows");
  uint16_t rail = 0;
  const uint16_t kind = kind_of(r, src, dst, rail);
  if (rail != last_ends_.rail || src != last_ends_.src || dst != last_ends_.dst) {
    last_ends_ = {.rail = rail, .src = src, .dst = dst, .local_src = local_end(rail, src), .local_dst = local_end(rail, dst)};
  }
  Row row{.src = last_ends_.local_src, .dst = last_ends_.local_dst, .kind = kind, .verdict = r.verdict};
  const bool latency = kinds_[kind].latency;
  float p99 = 0;
  if (latency && r.latency_us) {
    row.flags |= kFigures;
    row.value = r.latency_us->p50;
    p99 = static_cast<float>(r.latency_us->p99);
  } else if (!latency && r.bandwidth) {
    row.flags |= kFigures;
    row.value = r.bandwidth->avg_gbps;
  }
  const size_t index = rows_.size();
  if (index % 64 == 0) {
    latency_bits_.push_back(0);
    latency_before_.push_back(static_cast<uint32_t>(p99_.size()));
  }
  if (latency) {
    latency_bits_.back() |= uint64_t{1} << (index % 64);
    p99_.push_back(p99);
  }
  if (!r.error.empty()) {
    row.flags |= kError;
    errors_.emplace_back(static_cast<uint32_t>(index), text_id(r.error));
  }
  if (!r.cause.empty()) {
    row.flags |= kCause;
    causes_.emplace_back(static_cast<uint32_t>(index), text_id(r.cause));
  }
  rows_.push_back(row);
  set_counters(index, r.counters);
  if (counts_valid_ && row.measured()) count(row, p99);
  medians_valid_ = false;
  return index;
}

void RecordTable::set_counters(size_t row, const RecordCounters& c) {
  auto it = std::ranges::lower_bound(counters_, static_cast<uint32_t>(row), {},
                                     &std::pair<uint32_t, RecordCounters>::first);
  const bool moved = (c.src && !c.src->empty()) || (c.dst && !c.dst->empty());
  if (it != counters_.end() && it->first == row) {
    if (moved) it->second = c;
    else counters_.erase(it);
  } else if (moved) {
    counters_.emplace(it, static_cast<uint32_t>(row), c);
  }
}

const RecordCounters* RecordTable::counters(size_t row) const {
  auto it = std::ranges::lower_bound(counters_, static_cast<uint32_t>(row), {},
                                     &std::pair<uint32_t, RecordCounters>::first);
  return it != counters_.end() && it->first == row ? &it->second : nullptr;
}

void RecordTable::replace_figures(size_t row, const Record& r) {
  Row& x = rows_[row];
  const bool latency = kinds_[x.kind].latency;
  if (latency ? !r.latency_us : !r.bandwidth) return;
  x.value = latency ? r.latency_us->p50 : r.bandwidth->avg_gbps;
  x.flags |= kFigures;
  if (latency) p99_[p99_index(row)] = static_cast<float>(r.latency_us->p99);
  set_counters(row, r.counters);
  counts_valid_ = false;
  medians_valid_ = false;
}

Result<RecordTable> RecordTable::of(std::span<const Record> records) {
  RecordTable table;
  table.reserve(records.size());
  // A pair's records come together: each end is first compared with the last record's.
  uint32_t src = UINT32_MAX, dst = UINT32_MAX;
  for (const Record& r : records) {
    auto s = table.intern_end(r.src, src);
    if (!s) return std::unexpected(s.error());
    auto d = table.intern_end(r.dst, dst);
    if (!d) return std::unexpected(d.error());
    src = *s, dst = *d;
    if (auto row = table.add(r, src, dst); !row) return std::unexpected(row.error());
  }
  return table;
}

size_t RecordTable::p99_index(size_t row) const {
  const uint64_t below = latency_bits_[row / 64] & ((uint64_t{1} << (row % 64)) - 1);
  return latency_before_[row / 64] + static_cast<size_t>(std::popcount(below));
}

float RecordTable::p99(size_t row) const {
  if ((latency_bits_[row / 64] & (uint64_t{1} << (row % 64))) == 0) return 0;
  return p99_[p99_index(row)];
}

std::optional<uint32_t> RecordTable::find_node(std::string_view node) const {
  auto it = node_ids_.find(std::string(node));
  if (it == node_ids_.end()) return std::nullopt;
  return it->second;
}

std::string RecordTable::pair_name(size_t row) const {
  const Row& r = rows_[row];
  return fmt::format("{} -> {}", nodes_[ends_[src(r)].node], nodes_[ends_[dst(r)].node]);
}

std::string_view RecordTable::text_of(const std::vector<std::pair<uint32_t, uint32_t>>& by_row,
                                      const std::vector<std::string>& texts, size_t row) {
  auto it = std::ranges::lower_bound(by_row, static_cast<uint32_t>(row), {}, &std::pair<uint32_t, uint32_t>::first);
  if (it == by_row.end() || it->first != row) return {};
  return texts[it->second];
}

std::string_view RecordTable::error(size_t row) const {
  return rows_[row].failed_to_run() ? text_of(errors_, texts_, row) : std::string_view{};
}

std::string RecordTable::cause(size_t row) const {
  const uint8_t flags = rows_[row].flags;
  if ((flags & kCause) != 0) return std::string(text_of(causes_, texts_, row));
  if ((flags & kJudged) != 0 && judged_) return judged_cause(*judged_, *this, row);
  return {};
}

void RecordTable::set_verdict_and_cause(size_t row, Verdict v, std::string_view cause) {
  Row& r = rows_[row];
  if ((r.verdict == Verdict::kWaived) != (v == Verdict::kWaived)) counts_valid_ = medians_valid_ = false;
  r.verdict = v;
  r.flags &= static_cast<uint8_t>(~kJudged);
  if (cause.empty() && (r.flags & kCause) == 0) return;
  const auto key = static_cast<uint32_t>(row);
  // Verdicts are mostly set in row order: the new cause goes at the end.
  auto it = !causes_.empty() && causes_.back().first < key
                ? causes_.end()
                : std::ranges::lower_bound(causes_, key, {}, &std::pair<uint32_t, uint32_t>::first);
  const bool has = it != causes_.end() && it->first == key;
  if (!cause.empty()) {
    const uint32_t text = text_id(cause);
    if (has) it->second = text;
    else causes_.insert(it, {key, text});
    r.flags |= kCause;
  } else {
    if (has) causes_.erase(it);
    r.flags &= static_cast<uint8_t>(~kCause);
  }
}

void RecordTable::clear_causes() {
  std::erase_if(causes_, [&](const auto& c) {
    Row& r = rows_[c.first];
    if (r.verdict == Verdict::kWaived) return false;
    r.flags &= static_cast<uint8_t>(~kCause);
    return true;
  });
}

void RecordTable::count(const Row& r, float p99) const {
  if (stats_.size() <= r.kind) {
    stats_.resize(size_t{r.kind} + 1);
    value_samples_.resize(size_t{r.kind} + 1);
    p99_samples_.resize(size_t{r.kind} + 1);
  }
  KindStats& s = stats_[r.kind];
  const bool latency = kinds_[r.kind].latency;
  if (s.measured % kSampleEvery == 0) {
    value_samples_[r.kind].push_back(r.value);
    if (latency) p99_samples_[r.kind].push_back(p99);
  }
  s.add(r.value, latency, p99);
}

const std::vector<RecordTable::KindStats>& RecordTable::kind_stats() const {
  stats_.resize(kinds_.size());
  value_samples_.resize(kinds_.size());
  p99_samples_.resize(kinds_.size());
  if (!counts_valid_) {
    stats_.assign(kinds_.size(), {});
    value_samples_.assign(kinds_.size(), {});
    p99_samples_.assign(kinds_.size(), {});
    for_each_row([&](size_t, const Row& r, const Kind&, float p99) {
      if (r.measured()) count(r, p99);
    });
    counts_valid_ = true;
  }
  if (medians_valid_) return stats_;
  select_medians(
      stats_,
      [&](auto&& visit) {
        for_each_row([&](size_t, const Row& r, const Kind& k, float p99) {
          if (r.measured()) visit(r.kind, r.value, k.latency, p99);
        });
      },
      value_samples_, p99_samples_);
  medians_valid_ = true;
  return stats_;
}

}  // namespace railcheck::reports
