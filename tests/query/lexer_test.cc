#include "query/internal/lexer.h"

#include <gtest/gtest.h>

namespace doppel::query {
namespace {

std::vector<Token> Lex(std::string_view text) {
  auto tokens = Tokenize(text);
  EXPECT_TRUE(tokens.ok()) << tokens.status().ToString();
  return tokens.ok() ? *tokens : std::vector<Token>{};
}

std::vector<TokenKind> Kinds(const std::vector<Token>& tokens) {
  std::vector<TokenKind> kinds;
  for (const Token& t : tokens) kinds.push_back(t.kind);
  return kinds;
}

TEST(LexerTest, SplitsIdentifiersPathsAndPunctuation) {
  auto tokens = Lex("SELECT T.$dtId, COUNT() FROM DIGITALTWINS T");
  EXPECT_EQ(Kinds(tokens), (std::vector<TokenKind>{
                               TokenKind::kIdentifier, TokenKind::kIdentifier, TokenKind::kDot,
                               TokenKind::kIdentifier, TokenKind::kComma, TokenKind::kIdentifier,
                               TokenKind::kLParen, TokenKind::kRParen, TokenKind::kIdentifier,
                               TokenKind::kIdentifier, TokenKind::kIdentifier, TokenKind::kEnd}));
  EXPECT_EQ(tokens[3].text, "$dtId");
}

TEST(LexerTest, ReadsEveryComparisonOperator) {
  auto tokens = Lex("= != <> < <= > >= -");
  EXPECT_EQ(Kinds(tokens),
            (std::vector<TokenKind>{TokenKind::kEq, TokenKind::kNe, TokenKind::kNe, TokenKind::kLt,
                                    TokenKind::kLe, TokenKind::kGt, TokenKind::kGe,
                                    TokenKind::kMinus, TokenKind::kEnd}));
}

TEST(LexerTest, UnescapesStringsInEitherQuote) {
  auto tokens = Lex(R"('it\'s' "say \"hi\"" 'a\\b\n' '\u00e9')");
  ASSERT_EQ(tokens.size(), 5u);
  EXPECT_EQ(tokens[0].text, "it's");
  EXPECT_EQ(tokens[1].text, "say \"hi\"");
  EXPECT_EQ(tokens[2].text, "a\\b\n");
  EXPECT_EQ(tokens[3].text, "\xC3\xA9");
  EXPECT_EQ(tokens[0].kind, TokenKind::kString);
}

TEST(LexerTest, ReadsNumbersWithFractionAndExponent) {
  auto tokens = Lex("42 3.25 1e3 2.5E-2 .5");
  ASSERT_EQ(tokens.size(), 6u);
  EXPECT_EQ(tokens[0].text, "42");
  EXPECT_EQ(tokens[1].text, "3.25");
  EXPECT_EQ(tokens[2].text, "1e3");
  EXPECT_EQ(tokens[3].text, "2.5E-2");
  EXPECT_EQ(tokens[4].text, ".5");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(tokens[i].kind, TokenKind::kNumber);
}

TEST(LexerTest, TracksLineAndColumn) {
  auto tokens = Lex("SELECT *\n  FROM\tDIGITALTWINS");
  ASSERT_EQ(tokens.size(), 5u);
  EXPECT_EQ(tokens[2].pos.line, 2);
  EXPECT_EQ(tokens[2].pos.column, 3);
  EXPECT_EQ(tokens[3].pos.line, 2);
  EXPECT_EQ(tokens[3].pos.column, 8);
  EXPECT_EQ(tokens[4].pos.column, 20);  // end of query
}

TEST(LexerTest, UnterminatedStringNamesWhereItStarted) {
  auto tokens = Tokenize("SELECT * FROM DIGITALTWINS WHERE T.a = 'abc");
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens.status().message(),
            "query syntax error at line 1, column 40: unterminated string");
  EXPECT_EQ(tokens.status().error_code(), "SqlQueryError");
}

TEST(LexerTest, RejectsUnknownCharactersAndEscapes) {
  auto hash = Tokenize("SELECT #");
  ASSERT_FALSE(hash.ok());
  EXPECT_EQ(hash.status().message(),
            "query syntax error at line 1, column 8: unexpected character '#'");
  auto bang = Tokenize("a ! b");
  ASSERT_FALSE(bang.ok());
  EXPECT_NE(bang.status().message().find("column 3"), std::string::npos);
  auto escape = Tokenize("'a\\qb'");
  ASSERT_FALSE(escape.ok());
  EXPECT_NE(escape.status().message().find("unknown escape '\\q'"), std::string::npos);
  auto exponent = Tokenize("1e+");
  EXPECT_FALSE(exponent.ok());
  auto glued = Tokenize("12abc");
  EXPECT_FALSE(glued.ok());
}

TEST(LexerTest, DescribesTokensForMessages) {
  auto tokens = Lex("FORM 'x'");
  EXPECT_EQ(DescribeToken(tokens[0]), "'FORM'");
  EXPECT_EQ(DescribeToken(tokens[1]), "string 'x'");
  EXPECT_EQ(DescribeToken(tokens[2]), "end of query");
}

// Found by tests/fuzz/query_fuzz.cc: a stray byte inside a string literal used to run, and the
// page's continuation token (the query inside a JSON record) then failed to decode.
TEST(LexerTest, RejectsInvalidUtf8NamingItsPlace) {
  auto tokens = Tokenize("SELECT * FROM DIGITALTWINS\nWHERE name = 'ro\xFF\xFFm'");
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().message(),
            "query syntax error at line 2, column 17: invalid UTF-8 byte 0xFF");
  EXPECT_FALSE(Tokenize("SELECT '\xC0\xAF'").ok());          // overlong '/'
  EXPECT_FALSE(Tokenize("SELECT '\xED\xA0\x80'").ok());      // a UTF-16 surrogate
  EXPECT_FALSE(Tokenize("SELECT '\xE2\x82'").ok());          // truncated sequence
  EXPECT_TRUE(Tokenize("SELECT * FROM DIGITALTWINS WHERE name = 'caf\xC3\xA9 \xF0\x9F\x8C\xAC'").ok());
}

}  // namespace
}  // namespace doppel::query
