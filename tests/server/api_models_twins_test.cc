// The ADT models and twins endpoints, through DigitalTwinsApi::Handle.
#include "api_test_fixture.h"

namespace doppel::server::testing {
namespace {

std::string StripHost(std::string_view link) {
  auto p = link.find("://");
  return std::string(p == std::string_view::npos ? link : link.substr(link.find('/', p + 3)));
}

TEST_F(ApiTest, AddModelsAnswers201WithModelData) {
  HttpResponse r = Call("POST", "/models?api-version=2023-10-31", ModelsJson());
  ASSERT_EQ(r.status, 201) << r.body;
  json::value v = Json(r);
  ASSERT_TRUE(v.is_array());
  ASSERT_EQ(v.as_array().size(), 2u);
  std::set<std::string> ids;
  for (const auto& m : v.as_array()) {
    ids.insert(std::string(m.at("id").as_string()));
    EXPECT_FALSE(m.at("decommissioned").as_bool());
    EXPECT_TRUE(m.as_object().contains("uploadTime"));
  }
  EXPECT_EQ(ids, (std::set<std::string>{kRoom, kThermostat}));
}

TEST_F(ApiTest, AddingAModelTwiceIs409ModelAlreadyExists) {
  AddModels();
  HttpResponse r = Call("POST", "/models", ModelsJson());
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ErrorCode(r), "ModelAlreadyExists");
}

TEST_F(ApiTest, AddModelsRefusesNonArraysAndEmptyArrays) {
  HttpResponse obj = Call("POST", "/models", R"({"@id": "dtmi:a;1"})");
  EXPECT_EQ(obj.status, 400);
  EXPECT_NE(ErrorMessage(obj).find("JSON array"), std::string::npos) << obj.body;
  HttpResponse empty = Call("POST", "/models", "[]");
  EXPECT_EQ(empty.status, 400);
  HttpResponse scalar = Call("POST", "/models", "[1]");
  EXPECT_EQ(scalar.status, 400);
  EXPECT_NE(ErrorMessage(scalar).find("models[0]"), std::string::npos) << scalar.body;
}

TEST_F(ApiTest, InvalidDtdlIs400DtdlParserError) {
  HttpResponse r = Call("POST", "/models", R"([{"@context": "dtmi:dtdl:context;2", "@id": "dtmi:x:Bad;1",
      "@type": "Interface", "contents": [{"@type": "Property", "name": "p", "schema": "nosuchtype"}]}])");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "DTDLParserError");
}

TEST_F(ApiTest, ListModelsPagesWithNextLink) {
  AddModels();
  HttpResponse first = Call("GET", "/models?api-version=2023-10-31", "", {{"Host", "twins.local:8080"}, {"max-items-per-page", "1"}});
  ASSERT_EQ(first.status, 200) << first.body;
  json::value page1 = Json(first);
  ASSERT_EQ(page1.at("value").as_array().size(), 1u);
  std::string next(page1.at("nextLink").as_string());
  EXPECT_EQ(next.rfind("http://twins.local:8080/models?", 0), 0u) << next;
  EXPECT_NE(next.find("api-version=2023-10-31"), std::string::npos) << next;

  HttpResponse second = Call("GET", StripHost(next), "", {{"max-items-per-page", "1"}});
  ASSERT_EQ(second.status, 200) << second.body;
  json::value page2 = Json(second);
  ASSERT_EQ(page2.at("value").as_array().size(), 1u);
  EXPECT_FALSE(page2.as_object().contains("nextLink"));
  EXPECT_NE(page1.at("value").at(0).at("id"), page2.at("value").at(0).at("id"));
}

