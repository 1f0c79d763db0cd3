/**
 * One connection attempt to the configured broker, with the configured TLS material and
 * credentials, for `lockbridge doctor` and `config check --connect`. The failure is named in
 * an installer's words (wrong password, unknown CA...), with what to do about it.
 */
import { readFileSync } from "node:fs";
import mqtt from "mqtt";
import type { Config } from "../config/index.js";
import { errorMessage } from "../shared/errors.js";

export interface ProbeResult {
  ok: boolean;
  /** What happened, in plain words. */
  detail: string;
  /** What to do when it failed. */
  fix?: string;
}

export async function probeBroker(config: Config, timeoutMs = 5000): Promise<ProbeResult> {
  const { mqtt: m } = config;
  if (m.url === undefined) return { ok: true, detail: "embedded broker (inside the hub, 127.0.0.1): nothing to reach" };
  const read = (f: string | undefined) => (f === undefined ? undefined : readFileSync(f));
  let client: mqtt.MqttClient | undefined;
  try {
    client = await mqtt.connectAsync(
      m.url,
      {
        clientId: `${config.hubId}-doctor-${process.pid}`,
        protocolVersion: m.protocolVersion ?? 5,
        username: m.username,
        password: m.password,
        reconnectPeriod: 0,
        connectTimeout: timeoutMs,
        clean: true,
        ...(m.tls && { ca: read(m.tls.ca), cert: read(m.tls.cert), key: read(m.tls.key), rejectUnauthorized: m.tls.rejectUnauthorized }),
      },
      false,
    );
    return { ok: true, detail: `connected to ${safeUrl(m.url)}${m.username ? ` as ${m.username}` : ""}` };
  } catch (e) {
    return describeFailure(e, m.url);
  } finally {
    await client?.endAsync(true).catch(() => undefined);
  }
}

function describeFailure(e: unknown, url: string): ProbeResult {
  const text = errorMessage(e);
  const code = (e as { code?: string | number }).code;
  const where = safeUrl(url);
  if (/bad user ?name or password|not authori[sz]ed/i.test(text) || code === 4 || code === 5 || code === 134 || code === 135) {
    return { ok: false, detail: `${where} refused the user name or password (${text})`, fix: "set mqtt.username and LOCKBRIDGE_MQTT_PASSWORD to the credentials the broker has for this hub" };
  }
  if (code === "ECONNREFUSED") return { ok: false, detail: `nothing listens at ${where} (connection refused)`, fix: "check mqtt.url (host and port) and that the broker runs" };
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return { ok: false, detail: `cannot resolve the broker's host name in ${where}`, fix: "check mqtt.url and the hub's DNS (resolvectl status)" };
  if (/certificate|self[- ]signed|unable to verify|SSL|TLS|wrong version number/i.test(text)) {
    return { ok: false, detail: `TLS with ${where} failed: ${text}`, fix: "set mqtt.tls.ca to the CA that signed the broker's certificate (PEM); check the hub's clock" };
  }
  if (/timeout|timed out/i.test(text)) return { ok: false, detail: `no answer from ${where} in time`, fix: "check the network path to the broker (firewall, port) and mqtt.url" };
  return { ok: false, detail: `cannot connect to ${where}: ${text}`, fix: "check mqtt.url, the credentials and the TLS settings" };
}

function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "the broker";
  }
}
