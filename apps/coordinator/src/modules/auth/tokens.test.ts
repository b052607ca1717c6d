import { randomBytes } from "node:crypto";
import type { Token } from "@gigafactory/schema";
import { describe, expect, it } from "vitest";
import type { TokensRepository } from "./tokens.repository.js";
import { TOKEN_CACHE_NEGATIVE_TTL_MS, TOKEN_CACHE_TTL_MS, TokensService, hashToken } from "./tokens.js";

/** The tokens collection in memory, shared by "coordinators" (services) like the real one. */
class MemoryTokens {
  readonly docs = new Map<string, Token>();
  async insert(token: Token): Promise<void> {
    this.docs.set(token._id, token);
  }
  async findActive(id: string): Promise<Token | null> {
    const doc = this.docs.get(id);
    return doc && !doc.revokedAt ? doc : null;
  }
  async revoke(productId: string, tokenId: string, now: Date): Promise<Token | null> {
    const doc = this.docs.get(tokenId);
    if (!doc || doc.productId !== productId) return null;
    doc.revokedAt = now;
    return doc;
  }
  asRepository(): TokensRepository {
    return this as unknown as TokensRepository;
  }
}

function clock() {
  let now = 1_000_000;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const randomToken = () => `gf_service_${randomBytes(32).toString("base64url")}`;

describe("TokensService cache", () => {
  it("after N + k distinct bad tokens holds at most N entries", async () => {
    const service = new TokensService(new MemoryTokens().asRepository(), { maxEntries: 100 });
    for (let i = 0; i < 150; i++) expect(await service.verify(randomToken())).toBeNull();
    expect(service.cachedCount).toBeLessThanOrEqual(100);
    expect(service.cachedCount).toBeGreaterThan(0);
  });

  it("a valid token survives a flood of bad ones and is still recognised", async () => {
    const repo = new MemoryTokens();
    const service = new TokensService(repo.asRepository(), { maxEntries: 10 });
    const { token } = await service.create("service", "acme");
    for (let i = 0; i < 50; i++) await service.verify(randomToken());
    expect(service.cachedCount).toBeLessThanOrEqual(10);
    expect(await service.verify(token)).toMatchObject({ role: "service", productId: "acme" });
  });

  it("remembers a refusal only briefly: a token created elsewhere works once the negative entry expires", async () => {
    const repo = new MemoryTokens();
    const time = clock();
    const here = new TokensService(repo.asRepository(), { now: time.now });
    const elsewhere = new TokensService(repo.asRepository(), { now: time.now });
    const token = randomToken();
    expect(await here.verify(token)).toBeNull();
    // another coordinator stores exactly this token
    await repo.insert({ _id: hashToken(token), role: "service", productId: "acme", createdAt: new Date() });
    expect(await elsewhere.verify(token)).toMatchObject({ productId: "acme" });
    expect(await here.verify(token)).toBeNull(); // the refusal is still remembered ...
    time.advance(TOKEN_CACHE_NEGATIVE_TTL_MS);
    expect(await here.verify(token)).toMatchObject({ productId: "acme" }); // ... but not for long
    expect(TOKEN_CACHE_NEGATIVE_TTL_MS).toBeLessThan(TOKEN_CACHE_TTL_MS);
  });

  it("a token revoked on another coordinator is not served from this one's cache past its TTL", async () => {
    const repo = new MemoryTokens();
    const time = clock();
    const here = new TokensService(repo.asRepository(), { now: time.now });
    const elsewhere = new TokensService(repo.asRepository(), { now: time.now });
    const { token } = await here.create("factory", "acme");
    expect(await here.verify(token)).toMatchObject({ role: "factory" });
    await elsewhere.revoke("acme", hashToken(token));
    // the revoking coordinator refuses at once
    expect(await elsewhere.verify(token)).toBeNull();
    // this one trusts its cache until the TTL, as before ...
    time.advance(TOKEN_CACHE_TTL_MS - 1);
    expect(await here.verify(token)).toMatchObject({ role: "factory" });
    // ... and not a moment longer
    time.advance(1);
    expect(await here.verify(token)).toBeNull();
  });

  it("revoking on this coordinator takes effect at once", async () => {
    const service = new TokensService(new MemoryTokens().asRepository());
    const { token } = await service.create("service", "acme");
    expect(await service.verify(token)).not.toBeNull();
    await service.revoke("acme", hashToken(token));
    expect(await service.verify(token)).toBeNull();
  });
});
