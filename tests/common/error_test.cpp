#include "common/error.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace railcheck {
namespace {

TEST(Error, SystemMessageNamesCallErrnoAndHint) {
  Error e = Error::system("ibv_reg_mr(4 MiB)", ENOMEM, "raise the memlock limit (ulimit -l)");
  EXPECT_EQ(e.code, Errc::kSystem);
  EXPECT_EQ(e.message(), "ibv_reg_mr(4 MiB): Cannot allocate memory (errno 12); raise the memlock limit (ulimit -l)");
}

TEST(Error, MessageWithoutErrnoOrHint) {
  EXPECT_EQ(Error::make(Errc::kNotFound, "RDMA device mlx5_9").message(), "RDMA device mlx5_9");
  EXPECT_EQ(Error::make(Errc::kUnsupported, "no GPU", "waived").message(), "no GPU; waived");
}

TEST(Error, FailHelpersBuildUnexpected) {
  Result<int> r = fail(Errc::kTimeout, "peer 10.0.0.2:18515", "is railcheck serve running there?");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kTimeout);
  EXPECT_EQ(r.error().hint, "is railcheck serve running there?");
  Result<void> s = fail_errno("connect", ECONNREFUSED);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().sys_errno, ECONNREFUSED);
  EXPECT_EQ(s.error().message(), "connect: Connection refused (errno 111)");
}

TEST(Error, EveryCodeHasAName) {
  for (Errc c : {Errc::kInvalidArgument, Errc::kNotFound, Errc::kUnsupported, Errc::kSystem, Errc::kTimeout,
                 Errc::kPeer, Errc::kProtocol}) {
    EXPECT_NE(to_string(c), "unknown error");
  }
}

}  // namespace
}  // namespace railcheck
