import { z } from "zod";

/** The rails that applied to a job when it was created: recorded on it, shown by `gf job`. */
export const AppliedRails = z.object({
  policyVersion: z.number().int().positive(),
  /** Guard rules the job was checked against (`engines`, `repos`, `maxTimeoutMs`, …). */
  checked: z.array(z.string()),
  /** Quality rails (mandatory gate names) whose verify commands were added. */
  gates: z.array(z.string()),
});
export type AppliedRails = z.infer<typeof AppliedRails>;
