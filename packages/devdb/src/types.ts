/** Which kind of MongoDB a {@link MongoHandle} points at. */
export type MongoBackend = "external" | "mongod" | "stand-in";

/**
 * Which step of the launcher's ladder gave the MongoDB: `GF_MONGO_URL` (option `url`), a `mongod`
 * named by `GF_MONGOD_BINARY` or found on `PATH`, one from mongodb-memory-server's download and
 * cache, or the Java stand-in.
 */
export type MongoSource = "url" | "mongod-binary" | "path" | "mongodb-memory-server" | "stand-in";

/**
 * The subset of a pino logger the launcher uses, so the app's root logger (or
 * `logger.child({ module: 'mongo' })`) can be passed as is.
 */
export interface MongoLauncherLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  debug(obj: Record<string, unknown>, msg: string): void;
}

/** A running (or external) MongoDB that the caller owns until `stop()`. */
export interface MongoHandle {
  /** Connection string for the `mongodb` driver. */
  readonly url: string;
  readonly backend: MongoBackend;
  /** OS pid of the server process we started; `undefined` for `external`. */
  readonly pid: number | undefined;
  /** The ladder step that gave this MongoDB (set by {@link startMongo}). */
  readonly source?: MongoSource;
  /** Why each earlier step of the ladder was skipped, one line each, in order (set by {@link startMongo}). */
  readonly skipped?: readonly string[];
  /** One line for logs and CLIs, e.g. `stand-in mongodb://127.0.0.1:40123 (pid 812)`. */
  describe(): string;
  /** Stops the process we started (no-op for `external`). Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@link startMongo}; every field is optional. */
export interface StartMongoOptions {
  /**
   * An existing MongoDB to use as is (the app's `GF_MONGO_URL`). When set,
   * nothing is started.
   * @default undefined
   */
  url?: string | undefined;
  /**
   * Which local backend to start when `url` is not set: `auto` tries a real
   * `mongod` first, then the Java stand-in.
   * @default 'auto'
   */
  backend?: "auto" | "mongod" | "stand-in" | undefined;
  /**
   * Path to a `mongod` binary (the app's `GF_MONGOD_BINARY`). When unset,
   * `mongod` is looked up on `PATH`.
   * @default undefined
   */
  mongodBinary?: string | undefined;
  /**
   * Whether the ladder may use mongodb-memory-server's cache and download (after `mongod` on PATH,
   * before the stand-in). Its `MONGOMS_*` variables are read from `process.env`, as the library does.
   * @default true
   */
  download?: boolean | undefined;
  /**
   * How long the download host may take to accept a TCP connection before the download step is
   * skipped (no network), in ms.
   * @default 3000
   */
  downloadProbeMs?: number | undefined;
  /**
   * Maximum Java heap of the stand-in, in MiB (`-Xmx`).
   * @default 256
   */
  heapMb?: number | undefined;
  /**
   * Where built stand-in jars are cached, one folder per hash of its sources.
   * @default '<devdb package>/node_modules/.cache/gigafactory-stand-in', or when that package is not
   * writable (installed globally by root) '~/.cache/gigafactory/stand-in'
   */
  cacheDir?: string | undefined;
  /**
   * The `java` executable that runs the stand-in.
   * @default 'java'
   */
  javaBinary?: string | undefined;
  /**
   * How long to wait for the server to accept connections, in ms. Does not
   * include a first Maven build of the stand-in.
   * @default 30000
   */
  readyTimeoutMs?: number | undefined;
  /**
   * Receives which backend was chosen and why others were skipped.
   * @default a logger that drops everything
   */
  logger?: MongoLauncherLogger | undefined;
}
