// The OPC UA services Doppel's client speaks (Part 4), encoded per Part 6: each request is
// written as its binary encoding id followed by the RequestHeader and the request's fields;
// each response is checked for its encoding id (a ServiceFault or a Bad serviceResult becomes
// an error naming the StatusCode) and decoded into the plain structs below. Internal to
// connect/opcua.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "connect/opcua/internal/ua_codec.h"
#include "connect/opcua/opcua_client.h"

namespace doppel::connect::opcua::internal {

// Binary encoding ids (the *_Encoding_DefaultBinary nodes of namespace 0).
namespace type_id {
constexpr uint32_t kServiceFault = 397;
constexpr uint32_t kOpenSecureChannelRequest = 446;
constexpr uint32_t kOpenSecureChannelResponse = 449;
constexpr uint32_t kCloseSecureChannelRequest = 452;
constexpr uint32_t kCreateSessionRequest = 461;
constexpr uint32_t kCreateSessionResponse = 464;
constexpr uint32_t kActivateSessionRequest = 467;
constexpr uint32_t kActivateSessionResponse = 470;
constexpr uint32_t kCloseSessionRequest = 473;
constexpr uint32_t kCloseSessionResponse = 476;
constexpr uint32_t kBrowseRequest = 527;
constexpr uint32_t kBrowseResponse = 530;
constexpr uint32_t kBrowseNextRequest = 533;
constexpr uint32_t kBrowseNextResponse = 536;
constexpr uint32_t kReadRequest = 631;
constexpr uint32_t kReadResponse = 634;
constexpr uint32_t kWriteRequest = 673;
constexpr uint32_t kWriteResponse = 676;
constexpr uint32_t kCallRequest = 712;
constexpr uint32_t kCallResponse = 715;
constexpr uint32_t kCreateMonitoredItemsRequest = 751;
constexpr uint32_t kCreateMonitoredItemsResponse = 754;
constexpr uint32_t kCreateSubscriptionRequest = 787;
constexpr uint32_t kCreateSubscriptionResponse = 790;
constexpr uint32_t kPublishRequest = 826;
constexpr uint32_t kDeleteSubscriptionsRequest = 847;
constexpr uint32_t kDeleteSubscriptionsResponse = 850;
constexpr uint32_t kPublishResponse = 829;
constexpr uint32_t kAnonymousIdentityToken = 321;
constexpr uint32_t kUserNameIdentityToken = 324;
constexpr uint32_t kDataChangeFilter = 724;
constexpr uint32_t kDataChangeNotification = 811;
constexpr uint32_t kStatusChangeNotification = 820;
}  // namespace type_id

// Attribute ids (Part 6, A.1).
constexpr uint32_t kAttributeValue = 13;
constexpr uint32_t kAttributeDataType = 14;
constexpr uint32_t kAttributeAccessLevel = 17;

constexpr uint32_t kBadStatusMask = 0x80000000;
constexpr uint32_t kBadTooManyPublishRequests = 0x80780000;
constexpr uint32_t kBadNoSubscription = 0x80790000;
constexpr uint32_t kBadIdentityTokenInvalid = 0x80200000;
constexpr uint32_t kBadIdentityTokenRejected = 0x80210000;
constexpr uint32_t kBadUserAccessDenied = 0x801f0000;

struct RequestHeader {
  NodeId authentication_token = {};
  uint32_t request_handle = 0;
  uint32_t timeout_hint_ms = 0;
  int64_t timestamp_ticks = 0;
};

// The type id and RequestHeader every request starts with.
void BeginRequest(Encoder& e, uint32_t type_id, const RequestHeader& header);

// Reads a response's type id and ResponseHeader. A ServiceFault or a Bad serviceResult is an
// error "<what>: BadSessionIdInvalid"; so is a type id other than `expected`.
Status BeginResponse(Decoder& d, uint32_t expected, std::string_view what);
// The type id and request handle of a response, without judging it (for routing).
struct ResponseRoute {
  uint32_t type_id = 0;
  uint32_t request_handle = 0;
};
Result<ResponseRoute> PeekResponse(std::string_view body, const Limits& limits);

// --- Secure channel ---------------------------------------------------------------------------
void EncodeOpenSecureChannel(Encoder& e, const RequestHeader& h, bool renew, uint32_t lifetime_ms);
struct ChannelToken {
  uint32_t channel_id = 0;
  uint32_t token_id = 0;
  uint32_t revised_lifetime_ms = 0;
};
Result<ChannelToken> DecodeOpenSecureChannel(std::string_view body, const Limits& limits);
void EncodeCloseSecureChannel(Encoder& e, const RequestHeader& h);

// --- Session ----------------------------------------------------------------------------------
struct CreateSessionParams {
  std::string application_name;
  std::string endpoint_url;
  std::string session_name;
  double timeout_ms = 60'000;
  std::string client_nonce;  // 32 bytes
};
void EncodeCreateSession(Encoder& e, const RequestHeader& h, const CreateSessionParams& p);

struct UserTokenPolicy {
  std::string policy_id;
  uint32_t token_type = 0;  // 0 anonymous, 1 user name, 2 certificate, 3 issued
  std::string security_policy_uri;
};
struct SessionInfo {
  NodeId session_id;
  NodeId authentication_token;
  double revised_timeout_ms = 0;
  // The identity token policies of the server's SecurityPolicy None endpoints.
  std::vector<UserTokenPolicy> token_policies;
};
Result<SessionInfo> DecodeCreateSession(std::string_view body, const Limits& limits);

struct Identity {
  std::string policy_id;
  std::string user;  // "" = anonymous
  std::string password;
};
void EncodeActivateSession(Encoder& e, const RequestHeader& h, const Identity& identity);
Status DecodeActivateSession(std::string_view body, const Limits& limits);
void EncodeCloseSession(Encoder& e, const RequestHeader& h);

// --- Attribute, view and method services ------------------------------------------------------
void EncodeRead(Encoder& e, const RequestHeader& h, std::span<const NodeId> nodes,
                std::span<const uint32_t> attributes);  // one attribute per node
Result<std::vector<DataValue>> DecodeRead(std::string_view body, const Limits& limits);

void EncodeWrite(Encoder& e, const RequestHeader& h, const NodeId& node, const Variant& value);
Result<std::vector<uint32_t>> DecodeWrite(std::string_view body, const Limits& limits);

void EncodeBrowse(Encoder& e, const RequestHeader& h, const NodeId& node);
void EncodeBrowseNext(Encoder& e, const RequestHeader& h, std::string_view continuation_point);
struct BrowseResult {
  uint32_t status = 0;
  std::string continuation_point;
  std::vector<ReferenceDescription> references;
};
// `next`: a BrowseNextResponse rather than a BrowseResponse.
Result<std::vector<BrowseResult>> DecodeBrowse(std::string_view body, const Limits& limits, bool next);

void EncodeCall(Encoder& e, const RequestHeader& h, const NodeId& object, const NodeId& method,
                std::span<const Variant> inputs);
struct CallResult {
  uint32_t status = 0;
  std::vector<uint32_t> input_argument_results;
  std::vector<Variant> outputs;
};
Result<std::vector<CallResult>> DecodeCall(std::string_view body, const Limits& limits);

// --- Subscriptions ----------------------------------------------------------------------------
void EncodeCreateSubscription(Encoder& e, const RequestHeader& h, const SubscriptionOptions& options);
struct SubscriptionInfo {
  uint32_t subscription_id = 0;
  double revised_publishing_interval_ms = 0;
};
Result<SubscriptionInfo> DecodeCreateSubscription(std::string_view body, const Limits& limits);

struct MonitoredItemSpec {
  MonitoredItemRequest request;
  uint32_t client_handle = 0;
};
void EncodeCreateMonitoredItems(Encoder& e, const RequestHeader& h, uint32_t subscription_id,
                                std::span<const MonitoredItemSpec> items);
struct MonitoredItemResult {
  uint32_t status = 0;
  uint32_t monitored_item_id = 0;
};
Result<std::vector<MonitoredItemResult>> DecodeCreateMonitoredItems(std::string_view body, const Limits& limits);

void EncodeDeleteSubscriptions(Encoder& e, const RequestHeader& h, uint32_t subscription_id);
Status DecodeDeleteSubscriptions(std::string_view body, const Limits& limits);

struct Acknowledgement {
  uint32_t subscription_id = 0;
  uint32_t sequence_number = 0;
};
void EncodePublish(Encoder& e, const RequestHeader& h, std::span<const Acknowledgement> acks);
struct ItemNotification {
  uint32_t client_handle = 0;
  DataValue value;
};
struct PublishResult {
  uint32_t subscription_id = 0;
  uint32_t sequence_number = 0;
  bool has_notifications = false;  // a keep-alive has none and is not acknowledged
  std::vector<ItemNotification> data_changes;
  std::vector<uint32_t> status_changes;  // StatusChangeNotification statuses
};
// The service result is returned as an error (BadNoSubscription, BadTooManyPublishRequests).
Result<PublishResult> DecodePublish(std::string_view body, const Limits& limits);

// Decodes a response of any of the types above by its type id (what a fuzzer feeds).
Status DecodeAnyResponse(std::string_view body, const Limits& limits);

}  // namespace doppel::connect::opcua::internal
