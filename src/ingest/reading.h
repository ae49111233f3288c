// A reading: one value of one telemetry or property of one twin at one time — the unit every
// connector (HTTP JSON, InfluxDB line protocol, MQTT, OPC UA, ...) decodes its input into and
// the Ingestor (ingestor.h) validates, stores in history and applies to the live state.
#pragma once

#include <string>

#include "tsdb/types.h"

namespace doppel::ingest {

struct Reading {
  std::string twin_id;
  // The telemetry or property name, or "<component>/<name>" for one inside a component.
  std::string path;
  tsdb::TimeNs time = 0;  // ns since the Unix epoch, UTC
  tsdb::Value value;
};

}  // namespace doppel::ingest
