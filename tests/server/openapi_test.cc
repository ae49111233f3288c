// The OpenAPI document and the router cannot drift: every route is documented with its method,
// every documented operation is routed, and path parameters agree.
#include <algorithm>
#include <set>
#include <sstream>

#include "api_test_fixture.h"

namespace doppel::server::testing {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const std::set<std::string> kHttpMethods = {"get", "put", "post", "patch", "delete", "head", "options", "trace"};

class OpenApiTest : public ApiTest {
 protected:
  void SetUp() override {
    auto parsed = ParseJson(OpenApiDocument());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    doc_ = std::move(*parsed);
  }
  const json::object& Paths() const { return doc_.at("paths").as_object(); }

  // The names of the path parameters declared for `method` on `path` (path-level and
  // operation-level, following $refs into components.parameters).
  std::set<std::string> DeclaredPathParams(const json::object& path_item, const json::object& op) const {
    std::set<std::string> names;
    for (const json::object* holder : {&path_item, &op}) {
      const json::value* params = holder->if_contains("parameters");
      if (params == nullptr) continue;
      for (const json::value& p : params->as_array()) {
        const json::object* param = &p.as_object();
        if (const json::value* ref = param->if_contains("$ref")) {
          std::string name(ref->as_string());
          name = name.substr(name.rfind('/') + 1);
          param = &doc_.at("components").at("parameters").at(name).as_object();
        }
        if (param->at("in").as_string() == "path") names.insert(std::string(param->at("name").as_string()));
      }
    }
    return names;
  }

  json::value doc_;
};

TEST_F(OpenApiTest, IsOpenApi3WithInfo) {
  EXPECT_EQ(std::string(doc_.at("openapi").as_string()).rfind("3.0", 0), 0u);
  EXPECT_TRUE(doc_.at("info").as_object().contains("title"));
}

TEST_F(OpenApiTest, EveryRouteIsDocumentedWithItsMethodAndParameters) {
  ASSERT_FALSE(api_.router().routes().empty());
  for (const Route& route : api_.router().routes()) {
    const json::value* item = Paths().if_contains(route.pattern);
    ASSERT_NE(item, nullptr) << route.pattern << " is routed but not in openapi.json";
    const json::value* op = item->as_object().if_contains(Lower(route.method));
    ASSERT_NE(op, nullptr) << route.method << " " << route.pattern << " is routed but not documented";
    EXPECT_TRUE(op->as_object().contains("responses")) << route.method << " " << route.pattern;
    std::set<std::string> in_pattern;
    for (const std::string& segment : route.segments) {
      if (segment.size() > 2 && segment.front() == '{') in_pattern.insert(segment.substr(1, segment.size() - 2));
    }
    EXPECT_EQ(DeclaredPathParams(item->as_object(), op->as_object()), in_pattern)
        << route.method << " " << route.pattern;
  }
}

TEST_F(OpenApiTest, EveryDocumentedOperationIsRouted) {
  std::set<std::pair<std::string, std::string>> routed;
  for (const Route& route : api_.router().routes()) routed.emplace(Lower(route.method), route.pattern);
  for (const auto& [path, item] : Paths()) {
    for (const auto& [key, op] : item.as_object()) {
      if (!kHttpMethods.count(std::string(key))) continue;  // "parameters", "summary", ...
      EXPECT_TRUE(routed.count({std::string(key), std::string(path)}))
          << key << " " << path << " is documented but not routed";
    }
  }
}

TEST_F(OpenApiTest, EveryRefResolves) {
  std::vector<const json::value*> stack = {&doc_};
  int refs = 0;
  while (!stack.empty()) {
    const json::value* v = stack.back();
    stack.pop_back();
    if (v->is_array()) {
      for (const auto& e : v->as_array()) stack.push_back(&e);
    } else if (v->is_object()) {
      for (const auto& [key, child] : v->as_object()) {
        if (key == "$ref" && child.is_string()) {
          ++refs;
          std::string ref(child.as_string());
          ASSERT_EQ(ref.rfind("#/", 0), 0u) << ref;
          const json::value* target = &doc_;
          std::stringstream parts(ref.substr(2));
          for (std::string part; std::getline(parts, part, '/');) {
            target = target->as_object().if_contains(part);
            ASSERT_NE(target, nullptr) << "unresolved $ref " << ref;
          }
        } else {
          stack.push_back(&child);
        }
      }
    }
  }
  EXPECT_GT(refs, 0);
}

TEST_F(OpenApiTest, ServedVerbatimAtOpenApiJson) {
  HttpResponse r = Call("GET", "/openapi.json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(r.body, OpenApiDocument());
}

}  // namespace
}  // namespace doppel::server::testing
