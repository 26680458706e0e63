#include "pods/api.hpp"

#include <gtest/gtest.h>

#include <string>

namespace railcheck::pods {
namespace {

const char* kGoodServer = R"({"role":"server","interface":"net1","spec":{"test":"lat","op":"write","sizes":[2]}})";

RequestError refused(std::string_view body) {
  auto r = parse_test_request(body);
  EXPECT_FALSE(r.has_value()) << body;
  return r ? RequestError{} : r.error();
}

TEST(Api, ParsesAServerRequest) {
  auto r = parse_test_request(kGoodServer);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->role, Role::kServer);
  EXPECT_EQ(r->interface, "net1");
  EXPECT_EQ(r->spec.kind, verbs::TestKind::kLatency);
  EXPECT_EQ(r->spec.sizes_bytes, std::vector<uint64_t>{2});
}

TEST(Api, ParsesAClientRequestAndRoundTrips) {
  TestRequest req{.role = Role::kClient, .interface = "net3", .spec = {}, .name = "gpu-a3", .peer = "10.0.0.7",
                  .port = 40000, .peer_end = std::nullopt, .timeout_s = 3, .accept_timeout_s = 30};
  req.peer_end = reports::PairEnd{};
  req.peer_end->node = "gpu-a7";
  req.peer_end->interface = "net3";
  req.peer_end->mem = "cuda";
  req.peer_end->gpu = 2;
  req.spec.kind = verbs::TestKind::kBandwidth;
  req.spec.qps = 4;
  auto back = parse_test_request(to_json(req).dump());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->role, Role::kClient);
  EXPECT_EQ(back->peer, "10.0.0.7");
  EXPECT_EQ(back->port, 40000);
  EXPECT_EQ(back->spec.qps, 4u);
  EXPECT_EQ(back->name, "gpu-a3");
  ASSERT_TRUE(back->peer_end.has_value());
  EXPECT_EQ(*back->peer_end, *req.peer_end);  // the server's end travels whole, GPU facts included
  EXPECT_DOUBLE_EQ(back->timeout_s, 3);
}

TEST(Api, BadJsonIsA400ForTheBody) {
  for (const char* body : {"", "{", "not json", "[1,2]", "42", "null"}) {
    const RequestError e = refused(body);
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_EQ(e.field, "") << body;
  }
}

TEST(Api, MissingAndWrongFieldsAreNamed) {
  struct Case {
    const char* body;
    const char* field;
  } cases[] = {
      {R"({"interface":"net1","spec":{}})", "role"},
      {R"({"role":"both","interface":"net1","spec":{}})", "role"},
      {R"({"role":"server","spec":{}})", "interface"},
      {R"({"role":"server","interface":7,"spec":{}})", "interface"},
      {R"({"role":"server","interface":""})", "interface"},
      {R"({"role":"server","interface":"net1"})", "spec"},
      {R"({"role":"client","interface":"net1","spec":{},"port":1})", "peer"},
      {R"({"role":"client","interface":"net1","spec":{},"peer":"h"})", "port"},
      {R"({"role":"client","interface":"net1","spec":{},"peer":"h","port":0})", "port"},
      {R"({"role":"client","interface":"net1","spec":{},"peer":"h","port":70000})", "port"},
      {R"({"role":"client","interface":"net1","spec":{},"peer":"h","port":"80"})", "port"},
      {R"({"role":"server","interface":"net1","spec":{},"peer":"h"})", "peer"},
      {R"({"role":"server","interface":"net1","spec":{},"timeout_s":-1})", "timeout_s"},
      {R"({"role":"server","interface":"net1","spec":{},"accept_timeout_s":1e9})", "accept_timeout_s"},
      {R"({"role":"server","interface":"net1","spec":{},"colour":"red"})", "colour"},
  };
  for (const Case& c : cases) {
    const RequestError e = refused(c.body);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.field, c.field) << c.body << " -> " << e.message;
    EXPECT_FALSE(e.message.empty());
  }
}

TEST(Api, SpecOutOfRangeNamesTheSpecField) {
  const RequestError qps = refused(R"({"role":"server","interface":"net1","spec":{"test":"bw","qps":100000}})");
  EXPECT_EQ(qps.field, "spec.qps") << qps.message;
  const RequestError kind = refused(R"({"role":"server","interface":"net1","spec":{"test":"fast"}})");
  EXPECT_EQ(kind.field.substr(0, 4), "spec") << kind.message;
  const RequestError unknown = refused(R"({"role":"server","interface":"net1","spec":{"speed":1}})");
  EXPECT_EQ(unknown.field, "spec.speed") << unknown.message;
}

TEST(Api, BufferLimitBoundsQpsTimesSize) {
  // 64 QPs x 2 regions x 16 MiB = 2 GiB > 1 GiB.
  const RequestError e = refused(
      R"({"role":"server","interface":"net1","spec":{"test":"bw","qps":64,"sizes":[16777216]}})");
  EXPECT_EQ(e.field, "spec.sizes") << e.message;
  EXPECT_NE(e.message.find("limit"), std::string::npos);
}

TEST(Api, HugeBodyIsRefusedBeforeParsing) {
  const std::string body = std::string(R"({"role":"server","interface":")") + std::string(kMaxRequestBytes, 'x') + "\"}";
  const RequestError e = refused(body);
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(e.message.find("limit"), std::string::npos) << e.message;
}

TEST(Api, ErrorBodyCarriesTheField) {
  const auto j = error_body({400, "spec.qps", "too many"});
  EXPECT_EQ(j["field"], "spec.qps");
  EXPECT_EQ(j["error"], "too many");
  EXPECT_FALSE(error_body({401, "", "no"}).contains("field"));
}

TEST(Api, BearerToken) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc  "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer "), std::nullopt);
  EXPECT_EQ(bearer_token(""), std::nullopt);
  EXPECT_EQ(bearer_token("Bearerabc"), std::nullopt);
}

TEST(Api, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("s3cret", "s3cret"));
  EXPECT_FALSE(constant_time_equal("s3cret", "s3creT"));
  EXPECT_FALSE(constant_time_equal("s3cret", "s3cre"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace railcheck::pods
