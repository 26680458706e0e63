// Port counters: the name table (mlx5, rxe, the IB PMA set, unknown names), reading a port's
// two folders from fixture trees laid out as the kernel's sysfs, and the deltas around a test.
#include "verbs/port_counters.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace railcheck::verbs {
namespace {

using M = CounterMeaning;

struct NameCase {
  const char* name;
  CounterMeaning meaning;
  bool fault;
};

// Names as each driver writes them (kernel: drivers/infiniband/hw/mlx5/counters.c,
// drivers/infiniband/sw/rxe/rxe_hw_counters.c, drivers/infiniband/core/sysfs.c).
class CounterNames : public ::testing::TestWithParam<NameCase> {};

TEST_P(CounterNames, MapToTheirMeaning) {
  const NameCase& c = GetParam();
  EXPECT_EQ(counter_meaning(c.name), c.meaning) << c.name;
  EXPECT_EQ(is_fault(counter_meaning(c.name)), c.fault) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Mlx5, CounterNames,
    ::testing::Values(NameCase{"out_of_sequence", M::kRetransmission, true},
                      NameCase{"packet_seq_err", M::kRetransmission, true},
                      NameCase{"local_ack_timeout_err", M::kRetransmission, true},
                      NameCase{"roce_adp_retrans", M::kRetransmission, true},
                      NameCase{"rnr_nak_retry_err", M::kReceiverNotReady, true},
                      NameCase{"np_cnp_sent", M::kCongestion, false},
                      NameCase{"rp_cnp_handled", M::kCongestion, false},
                      NameCase{"np_ecn_marked_roce_packets", M::kCongestion, false},
                      NameCase{"out_of_buffer", M::kDiscard, true},
                      NameCase{"req_remote_access_errors", M::kOperationError, true},
                      NameCase{"rx_icrc_encapsulated", M::kLinkError, true},
                      NameCase{"rx_write_requests", M::kTraffic, false},
                      NameCase{"lifespan", M::kNotACounter, false}));
INSTANTIATE_TEST_SUITE_P(
    Rxe, CounterNames,
    ::testing::Values(NameCase{"rcvd_seq_err", M::kRetransmission, true},
                      NameCase{"duplicate_request", M::kRetransmission, true},
                      NameCase{"out_of_seq_request", M::kRetransmission, true},
                      NameCase{"retry_exceeded_err", M::kRetransmission, true},
                      NameCase{"completer_retry_err", M::kRetransmission, true},
                      NameCase{"rcvd_rnr_err", M::kReceiverNotReady, true},
                      NameCase{"send_err", M::kDiscard, true},
                      NameCase{"link_downed", M::kLinkDown, true},
                      NameCase{"sent_pkts", M::kTraffic, false},
                      NameCase{"ack_deferred", M::kTraffic, false}));
INSTANTIATE_TEST_SUITE_P(
    Pma, CounterNames,
    ::testing::Values(NameCase{"symbol_error", M::kLinkError, true},
                      NameCase{"link_error_recovery", M::kLinkError, true},
                      NameCase{"port_rcv_errors", M::kLinkError, true},
                      NameCase{"port_xmit_discards", M::kDiscard, true},
                      NameCase{"port_xmit_wait", M::kCongestion, false},
                      NameCase{"port_xmit_data", M::kTraffic, false},
                      NameCase{"unicast_rcv_packets", M::kTraffic, false},
                      NameCase{"VL15_dropped", M::kTraffic, false}));
INSTANTIATE_TEST_SUITE_P(
    Unknown, CounterNames,
    ::testing::Values(NameCase{"some_future_err", M::kUnknown, false}, NameCase{"bnxt_re_thing", M::kUnknown, false},
                      NameCase{"", M::kUnknown, false}));

class PortCounterFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) /
            ("railcheck_counters_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    const auto path = root_ / rel;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  std::filesystem::path root_;
};

TEST_F(PortCounterFiles, Mlx5ReadsBothFolders) {
  write("mlx5_2/ports/1/counters/symbol_error", "3\n");
  write("mlx5_2/ports/1/counters/port_xmit_data", "123456789012\n");
  write("mlx5_2/ports/1/hw_counters/out_of_sequence", "17\n");
  write("mlx5_2/ports/1/hw_counters/lifespan", "10\n");
  auto snap = read_port_counters("mlx5_2", 1, root_.string());
  ASSERT_TRUE(snap) << snap.error().message();
  EXPECT_EQ(snap->at("symbol_error"), 3u);
  EXPECT_EQ(snap->at("port_xmit_data"), 123456789012u);
  EXPECT_EQ(snap->at("out_of_sequence"), 17u);
}

TEST_F(PortCounterFiles, RxeHasOnlyHwCounters) {
  write("rxe_p1n1/ports/1/hw_counters/rcvd_seq_err", "0\n");
  write("rxe_p1n1/ports/1/hw_counters/sent_pkts", "42\n");
  auto snap = read_port_counters("rxe_p1n1", 1, root_.string());
  ASSERT_TRUE(snap) << snap.error().message();
  EXPECT_EQ(snap->size(), 2u);
}

