# Doppel — the two commands an operator types are `make demo` and `make test`.
BUILD_DIR ?= build
SAN_DIR   ?= build-asan
LISTEN    ?= 127.0.0.1:8080
DATA_DIR  ?= $(CURDIR)/data/demo
CMAKE_FLAGS ?=

FUZZ_DIR     ?= build-fuzz-clang
FUZZ_SECONDS ?= 60

.PHONY: all deps configure build demo test test-asan bench bench-spine bench-tsdb bench-ingest bench-history bench-connect bench-auth bench-sim bench-nab bench-cmapss bench-analytics bench-loop bench-opcua fuzz clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

# The server, and the operator dashboard it serves at / (web/ → $(BUILD_DIR)/web, docs/dashboard.md).
build: configure
	cmake --build $(BUILD_DIR)
	scripts/web-build.sh $(BUILD_DIR)/web

# Builds, starts the server on LISTEN with DATA_DIR and loads the example models and twins.
demo: build
	scripts/demo.sh $(BUILD_DIR)/doppel $(LISTEN) $(DATA_DIR)

# Builds and runs every test (unit + integration, and the dashboard in headless Chromium:
# web_e2e); non-zero exit on any failure.
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j2

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer (Debug).
test-asan: deps
	cmake -S . -B $(SAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDOPPEL_SANITIZE=ON
	cmake --build $(SAN_DIR)
	ctest --test-dir $(SAN_DIR) --output-on-failure -j2

# Every benchmark in quick mode; each prints a one-line JSON object as its last line.
bench: bench-spine bench-tsdb bench-ingest bench-history bench-connect bench-auth bench-sim bench-nab bench-cmapss bench-analytics bench-loop bench-opcua

# The spine: DTDL parsing, twin patching and restore, queries over 100k twins.
bench-spine: build
	scripts/run-benchmarks.sh $(BUILD_DIR) model_benchmark twin_benchmark query_benchmark

# The history engine's core: codecs, bytes per point, synced writes, an aggregate query.
bench-tsdb: build
	scripts/run-benchmarks.sh $(BUILD_DIR) tsdb_benchmark

# The bulk-ingest decoders in process: InfluxDB line protocol parsing and gzip inflation.
bench-ingest: build
	scripts/run-benchmarks.sh $(BUILD_DIR) ingest_benchmark

# History vs InfluxDB (bench/RESULTS.md): installs InfluxDB (scripts/install-deps.sh --bench),
# starts it and a Doppel server on loopback with temp directories, feeds both the same 10M
# points (FULL=1: 100M) over line protocol, and compares ingest, size on disk, memory and
# four queries. Takes ~5 minutes in quick mode.
bench-history: build
	FULL="$(FULL)" scripts/bench-history.sh $(BUILD_DIR)

# Connecting the physical side (bench/RESULTS.md): starts Mosquitto and a Doppel server on
# loopback; MQTT end to end vs a bare subscriber's ceiling, line-protocol ingest (plain and
# gzip) and the WebSocket push latency. ~2 minutes in quick mode, more when fsyncs are slow
# (FULL=1: 10x the data).
bench-connect: build
	FULL="$(FULL)" scripts/bench-connect.sh $(BUILD_DIR)

# Authorisation on the hot path: policy checks alone, and API ingest/query with policies on vs off.
bench-auth: build
	scripts/bench-auth.sh $(BUILD_DIR)

# Simulation (bench/RESULTS.md): turbine model speed, what-if scenarios/s on 1 and 2 threads,
# FMU step overhead out of process, shadow-mode cost per reading. ~1 minute.
bench-sim: build
	scripts/bench-sim.sh $(BUILD_DIR)

# Anomaly detection on the Numenta Anomaly Benchmark (bench/RESULTS.md): every series of NAB_DIR
# (any directory in NAB format) replayed as one twin's telemetry through the detectors; the three
# profile scores with one global threshold, plus held-out (cross-validated) figures. ~4 minutes.
NAB_DIR ?= ../shared/data/nab
bench-nab: build
	scripts/bench-nab.sh $(BUILD_DIR) $(NAB_DIR)

# Remaining useful life on NASA C-MAPSS (bench/RESULTS.md, docs/analytics-rul.md): starts a Doppel
# server, ingests the run-to-failure units as twins, trains through the API and scores each test
# unit's RUL (RMSE and PHM08 score). ~1-2 minutes per subset.
CMAPSS_DIR ?= ../shared/data/cmapss
SUBSETS    ?= FD001 FD003
bench-cmapss: build
	CMAPSS_DIR="$(CMAPSS_DIR)" SUBSETS="$(SUBSETS)" scripts/bench-cmapss.sh $(BUILD_DIR)

# Analytics on the ingest path (bench/RESULTS.md): 1M readings into 10,000 series in process,
# without detectors and with one detector of each kind per series; each detector's cost per
# reading; a live KPI tick over 100 machines. ~1-2 minutes.
bench-analytics: build
	scripts/bench-analytics.sh $(BUILD_DIR)

# Closing the loop (bench/RESULTS.md): ingest over 100,000 twins in process without and with
# 10,000 rules (the drop, the rules' cost per update); then Mosquitto, a Doppel server and the
# device simulator, and 500 sequential command round trips (p50/p99).
bench-loop: build
	scripts/bench-loop.sh $(BUILD_DIR)

# Industrial connectivity (bench/RESULTS.md): monitored-item updates/s Doppel ingests from one
# node-opcua server with many fast-changing variables, against a trivial counting client on the
# same server in the same run (the ceiling). ~25 s (FULL=1: 5000 variables, 30 s window).
bench-opcua: build
	FULL="$(FULL)" scripts/bench-opcua.sh $(BUILD_DIR)

# Coverage-guided fuzzing (docs/fuzzing.md): installs clang-14, builds every tests/fuzz target
# with libFuzzer + ASan + UBSan into FUZZ_DIR and runs each for FUZZ_SECONDS, one at a time.
# New inputs go to FUZZ_DIR/corpus/<target>; crashes to FUZZ_DIR/artifacts/<target>/.
fuzz:
	@scripts/install-deps.sh --fuzz
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_DIR) -G Ninja \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOPPEL_FUZZ=ON
	scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD_DIR) $(SAN_DIR) $(FUZZ_DIR)
