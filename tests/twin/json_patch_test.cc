#include "twin/json_patch.h"

#include <gtest/gtest.h>

namespace doppel::twin {
namespace {

json::value J(std::string_view text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString() << " in " << text;
  return parsed.ok() ? std::move(parsed).value() : json::value();
}

// Applies `patch` to `doc` and returns the result, or the error's message prefixed "ERROR: ".
std::string Apply(std::string_view doc, std::string_view patch) {
  json::value document = J(doc);
  Status st = ApplyJsonPatch(J(patch), document);
  if (!st.ok()) {
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(st.error_code(), "JsonPatchInvalid");
    return "ERROR: " + st.message();
  }
  return ToJson(document);
}

void ExpectPatched(std::string_view doc, std::string_view patch, std::string_view expected) {
  std::string out = Apply(doc, patch);
  ASSERT_FALSE(out.starts_with("ERROR")) << out;
  EXPECT_TRUE(JsonEqual(J(out), J(expected))) << "got " << out << ", expected " << expected;
}

// ---- RFC 6902 Appendix A ----

TEST(JsonPatchRfc6902, A1AddObjectMember) {
  ExpectPatched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])",
                R"({"baz":"qux","foo":"bar"})");
}

TEST(JsonPatchRfc6902, A2AddArrayElement) {
  ExpectPatched(R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])",
                R"({"foo":["bar","qux","baz"]})");
}

TEST(JsonPatchRfc6902, A3RemoveObjectMember) {
  ExpectPatched(R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])",
                R"({"foo":"bar"})");
}

TEST(JsonPatchRfc6902, A4RemoveArrayElement) {
  ExpectPatched(R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])",
                R"({"foo":["bar","baz"]})");
}

TEST(JsonPatchRfc6902, A5ReplaceValue) {
  ExpectPatched(R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])",
                R"({"baz":"boo","foo":"bar"})");
}

TEST(JsonPatchRfc6902, A6MoveValue) {
  ExpectPatched(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
                R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
                R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})");
}

TEST(JsonPatchRfc6902, A7MoveArrayElement) {
  ExpectPatched(R"({"foo":["all","grass","cows","eat"]})",
                R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])",
                R"({"foo":["all","cows","eat","grass"]})");
}

TEST(JsonPatchRfc6902, A8TestSucceeds) {
  ExpectPatched(
      R"({"baz":"qux","foo":["a",2,"c"]})",
      R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
      R"({"baz":"qux","foo":["a",2,"c"]})");
}

TEST(JsonPatchRfc6902, A9TestFails) {
  std::string out = Apply(R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])");
  EXPECT_EQ(
      out,
      R"(ERROR: JSON Patch operation 0 (test /baz): test failed: value is "qux", expected "bar")");
}

TEST(JsonPatchRfc6902, A10AddNestedMember) {
  ExpectPatched(R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
                R"({"foo":"bar","child":{"grandchild":{}}})");
}

TEST(JsonPatchRfc6902, A11IgnoresUnrecognizedMembers) {
  ExpectPatched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux","xyz":123}])",
                R"({"foo":"bar","baz":"qux"})");
}

TEST(JsonPatchRfc6902, A12AddToNonexistentTargetFails) {
  std::string out = Apply(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])");
  EXPECT_EQ(out, "ERROR: JSON Patch operation 0 (add /baz/bat): no member 'baz'");
}

TEST(JsonPatchRfc6902, A14EscapeOrdering) {
  ExpectPatched(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])",
                R"({"/":9,"~1":10})");
}

TEST(JsonPatchRfc6902, A15StringIsNotNumber) {
  std::string out = Apply(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":"10"}])");
  EXPECT_TRUE(out.starts_with("ERROR: JSON Patch operation 0 (test /~01): test failed")) << out;
}

TEST(JsonPatchRfc6902, A16AddArrayValue) {
  ExpectPatched(R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])",
                R"({"foo":["bar",["abc","def"]]})");
}

// ---- RFC 6901 JSON Pointer ----

TEST(JsonPointer, Rfc6901Examples) {
  json::value doc = J(R"({"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,"i\\j":5,)"
                      R"("k\"l":6," ":7,"m~n":8})");
  auto at = [&](std::string_view pointer) -> std::string {
    auto tokens = ParseJsonPointer(pointer);
    EXPECT_TRUE(tokens.ok()) << pointer;
    const json::value* v = FindByPointer(doc, *tokens);
    return v ? ToJson(*v) : "missing";
  };
  EXPECT_EQ(at(""), ToJson(doc));
  EXPECT_EQ(at("/foo"), R"(["bar","baz"])");
  EXPECT_EQ(at("/foo/0"), R"("bar")");
  EXPECT_EQ(at("/"), "0");
  EXPECT_EQ(at("/a~1b"), "1");
  EXPECT_EQ(at("/c%d"), "2");
  EXPECT_EQ(at("/e^f"), "3");
  EXPECT_EQ(at("/g|h"), "4");
  EXPECT_EQ(at("/i\\j"), "5");
  EXPECT_EQ(at("/k\"l"), "6");
  EXPECT_EQ(at("/ "), "7");
  EXPECT_EQ(at("/m~0n"), "8");
  EXPECT_EQ(at("/foo/2"), "missing");
  EXPECT_EQ(at("/foo/01"), "missing");  // leading zeros are not indexes
  EXPECT_EQ(at("/nope"), "missing");
}

