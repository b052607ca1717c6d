import type { Factory, FactoryHealth, FactoryLoad, RegisterInput } from "@gigafactory/schema";
import { NotFoundError } from "../../errors.js";
import type { Notifier } from "../events/notifier.js";
import type { FactoriesRepository } from "./factories.repository.js";

export class FactoriesService {
  constructor(
    private readonly repository: FactoriesRepository,
    private readonly notifier: Notifier,
  ) {}

  async register(productId: string, input: RegisterInput): Promise<Factory> {
    const factory = await this.repository.upsert(productId, input, new Date());
    if (!factory) throw new Error(`register: upsert of factory ${input.factoryId} returned nothing`);
    return factory;
  }

  /** A heartbeat keeps a draining factory draining and brings a `gone` one back. */
  async heartbeat(productId: string, factoryId: string, load: FactoryLoad, health: FactoryHealth): Promise<Factory> {
    const factory = await this.repository.heartbeat(productId, factoryId, load, health, new Date());
    if (!factory) throw new NotFoundError("factory", factoryId);
    if (factory.state === "gone") return (await this.repository.setState(productId, factoryId, "active")) ?? factory;
    return factory;
  }

  async drain(productId: string, factoryId: string): Promise<Factory> {
    const factory = await this.repository.setState(productId, factoryId, "draining");
    if (!factory) throw new NotFoundError("factory", factoryId);
    this.notifier.drain(productId, factoryId);
    return factory;
  }

  list(productId: string): Promise<Factory[]> {
    return this.repository.list(productId);
  }

  find(productId: string, factoryId: string): Promise<Factory | null> {
    return this.repository.find(productId, factoryId);
  }
}
