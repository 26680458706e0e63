#include "verbs/spec.hpp"

#include "verbs/endpoint.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace railcheck::verbs {
namespace {

TEST(Spec, SweepIsTwoBytesToEightMiB) {
  auto sizes = sweep_sizes();
  ASSERT_EQ(sizes.size(), 23u);
  EXPECT_EQ(sizes.front(), 2u);
  EXPECT_EQ(sizes.back(), 8u << 20);
}

TEST(Spec, ParseSize) {
  EXPECT_EQ(parse_size("2"), 2u);
  EXPECT_EQ(parse_size("64K"), 65536u);
  EXPECT_EQ(parse_size("4KiB"), 4096u);
  EXPECT_EQ(parse_size("1M"), 1u << 20);
  EXPECT_EQ(parse_size("8MiB"), 8u << 20);
  EXPECT_EQ(parse_size("1G"), 1u << 30);
  EXPECT_EQ(parse_size("12X").error().what, "size \"12X\": unknown unit \"X\"");
  EXPECT_EQ(parse_size("abc").error().what, "size \"abc\"");
  EXPECT_EQ(parse_size("2G").error().hint, "must be at most 1 GiB");
}

TEST(Spec, FormatSize) {
  EXPECT_EQ(format_size(2), "2 B");
  EXPECT_EQ(format_size(65536), "64 KiB");
  EXPECT_EQ(format_size(8u << 20), "8 MiB");
  EXPECT_EQ(format_size(1000), "1000 B");
}

TEST(Spec, DefaultsAreValid) { EXPECT_TRUE(validate(RunSpec{}).has_value()); }

struct BadSpec {
  RunSpec spec;
  const char* what;
};

RunSpec with(auto change) {
  RunSpec s;
  change(s);
  return s;
}

class SpecErrors : public ::testing::TestWithParam<BadSpec> {};

TEST_P(SpecErrors, NameTheFieldAndTheRange) {
  auto r = validate(GetParam().spec);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message(), GetParam().what);
}

INSTANTIATE_TEST_SUITE_P(
    Bounds, SpecErrors,
    ::testing::Values(
        BadSpec{with([](RunSpec& s) { s.sizes_bytes = {}; }), "sizes: empty; give at least one message size"},
        BadSpec{with([](RunSpec& s) { s.sizes_bytes = {0}; }), "size 0; must be 1 B .. 1 GiB"},
        BadSpec{with([](RunSpec& s) { s.iters = 0; }), "iters 0; must be 1 .. 1000000000"},
        BadSpec{with([](RunSpec& s) { s.duration_s = 7200; }), "duration 7200 s; must be 0 < duration <= 3600 s"},
        BadSpec{with([](RunSpec& s) { s.kind = TestKind::kBandwidth, s.qps = 65; }), "qps 65; must be 1 .. 64"},
        BadSpec{with([](RunSpec& s) { s.kind = TestKind::kBandwidth, s.tx_depth = 0; }), "tx-depth 0; must be 1 .. 8192"},
        BadSpec{with([](RunSpec& s) { s.qps = 2; }),
                "qps 2 with a latency test; latency is measured on one QP; use bw for --qps"},
        BadSpec{with([](RunSpec& s) { s.bidir = true; }),
                "bidir with a latency test; a ping-pong is already both ways; use bw for --bidir"},
        BadSpec{with([](RunSpec& s) { s.peer_mem = {.kind = "cuda", .arg = ""}; }),
                "write latency with cuda memory; a write ping-pong polls the buffer with the CPU, which cannot read "
                "GPU memory; use --op write_imm (completion on the receiver's CQ) or send"},
        BadSpec{with([](RunSpec& s) { s.mem = {.kind = "Cuda", .arg = ""}; }),
                "memory \"Cuda\"; write KIND or KIND:ARG, e.g. host, cuda, cuda:1"},
        BadSpec{with([](RunSpec& s) { s.verify = true; }),
                "verify with a latency test; data is checked in bandwidth tests; use bw --verify"}));

TEST(Spec, GpuMemoryLatencyGoesThroughCompletions) {
  for (Op op : {Op::kWriteImm, Op::kSend, Op::kRead}) {
    RunSpec s;
    s.op = op;
    s.mem = {.kind = "cuda", .arg = "1"};
    s.peer_mem = {.kind = "cuda", .arg = ""};
    EXPECT_TRUE(validate(s).has_value()) << to_string(op);
  }
}

TEST(Spec, DataIsCheckedOnHostAlwaysOnGpuWithVerify) {
  RunSpec s;
  s.kind = TestKind::kBandwidth;
  EXPECT_TRUE(s.checks_data());
  s.peer_mem.kind = "cuda";
  EXPECT_FALSE(s.checks_data()) << "a GPU side fills and checks only with verify";
  s.verify = true;
  EXPECT_TRUE(s.checks_data());
  s.kind = TestKind::kLatency;
  EXPECT_FALSE(s.checks_data());
  EXPECT_EQ(s.memory_of(true).kind, "host");
  EXPECT_EQ(s.memory_of(false).kind, "cuda");
}

