import { z } from "zod";

/** Identifiers are opaque strings made by the coordinator; kept URL- and filename-safe. */
const idPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export const JobId = z.string().min(1).max(128).regex(idPattern, "must be letters, digits, . _ : -");
export type JobId = z.infer<typeof JobId>;

export const RunId = z.string().min(1).max(128).regex(idPattern, "must be letters, digits, . _ : -");
export type RunId = z.infer<typeof RunId>;

export const FactoryId = z.string().min(1).max(128).regex(idPattern, "must be letters, digits, . _ : -");
export type FactoryId = z.infer<typeof FactoryId>;

export const ProductId = z.string().min(1).max(64).regex(idPattern, "must be letters, digits, . _ : -");
export type ProductId = z.infer<typeof ProductId>;

/** Capabilities are free-form labels such as `os:linux` or `gpu`; a job needs all of its own. */
export const Capability = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/=-]*$/, "must be a label like os:linux");
export type Capability = z.infer<typeof Capability>;

/** Engine ids (`shell`, `claude-code`, `codex`, `aider`, or any other a factory offers). */
export const EngineId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, "must be lower-case letters, digits, . _ -");
export type EngineId = z.infer<typeof EngineId>;

/** Names for locks and profiles. */
export const Name = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/, "must be letters, digits, . _ : / @ -");

export const Epoch = z.number().int().nonnegative();

/**
 * A client-chosen id of one factory write (an event batch, a checkpoint, an artifact upload, a
 * claim): a retry with the same id gets the first try's answer instead of being applied twice.
 */
export const RequestId = z.string().uuid();
export type RequestId = z.infer<typeof RequestId>;

/** Free-form JSON-ish data carried by events and manifests. */
export const Json = z.record(z.string(), z.unknown());
export type Json = z.infer<typeof Json>;

/** The longest reason kept on a job or a run, in characters. */
export const REASON_MAX = 2_000;

/** Why a job or run ended, was released, cancelled or decided on, in words. */
export const Reason = z.string().max(REASON_MAX);
export type Reason = z.infer<typeof Reason>;

/** Log levels of the apps' loggers (pino's, plus `silent`). */
export const LogLevel = z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]);
export type LogLevel = z.infer<typeof LogLevel>;

export const Role = z.enum(["admin", "service", "factory"]);
export type Role = z.infer<typeof Role>;

/** A list given as an array or as a comma-separated string (`os:linux, gpu`), as job files and env vars write them. */
export const commaList = <T extends z.ZodType<string, string>>(item: T) =>
  z.preprocess(
    (value) =>
      typeof value === "string"
        ? value
            .split(",")
            .map((part) => part.trim())
            .filter(Boolean)
        : value,
    z.array(item),
  );
