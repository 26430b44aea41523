// Reads a history file as `temporal workflow show --output json` writes it.
//
// Why not @temporalio/common's historyFromJSON (what Worker.runReplayHistories calls on JSON)?
// In this install npm nests a copy of protobufjs 8 under each of @temporalio/common, /proto and
// /worker (the top level holds protobufjs 7 for @grpc/proto-loader), and historyFromJSON mixes
// common's protojson with proto's message types: "TypeError: type must be a Type". The same
// conversion with the protojson of the copy the message types come from works in any layout.

import { createRequire } from 'node:module';
import type { temporal } from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type History = temporal.api.history.v1.IHistory;

interface ProtoJson {
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): unknown;
}

const fromProto = createRequire(require.resolve('@temporalio/proto'));
const protojson = fromProto('protobufjs/ext/protojson') as ProtoJson;
// The CommonJS module itself (an ESM namespace of it has no protobuf root to patch).
const root = patchProtobufRoot(fromProto('@temporalio/proto') as Record<string, unknown>) as unknown as { lookupType(name: string): unknown };
const historyType = root.lookupType('temporal.api.history.v1.History');

export function historyFromJson(json: unknown): History {
  // Unknown fields (a newer server's) are ignored, as the SDK does.
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}