TEST(Spec, WriteImmIsAnOpWithReceives) {  // (the op table's rows are pinned in Ops.TableRows)
  EXPECT_EQ(parse_op("write_imm"), Op::kWriteImm);
  EXPECT_EQ(to_string(Op::kWriteImm), "write_imm");
  EXPECT_TRUE(uses_receives(Op::kWriteImm));
  EXPECT_TRUE(uses_receives(Op::kSend));
  EXPECT_FALSE(uses_receives(Op::kWrite));
  EXPECT_FALSE(uses_receives(Op::kRead));
}

TEST(Spec, JsonRoundTrip) {
  RunSpec s;
  s.kind = TestKind::kBandwidth;
  s.op = Op::kRead;
  s.sizes_bytes = {4096, 65536};
  s.duration_s = 2.5;
  s.qps = 4;
  s.tx_depth = 64;
  s.bidir = true;
  s.mem = {.kind = "cuda", .arg = "0000:18:00.0"};
  s.peer_mem = {.kind = "host", .arg = "huge"};
  s.gpu_reg = GpuReg::kPeermem;
  s.verify = true;
  s.path = {.tclass = 106, .sl = 3, .flow_label = 0xabcde, .hop_limit = 255, .ipv6 = true};
  auto back = spec_from_json(to_json(s));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(to_json(*back), to_json(s));
  EXPECT_EQ(back->mem, s.mem);
  EXPECT_EQ(back->peer_mem, s.peer_mem);
  EXPECT_EQ(back->gpu_reg, GpuReg::kPeermem);
  EXPECT_TRUE(back->verify);
  EXPECT_EQ(back->path, s.path);  // the path travels to the server: both ends agree on it
  EXPECT_EQ(to_json(s).at("mem"), "cuda:0000:18:00.0");
}

TEST(Spec, MemoryFromJsonAsTheAgentSendsIt) {
  using nlohmann::json;
  auto s = spec_from_json(json{{"test", "bw"}, {"mem", "cuda"}, {"peer_mem", "cuda:2"}, {"gpu_reg", "dmabuf"}});
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->mem, (MemorySpec{.kind = "cuda", .arg = ""}));
  EXPECT_EQ(s->peer_mem, (MemorySpec{.kind = "cuda", .arg = "2"}));
  EXPECT_EQ(s->gpu_reg, GpuReg::kDmabuf);
  auto d = spec_from_json(json::object());
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->mem.is_host() && d->peer_mem.is_host());
  EXPECT_EQ(spec_from_json(json{{"gpu_reg", "nvlink"}}).error().message(),
            "GPU registration \"nvlink\"; use auto, dmabuf or peermem");
  EXPECT_EQ(spec_from_json(json{{"mem", "cuda:"}}).error().what, "memory \"cuda:\"");
  EXPECT_EQ(spec_from_json(json{{"op", "write"}, {"mem", "cuda"}}).error().what, "write latency with cuda memory");
}

TEST(Spec, JsonErrorsNameTheField) {
  using nlohmann::json;
  struct Case {
    json doc;
    std::string what;
    std::string field;
  };
  const Case cases[] = {
      {json::array(), "spec must be an object", "spec"},
      {json{{"qps", "four"}}, "spec.qps must be a non-negative integer in range", "spec.qps"},
      {json{{"colour", 1}}, "spec.colour is not a spec field", "spec.colour"},
      {json{{"op", "atomic"}}, "op \"atomic\"", "spec.op"},
      {json{{"test", "bw"}, {"qps", 100}}, "qps 100", "spec.qps"},
      {json{{"sizes", json::array({-1})}}, "spec.sizes must be an array of numbers in range", "spec.sizes"},
      {json{{"op", "fetch_add"}, {"sizes", {64}}}, "size 64 B with fetch_add", "spec.sizes"},
      {json{{"test", "bw"}, {"op", "cmp_swap"}, {"sizes", {8}}, {"verify", true}}, "verify with cmp_swap", "spec.verify"},
      {json{{"warmup_iters", 2e9}}, "spec.warmup_iters must be a non-negative integer in range", "spec.warmup_iters"},
  };
  for (const Case& c : cases) {
    auto r = spec_from_json(c.doc);
    ASSERT_FALSE(r.has_value()) << c.doc.dump();
    EXPECT_EQ(r.error().what, c.what) << c.doc.dump();
    EXPECT_EQ(r.error().field, c.field) << c.doc.dump();
  }
  EXPECT_EQ(spec_from_json(json{{"op", "atomic"}}).error().message(),
            "op \"atomic\"; use write, read, send, write_imm, fetch_add or cmp_swap");
}

