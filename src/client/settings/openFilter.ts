// A collection rule's `openFilter` (a NocoBase filter) as the settings form edits it: conditions joined by AND, each
// a field, an operator and a value. Filters of another shape ($or, nesting) are kept as they are and shown as JSON.

export const FILTER_OPERATORS = ['$eq', '$ne', '$in', '$notIn', '$empty', '$notEmpty'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface FilterCondition {
  field?: string;
  operator: FilterOperator;
  value?: unknown;
}

const NO_VALUE = new Set<FilterOperator>(['$empty', '$notEmpty']);
const LIST = new Set<FilterOperator>(['$in', '$notIn']);

export function takesValue(operator: FilterOperator): boolean {
  return !NO_VALUE.has(operator);
}

export function takesList(operator: FilterOperator): boolean {
  return LIST.has(operator);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

function conditionsOfClause(clause: unknown): FilterCondition[] | null {
  if (!isPlainObject(clause)) return null;
  const out: FilterCondition[] = [];
  for (const [field, test] of Object.entries(clause)) {
    if (field.startsWith('$')) return null;
    if (!isPlainObject(test)) {
      out.push({ field, operator: '$eq', value: test });
      continue;
    }
    const ops = Object.entries(test);
    if (ops.length !== 1 || !(FILTER_OPERATORS as readonly string[]).includes(ops[0][0])) return null;
    const [operator, value] = ops[0] as [FilterOperator, unknown];
    if (takesList(operator) && !Array.isArray(value)) return null;
    out.push(takesValue(operator) ? { field, operator, value } : { field, operator });
  }
  return out;
}

/** The conditions of a filter, or null when it has a shape the condition editor cannot show. */
export function conditionsOf(filter: unknown): FilterCondition[] | null {
  if (filter === undefined || filter === null) return [];
  if (isPlainObject(filter) && Object.keys(filter).length === 1 && Array.isArray(filter.$and)) {
    const parts = filter.$and.map(conditionsOfClause);
    return parts.some((p) => p === null) ? null : (parts as FilterCondition[][]).flat();
  }
  return conditionsOfClause(filter);
}

function complete(c: FilterCondition): boolean {
  if (!c.field) return false;
  if (!takesValue(c.operator)) return true;
  if (takesList(c.operator)) return Array.isArray(c.value) && c.value.length > 0;
  return c.value !== undefined && c.value !== '';
}

/** The filter the server stores: the complete conditions joined by AND, or undefined when there are none. */
export function filterOf(conditions: FilterCondition[]): Record<string, unknown> | undefined {
  const clauses = conditions.filter(complete).map((c) => ({
    [c.field!]: { [c.operator]: takesValue(c.operator) ? c.value : true },
  }));
  return clauses.length ? { $and: clauses } : undefined;
}
