#include "connect/opcua/internal/ua_messages.h"

#include <fmt/format.h>

namespace doppel::connect::opcua::internal {
namespace {

constexpr uint32_t kTimestampsBoth = 2;
constexpr uint32_t kMonitoringModeReporting = 2;
constexpr uint32_t kHierarchicalReferences = 33;
constexpr uint32_t kBrowseResultMaskAll = 63;
constexpr char kSecurityPolicyNone[] = "http://opcfoundation.org/UA/SecurityPolicy#None";

Status ServiceError(std::string_view what, uint32_t status) {
  const std::string text = fmt::format("{}: {}", what, StatusCodeName(status));
  switch (status) {
    case kBadIdentityTokenInvalid:
    case kBadIdentityTokenRejected:
    case kBadUserAccessDenied: return Status::PermissionDenied(text);
    default: return Status::Unavailable(text);
  }
}

// Decodes a message with `decode` and answers `value`, or the decoder's error named by `what`.
template <typename T, typename F>
Result<T> DecodeWith(std::string_view body, const Limits& limits, uint32_t expected, std::string_view what, F decode) {
  Decoder d(body, limits);
  DOPPEL_RETURN_IF_ERROR(BeginResponse(d, expected, what));
  T value = decode(d);
  if (!d.ok()) return Status::InvalidArgument(fmt::format("{}: {}", what, d.status().message()));
  return value;
}

void EncodeReadValueId(Encoder& e, const NodeId& node, uint32_t attribute) {
  e.NodeId(node);
  e.UInt32(attribute);
  e.NullString();        // index range
  // Data encoding: a null name, since any other is refused for attributes other than Value.
  e.UInt16(0);
  e.NullString();
}

void EncodeNullSignature(Encoder& e) {
  e.NullString();  // algorithm
  e.Int32(-1);     // signature
}

void SkipApplicationDescription(Decoder& d) {
  d.StringView();     // application URI
  d.StringView();     // product URI
  d.LocalizedText();  // application name
  d.UInt32();         // application type
  d.StringView();     // gateway server URI
  d.StringView();     // discovery profile URI
  const uint32_t urls = d.ArrayLength("discoveryUrls", 4);
  for (uint32_t i = 0; i < urls && d.ok(); ++i) d.StringView();
}

// One EndpointDescription; its token policies are kept when it is a SecurityPolicy None endpoint.
void DecodeEndpoint(Decoder& d, std::vector<UserTokenPolicy>& policies) {
  d.StringView();  // endpoint URL
  SkipApplicationDescription(d);
  d.StringView();  // server certificate
  const uint32_t mode = d.UInt32();
  const std::string_view policy = d.StringView();
  const bool none = mode == 1 && policy == kSecurityPolicyNone;
  const uint32_t n = d.ArrayLength("userIdentityTokens", 4);
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    UserTokenPolicy p;
    p.policy_id = d.String();
    p.token_type = d.UInt32();
    d.StringView();  // issued token type
    d.StringView();  // issuer endpoint URL
    p.security_policy_uri = d.String();
    if (none) policies.push_back(std::move(p));
  }
  d.StringView();  // transport profile URI
  d.Byte();        // security level
}

ReferenceDescription::NodeClass NodeClassOf(uint32_t mask) {
  using NC = ReferenceDescription::NodeClass;
  switch (mask) {
    case 1: return NC::kObject;
    case 2: return NC::kVariable;
    case 4: return NC::kMethod;
    case 8: return NC::kObjectType;
    case 16: return NC::kVariableType;
    case 32: return NC::kReferenceType;
    case 64: return NC::kDataType;
    case 128: return NC::kView;
    default: return NC::kUnspecified;
  }
}

ReferenceDescription DecodeReference(Decoder& d) {
  ReferenceDescription r;
  d.NodeId();   // reference type
  d.Boolean();  // is forward
  r.node = d.ExpandedNodeId();
  r.browse_name = d.QualifiedName();
  r.display_name = d.LocalizedText();
  r.node_class = NodeClassOf(d.UInt32());
  r.type_definition = d.ExpandedNodeId();
  return r;
}

std::vector<BrowseResult> DecodeBrowseResults(Decoder& d) {
  std::vector<BrowseResult> out;
  const uint32_t n = d.ArrayLength("BrowseResult[]", 12);
  out.reserve(n);
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    BrowseResult r;
    r.status = d.UInt32();
    r.continuation_point = d.ByteString();
    const uint32_t refs = d.ArrayLength("ReferenceDescription[]", 10);
    r.references.reserve(refs);
    for (uint32_t j = 0; j < refs && d.ok(); ++j) r.references.push_back(DecodeReference(d));
    out.push_back(std::move(r));
  }
  d.SkipDiagnosticInfos();
  return out;
}