// The op table, row by row: what each verb posts and how its latency is timed, as perftest's
// ib_*_lat and ib_atomic_lat do (read and atomics: the full round trip; write and send: half).
TEST(Ops, TableRows) {
  struct Row {
    Op op;
    std::string_view name;
    ibv_wr_opcode opcode;
    LatencyStyle latency;
    uint32_t divisor;
    bool receives, inline_ok, pattern;
    unsigned remote_access;
    uint32_t fixed_bytes;
    std::string_view profile_key;
  };
  const Row rows[] = {
      {Op::kWrite, "write", IBV_WR_RDMA_WRITE, LatencyStyle::kPollMemory, 2, false, true, true, IBV_ACCESS_REMOTE_WRITE, 0, "write"},
      {Op::kRead, "read", IBV_WR_RDMA_READ, LatencyStyle::kOwnCompletion, 1, false, false, true, IBV_ACCESS_REMOTE_READ, 0, "read"},
      {Op::kSend, "send", IBV_WR_SEND, LatencyStyle::kRecvCompletion, 2, true, true, true, 0, 0, "send"},
      {Op::kWriteImm, "write_imm", IBV_WR_RDMA_WRITE_WITH_IMM, LatencyStyle::kRecvCompletion, 2, true, true, true,
       IBV_ACCESS_REMOTE_WRITE, 0, "write"},
      {Op::kFetchAdd, "fetch_add", IBV_WR_ATOMIC_FETCH_AND_ADD, LatencyStyle::kOwnCompletion, 1, false, false, false,
       IBV_ACCESS_REMOTE_ATOMIC, 8, "atomic"},
      {Op::kCmpSwap, "cmp_swap", IBV_WR_ATOMIC_CMP_AND_SWP, LatencyStyle::kOwnCompletion, 1, false, false, false,
       IBV_ACCESS_REMOTE_ATOMIC, 8, "atomic"},
  };
  ASSERT_EQ(std::size(rows), kOps.size());
  for (const Row& r : rows) {
    const OpInfo& o = op_info(r.op);
    EXPECT_EQ(o.name, r.name);
    EXPECT_EQ(o.opcode, r.opcode) << r.name;
    EXPECT_EQ(o.latency, r.latency) << r.name;
    EXPECT_EQ(o.latency_divisor, r.divisor) << r.name;
    EXPECT_EQ(o.uses_receives, r.receives) << r.name;
    EXPECT_EQ(o.inline_ok, r.inline_ok) << r.name;
    EXPECT_EQ(o.carries_pattern, r.pattern) << r.name;
    EXPECT_EQ(o.remote_access, r.remote_access) << r.name;
    EXPECT_EQ(o.fixed_bytes, r.fixed_bytes) << r.name;
    EXPECT_EQ(o.profile_key, r.profile_key) << r.name;
    EXPECT_EQ(parse_op(r.name), r.op);
  }
}

TEST(Ops, NamesParsersAndDispatchComeFromTheTable) {
  EXPECT_EQ(op_names(), (std::vector<std::string>{"write", "read", "send", "write_imm", "fetch_add", "cmp_swap"}));
  EXPECT_EQ(profile_keys(), (std::vector<std::string_view>{"write", "read", "send", "atomic"}));
  const auto names = test_names();
  ASSERT_EQ(names.size(), 2 * kOps.size());
  for (const std::string& n : names) {
    auto id = parse_test_id(n);
    ASSERT_TRUE(id.has_value()) << n;
    EXPECT_EQ(id->name(), n);
  }
  EXPECT_EQ(parse_test_id("write_imm_lat")->op, Op::kWriteImm);  // the op's name has an underscore of its own
  EXPECT_EQ(parse_test_id("fetch_add_bw")->kind, TestKind::kBandwidth);
  EXPECT_FALSE(parse_test_id("write").has_value());
  EXPECT_NE(parse_test_id("atomic_lat").error().hint.find("cmp_swap_bw"), std::string::npos);
  for (const OpInfo& o : kOps) {  // with_op hands every row's op to the template, and only it
    EXPECT_EQ(with_op(o.op, []<Op kOp>() { return kOp; }), o.op);
  }
  EXPECT_NE(ops_help().find("fetch_add"), std::string::npos);
}

