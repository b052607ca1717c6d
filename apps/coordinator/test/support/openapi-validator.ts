import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/**
 * A small validator over GitHub's published OpenAPI description (`@octokit/openapi`): a request
 * must match an operation (method + path template), carry its required parameters with the
 * right types, and send a body its request schema accepts. Enough JSON Schema for GitHub's
 * request bodies: $ref, type (and nullable), enum, required, properties, additionalProperties,
 * items, min/maxItems, min/maxLength, oneOf/anyOf/allOf.
 */
type Schema = Record<string, unknown>;

interface Operation {
  operationId?: string;
  parameters?: Schema[];
  requestBody?: Schema;
}

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  operation: Operation;
  shared: Schema[];
}

export interface Match {
  operationId: string;
  template: string;
  params: Record<string, string>;
}

export class OpenApiValidator {
  private readonly routes: Route[] = [];

  constructor(private readonly spec: Schema) {
    const paths = spec.paths as Record<string, Record<string, unknown>>;
    for (const [template, item] of Object.entries(paths)) {
      const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? "");
      const source = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "([^/]+)");
      const pattern = new RegExp(`^${source}$`);
      for (const [method, operation] of Object.entries(item)) {
        if (method === "parameters") continue;
        this.routes.push({
          method: method.toUpperCase(),
          template,
          pattern,
          names,
          operation: operation as Operation,
          shared: (item.parameters as Schema[] | undefined) ?? [],
        });
      }
    }
    // literal segments win over parameters: fewer parameters first
    this.routes.sort((a, b) => a.names.length - b.names.length);
  }

  /** The description shipped in `@octokit/openapi` for the public API. */
  static github(): OpenApiValidator {
    const require = createRequire(import.meta.url);
    const file = require.resolve("@octokit/openapi/generated/api.github.com.json");
    return new OpenApiValidator(JSON.parse(readFileSync(file, "utf8")) as Schema);
  }

  /** The operation a request is, or a list of what is wrong with it. */
  check(method: string, url: URL, body: unknown): { match?: Match; errors: string[] } {
    const route = this.routes.find((r) => r.method === method && r.pattern.test(url.pathname));
    if (!route) return { errors: [`${method} ${url.pathname} is no operation of the GitHub REST API`] };
    const values = route.pattern.exec(url.pathname)?.slice(1) ?? [];
    const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(values[i] ?? "")]));
    const errors: string[] = [];
    for (const raw of [...route.shared, ...(route.operation.parameters ?? [])]) {
      const param = this.deref(raw);
      const name = String(param.name);
      const value = param.in === "path" ? params[name] : param.in === "query" ? url.searchParams.get(name) : undefined;
      if (param.in !== "path" && param.in !== "query") continue;
      if (value === undefined || value === null) {
        if (param.required) errors.push(`${param.in} parameter ${name} is required`);
        continue;
      }
      const schema = this.deref((param.schema as Schema | undefined) ?? {});
      const type = schema.type;
      if (type === "integer" && !/^-?\d+$/.test(value)) errors.push(`${param.in} parameter ${name} must be an integer`);
      if (Array.isArray(schema.enum) && !schema.enum.includes(value))
        errors.push(`${param.in} parameter ${name} must be one of ${schema.enum.join(", ")}`);
    }
    const requestBody = route.operation.requestBody ? this.deref(route.operation.requestBody) : undefined;
    if (requestBody) {
      const content = requestBody.content as Record<string, { schema?: Schema }> | undefined;
      const schema = content?.["application/json"]?.schema;
      if (body === undefined) {
        if (requestBody.required) errors.push("a request body is required");
      } else if (schema) errors.push(...this.validate(schema, body, "body"));
    } else if (body !== undefined && method !== "GET" && method !== "DELETE") {
      errors.push("this operation takes no request body");
    }
    return {
      match: { operationId: route.operation.operationId ?? "", template: route.template, params },
      errors,
    };
  }

  private deref(schema: Schema): Schema {
    let current = schema;
    for (let depth = 0; typeof current.$ref === "string" && depth < 20; depth++) {
      const path = (current.$ref as string).replace(/^#\//, "").split("/");
      let node: unknown = this.spec;
      for (const part of path) node = (node as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
      current = node as Schema;
    }
    return current;
  }

  /** The errors of `value` against `schema` (empty: valid). */
  validate(raw: Schema, value: unknown, at: string): string[] {
    const schema = this.deref(raw);
    if (value === null && schema.nullable === true) return [];
    for (const key of ["oneOf", "anyOf"] as const) {
      const options = schema[key] as Schema[] | undefined;
      if (options && !options.some((option) => this.validate(option, value, at).length === 0))
        return [`${at} matches none of the ${key} alternatives`];
    }
    const all = schema.allOf as Schema[] | undefined;
    if (all) {
      const errors = all.flatMap((part) => this.validate(part, value, at));
      if (errors.length) return errors;
    }
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : schema.type ? [schema.type as string] : [];
    if (types.length && !types.some((type) => isType(type, value)))
      return [`${at} must be ${types.join(" or ")}, got ${value === null ? "null" : typeof value}`];
    if (Array.isArray(schema.enum) && !schema.enum.includes(value as never))
      return [`${at} must be one of ${schema.enum.map(String).join(", ")}`];
    const errors: string[] = [];
    if (typeof value === "string") {
      if (typeof schema.maxLength === "number" && value.length > schema.maxLength) errors.push(`${at} is too long`);
      if (typeof schema.minLength === "number" && value.length < schema.minLength) errors.push(`${at} is too short`);
    }
    if (Array.isArray(value)) {
      if (typeof schema.minItems === "number" && value.length < schema.minItems) errors.push(`${at} has too few items`);
      if (typeof schema.maxItems === "number" && value.length > schema.maxItems)
        errors.push(`${at} has too many items`);
      const items = schema.items as Schema | undefined;
      if (items) for (const [i, item] of value.entries()) errors.push(...this.validate(items, item, `${at}[${i}]`));
    }
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
      for (const name of (schema.required as string[] | undefined) ?? [])
        if (!(name in record)) errors.push(`${at}.${name} is required`);
      for (const [name, item] of Object.entries(record)) {
        const property = properties[name];
        if (property) errors.push(...this.validate(property, item, `${at}.${name}`));
        else if (schema.additionalProperties === false) errors.push(`${at}.${name} is not a known property`);
      }
    }
    return errors;
  }
}

function isType(type: string, value: unknown): boolean {
  switch (type) {
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "null":
      return value === null;
    default:
      return typeof value === type;
  }
}
