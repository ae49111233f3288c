// A simulated machine served by node-opcua: the real OPC UA peer of Doppel's OPC UA tests, of
// `doppel opcua discover` demos and of `make bench-opcua` (docs/opcua.md, "Test server").
//
//   node tests/opcua/server.mjs [port] [--bad-period-ms N] [--load N] [--load-interval-ms M] [--detach]
//
// port 0 (the default) takes a free port. When the server is ready it prints one line,
// "listening <endpointUrl>", on stdout (the URL uses 127.0.0.1 so that it works wherever the
// host name does not resolve). Stdin takes commands, one per line, each answered by "ok <cmd>":
//   bad / good   turn Machine.Quality's StatusCode to BadSensorFailure / back to Good
//   stop         close the server and exit 0 (as do SIGTERM and the end of stdin, so that a
//                server whose parent died goes away; --detach ignores stdin altogether)
//
// Address space (namespace 1, "urn:doppel:test-machine"; string NodeIds):
//   Objects/Machine                      ns=1;s=Machine
//     Temperature  Double   read-only    changes every 100 ms (slow sine + noise, around 60 °C)
//     Speed        Double   read-only    changes every 100 ms (around 1500 rpm)
//     Setpoint     Double   read/write   target speed, 1500 at start; written values stay
//     State        String   read-only    "Running"; "Reset:<code>" after Reset
//     Counter      UInt32   read-only    +1 every second, 0 after Reset
//     Spectrum     Double[10] read-only  changes every 500 ms
//     Quality      Double   read-only    changes every 100 ms; its StatusCode is
//                                        BadSensorFailure while "bad" (stdin) or, with
//                                        --bad-period-ms N, during every other period of N ms
//     Reset(code: String) → (ok: Boolean)   Counter := 0, State := "Reset:<code>"; ok is false
//                                        (and nothing changes) for an empty code
//   Objects/Load                         ns=1;s=Load (only with --load N)
//     Value0 .. Value<N-1>  Double  ns=1;s=Load.Value<i>, every one changes every
//                                        --load-interval-ms (default 10)
//
// Security: node-opcua's defaults (SecurityPolicy None among the endpoints), anonymous access
// allowed, and one user "operator"/"secret". A UserName token over SecurityPolicy None is offered
// in clear ("username_unsecure"): acceptable on loopback for tests, never in a plant.
import {
  DataType,
  OPCUAServer,
  StatusCodes,
  UserTokenPolicy,
  UserTokenType,
  MessageSecurityMode,
  Variant,
  VariantArrayType,
} from "node-opcua";
import readline from "node:readline";

function parseArgs(argv) {
  const options = { port: 0, badPeriodMs: 0, load: 0, loadIntervalMs: 10, detach: false };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    const next = () => {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 0) throw new Error(`${arg} needs a non-negative integer`);
      return value;
    };
    if (arg === "--bad-period-ms") options.badPeriodMs = next();
    else if (arg === "--load") options.load = next();
    else if (arg === "--load-interval-ms") options.loadIntervalMs = Math.max(1, next());
    else if (arg === "--detach") options.detach = true;
    else if (/^\d+$/.test(arg)) options.port = Number(arg);
    else throw new Error(`unknown argument '${arg}'`);
  }
  return options;
}

const double = (value) => new Variant({ dataType: DataType.Double, value });

// A read-only variable whose value the simulation sets with a source timestamp.
function addSourced(namespace, parent, name, dataType, value, extra = {}) {
  const variable = namespace.addVariable({
    componentOf: parent,
    browseName: name,
    nodeId: `s=${extra.nodeId ?? name}`,
    dataType,
    // node-opcua's default is read/write; these are the machine's to change.
    accessLevel: "CurrentRead",
    userAccessLevel: "CurrentRead",
    minimumSamplingInterval: extra.minimumSamplingInterval ?? 50,
    ...(extra.valueRank === undefined ? {} : { valueRank: extra.valueRank, arrayDimensions: extra.arrayDimensions }),
  });
  variable.setValueFromSource(value, StatusCodes.Good, new Date());
  return variable;
}

