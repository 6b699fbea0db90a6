import { CLOSED_CIRCUIT } from "../../functions/domain/circuit.ts";
import type { Webhook } from "../../functions/domain/model.ts";

/** An active webhook of tenant `t1` with a closed circuit, as the store would hand it to the publish path. */
export function webhookFixture(id: string, eventTypes: string[], overrides: Partial<Webhook> = {}): Webhook {
  return {
    id,
    tenantId: "t1",
    url: `https://example.com/${id}`,
    eventTypes,
    description: "",
    active: true,
    secret: "whsec_x",
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    circuit: CLOSED_CIRCUIT,
    ...overrides,
  };
}