std::vector<Variant> DecodeVariants(Decoder& d, std::string_view what) {
  std::vector<Variant> out;
  const uint32_t n = d.ArrayLength(what, 1);
  out.reserve(n);
  for (uint32_t i = 0; i < n && d.ok(); ++i) out.push_back(d.Variant());
  return out;
}

void DecodeDataChange(std::string_view body, const Limits& limits, PublishResult& out, Decoder& outer) {
  Decoder d(body, limits);
  const uint32_t n = d.ArrayLength("MonitoredItemNotification[]", 5);
  out.data_changes.reserve(out.data_changes.size() + n);
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    ItemNotification item;
    item.client_handle = d.UInt32();
    item.value = d.DataValue();
    out.data_changes.push_back(std::move(item));
  }
  d.SkipDiagnosticInfos();
  if (!d.ok()) outer.Fail(fmt::format("DataChangeNotification: {}", d.status().message()));
}

void DecodeNotification(Decoder& d, const Limits& limits, PublishResult& out) {
  const ExtensionObjectHeader ext = d.ExtensionObject();
  if (!d.ok()) return;
  const uint32_t* id = std::get_if<uint32_t>(&ext.type_id.identifier);
  const uint32_t type = (ext.type_id.namespace_index == 0 && id) ? *id : 0;
  if (type == type_id::kDataChangeNotification && ext.encoding == 1) {
    DecodeDataChange(ext.body, limits, out, d);
  } else if (type == type_id::kStatusChangeNotification && ext.encoding == 1) {
    Decoder s(ext.body, limits);
    const uint32_t status = s.UInt32();
    if (s.ok()) out.status_changes.push_back(status);
  }
  // Event notifications and unknown bodies are skipped by their length.
}

}  // namespace

void BeginRequest(Encoder& e, uint32_t type, const RequestHeader& h) {
  e.NodeId(Ns0(type));
  e.NodeId(h.authentication_token);
  e.DateTime(h.timestamp_ticks);
  e.UInt32(h.request_handle);
  e.UInt32(0);      // return diagnostics: none
  e.NullString();   // audit entry id
  e.UInt32(h.timeout_hint_ms);
  e.NullExtensionObject();
}

Status BeginResponse(Decoder& d, uint32_t expected, std::string_view what) {
  const NodeId type = d.NodeId();
  d.DateTime();
  d.UInt32();  // request handle
  const uint32_t service_result = d.UInt32();
  d.SkipDiagnosticInfo();
  d.Strings();  // string table
  d.ExtensionObject();
  if (!d.ok()) return Status::InvalidArgument(fmt::format("{}: {}", what, d.status().message()));
  const uint32_t* id = std::get_if<uint32_t>(&type.identifier);
  const uint32_t type_number = (type.namespace_index == 0 && id) ? *id : 0;
  if (type_number == type_id::kServiceFault || (service_result & kBadStatusMask)) {
    return ServiceError(what, service_result);
  }
  if (type_number != expected) {
    return Status::InvalidArgument(fmt::format("{}: unexpected response type {}", what, type.ToString()));
  }
  return Status::Ok();
}

