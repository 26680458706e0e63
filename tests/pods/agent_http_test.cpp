// The agent's HTTP API in-process on loopback, over the hgx-roce fixture pod (8 RoCE rails from
// a recorded sysfs tree and annotation): authentication, validation, busy interfaces, metrics.
// No RDMA device is needed: nothing here gets as far as opening one.

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <thread>

#include "pods/agent.hpp"
#include "pods/agent_client.hpp"
#include "topology/rail_fixtures.hpp"

namespace railcheck::pods {
namespace {

using nlohmann::json;
using topology::testing::inputs_for;

constexpr const char* kToken = "correct-horse-battery-staple";

class AgentHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    AgentOptions o{.listen = "127.0.0.1",
                   .port = 0,
                   .token = kToken,
                   .node = "node-a",
                   .pod = "rdma-tools-x1",
                   .map_inputs = inputs_for("hgx-roce", "hgx-h100-8gpu.xml"),
                   .checks = [](const topology::RailMap& m) { return json{{"ports", m.ports.size()}}; },
                   .max_test_seconds = 5,
                   .http_threads = 4};
    agent_ = std::make_unique<Agent>(std::move(o));
    auto ok = agent_->start();
    ASSERT_TRUE(ok) << ok.error().message();
    server_ = std::jthread([this] { agent_->serve(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", agent_->bound_port());
    client_->set_read_timeout(10, 0);
  }
  void TearDown() override {
    agent_->stop();
    server_ = {};
  }
  httplib::Headers auth(const std::string& token = kToken) { return {{"Authorization", "Bearer " + token}}; }
  httplib::Result post(const std::string& body, const httplib::Headers& h) {
    return client_->Post("/v1/tests", h, body, "application/json");
  }

  std::unique_ptr<Agent> agent_;
  std::jthread server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(AgentHttp, HealthNeedsNoToken) {
  auto r = client_->Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const json j = json::parse(r->body);
  EXPECT_EQ(j["node"], "node-a");
  EXPECT_EQ(j["pod"], "rdma-tools-x1");
}

TEST_F(AgentHttp, V1WithoutOrWithAWrongTokenIs401AndCounted) {
  auto none = client_->Get("/v1/inventory");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_NE(none->body.find("Authorization"), std::string::npos) << none->body;
  auto wrong = client_->Get("/v1/inventory", auth("correct-horse-battery-stapl"));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_NE(wrong->body.find("wrong token"), std::string::npos) << wrong->body;
  auto post_wrong = post(R"({})", auth("nope"));
  ASSERT_TRUE(post_wrong);
  EXPECT_EQ(post_wrong->status, 401);
  auto m = client_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("railcheck_agent_unauthorized_total 3"), std::string::npos) << m->body;
}

TEST_F(AgentHttp, InventoryCarriesTheRailMapInterfacesAndChecks) {
  auto r = client_->Get("/v1/inventory", auth());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["node"], "node-a");
  ASSERT_EQ(j["interfaces"].size(), 8u) << j.dump(1);
  EXPECT_EQ(j["interfaces"][0]["interface"], "net1");
  EXPECT_FALSE(j["interfaces"][0]["network"].get<std::string>().empty());
  EXPECT_FALSE(j["interfaces"][0]["rdma_device"].get<std::string>().empty());
  EXPECT_EQ(j["rail_map"]["schema"], "railcheck.topo/v1");
  EXPECT_EQ(j["checks"]["ports"], 8);
}

TEST_F(AgentHttp, BadRequestsAre400NamingTheField) {
  struct Case {
    std::string body;
    std::string field;
  } cases[] = {
      {"{oops", ""},
      {R"({"role":"server"})", "interface"},
      {R"({"role":"server","interface":"net1","spec":{"test":"bw","qps":9999}})", "spec.qps"},
      {R"({"role":"server","interface":"net42","spec":{}})", "interface"},
      {std::string(R"({"role":"server","interface":")") + std::string(100 * 1024, 'a') + "\"}", ""},
  };
  for (const Case& c : cases) {
    auto r = post(c.body, auth());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << c.body.substr(0, 80);
    const json j = json::parse(r->body);
    EXPECT_EQ(j.value("field", ""), c.field) << r->body;
  }
  // The unknown interface lists the real ones.
  auto r = post(R"({"role":"server","interface":"net42","spec":{}})", auth());
  EXPECT_NE(r->body.find("net1, net2"), std::string::npos) << r->body;
}

TEST_F(AgentHttp, BodiesBeyondTheTransportLimitAre413) {
  auto r = post(std::string(2 * 1024 * 1024, ' '), auth());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("too large"), std::string::npos) << r->body;
}

TEST_F(AgentHttp, UnknownEndpointIs404) {
  auto r = client_->Get("/v1/nothing", auth());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("/v1/inventory"), std::string::npos) << r->body;
}

