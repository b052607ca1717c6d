import type { Factory, FactoryHealth, FactoryLoad, RegisterInput } from "@gigafactory/schema";
import { ConflictError, ForbiddenError, NotFoundError } from "../../errors.js";
import { ExpiringLru } from "../auth/token-cache.js";
import type { Principal } from "../auth/tokens.js";
import type { TokensRepository } from "../auth/tokens.repository.js";
import type { Notifier } from "../events/notifier.js";
import { FactoriesRepository, type FactoryBinding, bindingOf } from "./factories.repository.js";

/**
 * How long a factory's binding (its token, whether it was revoked) is trusted without asking the
 * database, in ms: the delay before an admin's `revokeFactory` takes effect on coordinators other
 * than the one it was called on. A refusal always re-reads, so a new binding is seen at once.
 * @defaultValue 5_000
 */
export const FACTORY_BINDING_CACHE_TTL_MS = 5_000;

/**
 * Most factory bindings remembered at once (least recently used out first).
 * @defaultValue 10_000
 */
export const FACTORY_BINDING_CACHE_MAX_ENTRIES = 10_000;

/** Who is calling: the product and the id of the caller's token. */
type Caller = Pick<Principal, "productId" | "tokenId">;

export class FactoriesService {
  /** Bindings as last read, by factory key; only bindings that exist are cached. */
  private readonly bindings = new ExpiringLru<FactoryBinding>({ maxEntries: FACTORY_BINDING_CACHE_MAX_ENTRIES });
  /** Factory documents as the claim path last saw them, by factory key (see {@link forClaim}). */
  private readonly docs = new ExpiringLru<Factory>({ maxEntries: FACTORY_BINDING_CACHE_MAX_ENTRIES });
  private readonly claimCacheMs: number;

  constructor(
    private readonly repository: FactoriesRepository,
    private readonly notifier: Notifier,
    private readonly tokens: Pick<TokensRepository, "findActive">,
    /** `claimCacheMs`: `caches.claimFactoryMs` in options.ts; 0 turns the claim's cache off. */
    opts: { claimCacheMs?: number } = {},
  ) {
    this.claimCacheMs = opts.claimCacheMs ?? 0;
  }

  /**
   * The factory as a claim needs it (state, seats, capabilities, engines), without a read per
   * claim: remembered for `claimCacheMs`. Every write this coordinator makes to the factory
   * (register, drain, revoke, a heartbeat, the reaper marking it gone) replaces or drops the
   * entry, so a factory drained here cannot claim here after the drain returns; a write made
   * through another coordinator is seen within `claimCacheMs`. An unknown factory is not
   * remembered (a register elsewhere is seen at once).
   */
  async forClaim(productId: string, factoryId: string): Promise<Factory | null> {
    const key = FactoriesRepository.key(productId, factoryId);
    const cached = this.docs.get(key);
    if (cached) return cached.value;
    const factory = await this.repository.find(productId, factoryId);
    // a write of ours that landed while this read was out is newer: keep it
    if (factory && this.claimCacheMs > 0 && !this.docs.get(key)) this.docs.set(key, factory, this.claimCacheMs);
    return factory;
  }

  /**
   * Registers (or re-registers) a factory and binds it to the caller's token. An id bound to
   * another token is refused unless that token was revoked, or an admin revoked the factory; a
   * factory an admin revoked cannot be taken back by the token it was revoked from.
   */
  async register(caller: Caller, input: RegisterInput): Promise<Factory> {
    const { productId, tokenId } = caller;
    const previous = bindingOf(await this.repository.find(productId, input.factoryId));
    if (previous.tokenId === tokenId && previous.revoked)
      throw new ForbiddenError(`factory ${input.factoryId} was revoked by an admin; register it with another token`);
    if (previous.tokenId !== undefined && previous.tokenId !== tokenId && !previous.revoked) {
      if (await this.tokens.findActive(previous.tokenId))
        throw new ForbiddenError(`factory ${input.factoryId} is registered by another token`);
    }
    const factory = await this.repository.register(productId, input, tokenId, previous, new Date());
    if (!factory) throw new ConflictError(`factory ${input.factoryId} was registered by another call meanwhile`);
    this.remember(factory);
    return factory;
  }

