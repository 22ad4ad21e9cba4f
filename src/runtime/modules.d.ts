// Module types the Workers bundle provides and Node's TypeScript does not know: Text modules
// (wrangler.toml [[rules]]) and the workerd runtime's own modules, declared as far as waybill
// uses them.

declare module '*.yaml' {
  const text: string;
  export default text;
}

declare module 'cloudflare:workers' {
  export interface DurableObjectState {
    blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
    waitUntil(promise: Promise<unknown>): void;
  }
  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }
  export const env: Record<string, unknown>;
  /** The Worker's own entry points (tests call the default export's fetch through it). */
  export const exports: { default: { fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> } };
}