TEST_F(ApiTest, OlderPageSizeHeaderIsHonouredAndBadOnesRefused) {
  AddModels();
  HttpResponse r = Call("GET", "/models", "", {{"x-ms-max-item-count", "1"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json(r).at("value").as_array().size(), 1u);
  for (std::string bad : {"0", "-1", "ten", "1x"}) {
    HttpResponse b = Call("GET", "/models", "", {{"max-items-per-page", bad}});
    EXPECT_EQ(b.status, 400) << bad;
    EXPECT_NE(ErrorMessage(b).find("max-items-per-page"), std::string::npos) << b.body;
  }
}

TEST_F(ApiTest, BadContinuationTokenIs400) {
  AddModels();
  HttpResponse r = Call("GET", "/models?continuationToken=%21%21");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("continuation token"), std::string::npos) << r.body;
}

TEST_F(ApiTest, ListModelsFiltersByDependenciesAndIncludesDefinitions) {
  AddModels();
  HttpResponse r = Call("GET", "/models?dependenciesFor=dtmi%3Aexample%3ARoom%3B1&includeModelDefinition=true");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value body = Json(r);
  const json::array& models = body.at("value").as_array();
  ASSERT_EQ(models.size(), 2u);  // Room and the Thermostat it depends on
  for (const auto& m : models) EXPECT_TRUE(m.as_object().contains("model")) << ToJson(m);

  HttpResponse only = Call("GET", "/models?dependenciesFor=dtmi%3Aexample%3AThermostat%3B1");
  ASSERT_EQ(only.status, 200) << only.body;
  ASSERT_EQ(Json(only).at("value").as_array().size(), 1u);
  EXPECT_FALSE(Json(only).at("value").at(0).as_object().contains("model"));

  HttpResponse bad = Call("GET", "/models?includeModelDefinition=yes");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(ErrorMessage(bad).find("includeModelDefinition"), std::string::npos);
}

TEST_F(ApiTest, GetModelByPercentEncodedId) {
  AddModels();
  HttpResponse r = Call("GET", "/models/dtmi%3Aexample%3ARoom%3B1?includeModelDefinition=true");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r).at("id").as_string(), kRoom);
  EXPECT_EQ(Json(r).at("model").at("@id").as_string(), kRoom);
  HttpResponse raw = Call("GET", "/models/dtmi:example:Room;1");  // unescaped works too
  EXPECT_EQ(raw.status, 200);
  HttpResponse missing = Call("GET", "/models/dtmi:example:Nope;1");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCode(missing), "ModelNotFound");
}

TEST_F(ApiTest, DecommissionAndDeleteModel) {
  AddModels();
  HttpResponse patch = Call("PATCH", "/models/dtmi:example:Room;1",
                            R"([{"op": "replace", "path": "/decommissioned", "value": true}])");
  ASSERT_EQ(patch.status, 204) << patch.body;
  EXPECT_TRUE(patch.body.empty());
  EXPECT_TRUE(Json(Call("GET", "/models/dtmi:example:Room;1")).at("decommissioned").as_bool());

  HttpResponse referenced = Call("DELETE", "/models/dtmi:example:Thermostat;1");
  EXPECT_EQ(referenced.status, 409) << referenced.body;
  EXPECT_EQ(Call("DELETE", "/models/dtmi:example:Room;1").status, 204);
  EXPECT_EQ(Call("DELETE", "/models/dtmi:example:Thermostat;1").status, 204);
  EXPECT_EQ(Call("GET", "/models/dtmi:example:Room;1").status, 404);
}