Result<ResponseRoute> PeekResponse(std::string_view body, const Limits& limits) {
  Decoder d(body, limits);
  const NodeId type = d.NodeId();
  d.DateTime();
  ResponseRoute route;
  route.request_handle = d.UInt32();
  if (!d.ok()) return Status::InvalidArgument(fmt::format("response header: {}", d.status().message()));
  const uint32_t* id = std::get_if<uint32_t>(&type.identifier);
  route.type_id = (type.namespace_index == 0 && id) ? *id : 0;
  return route;
}

void EncodeOpenSecureChannel(Encoder& e, const RequestHeader& h, bool renew, uint32_t lifetime_ms) {
  BeginRequest(e, type_id::kOpenSecureChannelRequest, h);
  e.UInt32(0);              // client protocol version
  e.UInt32(renew ? 1 : 0);  // request type: issue / renew
  e.UInt32(1);              // security mode None
  e.ByteString("");         // client nonce
  e.UInt32(lifetime_ms);
}

Result<ChannelToken> DecodeOpenSecureChannel(std::string_view body, const Limits& limits) {
  return DecodeWith<ChannelToken>(body, limits, type_id::kOpenSecureChannelResponse, "OpenSecureChannel",
                                  [](Decoder& d) {
                                    ChannelToken t;
                                    d.UInt32();  // server protocol version
                                    t.channel_id = d.UInt32();
                                    t.token_id = d.UInt32();
                                    d.DateTime();  // created at
                                    t.revised_lifetime_ms = d.UInt32();
                                    d.StringView();  // server nonce
                                    return t;
                                  });
}

void EncodeCloseSecureChannel(Encoder& e, const RequestHeader& h) {
  BeginRequest(e, type_id::kCloseSecureChannelRequest, h);
}

void EncodeCreateSession(Encoder& e, const RequestHeader& h, const CreateSessionParams& p) {
  BeginRequest(e, type_id::kCreateSessionRequest, h);
  // ApplicationDescription of this client.
  e.String(fmt::format("urn:doppel:{}", p.application_name));
  e.String("urn:doppel");
  e.LocalizedText(p.application_name);
  e.UInt32(1);  // application type: client
  e.NullString();
  e.NullString();
  e.Int32(-1);  // discovery URLs
  e.NullString();  // server URI
  e.String(p.endpoint_url);
  e.String(p.session_name);
  e.ByteString(p.client_nonce);
  e.Int32(-1);  // client certificate
  e.Double(p.timeout_ms);
  e.UInt32(0);  // max response message size: no limit beyond the transport's
}

Result<SessionInfo> DecodeCreateSession(std::string_view body, const Limits& limits) {
  return DecodeWith<SessionInfo>(body, limits, type_id::kCreateSessionResponse, "CreateSession", [](Decoder& d) {
    SessionInfo s;
    s.session_id = d.NodeId();
    s.authentication_token = d.NodeId();
    s.revised_timeout_ms = d.Double();
    d.StringView();  // server nonce
    d.StringView();  // server certificate
    const uint32_t endpoints = d.ArrayLength("serverEndpoints", 16);
    for (uint32_t i = 0; i < endpoints && d.ok(); ++i) DecodeEndpoint(d, s.token_policies);
    const uint32_t certs = d.ArrayLength("serverSoftwareCertificates", 8);
    for (uint32_t i = 0; i < certs && d.ok(); ++i) {
      d.StringView();
      d.StringView();
    }
    d.StringView();  // signature algorithm
    d.StringView();  // signature
    d.UInt32();      // max request message size
    return s;
  });
}

void EncodeActivateSession(Encoder& e, const RequestHeader& h, const Identity& identity) {
  BeginRequest(e, type_id::kActivateSessionRequest, h);
  EncodeNullSignature(e);  // client signature (SecurityPolicy None)
  e.Int32(-1);             // client software certificates
  e.Int32(1);              // locale ids
  e.String("en");
  Encoder token;
  token.String(identity.policy_id);
  if (identity.user.empty()) {
    e.ExtensionObject(type_id::kAnonymousIdentityToken, token.bytes());
  } else {
    // In plain text: acceptable only on a trusted network until Basic256Sha256 (docs/opcua.md).
    token.String(identity.user);
    token.ByteString(identity.password);
    token.NullString();  // encryption algorithm: none
    e.ExtensionObject(type_id::kUserNameIdentityToken, token.bytes());
  }
  EncodeNullSignature(e);  // user token signature
}

