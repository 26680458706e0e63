// The verbs engine for real, over Soft-RoCE: `railcheck serve` in pod1, `railcheck lat|bw`
// in pod0 over pod1's eth0, each test case and each failure path. Iteration counts are small:
// under qemu TCG every message costs tens of microseconds.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "lab/lab_env.hpp"
#include "support/process.hpp"

namespace railcheck {
namespace {

using nlohmann::json;
using testing::BackgroundProcess;
using testing::ProcessResult;
using testing::run_command;

const std::string kBin = RAILCHECK_BIN;

class EngineLab : public ::testing::Test {
 protected:
  void SetUp() override {
    auto map = lab::lab_map();
    if (!map) GTEST_SKIP() << "not in the lab ($LAB_MAP unset): run under lab/run";
    ASSERT_GE(map->pods.size(), 2u);
    map_ = *map;
  }
  const lab::Pod& client() const { return map_.pods[0]; }
  const lab::Pod& server() const { return map_.pods[1]; }

  // Starts `railcheck serve` in the server pod with extra options; waits until it listens.
  std::unique_ptr<BackgroundProcess> serve(const std::string& extra = "") {
    auto p = std::make_unique<BackgroundProcess>(
        lab::in_pod(server(), kBin + " serve --device " + server().rails[0].rdma_device + " " + extra));
    EXPECT_TRUE(p->wait_for_output("listening", 10000)) << p->output();
    return p;
  }
  // Runs `railcheck <args>` as a client from pod0 against the server pod's eth0.
  ProcessResult client_run(const std::string& args) {
    return run_command(lab::in_pod(client(), kBin + " " + args + " " + server().eth0 + " --device " +
                                                 client().rails[0].rdma_device));
  }
  // The same with --format json, parsed; fails the test when the run failed.
  json client_json(const std::string& args) {
    auto r = client_run(args + " --format json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return json::object();
    return json::parse(r.out);
  }

  lab::LabMap map_;
};

void expect_latency(const json& result, uint64_t iters) {
  const json& l = result.at("latency_us");
  if (iters != 0) {
    EXPECT_EQ(l.at("count"), iters);
  }
  EXPECT_GT(l.at("min"), 0.0);
  EXPECT_LE(l.at("min"), l.at("p50"));
  EXPECT_LE(l.at("p50"), l.at("p90"));
  EXPECT_LE(l.at("p90"), l.at("p99"));
  EXPECT_LE(l.at("p99"), l.at("p99_9"));
  EXPECT_LE(l.at("p99_9"), l.at("max"));
  EXPECT_GT(l.at("mean"), 0.0);
}

void expect_bandwidth(const json& result) {
  const json& b = result.at("bandwidth");
  EXPECT_GT(b.at("avg_gbps"), 0.0);
  EXPECT_GE(b.at("peak_gbps"), b.at("avg_gbps"));
  EXPECT_GT(b.at("msg_rate_mpps"), 0.0);
}

class EngineLatency : public EngineLab, public ::testing::WithParamInterface<const char*> {};

TEST_P(EngineLatency, PingPongKeepsEveryPercentile) {
  auto srv = serve();
  json doc = client_json(std::string("lat --op ") + GetParam() + " -n 200 -s 2,4K");
  ASSERT_EQ(doc.value("schema_version", ""), "railcheck.results/v1.2");
  EXPECT_EQ(doc.at("meta").at("mode"), "single");
  EXPECT_EQ(doc.at("meta").at("tests"), json::array({std::string(GetParam()) + "_lat"}));
  ASSERT_EQ(doc.at("records").size(), 2u);
  EXPECT_EQ(doc["records"][0].at("size_bytes"), 2);
  EXPECT_EQ(doc["records"][1].at("size_bytes"), 4096);
  for (const json& r : doc["records"]) {
    EXPECT_EQ(r.at("test"), std::string(GetParam()) + "_lat");
    expect_latency(r, 200);
  }
  const json& rec = doc["records"][0];
  EXPECT_EQ(rec.at("src").at("link_layer"), "Ethernet");
  EXPECT_EQ(rec.at("src").at("gid"), "::ffff:" + client().rails[0].ip);
  EXPECT_EQ(rec.at("src").at("ip"), client().rails[0].ip);
  EXPECT_EQ(rec.at("dst").at("gid"), "::ffff:" + server().rails[0].ip);
  EXPECT_EQ(rec.at("dst").at("node"), server().eth0);
  // Both sides' buffers came through the memory interface, as host memory.
  for (const char* side : {"src", "dst"}) {
    EXPECT_EQ(rec.at(side).at("mem"), "host") << side;
    EXPECT_EQ(rec.at(side).at("mem_registration"), "ibv_reg_mr") << side;
  }
}

// write_imm: the receiver learns of each write from a completion, as it must in GPU memory.
INSTANTIATE_TEST_SUITE_P(Ops, EngineLatency, ::testing::Values("write", "read", "send", "write_imm"));

class EngineBandwidth : public EngineLab, public ::testing::WithParamInterface<const char*> {};

TEST_P(EngineBandwidth, StreamsExactlyTheAskedMessages) {
  auto srv = serve();
  json doc = client_json(std::string("bw --qps 1 --op ") + GetParam() + " -n 300 -s 64K");
  ASSERT_EQ(doc.at("records").size(), 1u);
  const json& r = doc["records"][0];
  EXPECT_EQ(r.at("iters"), 300);
  EXPECT_EQ(r.at("bandwidth").at("messages"), 300);
  expect_bandwidth(r);
}

TEST_P(EngineBandwidth, BidirectionalAddsBothSides) {
  auto srv = serve();
  json doc = client_json(std::string("bw --qps 1 --bidir --op ") + GetParam() + " -n 200 -s 16K");
  const json& r = doc.at("records").at(0);
  EXPECT_EQ(r.at("bidir"), true);
  expect_bandwidth(r);
  // Both directions' messages are in the sum.
  EXPECT_EQ(r.at("bandwidth").at("messages"), 400);
}

TEST_P(EngineBandwidth, FourQueuePairs) {
  auto srv = serve();
  json doc = client_json(std::string("bw --qps 4 --op ") + GetParam() + " -n 100 -s 8K");
  const json& r = doc.at("records").at(0);
  EXPECT_EQ(r.at("qps"), 4);
  EXPECT_EQ(r.at("bandwidth").at("messages"), 400);
  expect_bandwidth(r);
}

INSTANTIATE_TEST_SUITE_P(Ops, EngineBandwidth, ::testing::Values("write", "read", "send", "write_imm"));

// Atomics: one size (8 B), the initiator's own completion times a round trip; rxe implements
// them (atomic_cap), so the op table's atomic row runs for real.
class EngineAtomic : public EngineLab, public ::testing::WithParamInterface<const char*> {};

TEST_P(EngineAtomic, LatencyAndRateOnAnEightByteWord) {
  auto srv = serve();
  const std::string op = GetParam();
  json lat = client_json("lat --op " + op + " -n 200");
  ASSERT_EQ(lat.at("records").size(), 1u) << lat.dump();
  const json& l = lat["records"][0];
  EXPECT_EQ(l.at("test"), op + "_lat");
  EXPECT_EQ(l.at("size_bytes"), 8);
  expect_latency(l, 200);
  json bw = client_json("bw --qps 1 --op " + op + " -n 300");
  ASSERT_EQ(bw.at("records").size(), 1u) << bw.dump();
  const json& b = bw["records"][0];
  EXPECT_EQ(b.at("test"), op + "_bw");
  EXPECT_EQ(b.at("size_bytes"), 8);
  EXPECT_EQ(b.at("bandwidth").at("messages"), 300);
  expect_bandwidth(b);
  // Any other size is refused up front, naming the op's one size.
  auto bad = client_run("lat --op " + op + " -n 10 -s 64 --format json");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find(op + " moves 8 bytes: give -s 8"), std::string::npos) << bad.err;
}

INSTANTIATE_TEST_SUITE_P(Ops, EngineAtomic, ::testing::Values("fetch_add", "cmp_swap"));

// The wire, read on the rail's bridge: the spec's traffic class is the IPv4 TOS byte of every
// RoCEv2 packet (106 = DSCP 26 + ECT(0), 0x6a). The TTL is not the AH's hop limit (255): on
// RoCE the kernel replaces it with the route's (ib_resolve_eth_dmac ->
// rdma_addr_find_l2_eth_by_grh), here net.ipv4.ip_default_ttl.
class Capture {
 public:
  Capture(const std::string& bridge, const std::string& filter)
      : p_("tcpdump -l -n -v -i " + bridge + " " + filter + " 2>&1") {
    ready_ = p_.wait_for_output("listening on", 10000);
  }
  ~Capture() { p_.kill(SIGTERM); }
  [[nodiscard]] bool ready() const { return ready_; }
  [[nodiscard]] bool saw(const std::string& text, int timeout_ms = 5000) const { return p_.wait_for_output(text, timeout_ms); }
  [[nodiscard]] std::string output() const { return p_.output(); }

