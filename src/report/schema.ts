// Loads proto/ once (protobufjs, from the .proto files shipped in the package)
// and hands out the message types.

import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { PACKAGE_ROOT } from '../paths.js';

const PROTO_DIR = new URL('proto/', PACKAGE_ROOT);

let root: protobuf.Root | null = null;

function loadRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    protobuf.parse(readFileSync(new URL('report.proto', PROTO_DIR), 'utf8'), r, { keepCase: false });
    protobuf.parse(readFileSync(new URL('compare.proto', PROTO_DIR), 'utf8'), r, { keepCase: false });
    root = r;
  }
  return root;
}

export function messageType(name: 'RunReport' | 'Counters' | 'CpuCounters' | 'ViolationRecord' | 'TraceEvent' | 'CompareReport'): protobuf.Type {
  return loadRoot().lookupType(`shootdown.${name}`);
}

/** The proto3 JSON mapping of a message built from a plain object (validated first). */
export function toProtoJson(typeName: Parameters<typeof messageType>[0], value: object): Record<string, unknown> {
  const type = messageType(typeName);
  const err = type.verify(value);
  if (err) throw new Error(`report: ${typeName} does not fit proto/report.proto: ${err}`);
  return inFieldOrder(type, type.toObject(type.fromObject(value), { defaults: true, arrays: true, longs: Number, enums: String }));
}

/** Keys in .proto field order (protobufjs puts repeated fields first), nested messages too. */
function inFieldOrder(type: protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    const sub = field.resolve().resolvedType;
    if (sub instanceof protobuf.Type && v !== null && typeof v === 'object') {
      out[field.name] = Array.isArray(v)
        ? v.map((x) => inFieldOrder(sub, x as Record<string, unknown>))
        : inFieldOrder(sub, v as Record<string, unknown>);
    } else {
      out[field.name] = v;
    }
  }
  return out;
}

export function encodeMessage(typeName: Parameters<typeof messageType>[0], value: object): Uint8Array {
  const type = messageType(typeName);
  const err = type.verify(value);
  if (err) throw new Error(`report: ${typeName} does not fit proto/report.proto: ${err}`);
  return type.encode(type.fromObject(value)).finish();
}

export function decodeMessage(typeName: Parameters<typeof messageType>[0], bytes: Uint8Array): Record<string, unknown> {
  const type = messageType(typeName);
  return type.toObject(type.decode(bytes), { defaults: true, arrays: true, longs: Number, enums: String }) as Record<string, unknown>;
}
