#include "query/internal/parser.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "query/internal/ast.h"
#include "query/query.h"

namespace doppel::query {
namespace {

std::shared_ptr<const ParsedQuery> MustParse(std::string_view text) {
  auto parsed = Parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status().ToString();
  return parsed.ok() ? *parsed : nullptr;
}

std::string ParseError(std::string_view text) {
  auto parsed = Parse(text);
  EXPECT_FALSE(parsed.ok()) << text;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().error_code(), "SqlQueryError");
  return parsed.status().message();
}

TEST(ParserTest, SelectStarFromDigitalTwins) {
  auto q = MustParse("SELECT * FROM DIGITALTWINS");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->select, SelectKind::kStar);
  EXPECT_TRUE(q->from_alias.empty());
  EXPECT_FALSE(q->where.has_value());
  EXPECT_FALSE(q->top.has_value());
  ASSERT_EQ(q->bindings.size(), 1u);
}

TEST(ParserTest, KeywordsAreCaseInsensitive) {
  auto q = MustParse("select top(3) * from digitalTwins t where t.$dtId = 'a' And NOT t.x = 1");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->top, 3);
  EXPECT_EQ(q->from_alias, "t");
  ASSERT_TRUE(q->where);
  EXPECT_EQ(q->where->kind, Condition::Kind::kAnd);
  EXPECT_EQ(q->where->children[1].kind, Condition::Kind::kNot);
}

TEST(ParserTest, CountAndProjections) {
  auto count = MustParse("SELECT COUNT() FROM DIGITALTWINS");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->select, SelectKind::kCount);

  auto q =
      MustParse("SELECT T, T.name, T.comp.prop AS p, T.$metadata.$model FROM DIGITALTWINS AS T");
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(q->projections.size(), 4u);
  EXPECT_EQ(q->projections[0].name, "T");
  EXPECT_TRUE(q->projections[0].path.segments.empty());
  EXPECT_EQ(q->projections[1].name, "name");
  EXPECT_EQ(q->projections[2].name, "p");
  EXPECT_EQ(q->projections[2].path.segments, (std::vector<std::string>{"comp", "prop"}));
  EXPECT_EQ(q->projections[3].name, "$model");
  EXPECT_EQ(q->projections[3].path.binding, 0);
}

TEST(ParserTest, JoinChainWithRelationshipAliases) {
  auto q = MustParse(
      "SELECT F, T, C, R FROM DIGITALTWINS F "
      "JOIN T RELATED F.hasTurbine R "
      "JOIN C RELATED T.hasComponent AS R2 "
      "WHERE F.$dtId = 'farm-1' AND R.$relationshipName = 'hasTurbine'");
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(q->joins.size(), 2u);
  EXPECT_EQ(q->joins[0].relationship_name, "hasTurbine");
  EXPECT_EQ(q->joins[0].source_binding, 0);
  EXPECT_EQ(q->joins[0].relationship_alias, "R");
  EXPECT_EQ(q->joins[1].source_alias, "T");
  EXPECT_EQ(q->joins[1].source_binding, q->joins[0].twin_binding);
  EXPECT_EQ(q->joins[1].relationship_alias, "R2");
  ASSERT_EQ(q->bindings.size(), 5u);
  EXPECT_EQ(q->bindings[q->joins[0].relationship_binding].kind, Binding::Kind::kRelationship);
  EXPECT_EQ(q->projections[3].path.binding, q->joins[0].relationship_binding);
}

TEST(ParserTest, AndBindsTighterThanOr) {
  auto q = MustParse("SELECT * FROM DIGITALTWINS T WHERE T.a = 1 OR T.b = 2 AND T.c = 3");
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(q->where->kind, Condition::Kind::kOr);
  ASSERT_EQ(q->where->children.size(), 2u);
  EXPECT_EQ(q->where->children[0].kind, Condition::Kind::kCompare);
  EXPECT_EQ(q->where->children[1].kind, Condition::Kind::kAnd);

  auto grouped = MustParse("SELECT * FROM DIGITALTWINS T WHERE (T.a = 1 OR T.b = 2) AND T.c = 3");
  ASSERT_NE(grouped, nullptr);
  EXPECT_EQ(grouped->where->kind, Condition::Kind::kAnd);
  EXPECT_EQ(grouped->where->children[0].kind, Condition::Kind::kOr);
}