 private:
  BackgroundProcess p_;
  bool ready_ = false;
};

TEST_F(EngineLab, TheTrafficClassIsOnTheWire) {
  auto srv = serve();
  {
    Capture cap("br-net1", "udp dst port 4791");
    ASSERT_TRUE(cap.ready()) << cap.output();
    json doc = client_json("lat --tclass 106 -n 100");
    ASSERT_EQ(doc.at("records").size(), 1u);
    EXPECT_EQ(doc.at("meta").at("spec").at("tclass"), 106);
    EXPECT_TRUE(cap.saw("tos 0x6a")) << cap.output();
    std::string ttl = run_command("cat /proc/sys/net/ipv4/ip_default_ttl").out;
    ttl.erase(ttl.find_last_not_of(" \n") + 1);
    EXPECT_TRUE(cap.saw("ttl " + ttl + ",")) << cap.output();
    EXPECT_EQ(cap.output().find("tos 0x0,"), std::string::npos) << "a packet left with class 0\n" << cap.output();
  }
  // Without it: class 0 on the wire.
  Capture cap("br-net1", "udp dst port 4791");
  ASSERT_TRUE(cap.ready()) << cap.output();
  json doc = client_json("lat -n 100");
  EXPECT_EQ(doc.at("meta").at("spec").at("tclass"), 0);
  EXPECT_TRUE(cap.saw("tos 0x0")) << cap.output();
  EXPECT_EQ(cap.output().find("tos 0x6a"), std::string::npos) << cap.output();
}

// A dual-stack rail (lab/lib/pods.sh gives every rail netdev fd16:R::I): --ipv6 makes both
// ends take the RoCEv2 GID of their global IPv6 address; the packets are IPv6 on the wire.
TEST_F(EngineLab, AnIpv6RailPassesLatencyAndBandwidthWithIpv6Gids) {
  ASSERT_FALSE(client().rails[0].ip6.empty()) << "the lab map has no IPv6 address for the rail";
  auto srv = serve();
  Capture cap("br-net1", "ip6 and udp dst port 4791");
  ASSERT_TRUE(cap.ready()) << cap.output();
  json lat = client_json("lat --ipv6 --tclass 106 -n 200 -s 2,4K");
  ASSERT_EQ(lat.at("records").size(), 2u) << lat.dump();
  EXPECT_EQ(lat.at("meta").at("spec").at("ipv6"), true);
  for (const json& r : lat["records"]) {
    expect_latency(r, 200);
    EXPECT_EQ(r.at("src").at("gid"), client().rails[0].ip6);
    EXPECT_EQ(r.at("src").at("ip"), client().rails[0].ip6);
    EXPECT_EQ(r.at("dst").at("gid"), server().rails[0].ip6);
  }
  EXPECT_TRUE(cap.saw(client().rails[0].ip6 + ".")) << cap.output();
  EXPECT_TRUE(cap.saw("> " + server().rails[0].ip6 + ".4791")) << cap.output();
  EXPECT_TRUE(cap.saw("class 0x6a")) << cap.output();
  json bw = client_json("bw --ipv6 --qps 1 -n 300 -s 64K");
  ASSERT_EQ(bw.at("records").size(), 1u);
  const json& b = bw["records"][0];
  EXPECT_EQ(b.at("bandwidth").at("messages"), 300);
  expect_bandwidth(b);
  EXPECT_EQ(b.at("src").at("gid"), client().rails[0].ip6);
  EXPECT_EQ(b.at("dst").at("gid"), server().rails[0].ip6);
}

// Where each end ran, in the results: the CPU it ran on; rxe has no PCI function, so no NIC
// locality (no local_cpulist, no NUMA node) and the note says the test was not pinned. (On a
// ConnectX the CPU is one of the NIC's local_cpulist and numa_node is its node: the unit
// tables in tests/verbs/placement_test.cpp pin that choice.)
TEST_F(EngineLab, EachEndsCpuAndPlacementAreInTheResults) {
  auto srv = serve();
  json doc = client_json("lat -n 50");
  ASSERT_EQ(doc.at("records").size(), 1u);
  for (const char* side : {"src", "dst"}) {
    const json& e = doc["records"][0].at(side);
    ASSERT_TRUE(e.contains("cpu")) << side << ": " << e.dump();
    EXPECT_GE(e.at("cpu").get<int>(), 0) << side;
    EXPECT_FALSE(e.contains("numa_node")) << side << ": rxe has no NUMA node: " << e.dump();
    EXPECT_NE(e.value("placement_note", "").find("no local_cpulist"), std::string::npos) << side << ": " << e.dump();
    // Relaxed ordering everywhere but the buffer a write ping-pong polls (perftest's rule).
    EXPECT_EQ(e.at("relaxed_ordering"), false) << side;
  }
  json bw = client_json("bw --qps 1 -n 50 -s 4K");
  for (const char* side : {"src", "dst"}) {
    const json& e = bw.at("records").at(0).at(side);
    EXPECT_EQ(e.at("relaxed_ordering"), true) << side << ": " << e.dump();
    EXPECT_GE(e.at("cpu").get<int>(), 0) << side;
  }
}

// The lab has no GPU and no CUDA driver: a GPU test is waived, exit 3, with the reason.
const std::regex kNoGpuReason("no CUDA driver|railcheck was built without CUDA|no GPU visible to CUDA");

TEST_F(EngineLab, GpuMemoryWithoutAGpuIsWaivedBeforeConnecting) {
  // No server runs: the memory is checked before the out-of-band connection.
  auto r = client_run("lat --op write_imm -n 10 --mem cuda");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(r.err.starts_with("railcheck lat: waived: ")) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, kNoGpuReason)) << r.err;
  auto j = client_run("bw -n 10 --mem cuda:0 --verify --format json");
  EXPECT_EQ(j.exit_code, 3) << j.err;
  const json doc = json::parse(j.out);
  ASSERT_EQ(doc.at("schema_version"), "railcheck.results/v1.2");
  EXPECT_EQ(doc.at("meta").at("spec").at("mem"), "cuda:0");
  ASSERT_EQ(doc.at("records").size(), 1u);
  const json& rec = doc["records"][0];
  EXPECT_EQ(rec.at("verdict"), "waived");
  EXPECT_EQ(rec.at("test"), "write_bw");
  EXPECT_EQ(rec.at("src").at("mem"), "cuda:0");
  EXPECT_TRUE(std::regex_search(rec.at("cause").get<std::string>(), kNoGpuReason)) << doc.dump();
}

