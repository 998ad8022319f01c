import type { Metric, MetricValue, Registry } from 'prom-client';

/** Upper bounds of the latency buckets, in seconds. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] as const;
const REQUESTS = 'glasshouse_http_requests_total';
const LATENCY = 'glasshouse_http_request_duration_seconds';

type Labels = Record<string, string | number>;

class Latencies {
  /** Per bucket (the last is +Inf), not cumulative. */
  readonly perBucket = new Float64Array(BUCKETS.length + 1);
  sum = 0;
  count = 0;

  constructor(readonly labels: Labels) {}

  observe(seconds: number): void {
    let bucket = 0;
    while (bucket < BUCKETS.length && seconds > BUCKETS[bucket]!) bucket += 1;
    this.perBucket[bucket]! += 1;
    this.sum += seconds;
    this.count += 1;
  }
}

/**
 * Request counts (by method, route and status) and latencies (by method and route), kept as
 * plain numbers per label set resolved once, and exposed in a prom-client registry as a
 * counter and a histogram. prom-client's own `Counter` and `Histogram` turn the labels into
 * a string key on every call, even through `labels()`: that was 8–15% of a single look-up's
 * cost in the server.
 */
export class RequestMetrics {
  readonly #counts = new Map<string, { readonly labels: Labels; value: number }>();
  readonly #latencies = new Map<string, Latencies>();

  /** Counts one answer; label sets are looked up by a short key. */
  record(method: string, route: string, status: number, seconds: number): void {
    this.#count(method, route, status).value += 1;
    this.#latency(method, route).observe(seconds);
  }

  /** The same as {@link record} for one fixed label set, resolved now. */
  recorder(method: string, route: string, status: number): (seconds: number) => void {
    const count = this.#count(method, route, status);
    const latency = this.#latency(method, route);
    return (seconds) => {
      count.value += 1;
      latency.observe(seconds);
    };
  }

  register(registry: Registry): void {
    const counter = {
      name: REQUESTS,
      help: 'HTTP requests by method, route and status',
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({
        ...counter,
        values: [...this.#counts.values()].map(
          ({ labels, value }): MetricValue<string> => ({ labels, value }),
        ),
      }),
      reset: () => this.#counts.clear(),
    };
    const histogram = {
      name: LATENCY,
      help: 'HTTP request latency by method and route',
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({ ...histogram, values: [...this.#latencies.values()].flatMap(histogramValues) }),
      reset: () => this.#latencies.clear(),
    };
    // The registry only calls `get` (and `reset`); these are not prom-client classes.
    registry.registerMetric(counter as unknown as Metric);
    registry.registerMetric(histogram as unknown as Metric);
  }

  #count(method: string, route: string, status: number) {
    const key = `${method} ${route} ${status}`;
    let count = this.#counts.get(key);
    if (count === undefined) {
      count = { labels: { method, route, status }, value: 0 };
      this.#counts.set(key, count);
    }
    return count;
  }

  #latency(method: string, route: string): Latencies {
    const key = `${method} ${route}`;
    let latency = this.#latencies.get(key);
    if (latency === undefined) {
      latency = new Latencies({ method, route });
      this.#latencies.set(key, latency);
    }
    return latency;
  }
}

/** Prometheus' histogram series: cumulative `_bucket`s with `le`, then `_sum` and `_count`. */
function histogramValues(series: Latencies): (MetricValue<string> & { metricName: string })[] {
  const values: (MetricValue<string> & { metricName: string })[] = [];
  let cumulative = 0;
  for (let bucket = 0; bucket <= BUCKETS.length; bucket += 1) {
    cumulative += series.perBucket[bucket]!;
    values.push({
      metricName: `${LATENCY}_bucket`,
      labels: { le: bucket < BUCKETS.length ? BUCKETS[bucket]! : '+Inf', ...series.labels },
      value: cumulative,
    });
  }
  values.push({ metricName: `${LATENCY}_sum`, labels: series.labels, value: series.sum });
  values.push({ metricName: `${LATENCY}_count`, labels: series.labels, value: series.count });
  return values;
}
