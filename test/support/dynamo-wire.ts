import type { IncomingMessage } from 'node:http';

/**
 * Reads one DynamoDB call off the wire as the service receives it: the
 * operation named by `x-amz-target` (`DynamoDB_20120810.UpdateItem` →
 * `UpdateItem`) and the whole JSON body. Shared by the local relays that
 * stage DynamoDB's faults and partial answers in front of dynalite.
 */
export function readDynamoCall(req: IncomingMessage, handle: (operation: string, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => handle(String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '', Buffer.concat(chunks)));
}