TEST_F(ApiTest, PatchModelNeedsAnArray) {
  AddModels();
  HttpResponse r = Call("PATCH", "/models/dtmi:example:Room;1", R"({"decommissioned": true})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "JsonPatchInvalid");
}

TEST_F(ApiTest, TwinLifecycleWithEtags) {
  AddModels();
  HttpResponse put = Call("PUT", "/digitaltwins/room-1?api-version=2023-10-31", RoomJson(20));
  ASSERT_EQ(put.status, 200) << put.body;
  json::value twin = Json(put);
  std::string etag(put.Header("ETag"));
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(twin.at("$etag").as_string(), etag);
  EXPECT_EQ(twin.at("$dtId").as_string(), "room-1");
  EXPECT_EQ(twin.at("$metadata").at("$model").as_string(), kRoom);

  HttpResponse get = Call("GET", "/digitaltwins/room-1");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(get.Header("ETag"), etag);
  EXPECT_EQ(Json(get).at("temperature").to_number<double>(), 20.0);

  HttpResponse patch = Call("PATCH", "/digitaltwins/room-1",
                            R"([{"op": "replace", "path": "/temperature", "value": 23.5}])", {{"If-Match", etag}});
  ASSERT_EQ(patch.status, 204) << patch.body;
  std::string etag2(patch.Header("ETag"));
  EXPECT_FALSE(etag2.empty());
  EXPECT_NE(etag2, etag);
  EXPECT_EQ(Json(Call("GET", "/digitaltwins/room-1")).at("temperature").to_number<double>(), 23.5);

  HttpResponse stale = Call("PATCH", "/digitaltwins/room-1",
                            R"([{"op": "replace", "path": "/temperature", "value": 1}])", {{"If-Match", etag}});
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(ErrorCode(stale), "PreconditionFailed");

  HttpResponse create_only = Call("PUT", "/digitaltwins/room-1", RoomJson(1), {{"If-None-Match", "*"}});
  EXPECT_EQ(create_only.status, 412);

  EXPECT_EQ(Call("DELETE", "/digitaltwins/room-1", "", {{"If-Match", etag}}).status, 412);
  HttpResponse del = Call("DELETE", "/digitaltwins/room-1", "", {{"If-Match", etag2}});
  EXPECT_EQ(del.status, 204) << del.body;
  HttpResponse gone = Call("GET", "/digitaltwins/room-1");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(ErrorCode(gone), "DigitalTwinNotFound");
  EXPECT_NE(ErrorMessage(gone).find("room-1"), std::string::npos);
}

TEST_F(ApiTest, InvalidPropertyIs400NamingTheProperty) {
  AddModels();
  HttpResponse r = Call("PUT", "/digitaltwins/room-1",
                        R"({"$metadata": {"$model": "dtmi:example:Room;1"}, "temperature": "hot"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "ValidationFailed");
  EXPECT_NE(ErrorMessage(r).find("temperature"), std::string::npos) << r.body;
}

TEST_F(ApiTest, TwinBodyMustBeAnObject) {
  AddModels();
  HttpResponse r = Call("PUT", "/digitaltwins/room-1", "[1, 2]");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("array"), std::string::npos) << r.body;
}

TEST_F(ApiTest, TwinIdsArePercentDecoded) {
  AddModels();
  PutRoom("floor%201%2Froom%20A");
  HttpResponse r = Call("GET", "/digitaltwins/floor%201%2Froom%20A");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r).at("$dtId").as_string(), "floor 1/room A");
}

TEST_F(ApiTest, ComponentsGetAndPatch) {
  AddModels();
  PutRoom("room-1");
  HttpResponse get = Call("GET", "/digitaltwins/room-1/components/thermostat");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(Json(get).at("setpoint").to_number<double>(), 21.5);
  std::string etag(get.Header("ETag"));
  EXPECT_FALSE(etag.empty());

  HttpResponse patch = Call("PATCH", "/digitaltwins/room-1/components/thermostat",
                            R"([{"op": "replace", "path": "/setpoint", "value": 19}])", {{"If-Match", etag}});
  ASSERT_EQ(patch.status, 204) << patch.body;
  EXPECT_NE(patch.Header("ETag"), etag);
  EXPECT_EQ(Json(Call("GET", "/digitaltwins/room-1/components/thermostat")).at("setpoint").to_number<double>(), 19);

  HttpResponse missing = Call("GET", "/digitaltwins/room-1/components/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCode(missing), "ComponentNotFound");
}

}  // namespace
}  // namespace doppel::server::testing
