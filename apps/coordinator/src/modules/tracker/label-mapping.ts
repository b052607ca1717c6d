import {
  Capability,
  EngineId,
  type JobCreateInput,
  Name,
  type TrackerItem,
  parseDuration,
  trackerIdempotencyKey,
} from "@gigafactory/schema";

/** Named priorities a label may carry (`priority:high`); a number (`priority:5`) is taken as it is. */
export const PRIORITY_NAMES: Readonly<Record<string, number>> = { urgent: 100, high: 10, normal: 0, low: -10 };

/** Labels the coordinator writes itself when it echoes (`gigafactory:done`): never read back as fields. */
export const ECHO_LABEL_PREFIX = "gigafactory:";

export type LabelFields = Pick<
  JobCreateInput,
  "engine" | "engineClass" | "profile" | "priority" | "capabilities" | "lock" | "timeoutMs"
>;

/** A label that names a field but whose value that field refuses. */
export interface LabelProblem {
  label: string;
  message: string;
}

/**
 * Job fields from an item's labels (seed 001's mapping): `engine:…`, `engine-class:…`,
 * `profile:…`, `priority:…`, `cap:…` (each one a capability), `lock:…`, `timeout:…`. Other
 * labels are the team's own and are ignored; a mapped label with a bad value is a problem,
 * reported rather than dropped, so an import never runs with a field its author did not mean.
 */
export function fieldsFromLabels(labels: readonly string[]): { fields: LabelFields; problems: LabelProblem[] } {
  const fields: LabelFields = {};
  const problems: LabelProblem[] = [];
  const capabilities = new Set<string>();
  for (const label of labels) {
    if (label.startsWith(ECHO_LABEL_PREFIX)) continue;
    const colon = label.indexOf(":");
    if (colon <= 0) continue;
    const key = label.slice(0, colon).trim().toLowerCase();
    const value = label.slice(colon + 1).trim();
    const bad = (message: string) => problems.push({ label, message });
    switch (key) {
      case "engine":
        if (EngineId.safeParse(value).success) fields.engine = value;
        else bad("not an engine id (lower-case letters, digits, . _ -)");
        break;
      case "engine-class":
        if (value.length > 0 && value.length <= 64) fields.engineClass = value;
        else bad("an engine class is 1 to 64 characters");
        break;
      case "profile":
        if (Name.safeParse(value).success) fields.profile = { name: value };
        else bad("not a profile name");
        break;
      case "priority": {
        const named = PRIORITY_NAMES[value.toLowerCase()];
        const number = /^-?\d{1,4}$/.test(value) ? Number(value) : undefined;
        const priority = named ?? number;
        if (priority !== undefined && priority >= -1_000 && priority <= 1_000) fields.priority = priority;
        else bad(`use ${Object.keys(PRIORITY_NAMES).join("|")} or a number from -1000 to 1000`);
        break;
      }
      case "cap":
        if (Capability.safeParse(value).success) capabilities.add(value);
        else bad("not a capability (a label like os:linux)");
        break;
      case "lock":
        if (Name.safeParse(value).success) fields.lock = value;
        else bad("not a lock name");
        break;
      case "timeout": {
        const ms = parseDuration(value);
        if (ms !== undefined && ms > 0) fields.timeoutMs = ms;
        else bad("not a duration (e.g. 30m, 2h)");
        break;
      }
    }
  }
  if (capabilities.size) fields.capabilities = [...capabilities].sort();
  return { fields, problems };
}

/**
 * The `jobs.create` input for an item: title and body verbatim, fields from its labels, the
 * item's reference on the job and an idempotency key derived from it.
 */
export function jobInputFromItem(item: TrackerItem): { input: JobCreateInput; problems: LabelProblem[] } {
  const { fields, problems } = fieldsFromLabels(item.labels);
  return {
    input: {
      ...fields,
      title: item.title.slice(0, 200),
      bodyMd: item.body,
      trackerItemId: item.ref,
      idempotencyKey: trackerIdempotencyKey(item.ref),
      manifest: { tracker: { ref: item.ref, labels: item.labels, ...(item.url ? { url: item.url } : {}) } },
    },
    problems,
  };
}