// Bandwidth defaults fit for 400-800G (1 MiB, 4 QPs, 3 s per size); a profile's defaults
// replace the built-in ones, and a count given makes a counted run.
TEST(Spec, BandwidthDefaultsSaturateAFastPortAndAProfileMayChangeThem) {
  const RunSpec bw = default_spec(TestKind::kBandwidth, Op::kWrite);
  EXPECT_EQ(bw.sizes_bytes, std::vector<uint64_t>{1 << 20});
  EXPECT_EQ(bw.qps, 4u);
  EXPECT_TRUE(bw.duration_mode());
  EXPECT_DOUBLE_EQ(bw.duration_s, 3);
  EXPECT_TRUE(validate(bw).has_value());
  const RunSpec lab = default_spec(TestKind::kBandwidth, Op::kWrite, {.size_bytes = 65536, .qps = 1, .iters = 5000});
  EXPECT_EQ(lab.sizes_bytes, std::vector<uint64_t>{65536});
  EXPECT_EQ(lab.qps, 1u);
  EXPECT_FALSE(lab.duration_mode());
  EXPECT_EQ(lab.iters, 5000u);
  const RunSpec atomic = default_spec(TestKind::kBandwidth, Op::kFetchAdd, {.size_bytes = 65536, .qps = {}, .iters = {}});
  EXPECT_EQ(atomic.sizes_bytes, std::vector<uint64_t>{8});  // an atomic has one size
  const RunSpec lat = default_spec(TestKind::kLatency, Op::kWrite, {.size_bytes = 65536, .qps = 8, .iters = 7});
  EXPECT_EQ(lat.sizes_bytes, std::vector<uint64_t>{2});  // bandwidth defaults leave latency alone
  EXPECT_EQ(lat.qps, 1u);
  EXPECT_EQ(lat.iters, 1000u);
}

TEST(Ops, AtomicsDefaultToTheirOneSizeAndCheckNoPattern) {
  const RunSpec lat = default_spec(TestKind::kLatency, Op::kFetchAdd);
  EXPECT_EQ(lat.sizes_bytes, std::vector<uint64_t>{8});
  EXPECT_TRUE(validate(lat).has_value());
  RunSpec bw = default_spec(TestKind::kBandwidth, Op::kCmpSwap);
  EXPECT_EQ(bw.sizes_bytes, std::vector<uint64_t>{8});
  EXPECT_FALSE(bw.checks_data());  // an atomic leaves a counter, not the sender's bytes
  EXPECT_TRUE(default_spec(TestKind::kBandwidth, Op::kRead).checks_data());
}

// What both ends register: local write, the op's remote access and no more, relaxed ordering
// everywhere but the buffer a write ping-pong polls (perftest's rule, perftest_resources.c).
TEST(Ops, MrAccessIsTheOpsAndRelaxedOrderingButForPolledMemory) {
  struct Case {
    TestKind kind;
    Op op;
    unsigned want;
  };
  constexpr unsigned kLw = IBV_ACCESS_LOCAL_WRITE, kRo = IBV_ACCESS_RELAXED_ORDERING;
  const Case cases[] = {
      {TestKind::kLatency, Op::kWrite, kLw | IBV_ACCESS_REMOTE_WRITE},  // the polled buffer: no RO
      {TestKind::kBandwidth, Op::kWrite, kLw | IBV_ACCESS_REMOTE_WRITE | kRo},
      {TestKind::kLatency, Op::kWriteImm, kLw | IBV_ACCESS_REMOTE_WRITE | kRo},  // completion, not polling
      {TestKind::kLatency, Op::kRead, kLw | IBV_ACCESS_REMOTE_READ | kRo},
      {TestKind::kBandwidth, Op::kSend, kLw | kRo},
      {TestKind::kLatency, Op::kFetchAdd, kLw | IBV_ACCESS_REMOTE_ATOMIC | kRo},
      {TestKind::kBandwidth, Op::kCmpSwap, kLw | IBV_ACCESS_REMOTE_ATOMIC | kRo},
  };
  for (const Case& c : cases) {
    const RunSpec s = default_spec(c.kind, c.op);
    EXPECT_EQ(mr_access(s), c.want) << s.test().name();
  }
}

// Receive queue depth: 1 without receives, a few batches for a ping-pong, at least 512 for a
// stream (perftest's default rx depth), within the device's max_qp_wr.
TEST(Ops, RxDepth) {
  EXPECT_EQ(rx_depth_for(default_spec(TestKind::kBandwidth, Op::kWrite), 128, 32768), 1u);
  EXPECT_EQ(rx_depth_for(default_spec(TestKind::kLatency, Op::kSend), 16, 32768), 64u);
  EXPECT_EQ(rx_depth_for(default_spec(TestKind::kBandwidth, Op::kSend), 128, 32768), 512u);
  EXPECT_EQ(rx_depth_for(default_spec(TestKind::kBandwidth, Op::kWriteImm), 1024, 32768), 1024u);
  EXPECT_EQ(rx_depth_for(default_spec(TestKind::kBandwidth, Op::kSend), 128, 256), 256u);  // a small device
  EXPECT_EQ(rx_depth_for(default_spec(TestKind::kBandwidth, Op::kSend), 128, 0), 512u);    // limit unknown
}

}  // namespace
}  // namespace railcheck::verbs
