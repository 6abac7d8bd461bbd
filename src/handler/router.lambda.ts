import { createRouterHandler } from './app';

/**
 * The Lambda entry point: the router behind API Gateway's response-streaming
 * Lambda proxy integration. Configuration comes from the environment the
 * construct sets; the key comes from Secrets Manager.
 */
export const handler = awslambda.streamifyResponse(createRouterHandler(process.env));

// Exported for the local emulator, which runs this same bundle with its own environment.
export { createRouterHandler } from './app';
