import { type AppliedRails, type JobCreate, type Policy, PolicyInput } from "@gigafactory/schema";
import { ForbiddenError } from "../../errors.js";
import { applyRails } from "./policy-rules.js";
import type { PolicyRepository } from "./policy.repository.js";

/** The product's guard and quality rails: set by admins, applied to every job before it is stored. */
export class PolicyService {
  constructor(private readonly policies: PolicyRepository) {}

  set(productId: string, input: PolicyInput): Promise<Policy> {
    return this.policies.replace({ ...PolicyInput.parse(input), productId, updatedAt: new Date() });
  }

  /** The product's policy; a product without one has no rails (version 0 is never stored). */
  async show(productId: string): Promise<Policy | null> {
    return this.policies.find(productId);
  }

  /** Products whose tracker jobs echo their stages automatically. */
  autoEchoProducts(): Promise<string[]> {
    return this.policies.autoEchoProducts();
  }

  /**
   * The job input with the mandatory gates added and the rails that applied, or a
   * `ForbiddenError` naming the rule the job broke. Writes nothing.
   */
  async apply(
    productId: string,
    input: JobCreate,
    labels: readonly string[] = [],
  ): Promise<{ input: JobCreate; rails: AppliedRails | undefined }> {
    const policy = await this.policies.find(productId);
    if (!policy) return { input, rails: undefined };
    const decision = applyRails(policy, input, labels);
    if (!decision.ok)
      throw new ForbiddenError(`refused by policy rule ${decision.refusal.rule}: ${decision.refusal.message}`);
    return { input: { ...input, verify: decision.verify }, rails: decision.rails };
  }
}
