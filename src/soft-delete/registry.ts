import { UnknownEntityError } from './errors.ts';
import type { EntityDefinition } from './types.ts';

/**
 * The soft-deletable entities, declared once. SQL identifiers are taken only from here, never from
 * input. documents are not a child of customers on purpose: documents outlive their owner.
 */
const DEFINITIONS: EntityDefinition[] = [
  {
    name: 'customers',
    table: 'customers',
    retentionDays: 30,
    archiveTable: 'customers_archive',
    children: [{ entity: 'orders', foreignKey: 'customer_id' }],
    columnTypes: {
      email: 'text',
      plan: 'text',
      country: 'text',
      is_deleted: 'boolean',
      deleted_by: 'text',
      delete_op_id: 'uuid',
    },
  },
  {
    name: 'orders',
    table: 'orders',
    retentionDays: 30,
    archiveTable: 'orders_archive',
    children: [{ entity: 'order_items', foreignKey: 'order_id' }],
    columnTypes: {
      customer_id: 'bigint',
      status: 'text',
      currency: 'text',
      is_deleted: 'boolean',
      deleted_by: 'text',
      delete_op_id: 'uuid',
    },
  },
  {
    name: 'order_items',
    table: 'order_items',
    retentionDays: 30,
    archiveTable: 'order_items_archive',
    children: [],
    columnTypes: {
      order_id: 'bigint',
      sku: 'text',
      is_deleted: 'boolean',
      deleted_by: 'text',
      delete_op_id: 'uuid',
    },
  },
  {
    name: 'documents',
    table: 'documents',
    retentionDays: 90,
    archiveTable: 'documents_archive',
    children: [],
    columnTypes: {
      owner_customer_id: 'bigint',
      title: 'text',
      content_type: 'text',
      is_deleted: 'boolean',
      deleted_by: 'text',
      delete_op_id: 'uuid',
    },
  },
];

export const ENTITIES: readonly EntityDefinition[] = Object.freeze(DEFINITIONS);

export function entityNames(): string[] {
  return ENTITIES.map((e) => e.name);
}

export function getEntity(name: string): EntityDefinition {
  // Lookup by equality: anything else, "__proto__" or "customers; DROP TABLE x" alike, is just unknown.
  const found = ENTITIES.find((e) => e.name === name);
  if (!found) throw new UnknownEntityError(typeof name === 'string' ? name : String(name), entityNames());
  return found;
}

/** One node of an entity's cascade tree; parent is the index of the parent node (-1 for the root). */
export interface CascadeNode {
  readonly entity: EntityDefinition;
  readonly parent: number;
  readonly foreignKey: string | undefined;
}

/** The entity and all its descendants, parents before children (breadth first). */
export function cascadeTree(root: EntityDefinition): CascadeNode[] {
  const nodes: CascadeNode[] = [{ entity: root, parent: -1, foreignKey: undefined }];
  for (let i = 0; i < nodes.length; i++) {
    for (const child of nodes[i]!.entity.children) {
      nodes.push({ entity: getEntity(child.entity), parent: i, foreignKey: child.foreignKey });
    }
  }
  return nodes;
}
