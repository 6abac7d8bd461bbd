export * from './construct/region';
export * from './construct/authorization';
export * from './construct/deployment-props';
export * from './construct/router-props';
export * from './construct/gateway-catalog';
export * from './construct/router';
export * from './construct/router-metrics';
export * from './construct/observability';