TEST(ParserTest, LiteralsOfEveryKind) {
  auto q = MustParse(
      "SELECT * FROM DIGITALTWINS T WHERE T.a IN ['x', \"y\", -3, 2.5, true, "
      "FALSE, null] AND T.b NIN [] AND T.c <> -1.5e2");
  ASSERT_NE(q, nullptr);
  const Condition& in = q->where->children[0];
  EXPECT_EQ(in.kind, Condition::Kind::kIn);
  EXPECT_FALSE(in.negated);
  ASSERT_EQ(in.list.size(), 7u);
  EXPECT_EQ(in.list[0], json::value("x"));
  EXPECT_EQ(in.list[1], json::value("y"));
  EXPECT_EQ(in.list[2], json::value(-3));
  EXPECT_EQ(in.list[3], json::value(2.5));
  EXPECT_EQ(in.list[4], json::value(true));
  EXPECT_EQ(in.list[5], json::value(false));
  EXPECT_TRUE(in.list[6].is_null());
  EXPECT_TRUE(q->where->children[1].negated);
  EXPECT_TRUE(q->where->children[1].list.empty());
  const Condition& ne = q->where->children[2];
  EXPECT_EQ(ne.op, CompareOp::kNe);
  EXPECT_EQ(ne.operands[1].literal, json::value(-150.0));
}

TEST(ParserTest, LiteralMayBeOnEitherSide) {
  auto q = MustParse("SELECT * FROM DIGITALTWINS T WHERE 20 < T.temperature");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->where->operands[0].kind, Operand::Kind::kLiteral);
  EXPECT_EQ(q->where->operands[1].kind, Operand::Kind::kPath);
}

TEST(ParserTest, Functions) {
  auto q = MustParse(
      "SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL('dtmi:a:B;1') AND "
      "is_of_model(T, 'dtmi:a:C;1', exact) AND IS_DEFINED(T.x) AND IS_NULL(T.y) AND "
      "IS_PRIMITIVE(T.z) AND IS_BOOL(T.a) AND IS_NUMBER(T.b) AND IS_STRING(T.c) AND "
      "IS_OBJECT(T.d) AND STARTSWITH(T.$dtId, 'p') AND ENDSWITH(T.e, 'q') AND CONTAINS(T.f, 'r')");
  ASSERT_NE(q, nullptr);
  const auto& c = q->where->children;
  ASSERT_EQ(c.size(), 12u);
  EXPECT_EQ(c[0].function, FunctionKind::kIsOfModel);
  EXPECT_EQ(c[0].model_id, "dtmi:a:B;1");
  EXPECT_FALSE(c[0].exact);
  EXPECT_EQ(c[0].model_binding, 0);
  EXPECT_EQ(c[1].model_alias, "T");
  EXPECT_TRUE(c[1].exact);
  EXPECT_EQ(c[9].function, FunctionKind::kStartsWith);
  ASSERT_EQ(c[9].operands.size(), 2u);
  EXPECT_EQ(c[11].function, FunctionKind::kContains);
}

TEST(ParserTest, UnaliasedPathsAreRelativeToTheTwin) {
  auto q = MustParse("SELECT name FROM DIGITALTWINS WHERE $dtId = 'x' AND comp.prop > 1");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->where->children[0].operands[0].path.segments, std::vector<std::string>{"$dtId"});
  EXPECT_EQ(q->where->children[1].operands[0].path.segments,
            (std::vector<std::string>{"comp", "prop"}));
}