TEST(JsonPointer, RejectsMalformedPointers) {
  EXPECT_FALSE(ParseJsonPointer("foo").ok());
  EXPECT_FALSE(ParseJsonPointer("/a~2").ok());
  EXPECT_FALSE(ParseJsonPointer("/a~").ok());
  auto st = ParseJsonPointer("/a~x").status();
  EXPECT_EQ(st.error_code(), "JsonPatchInvalid");
  EXPECT_NE(st.message().find("'~'"), std::string::npos);
}

TEST(JsonPointer, EscapeAndFormatRoundTrip) {
  std::vector<std::string> tokens = {"a/b", "m~n", "", "plain"};
  std::string pointer = FormatJsonPointer(tokens);
  EXPECT_EQ(pointer, "/a~1b/m~0n//plain");
  auto parsed = ParseJsonPointer(pointer);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, tokens);
  EXPECT_EQ(EscapeJsonPointerToken("~/"), "~0~1");
}

// ---- shape errors ----

TEST(JsonPatchParse, NamesTheOperationAndProblem) {
  auto expect_error = [](std::string_view patch, std::string_view fragment) {
    auto parsed = ParseJsonPatch(J(patch));
    ASSERT_FALSE(parsed.ok()) << patch;
    EXPECT_EQ(parsed.status().error_code(), "JsonPatchInvalid");
    EXPECT_NE(parsed.status().message().find(fragment), std::string::npos)
        << parsed.status().message();
  };
  expect_error(R"({"op":"add"})", "must be an array");
  expect_error(R"([1])", "operation 0 must be an object");
  expect_error(R"([{"path":"/a"}])", "operation 0: missing string member 'op'");
  expect_error(R"([{"op":"add","path":"/a","value":1},{"op":"frob","path":"/a"}])",
               "operation 1: unknown op 'frob'");
  expect_error(R"([{"op":"add","value":1}])", "operation 0 (add): missing 'path'");
  expect_error(R"([{"op":"add","path":5,"value":1}])", "'path' must be a string");
  expect_error(R"([{"op":"add","path":"a","value":1}])", "operation 0 (add a)");
  expect_error(R"([{"op":"replace","path":"/a"}])", "operation 0 (replace /a): missing 'value'");
  expect_error(R"([{"op":"move","path":"/a"}])", "operation 0 (move): missing 'from'");
  expect_error(R"([{"op":"copy","path":"/a","from":"x"}])", "from:");
}

TEST(JsonPatchParse, EmptyPatchIsANoOp) { ExpectPatched(R"({"a":1})", "[]", R"({"a":1})"); }

// ---- semantics beyond the appendix ----

TEST(JsonPatchApply, ErrorsNameIndexAndPath) {
  EXPECT_EQ(Apply(R"({"a":1})",
                  R"([{"op":"replace","path":"/a","value":2},{"op":"remove","path":"/b"}])"),
            "ERROR: JSON Patch operation 1 (remove /b): no member 'b'");
  EXPECT_EQ(Apply(R"({"a":[1]})", R"([{"op":"replace","path":"/a/1","value":2}])"),
            "ERROR: JSON Patch operation 0 (replace /a/1): no array element '1' (size 1)");
  EXPECT_EQ(Apply(R"({"a":[1]})", R"([{"op":"add","path":"/a/3","value":2}])"),
            "ERROR: JSON Patch operation 0 (add /a/3): array index '3' is out of range (size 1)");
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"add","path":"/a/b","value":2}])"),
            "ERROR: JSON Patch operation 0 (add /a/b): cannot add 'b' to a number");
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"remove","path":""}])"),
            "ERROR: JSON Patch operation 0 (remove \"\"): cannot remove the whole document");
}

TEST(JsonPatchApply, IsAllOrNothing) {
  json::value doc = J(R"({"a":1,"b":2})");
  Status st = ApplyJsonPatch(
      J(R"([{"op":"replace","path":"/a","value":10},{"op":"remove","path":"/zz"}])"), doc);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(ToJson(doc), R"({"a":1,"b":2})");
}

TEST(JsonPatchApply, AddReplacesExistingMemberAndRootReplaces) {
  ExpectPatched(R"({"a":1})", R"([{"op":"add","path":"/a","value":2}])", R"({"a":2})");
  ExpectPatched(R"({"a":1})", R"([{"op":"add","path":"","value":[1,2]}])", R"([1,2])");
  ExpectPatched(R"({"a":1})", R"([{"op":"replace","path":"","value":{"b":2}}])", R"({"b":2})");
}

TEST(JsonPatchApply, DashOnlyAppendsForAdd) {
  ExpectPatched(R"({"a":[1]})", R"([{"op":"add","path":"/a/-","value":2}])", R"({"a":[1,2]})");
  EXPECT_TRUE(Apply(R"({"a":[1]})", R"([{"op":"remove","path":"/a/-"}])").starts_with("ERROR"));
  EXPECT_TRUE(
      Apply(R"({"a":[1]})", R"([{"op":"add","path":"/a/01","value":0}])").starts_with("ERROR"));
}

