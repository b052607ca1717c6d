import type { AppliedRails, JobCreate, Policy } from "@gigafactory/schema";

/** A guard rail a job broke: the rule's name (as in the policy) and why. */
export interface Refusal {
  rule: string;
  message: string;
}

export type RailsDecision = { ok: true; verify: string[]; rails: AppliedRails } | { ok: false; refusal: Refusal };

/** `*` matches any run of characters; everything else is literal. */
export function matchesPattern(pattern: string, value: string): boolean {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`).test(value);
}

/** The cost a job asks to be allowed (`manifest.maxCostUsd`), if it names one. */
function askedCost(input: JobCreate): number | undefined {
  const manifest = input.manifest;
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) return undefined;
  const cost = (manifest as Record<string, unknown>).maxCostUsd;
  return typeof cost === "number" ? cost : undefined;
}

/**
 * The product's rails for one job about to be created (seed 002): guard rails refuse what the
 * policy does not allow (the first rule broken is named), quality rails add the verify gates of
 * every mandatory gate whose repo patterns or labels match. Pure: the caller writes nothing when
 * the answer is a refusal. `labels` are the tracker item's labels (none for a plain create).
 */
export function applyRails(policy: Policy, input: JobCreate, labels: readonly string[]): RailsDecision {
  const checked: string[] = [];
  const refuse = (rule: string, message: string): RailsDecision => ({ ok: false, refusal: { rule, message } });
  if (policy.engines) {
    checked.push("engines");
    if (!policy.engines.includes(input.engine))
      return refuse(
        "engines",
        `engine ${input.engine} is not allowed (allowed: ${policy.engines.join(", ") || "none"})`,
      );
  }
  if (policy.capabilities) {
    checked.push("capabilities");
    const allowed = policy.capabilities;
    const extra = input.capabilities.filter((capability) => !allowed.includes(capability));
    if (extra.length) return refuse("capabilities", `capabilities not allowed: ${extra.join(", ")}`);
  }
  if (policy.repos) {
    checked.push("repos");
    const repo = input.repo;
    if (repo !== undefined && !policy.repos.some((pattern) => matchesPattern(pattern, repo)))
      return refuse("repos", `repository ${repo} matches none of ${policy.repos.join(", ")}`);
  }
  if (policy.maxTimeoutMs !== undefined) {
    checked.push("maxTimeoutMs");
    if (input.timeoutMs !== undefined && input.timeoutMs > policy.maxTimeoutMs)
      return refuse("maxTimeoutMs", `timeout ${input.timeoutMs} ms is over the limit of ${policy.maxTimeoutMs} ms`);
  }
  if (policy.maxAttempts !== undefined) {
    checked.push("maxAttempts");
    if (input.maxAttempts !== undefined && input.maxAttempts > policy.maxAttempts)
      return refuse("maxAttempts", `maxAttempts ${input.maxAttempts} is over the limit of ${policy.maxAttempts}`);
  }
  if (policy.maxCostUsd !== undefined) {
    checked.push("maxCostUsd");
    const cost = askedCost(input);
    if (cost !== undefined && cost > policy.maxCostUsd)
      return refuse("maxCostUsd", `a cost of ${cost} USD is over the limit of ${policy.maxCostUsd} USD`);
  }
  const verify = [...input.verify];
  const gates: string[] = [];
  for (const gate of policy.gates) {
    const repo = input.repo;
    const byRepo = repo !== undefined && gate.repos.some((pattern) => matchesPattern(pattern, repo));
    const byLabel = gate.labels.some((label) => labels.includes(label));
    if (!byRepo && !byLabel) continue;
    gates.push(gate.name);
    for (const command of gate.verify) if (!verify.includes(command)) verify.push(command);
  }
  return { ok: true, verify, rails: { policyVersion: policy.version, checked, gates } };
}