  /**
   * Refuses (FORBIDDEN) a caller whose token is not the one bound to `factoryId`, or any caller
   * once an admin revoked the factory. An unknown factory passes: the procedure answers NOT_FOUND
   * (or nothing) itself. A factory registered before bindings existed (no token) passes too,
   * until its next register binds it. Cached: the hot path adds no query.
   */
  async authorize(caller: Caller, factoryId: string): Promise<void> {
    const key = FactoriesRepository.key(caller.productId, factoryId);
    const cached = this.bindings.get(key)?.value;
    if (cached && allows(cached, caller.tokenId)) return;
    // a miss or a refusal: read again, so a binding changed on another coordinator is seen
    const fresh = this.remember(await this.repository.find(caller.productId, factoryId), { read: true });
    if (!allows(fresh, caller.tokenId))
      throw new ForbiddenError(
        fresh.revoked
          ? `factory ${factoryId} was revoked by an admin`
          : `factory ${factoryId} is registered by another token`,
      );
  }

  /** A heartbeat keeps a draining factory draining and brings a `gone` one back. */
  async heartbeat(productId: string, factoryId: string, load: FactoryLoad, health: FactoryHealth): Promise<Factory> {
    const factory = await this.repository.heartbeat(productId, factoryId, load, health, new Date());
    // dropped, not replaced: this answer may be older than a drain's that arrived before it
    this.docs.delete(FactoriesRepository.key(productId, factoryId));
    if (!factory) throw new NotFoundError("factory", factoryId);
    if (factory.state === "gone") {
      const revived = await this.repository.setState(productId, factoryId, "active");
      this.docs.delete(FactoriesRepository.key(productId, factoryId));
      return revived ?? factory;
    }
    return factory;
  }

  async drain(productId: string, factoryId: string): Promise<Factory> {
    const factory = await this.repository.setState(productId, factoryId, "draining");
    if (!factory) throw new NotFoundError("factory", factoryId);
    this.remember(factory);
    this.notifier.drain(productId, factoryId);
    return factory;
  }

  /**
   * An admin's revocation: the factory is `gone` and no token may act as it (its leases lapse and
   * are reaped) until a different token registers the id again. Takes effect at once on this
   * coordinator, within {@link FACTORY_BINDING_CACHE_TTL_MS} on the others.
   */
  async revoke(productId: string, factoryId: string): Promise<Factory> {
    const factory = await this.repository.revoke(productId, factoryId, new Date());
    if (!factory) throw new NotFoundError("factory", factoryId);
    this.remember(factory);
    this.notifier.drain(productId, factoryId);
    return factory;
  }

  /**
   * The reaper's pass: factories whose heartbeat stopped become `gone`. Which ones is not known
   * here, so when any did every claim-cached factory is dropped.
   */
  async markGone(before: Date): Promise<number> {
    const marked = await this.repository.markGone(before);
    if (marked > 0) this.docs.clear();
    return marked;
  }

  list(productId: string): Promise<Factory[]> {
    return this.repository.list(productId);
  }

  find(productId: string, factoryId: string): Promise<Factory | null> {
    return this.repository.find(productId, factoryId);
  }

  /** `read`: a plain read, which must not replace the claim's entry (a write's may be newer). */
  private remember(factory: Factory | null, opts: { read?: boolean } = {}): FactoryBinding {
    const binding = bindingOf(factory);
    if (factory) {
      const key = FactoriesRepository.key(factory.productId, factory.factoryId);
      if (this.claimCacheMs > 0 && !(opts.read && this.docs.get(key))) this.docs.set(key, factory, this.claimCacheMs);
      else if (this.claimCacheMs <= 0) this.docs.delete(key);
      this.bindings.set(
        FactoriesRepository.key(factory.productId, factory.factoryId),
        binding,
        FACTORY_BINDING_CACHE_TTL_MS,
      );
    }
    return binding;
  }
}

/** Whether `tokenId` may act as the factory bound by `binding`. */
function allows(binding: FactoryBinding, tokenId: string): boolean {
  if (!binding.exists) return true;
  if (binding.revoked) return false;
  return binding.tokenId === undefined || binding.tokenId === tokenId;
}
