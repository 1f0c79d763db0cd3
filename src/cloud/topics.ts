/** The contract's topic tree (mqtt-api.md §1): `{prefix}/v1/{hubId}/...`. */

export interface Topics {
  readonly base: string;
  readonly state: string;
  readonly cmd: string;
  readonly res: string;
  readonly evt: string;
  keyStatus(keyId: string): string;
  lockStatus(lockId: string): string;
  /** Wildcards for a subscriber (ctl watch). */
  readonly keyStatusAll: string;
  readonly lockStatusAll: string;
}

export function topicsFor(prefix: string, hubId: string): Topics {
  const base = `${prefix}/v1/${hubId}`;
  return {
    base,
    state: `${base}/state`,
    cmd: `${base}/cmd`,
    res: `${base}/res`,
    evt: `${base}/evt`,
    keyStatus: (keyId) => `${base}/status/keys/${topicSegment(keyId)}`,
    lockStatus: (lockId) => `${base}/status/locks/${topicSegment(lockId)}`,
    keyStatusAll: `${base}/status/keys/+`,
    lockStatusAll: `${base}/status/locks/+`,
  };
}

/**
 * Ids become topic segments; the command schemas already refuse '/', '+', '#' and NUL in
 * ids, so this only guards against a programming error publishing to the wrong topic.
 */
function topicSegment(id: string): string {
  if (!isTopicSafeId(id)) throw new RangeError(`id ${JSON.stringify(id)} cannot be an MQTT topic segment`);
  return id;
}

export const isTopicSafeId = (id: string): boolean => id.length > 0 && !id.includes("\0") && !/[/+#]/.test(id);

/**
 * An MQTT 5 response topic the hub will publish to: a concrete topic (no wildcards: they get
 * the hub disconnected) under the configured prefix, so a command cannot make the hub write
 * into another application's topics (issue 9).
 */
export function isAllowedResponseTopic(topic: string, prefix: string): boolean {
  return topic.startsWith(`${prefix}/`) && Buffer.byteLength(topic) <= 65_535 && !/[+#]/.test(topic) && !topic.includes("\0");
}
