#include "sim/fmi/fmu_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fmi_test_env.h"

namespace doppel::sim::fmi {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class FmuArchiveTest : public ::testing::Test {
 protected:
  std::string Zip(const std::vector<std::pair<std::string, std::string>>& entries) {
    auto bytes = testing::ZipArchive(scratch_.path() / "in.zip", entries);
    EXPECT_TRUE(bytes.ok());
    return bytes.ok() ? *bytes : "";
  }
  fs::path Out() const { return scratch_.path() / "out"; }

  ScratchDir scratch_;
};

TEST_F(FmuArchiveTest, UnpacksEntriesIntoTheDirectory) {
  std::string zip = Zip({{"modelDescription.xml", "<x/>"},
                         {"binaries/linux64/m.so", "ELF"},
                         {"resources/table.csv", "1,2"}});
  ASSERT_TRUE(UnpackFmu(zip, Out()).ok());
  EXPECT_EQ(*testing::ReadFileBytes(Out() / "modelDescription.xml"), "<x/>");
  EXPECT_EQ(*testing::ReadFileBytes(Out() / "resources/table.csv"), "1,2");
  auto so = FmuBinaryPath(Out(), "m");
  ASSERT_TRUE(so.ok());
  EXPECT_EQ(*so, Out() / "binaries/linux64/m.so");
}

TEST_F(FmuArchiveTest, RefusesPathTraversal) {
  for (std::string name :
       {"../evil.sh", "resources/../../evil.sh", "/etc/evil", "..\\evil", "C:/evil"}) {
    std::string zip = Zip({{"modelDescription.xml", "<x/>"}, {name, "boom"}});
    Status status = UnpackFmu(zip, Out());
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(status.message(), HasSubstr("escapes the archive")) << name;
  }
  // Checked before anything is written.
  EXPECT_FALSE(fs::exists(scratch_.path() / "evil.sh"));
  EXPECT_FALSE(fs::exists(Out()));
}

TEST_F(FmuArchiveTest, RefusesTooManyEntries) {
  std::vector<std::pair<std::string, std::string>> entries = {{"modelDescription.xml", "<x/>"}};
  for (int i = 0; i < 10; ++i) entries.emplace_back("resources/f" + std::to_string(i), "x");
  Status status = UnpackFmu(Zip(entries), Out(), ArchiveLimits{.max_entries = 5});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("11 entries, over the limit of 5"));
}

TEST_F(FmuArchiveTest, RefusesZipBombs) {
  // 4 MiB of zeros compresses to a few KiB: the unpacked size is what counts.
  std::string zeros(4u << 20, '\0');
  std::string zip = Zip({{"modelDescription.xml", "<x/>"}, {"resources/bomb", zeros}});
  EXPECT_LT(zip.size(), 64u << 10);
  Status entry = UnpackFmu(zip, Out(), ArchiveLimits{.max_entry_bytes = 1u << 20});
  EXPECT_EQ(entry.code(), StatusCode::kPayloadTooLarge);
  EXPECT_THAT(entry.message(), HasSubstr("'resources/bomb' unpacks to more than 1048576 bytes"));

  std::string two =
      Zip({{"modelDescription.xml", "<x/>"}, {"resources/a", zeros}, {"resources/b", zeros}});
  Status total = UnpackFmu(two, Out(), ArchiveLimits{.max_total_bytes = 6u << 20});
  EXPECT_EQ(total.code(), StatusCode::kPayloadTooLarge);
  EXPECT_THAT(total.message(), HasSubstr("more than 6291456 bytes in total"));
}

TEST_F(FmuArchiveTest, RefusesAnArchiveWithoutModelDescription) {
  Status status = UnpackFmu(Zip({{"binaries/linux64/m.so", "ELF"}}), Out());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no modelDescription.xml"));
}

TEST_F(FmuArchiveTest, RefusesWhatIsNotAZip) {
  Status status = UnpackFmu("this is not a zip file at all", Out());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a zip archive"));
}

TEST_F(FmuArchiveTest, ReportsAMissingLinuxBinary) {
  std::string zip = Zip({{"modelDescription.xml", "<x/>"}, {"binaries/win64/m.dll", "MZ"}});
  ASSERT_TRUE(UnpackFmu(zip, Out()).ok());
  auto so = FmuBinaryPath(Out(), "m");
  ASSERT_FALSE(so.ok());
  EXPECT_THAT(so.status().message(), HasSubstr("no binaries/linux64/m.so"));
}

}  // namespace
}  // namespace doppel::sim::fmi
