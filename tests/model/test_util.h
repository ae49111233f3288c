// Helpers shared by the model tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "base/json.h"
#include "model/dtdl_parser.h"

namespace doppel::model::testing {

inline json::value Json(std::string_view text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : json::value();
}

inline std::vector<json::value> Docs(std::initializer_list<std::string_view> texts) {
  std::vector<json::value> docs;
  for (auto t : texts) docs.push_back(Json(t));
  return docs;
}

inline std::string ErrorsToString(const ParseResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.ToString() + "\n";
  return s;
}

inline bool HasRule(const ParseResult& r, std::string_view rule) {
  for (const auto& e : r.errors) {
    if (e.rule == rule) return true;
  }
  return false;
}

}  // namespace doppel::model::testing
