/**
 * Firmware jobs as the local API shows them (`GET /api/firmware`, `lockbridge firmware
 * status`): read from the store, so they are right after a restart too. The schema is what
 * the CLI validates the API's answer with.
 */
import { z } from "zod";
import { FIRMWARE_LOCK_STATES, type FirmwareJobsRepo } from "../store/index.js";
import { formatInstant } from "../shared/instant.js";


export const firmwareJobViewSchema = z.object({
  jobId: z.string().max(200),
  version: z.string().max(200),
  size: z.number().int().min(0),
  createdAt: z.string().max(40),
  endedAt: z.string().max(40).nullable(),
  locks: z
    .array(
      z.object({
        lockId: z.string().max(64),
        state: z.enum(FIRMWARE_LOCK_STATES),
        percent: z.number().int().min(0).max(100),
        offset: z.number().int().min(0),
        reason: z.string().max(200).nullable(),
        message: z.string().max(2000).nullable(),
        updatedAt: z.string().max(40),
      }),
    )
    .max(1000),
});
export const firmwareJobsResponseSchema = z.object({ jobs: z.array(firmwareJobViewSchema).max(100) });
export type FirmwareJobView = z.infer<typeof firmwareJobViewSchema>;

/** The newest jobs first (running and the last ended ones), each lock's state and progress. */
export function firmwareJobViews(jobs: Pick<FirmwareJobsRepo, "recentJobs" | "locks">, limit = 20): FirmwareJobView[] {
  return jobs.recentJobs(limit).map((j) => ({
    jobId: j.jobId,
    version: j.version,
    size: j.size,
    createdAt: formatInstant(j.createdAt),
    endedAt: j.endedAt === null ? null : formatInstant(j.endedAt),
    locks: jobs.locks(j.jobId).map((l) => ({ lockId: l.lockId, state: l.state, percent: l.percent, offset: l.offset, reason: l.reason, message: l.message, updatedAt: formatInstant(l.updatedAt) })),
  }));
}
