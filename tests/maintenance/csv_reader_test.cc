// The import CSV reader against RFC 4180's cases, and its refusals naming row and column.
#include "maintenance/internal/csv_reader.h"

#include <gmock/gmock.h>

#include "maintenance/internal/text.h"

namespace doppel::maintenance::internal {
namespace {

using Rows = std::vector<std::vector<std::string>>;

CsvTable Read(std::string_view text) {
  auto table = ReadCsv(text, 100);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return table.ok() ? *table : CsvTable{};
}

std::string Error(std::string_view text, std::size_t max_rows = 100) {
  auto table = ReadCsv(text, max_rows);
  return table.ok() ? "(no error)" : table.status().message();
}

TEST(CsvReaderTest, ReadsHeaderAndRowsWithLfOrCrlf) {
  for (std::string_view text : {"a,b\n1,2\n3,4\n", "a,b\r\n1,2\r\n3,4\r\n", "a,b\r\n1,2\n3,4"}) {
    CsvTable table = Read(text);
    EXPECT_EQ(table.header, (std::vector<std::string>{"a", "b"})) << text;
    EXPECT_EQ(table.rows, (Rows{{"1", "2"}, {"3", "4"}})) << text;
  }
}

TEST(CsvReaderTest, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  CsvTable table = Read(
      "id,text\r\n1,\"Pump, main\"\r\n2,\"say \"\"hi\"\"\"\r\n3,\"two\r\nlines\"\r\n4,\"\"\r\n");
  EXPECT_EQ(table.rows,
            (Rows{{"1", "Pump, main"}, {"2", "say \"hi\""}, {"3", "two\r\nlines"}, {"4", ""}}));
}

TEST(CsvReaderTest, EmptyFieldsTrailingCommaBomAndBlankLines) {
  CsvTable table = Read(
      "\xEF\xBB\xBF"
      "a,b,c\n\n1,,\n,2,\n\n");
  EXPECT_EQ(table.header, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(table.rows, (Rows{{"1", "", ""}, {"", "2", ""}}));
}

TEST(CsvReaderTest, KeepsSpacesAndUtf8AsWritten) {
  CsvTable table = Read("name\n Größe 1 \n");
  EXPECT_EQ(table.rows, (Rows{{" Größe 1 "}}));
}

TEST(CsvReaderTest, RefusesMalformedInputNamingRowAndColumn) {
  EXPECT_EQ(Error(""), "the CSV has no header row");
  EXPECT_EQ(Error("a,b\n1,2\n3,\"open\n"), "row 2, column 2: a quoted field is not closed");
  EXPECT_EQ(Error("a,b\n1,x\"y\n"),
            "row 1, column 2: a quote inside an unquoted field (quote the whole field and "
            "double the quote)");
  EXPECT_EQ(Error("a,b\n\"1\"x,2\n"),
            "row 1, column 1: text after a closing quote (inside a quoted field, write a quote as "
            "two quotes)");
  EXPECT_EQ(Error("a,b\n1,2\n1,2,3\n"), "row 2: 3 fields, but the header has 2 columns");
  EXPECT_EQ(Error("a,b\n1\n"), "row 1: 1 field, but the header has 2 columns");
  EXPECT_EQ(Error("a,b\n1,2\r3,4\n"),
            "row 1, column 2: a carriage return not followed by a line feed (quote the field to "
            "keep it)");
  EXPECT_EQ(Error("a,b\n1,\xff\n"), "row 1, column 2: not valid UTF-8 (save the file as UTF-8)");
  EXPECT_EQ(Error("a,,c\n"), "header, column 2: a column without a name");
  EXPECT_EQ(Error("a,b,a\n"), "header, column 3: 'a' appears twice");
}

TEST(CsvReaderTest, RowLimitIsPayloadTooLarge) {
  EXPECT_TRUE(ReadCsv("a\n1\n2\n", 2).ok());
  auto over = ReadCsv("a\n1\n2\n3\n", 2);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(over.status().message(),
            "the import has more than 2 rows; split it into smaller imports");
}

TEST(TextTest, Utf8ValidityAndCharacterCounts) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("Größe – ✓ 😀"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // cut short
  EXPECT_EQ(CountCharacters("Größe"), 5u);
  EXPECT_EQ(CountCharacters("😀x"), 2u);
}

}  // namespace
}  // namespace doppel::maintenance::internal