TEST(ParserErrorTest, NamesLineColumnExpectedAndFound) {
  EXPECT_EQ(ParseError("SELECT *\n    FORM DIGITALTWINS"),
            "query syntax error at line 2, column 5: expected FROM, found 'FORM'");
  EXPECT_EQ(ParseError("SELECT * FROM DIGITALTWIN"),
            "query syntax error at line 1, column 15: expected DIGITALTWINS or RELATIONSHIPS, "
            "found 'DIGITALTWIN'");
  EXPECT_EQ(ParseError(""),
            "query syntax error at line 1, column 1: expected SELECT, found end "
            "of query");
  EXPECT_EQ(ParseError("SELECT FROM DIGITALTWINS"),
            "query syntax error at line 1, column 8: expected *, COUNT() or a projection, found "
            "'FROM'");
  EXPECT_EQ(ParseError("SELECT * FROM DIGITALTWINS T WHERE T.a = "),
            "query syntax error at line 1, column 42: expected a value or a property path, "
            "found end of query");
  EXPECT_EQ(ParseError("SELECT * FROM DIGITALTWINS T WHERE (T.a = 1"),
            "query syntax error at line 1, column 44: expected ')', found end of query");
  EXPECT_EQ(ParseError("SELECT * FROM DIGITALTWINS T WHERE T.a = 1 T.b = 2"),
            "query syntax error at line 1, column 44: expected AND, OR or end of query, found 'T'");
  EXPECT_EQ(ParseError("SELECT * FROM DIGITALTWINS T LIMIT 5"),
            "query syntax error at line 1, column 30: expected JOIN, WHERE or end of query, "
            "found 'LIMIT'");
}