Status DecodeActivateSession(std::string_view body, const Limits& limits) {
  auto r = DecodeWith<int>(body, limits, type_id::kActivateSessionResponse, "ActivateSession", [](Decoder& d) {
    d.StringView();  // server nonce
    d.StatusCodes();
    d.SkipDiagnosticInfos();
    return 0;
  });
  return r.status();
}

void EncodeCloseSession(Encoder& e, const RequestHeader& h) {
  BeginRequest(e, type_id::kCloseSessionRequest, h);
  e.Boolean(true);  // delete subscriptions
}

void EncodeRead(Encoder& e, const RequestHeader& h, std::span<const NodeId> nodes,
                std::span<const uint32_t> attributes) {
  BeginRequest(e, type_id::kReadRequest, h);
  e.Double(0);  // max age: a fresh value
  e.UInt32(kTimestampsBoth);
  e.Int32(static_cast<int32_t>(nodes.size()));
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    EncodeReadValueId(e, nodes[i], i < attributes.size() ? attributes[i] : kAttributeValue);
  }
}

Result<std::vector<DataValue>> DecodeRead(std::string_view body, const Limits& limits) {
  return DecodeWith<std::vector<DataValue>>(body, limits, type_id::kReadResponse, "Read", [](Decoder& d) {
    std::vector<DataValue> out;
    const uint32_t n = d.ArrayLength("DataValue[]", 1);
    out.reserve(n);
    for (uint32_t i = 0; i < n && d.ok(); ++i) out.push_back(d.DataValue());
    d.SkipDiagnosticInfos();
    return out;
  });
}

void EncodeWrite(Encoder& e, const RequestHeader& h, const NodeId& node, const Variant& value) {
  BeginRequest(e, type_id::kWriteRequest, h);
  e.Int32(1);
  e.NodeId(node);
  e.UInt32(kAttributeValue);
  e.NullString();  // index range
  e.DataValue(DataValue{.value = value});
}

Result<std::vector<uint32_t>> DecodeWrite(std::string_view body, const Limits& limits) {
  return DecodeWith<std::vector<uint32_t>>(body, limits, type_id::kWriteResponse, "Write", [](Decoder& d) {
    std::vector<uint32_t> out = d.StatusCodes();
    d.SkipDiagnosticInfos();
    return out;
  });
}

void EncodeBrowse(Encoder& e, const RequestHeader& h, const NodeId& node) {
  BeginRequest(e, type_id::kBrowseRequest, h);
  e.NodeId(Ns0(0));  // view: the whole address space
  e.DateTime(0);
  e.UInt32(0);
  e.UInt32(0);  // max references per node: the server's choice
  e.Int32(1);
  e.NodeId(node);
  e.UInt32(0);  // browse direction: forward
  e.NodeId(Ns0(kHierarchicalReferences));
  e.Boolean(true);  // include subtypes
  e.UInt32(0);      // node class mask: all
  e.UInt32(kBrowseResultMaskAll);
}

void EncodeBrowseNext(Encoder& e, const RequestHeader& h, std::string_view continuation_point) {
  BeginRequest(e, type_id::kBrowseNextRequest, h);
  e.Boolean(false);  // release continuation points: no, continue
  e.Int32(1);
  e.ByteString(continuation_point);
}

Result<std::vector<BrowseResult>> DecodeBrowse(std::string_view body, const Limits& limits, bool next) {
  return DecodeWith<std::vector<BrowseResult>>(body, limits,
                                               next ? type_id::kBrowseNextResponse : type_id::kBrowseResponse,
                                               next ? "BrowseNext" : "Browse", DecodeBrowseResults);
}