TEST_F(PortCounterFiles, NoFolderOrABadValueIsAnErrorNamingTheFile) {
  auto none = read_port_counters("mlx5_9", 1, root_.string());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::kNotFound);
  EXPECT_NE(none.error().message().find("mlx5_9/ports/1"), std::string::npos) << none.error().message();

  write("mlx5_3/ports/1/hw_counters/out_of_sequence", "many\n");
  auto bad = read_port_counters("mlx5_3", 1, root_.string());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("out_of_sequence: \"many\" is not a counter value"), std::string::npos)
      << bad.error().message();
}

TEST_F(PortCounterFiles, TheWatchGivesWhatMovedAndSaysWhyWhenItCannotRead) {
  write("rxe_a/ports/1/hw_counters/rcvd_seq_err", "5\n");
  write("rxe_a/ports/1/hw_counters/sent_pkts", "100\n");
  PortCounterWatch watch("rxe_a", 1, {}, root_.string());
  watch.start();
  write("rxe_a/ports/1/hw_counters/rcvd_seq_err", "9\n");
  write("rxe_a/ports/1/hw_counters/sent_pkts", "900\n");
  auto moved = watch.stop();
  ASSERT_TRUE(moved);
  ASSERT_EQ(moved->size(), 1u);  // traffic left out
  EXPECT_EQ((*moved)[0], (CounterDelta{"rcvd_seq_err", 4, M::kRetransmission}));

  PortCounterWatch missing("rxe_gone", 1, {}, root_.string());
  missing.start();
  EXPECT_FALSE(missing.stop());
  EXPECT_NE(missing.note().find("rxe_gone"), std::string::npos) << missing.note();
}

TEST_F(PortCounterFiles, WithoutHwCountersInSysfsTheOtherReaderGivesThem) {
  // A pod in shared mode: sysfs has the PMA set (or nothing), netlink the driver's counters.
  write("mlx5_4/ports/1/counters/symbol_error", "0\n");
  uint64_t seq_errs = 2;
  const CounterReader netlink = [&](std::string_view device, uint32_t port) -> Result<CounterSnapshot> {
    EXPECT_EQ(device, "mlx5_4");
    EXPECT_EQ(port, 1u);
    return CounterSnapshot{{"out_of_sequence", seq_errs}};
  };
  PortCounterWatch watch("mlx5_4", 1, netlink, root_.string());
  watch.start();
  seq_errs = 9;
  write("mlx5_4/ports/1/counters/symbol_error", "1\n");
  auto moved = watch.stop();
  ASSERT_TRUE(moved) << watch.note();
  EXPECT_EQ(*moved, (std::vector<CounterDelta>{{"out_of_sequence", 7, M::kRetransmission},
                                               {"symbol_error", 1, M::kLinkError}}));
  // Neither: the note says both why nots.
  PortCounterWatch none("rxe_z", 1, [](std::string_view, uint32_t) -> Result<CounterSnapshot> {
    return fail(Errc::kNotFound, "RDMA device rxe_z is not in this network namespace's netlink view");
  }, root_.string());
  none.start();
  EXPECT_FALSE(none.stop());
  EXPECT_NE(none.note().find("netlink: RDMA device rxe_z"), std::string::npos) << none.note();
}

TEST(CounterDeltas, KeepFaultsCongestionAndUnknownNamesAndLeaveOutTraffic) {
  const CounterSnapshot before{{"np_cnp_sent", 10}, {"port_xmit_data", 5}, {"symbol_error", 0}, {"vendor_x", 1}};
  const CounterSnapshot after{{"np_cnp_sent", 510}, {"port_xmit_data", 900}, {"symbol_error", 0}, {"vendor_x", 3},
                              {"link_downed", 1}};
  const std::vector<CounterDelta> want{{"link_downed", 1, M::kLinkDown},
                                       {"np_cnp_sent", 500, M::kCongestion},
                                       {"vendor_x", 2, M::kUnknown}};
  EXPECT_EQ(counter_deltas(before, after), want);
}

TEST(CounterDeltas, ACounterThatWentBackwardsCountsItsNewValue) {
  // A reset (or a 32-bit PMA counter that wrapped) during the test: its new value is what it moved.
  EXPECT_EQ(counter_deltas({{"symbol_error", 65000}}, {{"symbol_error", 12}}),
            (std::vector<CounterDelta>{{"symbol_error", 12, M::kLinkError}}));
  EXPECT_TRUE(counter_deltas({{"symbol_error", 7}}, {{"symbol_error", 7}}).empty());
}

TEST(CounterDeltas, JsonIsNameToDeltaAndNullWhenNotRead) {
  EXPECT_EQ(counters_json(std::nullopt), nlohmann::json(nullptr));
  EXPECT_EQ(counters_json(std::vector<CounterDelta>{}), nlohmann::json::object());
  EXPECT_EQ(counters_json(std::vector<CounterDelta>{{"rcvd_seq_err", 4, M::kRetransmission}}).dump(),
            R"({"rcvd_seq_err":4})");
}

}  // namespace
}  // namespace railcheck::verbs