TEST_F(EngineLab, PeerMemoryOnAServerWithoutAGpuIsWaivedAndTheServerGoesOn) {
  auto srv = serve();
  auto r = client_run("bw -n 10 --peer-mem cuda --format json");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const json doc = json::parse(r.out);
  ASSERT_EQ(doc.at("records").size(), 1u);
  EXPECT_EQ(doc["records"][0].at("verdict"), "waived");
  const std::string cause = doc["records"][0].at("cause");
  EXPECT_NE(cause.find("refused: "), std::string::npos) << cause;
  EXPECT_TRUE(std::regex_search(cause, kNoGpuReason)) << cause;
  EXPECT_TRUE(srv->wait_for_output(" waived: ", 5000)) << srv->output();
  EXPECT_TRUE(srv->running());
  auto ok = client_run("lat --op write_imm -n 20");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST_F(EngineLab, VerifyOnHostMemoryChecksAsAlways) {
  auto srv = serve();
  json doc = client_json("bw --op write_imm --verify -n 50 -s 4K,256K");
  ASSERT_EQ(doc.at("records").size(), 2u);
  for (const json& r : doc["records"]) {
    EXPECT_EQ(r.at("test"), "write_imm_bw");
    expect_bandwidth(r);
  }
  EXPECT_EQ(doc.at("meta").at("spec").at("verify"), true);
}

TEST_F(EngineLab, SweepKeepsEverySize) {
  auto srv = serve();
  json doc = client_json("lat --sweep -n 20 --warmup 2");
  const json& results = doc.at("records");
  ASSERT_EQ(results.size(), 23u);  // 2 B .. 8 MiB
  uint64_t expected = 2;
  for (const json& r : results) {
    EXPECT_EQ(r.at("size_bytes"), expected);
    expect_latency(r, 20);
    expected *= 2;
  }
}

TEST_F(EngineLab, DurationModeKeepsPercentiles) {
  auto srv = serve();
  json lat = client_json("lat -D 1");
  const json& l = lat.at("records").at(0);
  EXPECT_GT(l.at("iters"), 0);
  expect_latency(l, l.at("iters").get<uint64_t>());
  // The stop rule, not a speed: the size ran for its duration and then stopped. The bound
  // above is loose on purpose: under qemu TCG a bandwidth run drains tx_depth x 64 KiB of
  // outstanding writes at a tenth of a Gb/s after the deadline (seen: 1.7 s for -D 1).
  EXPECT_GE(l.at("elapsed_s").get<double>(), 0.99);
  EXPECT_LT(l.at("elapsed_s").get<double>(), 10.0);
  json bw = client_json("bw -D 1 -s 64K");
  const json& b = bw.at("records").at(0);
  expect_bandwidth(b);
  EXPECT_GE(b.at("elapsed_s").get<double>(), 0.99);
  EXPECT_LT(b.at("elapsed_s").get<double>(), 10.0);
}

TEST_F(EngineLab, ServerAnswersClientsOneAfterAnother) {
  auto srv = serve();
  for (int i = 0; i < 3; ++i) {
    auto r = client_run("lat -n 50");
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_TRUE(srv->running());
  EXPECT_TRUE(srv->wait_for_output("lat write 2 B", 1000));
}

TEST_F(EngineLab, PeerNotListeningIsAClearError) {
  auto r = client_run("lat -n 10 --connect-timeout 3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nothing listens there"), std::string::npos) << r.err;
}

TEST_F(EngineLab, PeerVanishingMidRunFailsWithoutHanging) {
  auto srv = serve();
  BackgroundProcess cl(lab::in_pod(client(), kBin + " bw -D 30 -s 64K --timeout 5 " + server().eth0 + " --device " +
                                                 client().rails[0].rdma_device));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  srv->kill(SIGKILL);
  const int rc = cl.wait(20000);
  EXPECT_EQ(rc, 1) << cl.output();
  const std::string out = cl.output();
  EXPECT_TRUE(out.find("vanished") != std::string::npos || out.find("closed the connection") != std::string::npos ||
              out.find("retry") != std::string::npos)
      << out;
}

TEST_F(EngineLab, WrongDeviceNamesTheDevicesThatExist) {
  auto srv = serve();
  auto r = run_command(lab::in_pod(client(), kBin + " lat " + server().eth0 + " --device mlx5_99"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("RDMA device mlx5_99"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(client().rails[0].rdma_device), std::string::npos) << r.err;
  EXPECT_TRUE(srv->running());
}

TEST_F(EngineLab, SizeAboveTheServersLimitIsRefused) {
  auto srv = serve("--max-size 64K");
  auto r = client_run("bw -s 1M -n 10");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refused: size 1 MiB exceeds this server's limit of 64 KiB"), std::string::npos) << r.err;
  auto ok = client_run("bw -s 64K -n 10");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST_F(EngineLab, MismatchedTestIsRefusedWithTheReason) {
  auto srv = serve("--test bw");
  auto r = client_run("lat -n 10");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("this server runs only bw tests, the client asked for lat"), std::string::npos) << r.err;
  EXPECT_TRUE(srv->running());
}

TEST_F(EngineLab, GarbageOnTheOobSocketDoesNotStopTheServer) {
  auto srv = serve();
  auto g = run_command(lab::in_pod(client(), "bash -c 'echo GET / HTTP/1.0 > /dev/tcp/" + server().eth0 + "/18515'"));
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_TRUE(srv->wait_for_output("failed", 5000)) << srv->output();
  auto r = client_run("lat -n 20");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(srv->running());
}

TEST_F(EngineLab, TableOutputHasOneRowPerSize) {
  auto srv = serve();
  auto r = client_run("bw -s 4K,64K -n 50");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("railcheck bw write"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peak[Gb/s]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n      4096 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n     65536 "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace railcheck

namespace railcheck {
namespace {

// Device choice: by netdev, by the pod's network-status rail, and the route's error.
TEST_F(EngineLab, ClientAndServerChooseTheDeviceByRailFromNetworkStatus) {
  const lab::Pod& s = map_.pods[1];
  const lab::Pod& c = map_.pods[0];
  const lab::RailPort& last = s.rails.back();
  BackgroundProcess srv(lab::in_pod(s, kBin + " serve --rail " + last.interface + " --podinfo " + s.podinfo));
  ASSERT_TRUE(srv.wait_for_output("listening", 10000)) << srv.output();
  auto r = run_command(lab::in_pod(c, kBin + " lat -n 50 --format json " + s.eth0 + " --rail " +
                                          c.rails.back().interface + " --podinfo " + c.podinfo));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json rec = json::parse(r.out).at("records").at(0);
  EXPECT_EQ(rec.at("src").at("device"), c.rails.back().rdma_device);
  EXPECT_EQ(rec.at("dst").at("device"), last.rdma_device);
  EXPECT_EQ(rec.at("src").at("gid"), "::ffff:" + c.rails.back().ip);
  EXPECT_EQ(rec.at("src").at("interface"), c.rails.back().interface);  // --rail names the rail
  EXPECT_EQ(rec.at("rail"), c.rails.back().interface);
}

TEST_F(EngineLab, ClientChoosesTheDeviceByNetdev) {
  auto srv = serve();
  auto r = run_command(lab::in_pod(client(), kBin + " bw -n 50 -s 64K --format json " + server().eth0 + " --netdev " +
                                                 client().rails[0].netdev));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at("records").at(0).at("src").at("device"), client().rails[0].rdma_device);
}

TEST_F(EngineLab, UnknownRailNamesThePodsInterfaces) {
  // The device is resolved once connected (the route may decide it), so a server must listen.
  auto srv = serve();
  auto r = run_command(lab::in_pod(client(), kBin + " lat " + server().eth0 + " --rail net9 --podinfo " + client().podinfo));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("rail net9 is not in this pod's network-status"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("net1"), std::string::npos) << r.err;
}

TEST_F(EngineLab, RouteThroughANonRdmaInterfaceSaysHowToChoose) {
  auto srv = serve();
  // No --device: the route to the peer's eth0 leaves through this pod's eth0, which has no RDMA device.
  auto r = run_command(lab::in_pod(client(), kBin + " lat -n 10 " + server().eth0));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no RDMA device has " + client().eth0), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--rail"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace railcheck
