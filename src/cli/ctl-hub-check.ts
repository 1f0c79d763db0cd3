/**
 * Before `ctl send` waits for an answer: is the addressed hub on this broker at all? Its
 * retained state says so. A wrong hub id fails at once, naming the hubs the broker knows,
 * instead of waiting out the timeout; an offline hub is named (the command waits for it).
 */
import type { CloudClient, CloudClientOptions } from "../cloud/index.js";

export async function hubAnswers(client: CloudClient, options: CloudClientOptions, err: NodeJS.WritableStream = process.stderr): Promise<boolean> {
  const seen = await client.hubsSeen();
  const target = seen.get(options.hubId);
  if (target === true) return true;
  if (target === false) {
    err.write(`lockbridge ctl: note: hub ${options.hubId} is offline (its last state on the broker); the command waits for it\n`);
    return true;
  }
  const others = [...seen.entries()].map(([id, online]) => `${id} (${online ? "online" : "offline"})`);
  err.write(
    `lockbridge ctl: no hub "${options.hubId}" on ${options.url}${others.length > 0 ? `: hubs seen: ${others.join(", ")}. Use --hub ID or LOCKBRIDGE_HUB_ID` : ": no hub has connected to this broker under this topic prefix (check --url, --prefix, and that the hub runs)"}\n`,
  );
  return false;
}
