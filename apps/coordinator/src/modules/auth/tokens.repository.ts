import type { Token } from "@gigafactory/schema";
import type { Collections } from "../../db/collections.js";

/** The `tokens` collection, keyed by the token's sha-256; revoked tokens stay, marked `revokedAt`. */
export class TokensRepository {
  constructor(private readonly cols: Collections) {}

  insert(token: Token): Promise<unknown> {
    return this.cols.tokens.insertOne(token);
  }

  /** The token with this hash unless it was revoked. */
  findActive(id: string): Promise<Token | null> {
    return this.cols.tokens.findOne({ _id: id, revokedAt: { $exists: false } });
  }

  list(productId: string, limit: number): Promise<Token[]> {
    return this.cols.tokens.find({ productId }).sort({ createdAt: 1 }).limit(limit).toArray();
  }

  /** Marks the product's token revoked; null when the product has no such token. */
  revoke(productId: string, tokenId: string, now: Date): Promise<Token | null> {
    return this.cols.tokens.findOneAndUpdate(
      { _id: tokenId, productId },
      { $set: { revokedAt: now } },
      { returnDocument: "after" },
    );
  }

  async hasActiveAdmin(): Promise<boolean> {
    return (await this.cols.tokens.countDocuments({ role: "admin", revokedAt: { $exists: false } }, { limit: 1 })) > 0;
  }
}
