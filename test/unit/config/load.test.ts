import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, redactConfig } from "../../../src/config/index.js";
import { isLockBridgeError } from "../../../src/shared/errors.js";
import { makeTlsMaterial } from "../../helpers/mosquitto.js";

const dir = mkdtempSync(join(tmpdir(), "lb-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

const tls = makeTlsMaterial(join(dir, "tls"));
const caFile = write("ca.pem", readFileSync(tls.ca, "utf8"));
write("garbage.pem", "this is not a certificate\n");

describe("loadConfig defaults", () => {
  it("runs on defaults with no file and no env: embedded broker, hub id from host name, ./.data", () => {
    const config = loadConfig({ env: {}, cwd: dir, hostname: "Pi Lobby.local" });
    expect(config.hubId).toBe("hub-pi-lobby.local");
    expect(config.dataDir).toBe(join(dir, ".data"));
    expect(config.mqtt.url).toBeUndefined();
    expect(config.mqtt.embedded.port).toBe(1883);
    expect(config.mqtt.topicPrefix).toBe("lockbridge");
    expect(config.log.level).toBe("info");
    expect(config.outbox.maxEvents).toBe(100_000);
    expect(config.ble).toEqual({ enabled: true, maxConnections: 3 });
    expect(config.profilesDir).toMatch(/device-profiles$/);
  });

  it("takes the data dir from systemd's STATE_DIRECTORY", () => {
    const config = loadConfig({ env: { STATE_DIRECTORY: "/var/lib/lockbridge:/var/lib/other" }, cwd: dir });
    expect(config.dataDir).toBe("/var/lib/lockbridge");
  });

  it("treats an empty file as all defaults", () => {
    const config = loadConfig({ file: write("empty.yaml", ""), env: {}, hostname: "h" });
    expect(config.hubId).toBe("hub-h");
  });
});

describe("loadConfig file and env", () => {
  it("reads YAML and JSON by extension, resolving relative paths against the file", () => {
    const yaml = write("hub.yaml", "hubId: lobby-1\ndataDir: state\nmqtt:\n  url: mqtts://broker.example:8883\n  tls:\n    ca: ca.pem\n");
    const fromYaml = loadConfig({ file: yaml, env: {} });
    expect(fromYaml.hubId).toBe("lobby-1");
    expect(fromYaml.dataDir).toBe(join(dir, "state"));
    expect(fromYaml.mqtt.tls).toEqual({ ca: caFile, rejectUnauthorized: true });

    const json = write("hub.json", JSON.stringify({ hubId: "lobby-2", log: { level: "debug" } }));
    const fromJson = loadConfig({ file: json, env: {} });
    expect(fromJson.hubId).toBe("lobby-2");
    expect(fromJson.log.level).toBe("debug");
  });

  it("finds the file through LOCKBRIDGE_CONFIG", () => {
    const file = write("via-env.yaml", "hubId: via-env\n");
    expect(loadConfig({ env: { LOCKBRIDGE_CONFIG: file } }).hubId).toBe("via-env");
  });

  it("lets environment overrides win over the file", () => {
    const file = write("base.yaml", "hubId: from-file\ndataDir: /srv/file\nlog:\n  level: warn\nmqtt:\n  url: mqtt://file:1883\nble:\n  enabled: true\n");
    const config = loadConfig({
      file,
      cwd: "/tmp",
      env: {
        LOCKBRIDGE_HUB_ID: "from-env",
        LOCKBRIDGE_DATA_DIR: "rel/state",
        LOCKBRIDGE_LOG_LEVEL: "debug",
        LOCKBRIDGE_MQTT_URL: "mqtt://env:1884",
        LOCKBRIDGE_BLE_ENABLED: "false",
        LOCKBRIDGE_OUTBOX_MAX_EVENTS: "5000",
        LOCKBRIDGE_BLE_PROXY: "127.0.0.1:6053",
      },
    });
    expect(config.ble.proxy).toEqual({ host: "127.0.0.1", port: 6053 });
    expect(config.hubId).toBe("from-env");
    expect(config.dataDir).toBe("/tmp/rel/state");
    expect(config.log.level).toBe("debug");
    expect(config.mqtt.url).toBe("mqtt://env:1884");
    expect(config.ble.enabled).toBe(false);
    const embedded = loadConfig({ file: write("embedded.yaml", "mqtt:\n  embedded:\n    port: 1999\n"), env: { LOCKBRIDGE_MQTT_EMBEDDED_PORT: "2000" } });
    expect(embedded.mqtt.embedded.port).toBe(2000);
    expect(config.outbox.maxEvents).toBe(5000);
  });

  it("treats an empty environment variable as unset", () => {
    const file = write("keep.yaml", "hubId: kept\n");
    expect(loadConfig({ file, env: { LOCKBRIDGE_HUB_ID: "" } }).hubId).toBe("kept");
  });

  it("normalises the cloud command key from raw base64, SPKI base64, PEM text or a PEM file", () => {
    const { publicKey } = generateKeyPairSync("ed25519");
    const pem = publicKey.export({ format: "pem", type: "spki" }).toString();
    const spki = publicKey.export({ format: "der", type: "spki" });
    const raw = spki.subarray(12).toString("base64");
    const pemFile = write("cloud.pem", pem);
    for (const form of [raw, spki.toString("base64"), pem, pemFile]) {
      const config = loadConfig({ env: { LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY: form } });
      expect(config.cloud.commandPublicKey).toBe(pem);
    }
  });

  it("hides the MQTT password, also inside the URL, when presenting the config", () => {
    const shown = redactConfig(
      loadConfig({ env: { LOCKBRIDGE_MQTT_URL: "mqtts://hub:s3cret-url@broker:8883", LOCKBRIDGE_MQTT_PASSWORD: "s3cret-pw" } }),
    );
    const text = JSON.stringify(shown);
    expect(text).not.toContain("s3cret");
    expect(shown.mqtt.url).toBe("mqtts://hub:[redacted]@broker:8883");
  });
});

describe("config errors name the bad path and the expected form", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "pem", type: "spki" }).toString();
  const cases: { name: string; yaml?: string; env?: Record<string, string>; path: string; expected: RegExp }[] = [
    { name: "wrong type", yaml: "mqtt:\n  tls:\n    ca: 5\n", path: "mqtt.tls.ca", expected: /expected a file path string/ },
    { name: "garbage CA file", yaml: "mqtt:\n  url: mqtts://b:8883\n  tls:\n    ca: garbage.pem\n", path: "mqtt.tls.ca", expected: /expected a PEM certificate file, .*garbage\.pem does not parse as one/ },
    { name: "a certificate given as the key", yaml: "mqtt:\n  url: mqtts://b:8883\n  tls:\n    cert: ca.pem\n    key: ca.pem\n", path: "mqtt.tls.key", expected: /expected a PEM private key file/ },
    { name: "embedded broker port beside a broker URL", yaml: "mqtt:\n  url: mqtt://b:1883\n  embedded:\n    port: 1884\n", path: "mqtt.embedded.port", expected: /only applies without mqtt\.url/ },
    { name: "missing TLS file", yaml: "mqtt:\n  url: mqtts://b:8883\n  tls:\n    ca: nowhere.pem\n", path: "mqtt.tls.ca", expected: /readable file, .*nowhere\.pem does not exist/ },
    { name: "unknown top-level key", yaml: "hubid: x\n", path: "hubid", expected: /unknown key \(did you mean "hubId"\?\)/ },
    { name: "misspelt nested key", yaml: "mqtt:\n  usernme: hub\n", path: "mqtt.usernme", expected: /unknown key \(did you mean "mqtt.username"\?\)/ },
    { name: "unknown nested key", yaml: "mqtt:\n  tls:\n    verify: false\n", path: "mqtt.tls.verify", expected: /unknown key/ },
    // Fuzz regression (seed -1660476763): a key with no name still gets a path.
    { name: "unnamed key", yaml: '"": 1\n', path: '""', expected: /unknown key/ },
    { name: "unnamed nested key", yaml: 'mqtt:\n  "": 1\n', path: 'mqtt.""', expected: /unknown key/ },
    { name: "bad URL scheme", yaml: "mqtt:\n  url: http://broker\n", path: "mqtt.url", expected: /expected an mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ URL/ },
    { name: "not a URL", yaml: "mqtt:\n  url: broker:1883x\n", path: "mqtt.url", expected: /expected an mqtt/ },
    { name: "bad log level", yaml: "log:\n  level: loud\n", path: "log.level", expected: /expected one of fatal, error, warn, info, debug, trace, silent/ },
    { name: "hub id with a slash", yaml: "hubId: a/b\n", path: "hubId", expected: /MQTT topic segment/ },
    { name: "port out of range", yaml: "mqtt:\n  embedded:\n    port: 70000\n", path: "mqtt.embedded.port", expected: /expected an integer 0\.\.65535/ },
    { name: "section not a mapping", yaml: "ble: yes\n", path: "ble", expected: /expected a mapping/ },
    { name: "cert without key", yaml: `mqtt:\n  url: mqtts://b\n  tls:\n    cert: ${caFile}\n`, path: "mqtt.tls.key", expected: /go together/ },
    { name: "TLS for the embedded broker", yaml: `mqtt:\n  tls:\n    ca: ${caFile}\n`, path: "mqtt.tls", expected: /only applies with mqtt.url/ },
    { name: "RSA command key", env: { LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY: rsa }, path: "cloud.commandPublicKey (from LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY)", expected: /Ed25519 public key.*got a rsa key/ },
    { name: "bad env log level", env: { LOCKBRIDGE_LOG_LEVEL: "loud" }, path: "log.level (from LOCKBRIDGE_LOG_LEVEL)", expected: /expected one of/ },
    { name: "bad env URL", env: { LOCKBRIDGE_MQTT_URL: "ftp://x" }, path: "mqtt.url (from LOCKBRIDGE_MQTT_URL)", expected: /expected an mqtt/ },
    { name: "bad env integer", env: { LOCKBRIDGE_MQTT_EMBEDDED_PORT: "18x3" }, path: "LOCKBRIDGE_MQTT_EMBEDDED_PORT (mqtt.embedded.port)", expected: /expected an integer, got "18x3"/ },
    { name: "bad env boolean", env: { LOCKBRIDGE_BLE_ENABLED: "maybe" }, path: "LOCKBRIDGE_BLE_ENABLED (ble.enabled)", expected: /expected true or false/ },
    { name: "bad BLE proxy", env: { LOCKBRIDGE_BLE_PROXY: "localhost" }, path: "ble.proxy (from LOCKBRIDGE_BLE_PROXY)", expected: /expected "host:port"/ },
  ];

  it.each(cases)("$name -> $path", ({ name, yaml, env, path, expected }) => {
    const file = yaml === undefined ? undefined : write(`${name.replace(/\W+/g, "-")}.yaml`, yaml);
    const error = errorOf(() => loadConfig({ file, env: env ?? {} }));
    expect(isLockBridgeError(error, "config_invalid")).toBe(true);
    const issue = error.issues.find((i) => i.path === path);
    expect(issue, `issues: ${error.message}`).toBeDefined();
    expect(issue!.message).toMatch(expected);
    expect(error.message).toContain(`${path}: `);
  });

  it("reports every bad field at once", () => {
    const file = write("many.yaml", "hubId: a/b\nlog:\n  level: loud\nbogus: 1\n");
    expect(errorOf(() => loadConfig({ file, env: {} })).issues.map((i) => i.path).sort()).toEqual(["bogus", "hubId", "log.level"]);
  });

  it("names the file when it is missing, not YAML, not JSON, or not a mapping", () => {
    const missing = join(dir, "absent.yaml");
    expect(errorOf(() => loadConfig({ file: missing, env: {} })).message).toBe(`${missing}: cannot read the config file: no such file`);
    const badYaml = write("bad.yaml", "mqtt: [unclosed\n");
    expect(errorOf(() => loadConfig({ file: badYaml, env: {} })).message).toMatch(new RegExp(`^${badYaml}: expected valid YAML`));
    const badJson = write("bad.json", "{hubId: 1}");
    expect(errorOf(() => loadConfig({ file: badJson, env: {} })).message).toMatch(new RegExp(`^${badJson}: expected valid JSON`));
    const list = write("list.yaml", "- a\n- b\n");
    expect(errorOf(() => loadConfig({ file: list, env: {} })).message).toBe(`${list}: expected a mapping (key: value) at the top level`);
  });
});

describe("empty keys", () => {
  it("treats a key left empty in YAML as its default", () => {
    const file = write("empty-keys.yaml", "hubId:\ncloud:\n  # commandPublicKey: x\nmqtt:\n  topicPrefix:\n");
    const config = loadConfig({ file, env: {}, hostname: "h" });
    expect(config.hubId).toBe("hub-h");
    expect(config.mqtt.topicPrefix).toBe("lockbridge");
    expect(config.cloud).toEqual({ allowUnsignedCommands: false });
  });
});
