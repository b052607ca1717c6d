import { createHash, randomBytes } from "node:crypto";
import type { Role, Token, TokenInfo } from "@gigafactory/schema";
import { NotFoundError } from "../../errors.js";
import { ExpiringLru } from "./token-cache.js";
import type { TokensRepository } from "./tokens.repository.js";

/**
 * How long a valid token is trusted without asking the database, in ms: the revocation delay on
 * coordinators other than the one that revoked it.
 * @defaultValue 10_000
 */
export const TOKEN_CACHE_TTL_MS = 10_000;

/**
 * How long an unknown or revoked token's refusal is remembered, in ms. Short: a token created on
 * another coordinator works here within this time, and a flood of random tokens leaves little behind.
 * @defaultValue 1_000
 */
export const TOKEN_CACHE_NEGATIVE_TTL_MS = 1_000;

/**
 * Most tokens remembered at once (valid and refused together; least recently used out first).
 * Bounds the cache's memory (about 2 MiB) whatever callers send.
 * @defaultValue 10_000
 */
export const TOKEN_CACHE_MAX_ENTRIES = 10_000;

export interface TokenCacheOptions {
  /** @defaultValue {@link TOKEN_CACHE_TTL_MS} */
  ttlMs?: number;
  /** @defaultValue {@link TOKEN_CACHE_NEGATIVE_TTL_MS} */
  negativeTtlMs?: number;
  /** @defaultValue {@link TOKEN_CACHE_MAX_ENTRIES} */
  maxEntries?: number;
  /** The clock, in ms; tests inject one. @defaultValue `Date.now` */
  now?: () => number;
}

export interface Principal {
  role: Role;
  productId: string;
  tokenId: string;
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it holds. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  return typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Bearer tokens: 32 random bytes, shown once; only the hash is stored. */
export class TokensService {
  /** Looked-up tokens by hash: the principal, or null for a refused token. */
  private readonly cache: ExpiringLru<Principal | null>;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly revokeListeners = new Set<(tokenId: string) => void>();

  constructor(
    private readonly tokens: TokensRepository,
    opts: TokenCacheOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? TOKEN_CACHE_TTL_MS;
    this.negativeTtlMs = opts.negativeTtlMs ?? TOKEN_CACHE_NEGATIVE_TTL_MS;
    this.cache = new ExpiringLru({
      maxEntries: opts.maxEntries ?? TOKEN_CACHE_MAX_ENTRIES,
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  /** How many looked-up tokens are remembered (at most `maxEntries`). */
  get cachedCount(): number {
    return this.cache.size;
  }

  async create(
    role: Role,
    productId: string,
    name?: string,
  ): Promise<{ token: string; role: Role; productId: string }> {
    const token = `gf_${role}_${randomBytes(32).toString("base64url")}`;
    const doc: Token = { _id: hashToken(token), role, productId, createdAt: new Date(), ...(name ? { name } : {}) };
    await this.tokens.insert(doc);
    return { token, role, productId };
  }

  async verify(token: string | undefined): Promise<Principal | null> {
    if (!token) return null;
    const id = hashToken(token);
    const cached = this.cache.get(id);
    if (cached) return cached.value;
    const doc = await this.tokens.findActive(id);
    const principal = doc ? { role: doc.role, productId: doc.productId, tokenId: id } : null;
    this.cache.set(id, principal, principal ? this.ttlMs : this.negativeTtlMs);
    return principal;
  }

  /**
   * Whether the token with this id (its hash) is still valid, asking the database (not the cache):
   * open WebSockets re-check theirs with it, so a revocation made elsewhere reaches them.
   */
  async isActive(tokenId: string): Promise<boolean> {
    const doc = await this.tokens.findActive(tokenId);
    if (!doc) this.cache.delete(tokenId);
    return doc !== null;
  }

  /** Calls `listener` with the id of each token revoked through this coordinator; returns the unsubscribe. */
  onRevoke(listener: (tokenId: string) => void): () => void {
    this.revokeListeners.add(listener);
    return () => this.revokeListeners.delete(listener);
  }

  async list(productId: string): Promise<TokenInfo[]> {
    const docs = await this.tokens.list(productId, 1_000);
    return docs.map(({ _id, ...doc }) => ({ tokenId: _id, ...doc }));
  }

  /**
   * Takes effect at once on this coordinator (its WebSockets opened with the token are closed),
   * within the cache time ({@link TOKEN_CACHE_TTL_MS}) on the others (their sockets re-check).
   */
  async revoke(productId: string, tokenId: string): Promise<TokenInfo> {
    const doc = await this.tokens.revoke(productId, tokenId, new Date());
    if (!doc) throw new NotFoundError("token", tokenId);
    this.cache.delete(tokenId);
    for (const listener of this.revokeListeners) listener(tokenId);
    const { _id, ...rest } = doc;
    return { tokenId: _id, ...rest };
  }

  async hasAdmin(): Promise<boolean> {
    return this.tokens.hasActiveAdmin();
  }
}