function buildMachine(namespace, objects, options) {
  const machine = namespace.addObject({ organizedBy: objects, browseName: "Machine", nodeId: "s=Machine" });
  const nodes = {
    temperature: addSourced(namespace, machine, "Temperature", "Double", double(60)),
    speed: addSourced(namespace, machine, "Speed", "Double", double(1500)),
    state: addSourced(namespace, machine, "State", "String", new Variant({ dataType: DataType.String, value: "Running" })),
    counter: addSourced(namespace, machine, "Counter", "UInt32", new Variant({ dataType: DataType.UInt32, value: 0 })),
    spectrum: addSourced(namespace, machine, "Spectrum", "Double", spectrumVariant(0), {
      valueRank: 1,
      arrayDimensions: [10],
    }),
    quality: addSourced(namespace, machine, "Quality", "Double", double(1)),
  };
  nodes.setpoint = namespace.addVariable({
    componentOf: machine,
    browseName: "Setpoint",
    nodeId: "s=Setpoint",
    dataType: "Double",
    accessLevel: "CurrentRead | CurrentWrite",
    userAccessLevel: "CurrentRead | CurrentWrite",
    minimumSamplingInterval: 50,
  });
  nodes.setpoint.setValueFromSource(double(1500), StatusCodes.Good, new Date());

  const reset = namespace.addMethod(machine, {
    browseName: "Reset",
    nodeId: "s=Reset",
    inputArguments: [{ name: "code", description: { text: "why the machine is reset" }, dataType: DataType.String }],
    outputArguments: [{ name: "ok", description: { text: "false for an empty code" }, dataType: DataType.Boolean }],
  });
  reset.bindMethod((inputArguments, _context, callback) => {
    const code = String(inputArguments[0]?.value ?? "");
    if (code !== "") {
      state.counter = 0;
      nodes.counter.setValueFromSource(new Variant({ dataType: DataType.UInt32, value: 0 }), StatusCodes.Good, new Date());
      nodes.state.setValueFromSource(new Variant({ dataType: DataType.String, value: `Reset:${code}` }), StatusCodes.Good, new Date());
    }
    callback(null, {
      statusCode: StatusCodes.Good,
      outputArguments: [{ dataType: DataType.Boolean, value: code !== "" }],
    });
  });

  const state = { tick: 0, counter: 0, forcedBad: false };
  const started = Date.now();
  setInterval(() => {
    const now = new Date();
    const t = (now.getTime() - started) / 1000;
    ++state.tick;
    nodes.temperature.setValueFromSource(double(60 + 5 * Math.sin(t / 10) + Math.random() * 0.5), StatusCodes.Good, now);
    nodes.speed.setValueFromSource(double(1500 + 20 * Math.sin(t) + Math.random()), StatusCodes.Good, now);
    const periodBad = options.badPeriodMs > 0 && Math.floor((now.getTime() - started) / options.badPeriodMs) % 2 === 1;
    const bad = state.forcedBad || periodBad;
    nodes.quality.setValueFromSource(double(1 + state.tick / 1000), bad ? StatusCodes.BadSensorFailure : StatusCodes.Good, now);
    if (state.tick % 5 === 0) nodes.spectrum.setValueFromSource(spectrumVariant(t), StatusCodes.Good, now);
    if (state.tick % 10 === 0) {
      state.counter = (state.counter + 1) >>> 0;
      nodes.counter.setValueFromSource(new Variant({ dataType: DataType.UInt32, value: state.counter }), StatusCodes.Good, now);
    }
  }, 100);
  return state;
}

function spectrumVariant(t) {
  const values = new Float64Array(10);
  for (let i = 0; i < 10; ++i) values[i] = Math.abs(Math.sin(t + i)) / (i + 1);
  return new Variant({ dataType: DataType.Double, arrayType: VariantArrayType.Array, value: values });
}

// Many variables that all change every interval: what `make bench-opcua` subscribes to.
function buildLoad(namespace, objects, options) {
  if (options.load === 0) return;
  const folder = namespace.addObject({ organizedBy: objects, browseName: "Load", nodeId: "s=Load" });
  const variables = [];
  for (let i = 0; i < options.load; ++i) {
    variables.push(addSourced(namespace, folder, `Value${i}`, "Double", double(0), {
      nodeId: `Load.Value${i}`,
      minimumSamplingInterval: 0,
    }));
  }
  let step = 0;
  setInterval(() => {
    const now = new Date();
    ++step;
    for (let i = 0; i < variables.length; ++i) variables[i].setValueFromSource(double(step + i / 1000), StatusCodes.Good, now);
  }, options.loadIntervalMs);
}

// node-opcua does not pass allowUnsecurePassword through to its endpoints (a TODO in its
// source), so the clear-text UserName policy is added to the None endpoints here.
function allowPasswordOverNone(server) {
  for (const endpoint of server.endpoints) {
    for (const description of endpoint.endpointDescriptions()) {
      if (description.securityMode !== MessageSecurityMode.None) continue;
      const tokens = description.userIdentityTokens ?? [];
      if (tokens.some((t) => t.policyId === "username_unsecure")) continue;
      tokens.push(new UserTokenPolicy({ policyId: "username_unsecure", tokenType: UserTokenType.UserName, securityPolicyUri: null }));
      description.userIdentityTokens = tokens;
    }
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const server = new OPCUAServer({
    port: options.port,
    hostname: "127.0.0.1",
    resourcePath: "/doppel",
    allowAnonymous: true,
    userManager: { isValidUser: (user, password) => user === "operator" && password === "secret" },
    buildInfo: { productName: "Doppel test machine", manufacturerName: "Doppel", softwareVersion: "1.0.0" },
    maxConnectionsPerEndpoint: 100,
    serverCapabilities: { maxSessions: 100 },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  const namespace = addressSpace.getOwnNamespace();
  const objects = addressSpace.rootFolder.objects;
  const state = buildMachine(namespace, objects, options);
  buildLoad(namespace, objects, options);
  await server.start();
  allowPasswordOverNone(server);
  const port = server.endpoints[0].port;
  process.stdout.write(`listening opc.tcp://127.0.0.1:${port}/doppel\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.shutdown(0);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  if (options.detach) return;
  const input = readline.createInterface({ input: process.stdin });
  input.on("line", (line) => {
    const command = line.trim();
    if (command === "bad") state.forcedBad = true;
    else if (command === "good") state.forcedBad = false;
    else if (command === "stop") return void stop();
    else return void process.stdout.write(`unknown ${command}\n`);
    process.stdout.write(`ok ${command}\n`);
  });
  input.on("close", stop);
}

main().catch((error) => {
  process.stderr.write(`opcua test server: ${error.stack ?? error}\n`);
  process.exit(1);
});