TEST(JsonPatchApply, ReplaceRequiresExistingTarget) {
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"replace","path":"/b","value":2}])"),
            "ERROR: JSON Patch operation 0 (replace /b): no member 'b'");
}

TEST(JsonPatchApply, MoveIntoOwnChildIsRefused) {
  EXPECT_EQ(Apply(R"({"a":{"b":1}})", R"([{"op":"move","from":"/a","path":"/a/b/c"}])"),
            "ERROR: JSON Patch operation 0 (move /a/b/c): cannot move '/a' into its own child");
  ExpectPatched(R"({"a":{"b":1}})", R"([{"op":"move","from":"/a","path":"/a"}])",
                R"({"a":{"b":1}})");
  EXPECT_TRUE(
      Apply(R"({"a":1})", R"([{"op":"move","from":"/x","path":"/y"}])").starts_with("ERROR"));
}

TEST(JsonPatchApply, CopyDuplicatesDeeply) {
  ExpectPatched(R"({"a":{"b":[1,2]}})", R"([{"op":"copy","from":"/a","path":"/c"},
                                           {"op":"add","path":"/c/b/-","value":3}])",
                R"({"a":{"b":[1,2]},"c":{"b":[1,2,3]}})");
}

TEST(JsonPatchApply, TestComparesNumbersByValueAndObjectsUnordered) {
  ExpectPatched(R"({"n":3})", R"([{"op":"test","path":"/n","value":3.0}])", R"({"n":3})");
  ExpectPatched(R"({"o":{"x":1,"y":[true,null]}})",
                R"([{"op":"test","path":"/o","value":{"y":[true,null],"x":1.0}}])",
                R"({"o":{"x":1,"y":[true,null]}})");
  EXPECT_TRUE(Apply(R"({"o":{"x":1}})", R"([{"op":"test","path":"/o","value":{"x":1,"y":2}}])")
                  .starts_with("ERROR"));
  EXPECT_TRUE(
      Apply(R"({"a":[1,2]})", R"([{"op":"test","path":"/a","value":[2,1]}])").starts_with("ERROR"));
  EXPECT_TRUE(Apply(R"({"a":1})", R"([{"op":"test","path":"/b","value":1}])").starts_with("ERROR"));
}

TEST(JsonEqualTest, NumbersAcrossRepresentations) {
  EXPECT_TRUE(JsonEqual(json::value(int64_t{5}), json::value(uint64_t{5})));
  EXPECT_TRUE(JsonEqual(json::value(5.0), json::value(uint64_t{5})));
  EXPECT_FALSE(JsonEqual(json::value(int64_t{-1}), json::value(uint64_t{18446744073709551615ull})));
  EXPECT_FALSE(JsonEqual(json::value(true), json::value(int64_t{1})));
  EXPECT_FALSE(JsonEqual(json::value(nullptr), json::value(false)));
}

// Found while fuzzing (tests/fuzz/json_patch_fuzz.cc, big-input pass): copying a member into
// itself doubles the document, so a 1 KB patch of 30 such copies asked for 2^30 values and
// took the server down. Copies are now bounded in total size and in depth.
std::string SelfCopies(int count) {
  std::string patch = "[";
  for (int i = 0; i < count; ++i) {
    patch += std::string(i ? "," : "") + R"({"op":"copy","from":"/a","path":"/a/-"})";
  }
  return patch + "]";
}

TEST(JsonPatchApply, SelfCopyingCannotBlowUpTheDocument) {
  std::string out = Apply(R"({"a":[1]})", SelfCopies(30));
  EXPECT_TRUE(out.starts_with("ERROR: JSON Patch operation ")) << out.substr(0, 200);
  EXPECT_NE(out.find("(copy /a/-)"), std::string::npos) << out.substr(0, 200);
  // A few doublings stay well inside the bounds and work as RFC 6902 says.
  ExpectPatched(R"({"a":[1]})", SelfCopies(2), R"({"a":[1,[1],[1,[1]]]})");
}

TEST(JsonPatchApply, CopyBoundsTotalValuesAndDepth) {
  EXPECT_NE(Apply(R"({"a":[1]})", SelfCopies(17)).find("copies more than 100000 values"),
            std::string::npos);
  std::string deep = "{\"a\":{}}";
  std::string patch = "[";
  std::string path = "/a";
  for (int i = 0; i < 70; ++i) {
    patch += std::string(i ? "," : "") + R"({"op":"add","path":")" + path + R"(/b","value":{}})";
    path += "/b";
  }
  patch += R"(,{"op":"copy","from":"/a","path":"/c"}])";
  // Adds may build depth one level per operation (the patch pays for each); a copy may not
  // place anything below kMaxJsonPatchDepth.
  std::string out = Apply(deep, patch);
  EXPECT_NE(out.find("deeper than 64 levels"), std::string::npos) << out.substr(0, 200);
}

}  // namespace
}  // namespace doppel::twin
