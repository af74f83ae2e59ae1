/**
 * A fake Jupyter server for the panel's unit tests: the `fetch` of a real
 * `ServerConnection.ISettings`, so that every request goes through the same
 * code as in JupyterLab (URL building, token header, error reading) and the
 * tests see what was sent. Answers are set per route; a route may hold its
 * answer back (`hold`) to look at the panel while a request is in flight.
 */
import { ServerConnection } from '@jupyterlab/services';

import { IEndpoint, IEndpointList, IJob, IJobList } from '../api';

export const BASE_URL = 'http://localhost:8888/lab-base/';
export const TOKEN = 'test-token';

export interface ISentRequest {
  method: string;
  /** Relative to `sm-magics/api/`, e.g. `endpoints/plan`. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | null;
}

export interface IAnswer {
  status?: number;
  body?: unknown;
  /** The raw response text, instead of `body` as JSON. */
  text?: string;
}

type Route = (request: ISentRequest) => IAnswer | Promise<IAnswer>;

export class FakeServer {
  readonly requests: ISentRequest[] = [];

  readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings({
    baseUrl: BASE_URL,
    token: TOKEN,
    fetch: (input: RequestInfo | URL) => this._fetch(input as Request)
  });

  /** Answers `method path` (path relative to the API root) with `route`. */
  on(method: string, path: string, route: Route | IAnswer): this {
    this._routes.set(
      `${method} ${path}`,
      typeof route === 'function' ? route : () => route
    );
    return this;
  }

  /** Failing requests of the route with a network error (no answer at all). */
  unreachable(method: string, path: string): this {
    this._routes.set(`${method} ${path}`, () => {
      throw new TypeError('Failed to fetch');
    });
    return this;
  }

  /**
   * Holds the route's answers until `release()` is called; returns the
   * function that releases the held ones.
   */
  hold(method: string, path: string): () => void {
    const key = `${method} ${path}`;
    const route = this._routes.get(key);
    const waiting: Array<() => void> = [];
    let released = false;
    this._routes.set(key, async request => {
      if (!released) {
        await new Promise<void>(resolve => waiting.push(resolve));
      }
      return route ? route(request) : { status: 404 };
    });
    return () => {
      released = true;
      waiting.splice(0).forEach(resolve => resolve());
    };
  }

  /** The requests sent to `method path`. */
  sent(method: string, path: string): ISentRequest[] {
    return this.requests.filter(r => r.method === method && r.path === path);
  }

  private async _fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const root = new URL('sm-magics/api/', BASE_URL).pathname;
    if (!url.pathname.startsWith(root)) {
      return new Response('not the panel API', { status: 404 });
    }
    const path = decodeURI(url.pathname.slice(root.length));
    const query: Record<string, string> = {};
    url.searchParams.forEach((value, key) => {
      if (!/^\d+$/.test(key)) {
        query[key] = value; // a bare number is ServerConnection's cache buster
      }
    });
    const text = await request.text();
    const sent: ISentRequest = {
      method: request.method,
      path,
      query,
      body: text ? JSON.parse(text) : null,
      authorization: request.headers.get('Authorization')
    };
    this.requests.push(sent);
    const route = this._routes.get(`${sent.method} ${path}`);
    if (!route) {
      return new Response('', { status: 404, statusText: 'Not Found' });
    }
    const answer = await route(sent);
    const body =
      answer.text !== undefined ? answer.text : JSON.stringify(answer.body ?? {});
    return new Response(body, {
      status: answer.status ?? 200,
      headers: { 'Content-Type': 'application/json' }
    });
  }

  private _routes = new Map<string, Route>();
}

export function endpoint(overrides: Partial<IEndpoint> = {}): IEndpoint {
  return {
    name: 'ep-one',
    region: 'us-east-1',
    arn: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep-one',
    status: 'InService',
    instance_type: 'ml.m5.large',
    instance_count: 1,
    created_at: '2026-12-06T10:00:00+00:00',
    age_seconds: 3 * 3600 + 5 * 60,
    usd_per_hour: 0.115,
    usd_so_far: 0.3546,
    notebook: 'train.ipynb',
    expires_at: null,
    ttl_seconds_left: null,
    config_name: 'ep-one',
    models: ['ep-one'],
    error: null,
    ...overrides
  };
}

export function endpointList(
  endpoints: IEndpoint[],
  overrides: Partial<IEndpointList> = {}
): IEndpointList {
  return {
    backend: { kind: 'local', region: 'us-east-1', description: 'the local engine' },
    billed: false,
    regions: ['us-east-1'],
    updated_at: '2026-12-06T13:05:07+00:00',
    usd_per_hour: endpoints.reduce((s, e) => s + (e.usd_per_hour ?? 0), 0),
    endpoints,
    region_errors: [],
    ...overrides
  };
}

export function job(overrides: Partial<IJob> = {}): IJob {
  return {
    kind: 'training',
    name: 'job-one',
    region: 'us-east-1',
    status: 'InProgress',
    secondary_status: 'Training',
    created_at: '2026-12-06T13:00:00+00:00',
    elapsed_seconds: 125,
    instance_type: 'ml.m5.xlarge',
    instance_count: 1,
    usd_per_hour: 0.23,
    usd_so_far: 0.008,
    notebook: null,
    ...overrides
  };
}

export function jobList(jobs: IJob[], overrides: Partial<IJobList> = {}): IJobList {
  return {
    updated_at: '2026-12-06T13:05:07+00:00',
    jobs,
    region_errors: [],
    ...overrides
  };
}

/** A server listing these endpoints and jobs. */
export function serverWith(endpoints: IEndpoint[], jobs: IJob[] = []): FakeServer {
  return new FakeServer()
    .on('GET', 'endpoints', { body: endpointList(endpoints) })
    .on('GET', 'jobs', { body: jobList(jobs) });
}

/** Lets pending promise callbacks (and the fake server's answers) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await Promise.resolve();
  }
  await new Promise(resolve => setTimeout(resolve, 0));
}

/** Waits (in real time, up to `timeoutMs`) until `condition` holds. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 5000
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}