void EncodeCall(Encoder& e, const RequestHeader& h, const NodeId& object, const NodeId& method,
                std::span<const Variant> inputs) {
  BeginRequest(e, type_id::kCallRequest, h);
  e.Int32(1);
  e.NodeId(object);
  e.NodeId(method);
  e.Int32(static_cast<int32_t>(inputs.size()));
  for (const Variant& v : inputs) e.Variant(v);
}

Result<std::vector<CallResult>> DecodeCall(std::string_view body, const Limits& limits) {
  return DecodeWith<std::vector<CallResult>>(body, limits, type_id::kCallResponse, "Call", [](Decoder& d) {
    std::vector<CallResult> out;
    const uint32_t n = d.ArrayLength("CallMethodResult[]", 16);
    out.reserve(n);
    for (uint32_t i = 0; i < n && d.ok(); ++i) {
      CallResult r;
      r.status = d.UInt32();
      r.input_argument_results = d.StatusCodes();
      d.SkipDiagnosticInfos();
      r.outputs = DecodeVariants(d, "outputArguments");
      out.push_back(std::move(r));
    }
    d.SkipDiagnosticInfos();
    return out;
  });
}

void EncodeCreateSubscription(Encoder& e, const RequestHeader& h, const SubscriptionOptions& options) {
  BeginRequest(e, type_id::kCreateSubscriptionRequest, h);
  e.Double(static_cast<double>(options.publishing_interval.count()));
  e.UInt32(options.lifetime_count);
  e.UInt32(options.keep_alive_count);
  e.UInt32(0);      // max notifications per publish: no limit
  e.Boolean(true);  // publishing enabled
  e.Byte(0);        // priority
}

Result<SubscriptionInfo> DecodeCreateSubscription(std::string_view body, const Limits& limits) {
  return DecodeWith<SubscriptionInfo>(body, limits, type_id::kCreateSubscriptionResponse, "CreateSubscription",
                                      [](Decoder& d) {
                                        SubscriptionInfo s;
                                        s.subscription_id = d.UInt32();
                                        s.revised_publishing_interval_ms = d.Double();
                                        d.UInt32();  // revised lifetime count
                                        d.UInt32();  // revised keep-alive count
                                        return s;
                                      });
}

void EncodeCreateMonitoredItems(Encoder& e, const RequestHeader& h, uint32_t subscription_id,
                                std::span<const MonitoredItemSpec> items) {
  BeginRequest(e, type_id::kCreateMonitoredItemsRequest, h);
  e.UInt32(subscription_id);
  e.UInt32(kTimestampsBoth);
  e.Int32(static_cast<int32_t>(items.size()));
  for (const MonitoredItemSpec& item : items) {
    EncodeReadValueId(e, item.request.node, kAttributeValue);
    e.UInt32(kMonitoringModeReporting);
    e.UInt32(item.client_handle);
    e.Double(static_cast<double>(item.request.sampling_interval.count()));
    if (item.request.deadband_absolute > 0) {
      Encoder filter;
      filter.UInt32(1);  // trigger: StatusValue
      filter.UInt32(1);  // deadband type: Absolute
      filter.Double(item.request.deadband_absolute);
      e.ExtensionObject(type_id::kDataChangeFilter, filter.bytes());
    } else {
      e.NullExtensionObject();
    }
    e.UInt32(item.request.queue_size);
    e.Boolean(true);  // discard oldest
  }
}

Result<std::vector<MonitoredItemResult>> DecodeCreateMonitoredItems(std::string_view body, const Limits& limits) {
  return DecodeWith<std::vector<MonitoredItemResult>>(
      body, limits, type_id::kCreateMonitoredItemsResponse, "CreateMonitoredItems", [](Decoder& d) {
        std::vector<MonitoredItemResult> out;
        const uint32_t n = d.ArrayLength("MonitoredItemCreateResult[]", 23);
        out.reserve(n);
        for (uint32_t i = 0; i < n && d.ok(); ++i) {
          MonitoredItemResult r;
          r.status = d.UInt32();
          r.monitored_item_id = d.UInt32();
          d.Double();  // revised sampling interval
          d.UInt32();  // revised queue size
          d.ExtensionObject();  // filter result
          out.push_back(r);
        }
        d.SkipDiagnosticInfos();
        return out;
      });
}

