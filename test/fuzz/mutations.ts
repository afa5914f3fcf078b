/**
 * Mutations of valid YAML files (matrices, benchmark definitions) for property tests: each
 * case is a seed and a list of operations, plain data, so a failing case prints as
 * something a person can replay. Operations work on the yaml library's document tree
 * (drop, duplicate, retype and rename keys, anchors and aliases, deep nesting, huge axes)
 * and then on the text and bytes (insertions, truncation, an alias bomb, invalid UTF-8).
 */
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseDocument,
  Scalar,
  YAMLMap,
  YAMLSeq,
  type Document,
  type Node,
} from 'yaml';

export type Op =
  | { op: 'drop'; at: number }
  | { op: 'duplicate'; at: number }
  | { op: 'retype'; at: number; value: Value }
  | { op: 'rename'; at: number; key: string }
  | { op: 'alias'; from: number; to: number }
  | { op: 'dangling-alias'; at: number }
  | { op: 'nest'; at: number; depth: number; map: boolean }
  | { op: 'axis'; at: number; length: number }
  | { op: 'bomb'; levels: number; width: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'truncate'; at: number }
  | { op: 'bytes'; at: number; bytes: number[] };

/** A replacement value: plain data, or YAML text put in as it is (`1e309`, `.nan`, tags). */
export type Value = { data: unknown } | { raw: string };

interface Slot {
  parent: YAMLMap | YAMLSeq;
  index: number;
}

/** Every place a value sits, in document order; `params` values first when `paramsOnly`. */
function slots(doc: Document, paramsOnly = false): Slot[] {
  const out: Slot[] = [];
  const walk = (node: unknown, inParams: boolean, depth: number) => {
    if (depth > 100 || !(isMap(node) || isSeq(node))) return;
    node.items.forEach((item: unknown, index) => {
      const key = isPair(item) && isScalar(item.key) ? String(item.key.value) : undefined;
      if (!paramsOnly || inParams) out.push({ parent: node, index });
      walk(isPair(item) ? item.value : item, key === 'params', depth + 1);
    });
  };
  walk(doc.contents, false, 0);
  return out;
}

const pick = <T>(list: readonly T[], at: number): T | undefined => list[at % Math.max(list.length, 1)];

function valueOf(slot: Slot): unknown {
  const item = slot.parent.items[slot.index];
  return isPair(item) ? item.value : item;
}

function setValue(slot: Slot, value: unknown): void {
  const item = slot.parent.items[slot.index];
  if (isPair(item)) item.value = value;
  else (slot.parent.items as unknown[])[slot.index] = value;
}

/** Applies the operations to the seed's text and returns the bytes of the file to write. */
export function mutate(seed: string, ops: readonly Op[]): Buffer {
  const doc = parseDocument(seed, { uniqueKeys: false });
  const raws: string[] = [];
  const rawNode = (text: string) => new Scalar(`__fuzz_raw_${raws.push(text) - 1}__`);
  let anchors = 0;
  const textOps: Op[] = [];
  for (const op of ops) {
    const all = slots(doc);
    const slot = pick(all, 'at' in op ? op.at : 0);
    switch (op.op) {
      case 'drop':
        if (slot) slot.parent.items.splice(slot.index, 1);
        break;
      case 'duplicate':
        if (slot) (slot.parent.items as unknown[]).splice(slot.index, 0, slot.parent.items[slot.index]);
        break;
      case 'retype':
        if (slot) setValue(slot, 'raw' in op.value ? rawNode(op.value.raw) : doc.createNode(op.value.data));
        break;
      case 'rename': {
        const item = slot?.parent.items[slot.index];
        if (isPair(item)) item.key = doc.createNode(op.key);
        break;
      }
      case 'alias': {
        const from = pick(all, op.from);
        const to = pick(all, op.to);
        const target = from && valueOf(from);
        if (!to || !target || typeof target !== 'object' || !('range' in (target as object))) break;
        const node = target as Node & { anchor?: string };
        node.anchor ??= `a${anchors++}`;
        setValue(to, doc.createAlias(node as never, node.anchor));
        break;
      }
      case 'dangling-alias':
        if (slot) setValue(slot, rawNode('*nowhere'));
        break;
      case 'nest': {
        const [open, close] = op.map ? ['{k: ', '}'] : ['[', ']'];
        if (slot) setValue(slot, rawNode(`${open.repeat(op.depth)}1${close.repeat(op.depth)}`));
        break;
      }
      case 'axis': {
        const target = pick(slots(doc, true), op.at);
        const values = Array.from({ length: op.length }, (_, i) => i + 1);
        if (target) setValue(target, doc.createNode(values, { flow: true }));
        break;
      }
      default:
        textOps.push(op);
    }
  }
  let text = doc.toString({ verifyAliasOrder: false, lineWidth: 0 });
  text = text.replace(/'?__fuzz_raw_(\d+)__'?/g, (_, i: string) => raws[Number(i)]!);
  let bytes = Buffer.from(text, 'utf8');
  for (const op of textOps) {
    const at = 'at' in op ? op.at % (bytes.length + 1) : 0;
    if (op.op === 'insert')
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(op.text, 'utf8'), bytes.subarray(at)]);
    if (op.op === 'truncate') bytes = bytes.subarray(0, at);
    if (op.op === 'bytes')
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(op.bytes), bytes.subarray(at)]);
    if (op.op === 'bomb') bytes = Buffer.concat([bytes, Buffer.from(bomb(op.levels, op.width))]);
  }
  return bytes;
}

/** `levels` anchors, each a list of `width` aliases to the one before: width^levels values. */
export function bomb(levels: number, width: number): string {
  const lines = [`\nfz0: &fz0 [${Array(width).fill('x').join(', ')}]`];
  for (let i = 1; i < levels; i++)
    lines.push(
      `fz${i}: &fz${i} [${Array(width)
        .fill(`*fz${i - 1}`)
        .join(', ')}]`,
    );
  return `${lines.join('\n')}\n`;
}
