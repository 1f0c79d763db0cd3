/**
 * What the cloud sync checks before it connects (issue 9, mqtt-api.md v1.1 §3):
 * - no command key on a broker other than the embedded demo one: refuse to start, unless
 *   the configuration says `cloud.allowUnsignedCommands: true` (then a warning every start);
 * - TLS certificate checks turned off, or a password sent in clear to a host that is not
 *   this machine: a warning every start (the hub still runs: the installer decides).
 */
import { LockBridgeError } from "../shared/errors.js";

export interface SecurityFacts {
  url: string;
  /** The hub runs its own loopback-only demo broker. */
  embeddedBroker: boolean;
  hasCommandKey: boolean;
  allowUnsignedCommands: boolean;
  password?: string | undefined;
  rejectUnauthorized?: boolean | undefined;
}

export interface StartupWarning {
  reason: "unsigned_commands_allowed" | "tls_not_verified" | "password_in_clear";
  message: string;
}

/** Throws config_invalid when the hub must not start; returns the warnings to log otherwise. */
export function checkCloudSecurity(f: SecurityFacts): StartupWarning[] {
  const warnings: StartupWarning[] = [];
  if (!f.hasCommandKey && !f.embeddedBroker) {
    if (!f.allowUnsignedCommands) {
      throw new LockBridgeError(
        "config_invalid",
        "no cloud command key (cloud.commandPublicKey): any client of the broker could unlock doors and hand out keys. " +
          "Configure the cloud's Ed25519 public key, or set cloud.allowUnsignedCommands: true (LOCKBRIDGE_CLOUD_ALLOW_UNSIGNED_COMMANDS=true) to accept unsigned commands knowingly",
        "cloud.commandPublicKey",
      );
    }
    warnings.push({
      reason: "unsigned_commands_allowed",
      message: "cloud.allowUnsignedCommands is true and no command key is set: every client of the broker can send commands, door.unlock included",
    });
  }
  if (f.rejectUnauthorized === false) {
    warnings.push({ reason: "tls_not_verified", message: "mqtt.tls.rejectUnauthorized is false: the broker's certificate is not checked, anyone on the network path can pose as the broker" });
  }
  const url = safeUrl(f.url);
  if (f.password !== undefined && url && (url.protocol === "mqtt:" || url.protocol === "ws:") && !isLoopbackHost(url.hostname)) {
    warnings.push({ reason: "password_in_clear", message: `the MQTT password is sent unencrypted over ${url.protocol}// to ${url.hostname}: use mqtts:// or wss://` });
  }
  return warnings;
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** localhost, 127.0.0.0/8, ::1 (as URL.hostname writes them). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::ffff:127.0.0.1";
}
