/** JSON Schema of the matrix file, for editors (`benchyard schema`). */
import { z } from 'zod';
import { matrixSchema } from './matrix-schema.js';

export function matrixJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(matrixSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://benchyard.dev/schema/matrix-v1.json',
    title: 'benchyard matrix (v1)',
  };
}
