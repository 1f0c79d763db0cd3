/** The effective config as shown to people (config check, startup log): secrets hidden. */
import { REDACTED } from "../shared/logger.js";
import type { Config } from "./schema.js";

export function redactConfig(config: Config): Config {
  return {
    ...config,
    mqtt: {
      ...config.mqtt,
      ...(config.mqtt.url !== undefined && { url: displayUrl(config.mqtt.url) }),
      ...(config.mqtt.password !== undefined && { password: REDACTED }),
    },
  };
}

/** A broker URL without its password, for logs. */
export function displayUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password === "") return url;
  parsed.password = "x";
  return parsed.toString().replace(":x@", `:${REDACTED}@`);
}

/** The broker the hub connects to: the configured one, or its embedded broker. */
export function brokerUrl(config: Config, embeddedPort?: number): string {
  return config.mqtt.url ?? `mqtt://127.0.0.1:${embeddedPort ?? config.mqtt.embedded.port}`;
}
