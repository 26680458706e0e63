// A bounded, coverage-guided mutation fuzzer over the recorded annotation corpus (corpus/),
// run as a unit test under ASan and UBSan. libFuzzer needs clang, and clang 14 with GCC 12's
// libstdc++ has no std::expected, so this is the small stand-in: GCC instruments the topology
// sources with -fsanitize-coverage=trace-pc, __sanitizer_cov_trace_pc below hashes each
// (previous, current) block pair into an edge map, and an input that lights a new edge joins
// the corpus. Mutations: bit flips, interesting bytes, inserts and deletes, copies, splices
// with another entry, and tokens of the formats (JSON, Go escapes, the annotation keys).
//
// Bounded by RAILCHECK_FUZZ_SECONDS (default 30) and RAILCHECK_FUZZ_RUNS (default 10^7),
// whichever ends first; RAILCHECK_FUZZ_SEED with RAILCHECK_FUZZ_RUNS repeats a run exactly
// (the seed is printed). A sanitizer
// report or an invariant violation (see annotation_fuzz_target.hpp) writes the input to
// fuzz-crash-SEED-N.bin in the working directory and fails the test.
#include <gtest/gtest.h>
#include <sanitizer/common_interface_defs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "annotation_fuzz_target.hpp"

namespace {

constexpr size_t kMapSize = 1 << 16;
std::array<uint8_t, kMapSize> g_edges{};  // this input's edges
uintptr_t g_prev = 0;

}  // namespace

// Called by GCC at every basic block of the instrumented sources (never for this file). The
// block's address is taken relative to this function, so the map (and with it a seeded run) is
// the same whatever address space layout the run gets.
extern "C" __attribute__((no_sanitize_address)) void __sanitizer_cov_trace_pc() {
  const auto pc = reinterpret_cast<uintptr_t>(__builtin_return_address(0)) -
                  reinterpret_cast<uintptr_t>(&__sanitizer_cov_trace_pc);
  g_edges[(pc ^ g_prev) % kMapSize] = 1;
  g_prev = pc >> 1;
}