TEST(ParserErrorTest, FunctionAndListMistakes) {
  EXPECT_EQ(ParseError("SELECT * FROM DIGITALTWINS T WHERE FOO(T.a)"),
            "query syntax error at line 1, column 36: unknown function 'FOO'");
  EXPECT_NE(ParseError("SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.a)")
                .find("expected ',' (STARTSWITH takes 2 arguments), found ')'"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'm', loose)")
                .find("expected exact, found 'loose'"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT * FROM DIGITALTWINS T WHERE T.a IN ['x' 'y']")
                .find("expected ',' or ']', found string 'y'"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT * FROM DIGITALTWINS T WHERE T.a IN [T.b]")
                .find("expected a string, number, true, false or null"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT TOP(x) * FROM DIGITALTWINS").find("expected a row count"),
            std::string::npos);
  EXPECT_EQ(ParseError("SELECT TOP 5 * FROM DIGITALTWINS"),
            "query syntax error at line 1, column 12: expected '(' after TOP, as in TOP(10), "
            "found '5'");
  EXPECT_NE(ParseError("SELECT COUNT(T) FROM DIGITALTWINS T").find("COUNT takes no arguments"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT * FROM DIGITALTWINS T JOIN C RELATED T WHERE 1 = 1")
                .find("expected '.' and a relationship name, found 'WHERE'"),
            std::string::npos);
}

TEST(ParserErrorTest, LimitsLengthAndNesting) {
  std::string long_query =
      "SELECT * FROM DIGITALTWINS T WHERE T.a IN [" + std::string(8000, ' ') + "]";
  EXPECT_NE(ParseError(long_query).find("the limit is 8000"), std::string::npos);

  std::string deep = "SELECT * FROM DIGITALTWINS T WHERE " + std::string(40, '(') + "T.a = 1" +
                     std::string(40, ')');
  EXPECT_NE(ParseError(deep).find("nest deeper than 32"), std::string::npos);
  std::string nots = "SELECT * FROM DIGITALTWINS T WHERE ";
  for (int i = 0; i < 40; ++i) nots += "NOT ";
  EXPECT_NE(ParseError(nots + "T.a = 1").find("nest deeper than 32"), std::string::npos);

  std::string ok = "SELECT * FROM DIGITALTWINS T WHERE " + std::string(30, '(') + "T.a = 1" +
                   std::string(30, ')');
  EXPECT_NE(MustParse(ok), nullptr);
}

TEST(BinderErrorTest, UnknownAndDuplicateAliases) {
  EXPECT_EQ(ParseError("SELECT * FROM DIGITALTWINS T WHERE X.a = 1"),
            "query error at line 1, column 36: unknown alias 'X' (declared: T)");
  EXPECT_NE(ParseError("SELECT T FROM DIGITALTWINS T JOIN T RELATED T.r")
                .find("alias 'T' is declared twice"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT T, C FROM DIGITALTWINS T JOIN C RELATED X.r")
                .find("JOIN source 'X' is not a declared alias (declared: T)"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT T, C FROM DIGITALTWINS T JOIN C RELATED T.r R JOIN D RELATED R.s")
                .find("JOIN source 'R' is a relationship"),
            std::string::npos);
  EXPECT_NE(
      ParseError("SELECT * FROM DIGITALTWINS T WHERE $dtId = 'x'").find("unknown alias '$dtId'"),
      std::string::npos);
}

TEST(BinderErrorTest, SelectRules) {
  EXPECT_NE(ParseError("SELECT * FROM DIGITALTWINS T JOIN C RELATED T.r")
                .find("SELECT * is not supported with JOIN"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT TOP(0) * FROM DIGITALTWINS").find("TOP(0) is out of range"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT TOP(-2) * FROM DIGITALTWINS").find("TOP(-2) is out of range"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT TOP(1000001) * FROM DIGITALTWINS").find("out of range"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT TOP(5) COUNT() FROM DIGITALTWINS")
                .find("TOP cannot be combined with COUNT()"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT T.name, C.name FROM DIGITALTWINS T JOIN C RELATED T.r")
                .find("column 'name' is projected twice"),
            std::string::npos);
  EXPECT_NE(MustParse("SELECT T.name, C.name AS cname FROM DIGITALTWINS T JOIN C RELATED T.r"),
            nullptr);
}

TEST(ParserTest, FromRelationships) {
  auto q = MustParse("SELECT R, R.since FROM RELATIONSHIPS R WHERE R.$sourceId = 'farm'");
  ASSERT_NE(q, nullptr);
  EXPECT_TRUE(q->from_relationships);
  EXPECT_EQ(q->bindings[0].kind, Binding::Kind::kRelationship);
  EXPECT_EQ(q->projections[1].path.binding, 0);
  EXPECT_NE(ParseError("SELECT R FROM RELATIONSHIPS R JOIN T RELATED R.x")
                .find("JOIN is not supported with FROM RELATIONSHIPS"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT * FROM RELATIONSHIPS WHERE IS_OF_MODEL('m')")
                .find("IS_OF_MODEL needs twins; FROM RELATIONSHIPS has none"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT * FROM RELATIONSHIPS R WHERE IS_OF_MODEL(R, 'm')")
                .find("'R' is a relationship"),
            std::string::npos);
}

TEST(BinderErrorTest, IsOfModelAndJoinLimits) {
  EXPECT_NE(ParseError("SELECT T FROM DIGITALTWINS T JOIN C RELATED T.r WHERE IS_OF_MODEL('m')")
                .find("IS_OF_MODEL needs a twin alias"),
            std::string::npos);
  EXPECT_NE(ParseError("SELECT T FROM DIGITALTWINS T JOIN C RELATED T.r R "
                       "WHERE IS_OF_MODEL(R, 'm')")
                .find("'R' is a relationship"),
            std::string::npos);
  std::string six = "SELECT A FROM DIGITALTWINS A";
  std::string prev = "A";
  for (char c = 'B'; c <= 'G'; ++c) {
    six += fmt::format(" JOIN {} RELATED {}.r", c, prev);
    prev = std::string(1, c);
  }
  EXPECT_NE(ParseError(six).find("at most 5 JOINs"), std::string::npos);
}

}  // namespace
}  // namespace doppel::query
