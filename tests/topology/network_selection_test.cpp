// The `k8s.v1.cni.cncf.io/networks` annotation in its two forms, and its errors.
#include "topology/network_selection.hpp"

#include <gtest/gtest.h>

namespace railcheck::topology {
namespace {

TEST(NetworkSelection, TextForm) {
  auto sel = parse_network_selections("spiderpool/gpu1-sriov, gpu2-sriov@net2 ,kube-system/x@eth9");
  ASSERT_TRUE(sel.has_value()) << sel.error().message();
  ASSERT_EQ(sel->size(), 3u);
  EXPECT_EQ((*sel)[0].nspace, "spiderpool");
  EXPECT_EQ((*sel)[0].name, "gpu1-sriov");
  EXPECT_EQ((*sel)[0].interface, "");
  EXPECT_EQ((*sel)[1].nspace, "");
  EXPECT_EQ((*sel)[1].name, "gpu2-sriov");
  EXPECT_EQ((*sel)[1].interface, "net2");
  EXPECT_EQ((*sel)[2].interface, "eth9");
  EXPECT_TRUE(parse_network_selections("  ")->empty());
}

TEST(NetworkSelection, JsonFormAsIbKubernetesWritesIt) {
  auto sel = parse_network_selections(
      R"([{"name":"ib-rail1","namespace":"default","interface":"net1",
           "cni-args":{"guid":"02:00:00:00:00:00:00:01","mellanox.infiniband.app":"configured","pkey":"0x6",
                       "n":7,"b":true,"o":{"x":1}}},
          {"name":"ib-rail2","infiniband-guid":"02:00:00:00:00:00:00:02"}])");
  ASSERT_TRUE(sel.has_value()) << sel.error().message();
  ASSERT_EQ(sel->size(), 2u);
  const NetworkSelection& a = (*sel)[0];
  EXPECT_EQ(a.name, "ib-rail1");
  EXPECT_EQ(a.nspace, "default");
  EXPECT_EQ(a.cni_args.at("guid"), "02:00:00:00:00:00:00:01");
  EXPECT_EQ(a.cni_args.at("pkey"), "0x6");
  EXPECT_EQ(a.cni_args.at("mellanox.infiniband.app"), "configured");
  EXPECT_EQ(a.cni_args.at("n"), "7");
  EXPECT_EQ(a.cni_args.at("b"), "true");
  EXPECT_EQ(a.cni_args.at("o"), R"({"x":1})");
  EXPECT_EQ((*sel)[1].infiniband_guid, "02:00:00:00:00:00:00:02");
  EXPECT_TRUE((*sel)[1].cni_args.empty());
}

TEST(NetworkSelection, SelectsByNameNamespaceAndInterface) {
  NetworkSelection s{.name = "ib-rail1", .nspace = "default", .interface = "net1", .infiniband_guid = {},
                     .cni_args = {}};
  EXPECT_TRUE(s.selects("default/ib-rail1", "net1"));
  EXPECT_FALSE(s.selects("default/ib-rail1", "net2"));
  EXPECT_FALSE(s.selects("other/ib-rail1", "net1"));
  EXPECT_FALSE(s.selects("default/ib-rail10", "net1"));
  s.nspace.clear();
  s.interface.clear();
  EXPECT_TRUE(s.selects("any/ib-rail1", "net7"));
  EXPECT_TRUE(s.selects("ib-rail1", "net7"));
}

struct BadCase {
  const char* text;
  const char* error;
};

class NetworkSelectionErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(NetworkSelectionErrors, NameTheElementAndField) {
  auto sel = parse_network_selections(GetParam().text);
  ASSERT_FALSE(sel.has_value());
  EXPECT_EQ(sel.error().code, Errc::kProtocol);
  EXPECT_EQ(sel.error().what, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, NetworkSelectionErrors,
    ::testing::Values(
        BadCase{"[{", "k8s.v1.cni.cncf.io/networks is not valid JSON"},
        BadCase{R"([42])", "k8s.v1.cni.cncf.io/networks element 0 is not an object"},
        BadCase{R"([{"namespace":"x"}])", "k8s.v1.cni.cncf.io/networks element 0: \"name\" is missing"},
        BadCase{R"([{"name":""}])", "k8s.v1.cni.cncf.io/networks element 0: \"name\" is empty"},
        BadCase{R"([{"name":"a"},{"name":"b","interface":3}])",
                "k8s.v1.cni.cncf.io/networks element 1 (b): \"interface\" must be a string"},
        BadCase{R"([{"name":"a","cni-args":"guid=1"}])",
                "k8s.v1.cni.cncf.io/networks element 0 (a): \"cni-args\" must be an object"},
        BadCase{"a,,b", "k8s.v1.cni.cncf.io/networks item 1 is empty"},
        BadCase{"ns/", "k8s.v1.cni.cncf.io/networks item 0 ('ns/'): no network name"},
        BadCase{"/a", "k8s.v1.cni.cncf.io/networks item 0 ('/a'): empty namespace before '/'"},
        BadCase{"a@", "k8s.v1.cni.cncf.io/networks item 0 ('a@'): empty interface name after '@'"},
        BadCase{"a/b/c", "k8s.v1.cni.cncf.io/networks item 0 ('a/b/c'): expected [namespace/]name[@interface]"}));

}  // namespace
}  // namespace railcheck::topology
