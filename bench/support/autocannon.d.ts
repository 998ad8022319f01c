/** The part of autocannon's API the benchmarks use (the package ships no types). */
declare module 'autocannon' {
  interface Histogram {
    readonly average: number;
    readonly mean: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  }
  export interface AutocannonResult {
    readonly requests: Histogram & { readonly total: number };
    readonly latency: Histogram;
    readonly throughput: Histogram;
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
    readonly duration: number;
  }
  export interface AutocannonOptions {
    readonly url: string;
    readonly connections?: number;
    readonly pipelining?: number;
    readonly duration?: number;
    readonly headers?: Record<string, string>;
    readonly requests?: readonly { readonly method?: string; readonly path: string }[];
  }
  function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
  export default autocannon;
}
