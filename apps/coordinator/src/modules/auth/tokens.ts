import { createHash, randomBytes } from "node:crypto";
import type { Role, Token, TokenInfo } from "@gigafactory/schema";
import { NotFoundError } from "../../errors.js";
import type { TokensRepository } from "./tokens.repository.js";

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
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private readonly tokens: TokensRepository,
    /** How long a looked-up token is trusted without asking the database (revocation delay). */
    private readonly cacheMs = 10_000,
  ) {}

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
    if (cached && cached.until > Date.now()) return cached.principal;
    const doc = await this.tokens.findActive(id);
    const principal = doc ? { role: doc.role, productId: doc.productId, tokenId: id } : null;
    this.cache.set(id, { principal, until: Date.now() + this.cacheMs });
    return principal;
  }

  async list(productId: string): Promise<TokenInfo[]> {
    const docs = await this.tokens.list(productId, 1_000);
    return docs.map(({ _id, ...doc }) => ({ tokenId: _id, ...doc }));
  }

  /** Takes effect at once on this coordinator, within the cache time (`cacheMs`) on the others. */
  async revoke(productId: string, tokenId: string): Promise<TokenInfo> {
    const doc = await this.tokens.revoke(productId, tokenId, new Date());
    if (!doc) throw new NotFoundError("token", tokenId);
    this.cache.delete(tokenId);
    const { _id, ...rest } = doc;
    return { tokenId: _id, ...rest };
  }

  async hasAdmin(): Promise<boolean> {
    return this.tokens.hasActiveAdmin();
  }
}
