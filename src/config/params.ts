/** Checks one parameter value against its declaration. */
import type { ParamSpec, ParamValue } from '../core/index.js';

/** A problem description, or undefined when the value fits the spec. */
export function checkParamValue(spec: ParamSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value))
        return `expected ${spec.type}, got ${describe(value)}`;
      if (spec.type === 'integer' && !Number.isInteger(value)) return `expected integer, got ${value}`;
      if (spec.min !== undefined && value < spec.min) return `${value} is below the minimum ${spec.min}`;
      if (spec.max !== undefined && value > spec.max) return `${value} is above the maximum ${spec.max}`;
      return undefined;
    }
    case 'string':
      if (typeof value !== 'string') return `expected string, got ${describe(value)}`;
      if (spec.enum && !spec.enum.includes(value))
        return `'${value}' is not one of ${spec.enum.map((v) => `'${v}'`).join(', ')}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected boolean, got ${describe(value)}`;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `string '${value}'`;
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

export function isParamValue(v: unknown): v is ParamValue {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}