namespace railcheck::topology::fuzz {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kCorpus = RAILCHECK_FUZZ_CORPUS;
const std::string kSysfs = RAILCHECK_FIXTURES "/sysfs/hgx-roce/sys";
constexpr size_t kMaxInput = 1 << 16;

const std::vector<std::string> kTokens = {
    "\"name\"", "\"interface\"", "\"ips\"", "\"mac\"", "\"default\"", "\"dns\"", "\"device-info\"", "\"pci\"",
    "\"pci-address\"", "\"rdma-device\"", "\"pf-pci-address\"", "\"gateway\"", "\"cni-args\"", "\"guid\"",
    "\"pkey\"", "\"namespace\"", "\"infiniband-guid\"", "null", "true", "false", "0", "-1", "1e999", "[]", "{}",
    "\"\"", "\\u0000", "\\ud800", "\\\"", "\\\\", "\\x", "\\xff", "\\U0010FFFF", "\\U00110000", "\\777", "\\n",
    "k8s.v1.cni.cncf.io/network-status=", "k8s.v1.cni.cncf.io/networks=", "=\"", "\"\n", "..", "../", "/",
    "@", ",", "0000:18:00.1", "mlx5_10", "net1", "02:00:00:00:00:00:00:01", "0x6"};
constexpr std::array<char, 14> kBytes = {'\0', '\xff', '"', '\\', '{', '}', '[', ']', ',', ':', '\n', '=', '/', '@'};

// Where a sanitizer report finds the input it died on.
const std::string* g_current = nullptr;
std::string g_crash_file;

void save_current() {
  if (g_current == nullptr || g_crash_file.empty()) return;
  if (FILE* f = std::fopen(g_crash_file.c_str(), "wb")) {
    std::fwrite(g_current->data(), 1, g_current->size(), f);
    std::fclose(f);
    std::fprintf(stderr, "annotation fuzz: the input is in %s\n", g_crash_file.c_str());
  }
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  size_t below(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::string mutate(std::string s, const std::vector<std::string>& corpus) {
    const size_t rounds = 1 + below(4);
    for (size_t i = 0; i < rounds; ++i) one(s, corpus);
    if (s.size() > kMaxInput) s.resize(kMaxInput);
    return s;
  }

 private:
  void one(std::string& s, const std::vector<std::string>& corpus) {
    const size_t at = below(s.size() + 1);
    switch (below(8)) {
      case 0:
        if (!s.empty()) s[below(s.size())] ^= static_cast<char>(1u << below(8));
        break;
      case 1:
        if (!s.empty()) s[below(s.size())] = kBytes[below(kBytes.size())];
        break;
      case 2: s.insert(at, 1 + below(4), static_cast<char>(below(256))); break;
      case 3:
        if (!s.empty()) s.erase(below(s.size()), 1 + below(std::min<size_t>(s.size(), 16)));
        break;
      case 4: {  // copy a piece of itself elsewhere
        if (s.empty()) break;
        const size_t from = below(s.size());
        s.insert(at, s.substr(from, 1 + below(std::min<size_t>(s.size() - from, 64))));
        break;
      }
      case 5: {  // splice with another entry
        const std::string& other = corpus[below(corpus.size())];
        const size_t from = below(other.size() + 1);
        s = s.substr(0, at) + other.substr(from);
        break;
      }
      case 6:
      case 7: s.insert(at, kTokens[below(kTokens.size())]); break;
    }
  }

  std::mt19937_64 rng_;
};

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

std::vector<std::string> load_corpus() {
  std::vector<std::string> out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kCorpus)) files.push_back(e.path());
  std::ranges::sort(files);
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

TEST(AnnotationFuzz, MutatedCorpusNeverCrashesAndErrorsNameTheirField) {
  std::vector<std::string> corpus = load_corpus();
  ASSERT_GE(corpus.size(), 10u) << "the corpus is " << kCorpus;
  const uint64_t seed = env_number("RAILCHECK_FUZZ_SEED", static_cast<uint64_t>(Clock::now().time_since_epoch().count()));
  const auto budget = std::chrono::seconds(env_number("RAILCHECK_FUZZ_SECONDS", 30));
  const uint64_t max_runs = env_number("RAILCHECK_FUZZ_RUNS", 10'000'000);
  std::printf("annotation fuzz: seed %llu (RAILCHECK_FUZZ_SEED), %lld s, at most %llu runs, %zu corpus entries\n",
              static_cast<unsigned long long>(seed), static_cast<long long>(budget.count()),
              static_cast<unsigned long long>(max_runs), corpus.size());

  const fs::path podinfo = fs::temp_directory_path() / ("railcheck_fuzz_" + std::to_string(::getpid()));
  fs::create_directories(podinfo);
  const FuzzEnv with_map{.podinfo_dir = podinfo.string(), .sysfs_root = kSysfs};
  const FuzzEnv parsers_only{};
  __sanitizer_set_death_callback(save_current);

  std::array<uint8_t, kMapSize> seen{};
  size_t edges = 0;
  auto run = [&](const std::string& input, uint64_t n) {
    g_edges.fill(0);
    g_prev = 0;
    g_current = &input;
    g_crash_file = "fuzz-crash-" + std::to_string(seed) + "-" + std::to_string(n) + ".bin";
    std::string problem;
    // The rail map (a file write and sysfs reads) on one input in eight, the parsers on all.
    const int bad = fuzz_one_input(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                   n % 8 == 0 ? with_map : parsers_only, problem);
    if (bad != 0) {
      save_current();
      ADD_FAILURE() << problem;
    }
    g_current = nullptr;
    bool fresh = false;
    for (size_t i = 0; i < kMapSize; ++i) {
      if (g_edges[i] != 0 && seen[i] == 0) {
        seen[i] = 1;
        ++edges;
        fresh = true;
      }
    }
    return bad == 0 && fresh;
  };

  uint64_t runs = 0;
  for (const std::string& entry : corpus) run(entry, runs++);
  const size_t seeded = corpus.size();
  Mutator mutator(seed);
  const auto deadline = Clock::now() + budget;
  while (runs < max_runs && Clock::now() < deadline && !::testing::Test::HasFailure()) {
    std::string input = mutator.mutate(corpus[mutator.below(corpus.size())], corpus);
    if (run(input, runs++)) corpus.push_back(std::move(input));
  }
  std::printf("annotation fuzz: %llu runs, %zu edges, corpus %zu -> %zu\n", static_cast<unsigned long long>(runs),
              edges, seeded, corpus.size());
  fs::remove_all(podinfo);
  EXPECT_GT(edges, 100u) << "the parsers were not instrumented (-fsanitize-coverage=trace-pc)";
}

}  // namespace
}  // namespace railcheck::topology::fuzz