TEST_F(AgentHttp, OneTestPerInterfaceOthersRunAtOnce) {
  const std::string server_net1 =
      R"({"role":"server","interface":"net1","spec":{"test":"lat"},"accept_timeout_s":1})";
  auto first = post(server_net1, auth());
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  const json j = json::parse(first->body);
  EXPECT_GT(j["port"].get<int>(), 0);
  // net1 is waiting for its client: busy.
  auto second = post(server_net1, auth());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 409) << second->body;
  EXPECT_NE(second->body.find("busy"), std::string::npos);
  // net2 is free.
  auto other = post(R"({"role":"server","interface":"net2","spec":{"test":"lat"},"accept_timeout_s":1})", auth());
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200) << other->body;
  // No client came within accept_timeout_s: net1 is free again.
  bool freed = false;
  for (int i = 0; i < 100 && !freed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto again = post(server_net1, auth());
    ASSERT_TRUE(again);
    freed = again->status == 200;
  }
  EXPECT_TRUE(freed) << "net1 still busy after its accept timeout";
  auto m = client_->Get("/metrics");
  EXPECT_NE(m->body.find(R"(railcheck_agent_tests_total{role="server",outcome="no_client"})"), std::string::npos);
}

TEST_F(AgentHttp, AClientTestThatCannotConnectFailsCleanly) {
  // Nobody listens on port 9 of loopback: the test fails, the agent answers ok:false and lives.
  auto r = post(R"({"role":"client","interface":"net1","spec":{"test":"lat"},"peer":"127.0.0.1","port":9})", auth());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_FALSE(j["ok"].get<bool>());
  EXPECT_FALSE(j["error"].get<std::string>().empty());
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
}

TEST_F(AgentHttp, AgentClientSeesEachFailureKind) {
  AgentClient good("127.0.0.1", agent_->bound_port(), kToken);
  auto inv = good.inventory(Seconds(10));
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ((*inv)["node"], "node-a");

  AgentClient wrong("127.0.0.1", agent_->bound_port(), "guess");
  auto denied = wrong.inventory(Seconds(10));
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().kind, AgentFailure::kUnauthorized);
  EXPECT_NE(denied.error().message.find("token"), std::string::npos);

  agent_->stop();
  server_ = {};
  auto gone = good.health(Seconds(2));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, AgentFailure::kUnreachable);
  EXPECT_NE(gone.error().message.find("unreachable"), std::string::npos);
}

TEST(AgentAddress, Parses) {
  EXPECT_EQ(*parse_agent_address("10.0.0.1:7401", 7400), (std::pair<std::string, uint16_t>{"10.0.0.1", 7401}));
  EXPECT_EQ(*parse_agent_address("node-1", 7400), (std::pair<std::string, uint16_t>{"node-1", 7400}));
  EXPECT_EQ(*parse_agent_address("[fd00::1]:80", 7400), (std::pair<std::string, uint16_t>{"fd00::1", 80}));
  EXPECT_FALSE(parse_agent_address(":80", 7400));
  EXPECT_FALSE(parse_agent_address("h:0", 7400));
  EXPECT_FALSE(parse_agent_address("h:99999", 7400));
  EXPECT_FALSE(parse_agent_address("h:x", 7400));
}

}  // namespace
}  // namespace railcheck::pods
