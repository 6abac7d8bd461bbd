export * from './construct/region';
export * from './construct/authorization';
export * from './construct/router';
export * from './construct/observability';
