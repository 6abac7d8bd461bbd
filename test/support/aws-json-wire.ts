import type { IncomingMessage } from 'node:http';

/**
 * Reads one call of an AWS JSON protocol service (DynamoDB, Secrets Manager)
 * off the wire as the service receives it: the operation named by
 * `x-amz-target` (`DynamoDB_20120810.UpdateItem` → `UpdateItem`,
 * `secretsmanager.GetSecretValue` → `GetSecretValue`) and the whole JSON
 * body. Shared by the local servers and relays that stage those services'
 * answers and faults.
 */
export function readAwsJsonCall(req: IncomingMessage, handle: (operation: string, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => handle(String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '', Buffer.concat(chunks)));
}
