/** What `bench/run.ts` dispatches to: one module per benchmark, `bench/<name>.ts`, default export. */
export interface Benchmark {
  readonly name: string;
  /** One line for the usage text. */
  readonly summary: string;
  /** Options the benchmark accepts, one per line, for the usage text. */
  readonly options?: readonly string[];
  /** Runs with the arguments after the benchmark's name; resolves to the exit code. */
  run(args: readonly string[]): Promise<number>;
}