void EncodeDeleteSubscriptions(Encoder& e, const RequestHeader& h, uint32_t subscription_id) {
  BeginRequest(e, type_id::kDeleteSubscriptionsRequest, h);
  e.Int32(1);
  e.UInt32(subscription_id);
}

Status DecodeDeleteSubscriptions(std::string_view body, const Limits& limits) {
  return DecodeWith<std::vector<uint32_t>>(body, limits, type_id::kDeleteSubscriptionsResponse, "DeleteSubscriptions",
                                           [](Decoder& d) {
                                             std::vector<uint32_t> results = d.StatusCodes();
                                             d.SkipDiagnosticInfos();
                                             return results;
                                           })
      .status();
}

void EncodePublish(Encoder& e, const RequestHeader& h, std::span<const Acknowledgement> acks) {
  BeginRequest(e, type_id::kPublishRequest, h);
  e.Int32(static_cast<int32_t>(acks.size()));
  for (const Acknowledgement& a : acks) {
    e.UInt32(a.subscription_id);
    e.UInt32(a.sequence_number);
  }
}

Result<PublishResult> DecodePublish(std::string_view body, const Limits& limits) {
  return DecodeWith<PublishResult>(body, limits, type_id::kPublishResponse, "Publish", [&limits](Decoder& d) {
    PublishResult p;
    p.subscription_id = d.UInt32();
    const uint32_t available = d.ArrayLength("availableSequenceNumbers", 4);
    for (uint32_t i = 0; i < available && d.ok(); ++i) d.UInt32();
    d.Boolean();  // more notifications
    p.sequence_number = d.UInt32();
    d.DateTime();  // publish time
    const uint32_t n = d.ArrayLength("notificationData", 3);
    p.has_notifications = n > 0;
    for (uint32_t i = 0; i < n && d.ok(); ++i) DecodeNotification(d, limits, p);
    d.StatusCodes();  // acknowledgement results
    d.SkipDiagnosticInfos();
    return p;
  });
}

Status DecodeAnyResponse(std::string_view body, const Limits& limits) {
  DOPPEL_ASSIGN_OR_RETURN(const ResponseRoute route, PeekResponse(body, limits));
  switch (route.type_id) {
    case type_id::kOpenSecureChannelResponse: return DecodeOpenSecureChannel(body, limits).status();
    case type_id::kCreateSessionResponse: return DecodeCreateSession(body, limits).status();
    case type_id::kActivateSessionResponse: return DecodeActivateSession(body, limits);
    case type_id::kReadResponse: return DecodeRead(body, limits).status();
    case type_id::kWriteResponse: return DecodeWrite(body, limits).status();
    case type_id::kBrowseResponse: return DecodeBrowse(body, limits, false).status();
    case type_id::kBrowseNextResponse: return DecodeBrowse(body, limits, true).status();
    case type_id::kCallResponse: return DecodeCall(body, limits).status();
    case type_id::kCreateSubscriptionResponse: return DecodeCreateSubscription(body, limits).status();
    case type_id::kCreateMonitoredItemsResponse: return DecodeCreateMonitoredItems(body, limits).status();
    case type_id::kPublishResponse: return DecodePublish(body, limits).status();
    case type_id::kDeleteSubscriptionsResponse: return DecodeDeleteSubscriptions(body, limits);
    case type_id::kServiceFault: {
      Decoder d(body, limits);
      return BeginResponse(d, type_id::kServiceFault, "ServiceFault");
    }
    default: return Status::InvalidArgument(fmt::format("unknown response type id {}", route.type_id));
  }
}

}  // namespace doppel::connect::opcua::internal
