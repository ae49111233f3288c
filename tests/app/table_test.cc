// FormatTable: the CLI's human-readable rendering of query rows (see app/query_command.h).
#include <gtest/gtest.h>

#include <string>

#include "app/query_command.h"

namespace doppel::app {
namespace {

json::array Rows(const char* text) { return json::parse(text).as_array(); }

TEST(FormatTable, ColumnsInFirstSeenOrderAndMissingCellsBlank) {
  json::array rows = Rows(R"([{"$dtId": "a", "temp": 21.5}, {"$dtId": "bb", "humidity": 40}])");
  EXPECT_EQ(FormatTable(rows),
            "$dtId  temp  humidity\n"
            "-----  ----  --------\n"
            "a      21.5\n"
            "bb           40\n"
            "(2 rows)\n");
}

TEST(FormatTable, LoneProjectedTwinIsUnwrapped) {
  // $metadata collapses to its $model (in $metadata's place), $etag is left out.
  json::array rows = Rows(R"([{"T": {"$dtId": "room1", "$etag": "W/\"1\"",
                                     "$metadata": {"$model": "dtmi:x:Room;1",
                                                   "temp": {"lastUpdateTime": "2026-01-01T00:00:00Z"}},
                                     "name": "R1"}}])");
  EXPECT_EQ(FormatTable(rows),
            "$dtId  $model         name\n"
            "-----  -------------  ----\n"
            "room1  dtmi:x:Room;1  R1\n"
            "(1 row)\n");
}

TEST(FormatTable, RowWithMoreThanOneProjectionIsNotUnwrapped) {
  json::array rows = Rows(R"([{"T": {"$dtId": "t1"}, "n": 3}])");
  EXPECT_EQ(FormatTable(rows),
            "T               n\n"
            "--------------  -\n"
            "{\"$dtId\":\"t1\"}  3\n"
            "(1 row)\n");
}

TEST(FormatTable, LongCellsAreCutWithAMarker) {
  std::string long_text(60, 'x');
  json::array rows;
  rows.push_back(json::object{{"s", long_text}});
  std::string cut = std::string(53, 'x') + "...";  // 56 columns in all
  EXPECT_EQ(FormatTable(rows), "s\n" + std::string(56, '-') + "\n" + cut + "\n(1 row)\n");
}

TEST(FormatTable, CellWidthCountsCodePointsNotBytes) {
  std::string e_acute = "\xC3\xA9";
  std::string fits, too_long;
  for (int i = 0; i < 56; ++i) fits += e_acute;  // 112 bytes, 56 columns: not cut
  for (int i = 0; i < 57; ++i) too_long += e_acute;
  std::string cut;
  for (int i = 0; i < 53; ++i) cut += e_acute;
  json::array rows;
  rows.push_back(json::object{{"s", fits}});
  rows.push_back(json::object{{"s", too_long}});
  EXPECT_EQ(FormatTable(rows), "s\n" + std::string(56, '-') + "\n" + fits + "\n" + cut + "...\n(2 rows)\n");
}

TEST(FormatTable, NonObjectRowsGetAValueColumn) {
  EXPECT_EQ(FormatTable(Rows(R"([7, "two", null])")),
            "value\n"
            "-----\n"
            "7\n"
            "two\n"
            "null\n"
            "(3 rows)\n");
}

TEST(FormatTable, NewlinesAndTabsInCellsBecomeSpaces) {
  EXPECT_EQ(FormatTable(Rows(R"([{"note": "a\nb\tc"}])")),
            "note\n"
            "-----\n"
            "a b c\n"
            "(1 row)\n");
}

TEST(FormatTable, NoRowsIsJustTheFooter) { EXPECT_EQ(FormatTable(json::array{}), "(0 rows)\n"); }

}  // namespace
}  // namespace doppel::app
