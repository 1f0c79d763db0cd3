/**
 * What a lock's refusal means for a door's status (issue 6: "a lock NAK -> failed with the
 * mapped reason") and which errors are worth retrying.
 */
import type { DoorReason } from "../../access/model.js";
import type { NakName } from "../../protocol/llp/constants.js";

/** Status reason for a NAK of PUT_CREDENTIAL / DELETE_CREDENTIAL. */
export function nakReason(nak: NakName | undefined): DoorReason {
  switch (nak) {
    case "MEMORY_FULL":
    case "SLOT_OUT_OF_RANGE":
      return "lock_memory_full";
    case "NOT_SUPPORTED":
    case "UNKNOWN_COMMAND":
      return "not_supported";
    default:
      return "lock_rejected";
  }
}

/**
 * NAKs that say "not now" rather than "no": BUSY (firmware being applied), and
 * NOT_AUTHENTICATED (counter or key out of step: the engine re-checks pairing, then retries).
 */
export function isTransientNak(nak: NakName | undefined): boolean {
  return nak === "BUSY" || nak === "NOT_AUTHENTICATED";
}

/** The status reason of a slot's stored last error. */
export function failureReason(lastError: string): "lock_memory_full" | "not_supported" | "lock_rejected" {
  return lastError === "lock_memory_full" || lastError === "not_supported" ? lastError : "lock_rejected";
}
