/**
 * The panel's REST API (docs/panel-api.md), served by the `sm_magics.server`
 * jupyter_server extension under `{baseUrl}sm-magics/api/`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** One live endpoint, as `GET endpoints` lists it. */
export interface IEndpoint {
  name: string;
  region: string;
  arn?: string;
  status: string;
  instance_type: string | null;
  instance_count: number | null;
  created_at: string | null;
  age_seconds: number | null;
  usd_per_hour: number | null;
  usd_so_far: number | null;
  notebook: string | null;
  expires_at: string | null;
  ttl_seconds_left: number | null;
  /** the idle guard (`%sm_deploy --idle`): deleted after this long without an invocation */
  idle_seconds?: number | null;
  config_name: string | null;
  models: string[];
  error: string | null;
}

export interface IRegionError {
  region: string;
  message: string;
}

export interface IBackend {
  kind: string;
  region: string;
  description: string;
}

export interface IEndpointList {
  backend: IBackend;
  billed: boolean;
  regions: string[];
  updated_at: string;
  usd_per_hour: number | null;
  endpoints: IEndpoint[];
  region_errors: IRegionError[];
}

export interface IEndpointRef {
  region: string;
  name: string;
}

export interface IDeleteResult extends IEndpointRef {
  ok: boolean;
  deleted: string[];
  errors: string[];
}

export interface ITtlAnswer extends IEndpointRef {
  expires_at: string | null;
  ttl_seconds_left: number | null;
  schedule: string | null;
}

export type JobKind = 'training' | 'tuning';

export interface IJob {
  kind: JobKind;
  name: string;
  region: string;
  status: string;
  secondary_status: string | null;
  created_at: string | null;
  elapsed_seconds: number | null;
  instance_type: string | null;
  instance_count: number | null;
  usd_per_hour: number | null;
  usd_so_far: number | null;
  notebook: string | null;
}

export interface IJobList {
  updated_at: string;
  jobs: IJob[];
  region_errors: IRegionError[];
}

export interface IStopAnswer {
  name: string;
  region: string;
  kind: JobKind;
  status: string;
}

/** An error answered by the API (`{"message": ...}`) or a failed request. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Call the API: `path` is relative to `sm-magics/api/`. Resolves with the
 * parsed JSON answer; rejects with an `ApiError` carrying the server's message.
 */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const [route, query] = path.split('?', 2);
  const url =
    URLExt.join(settings.baseUrl, 'sm-magics/api', route) +
    (query ? `?${query}` : '');
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(
      error instanceof Error ? error.message : String(error),
      null
    );
  }
  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    let message = response.statusText || `HTTP ${response.status}`;
    if (
      data !== null &&
      typeof data === 'object' &&
      typeof (data as { message?: unknown }).message === 'string' &&
      (data as { message: string }).message
    ) {
      message = (data as { message: string }).message;
    } else if (text && data === null && text.length < 300) {
      message = text;
    }
    throw new ApiError(message, response.status);
  }
  return data as T;
}

function jsonInit(method: string, body: unknown): RequestInit {
  return {
    method,
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  };
}

function regionsQuery(regions: string): string {
  const value = regions.trim();
  return value ? `?regions=${encodeURIComponent(value)}` : '';
}

const enc = encodeURIComponent;

/** The server to talk to; the page's own server when left out. */
type Settings = ServerConnection.ISettings | undefined;

export function listEndpoints(
  regions: string,
  settings?: Settings
): Promise<IEndpointList> {
  return requestAPI<IEndpointList>(
    `endpoints${regionsQuery(regions)}`,
    {},
    settings
  );
}

export function listJobs(
  regions: string,
  settings?: Settings
): Promise<IJobList> {
  return requestAPI<IJobList>(`jobs${regionsQuery(regions)}`, {}, settings);
}

export function deleteEndpoints(
  endpoints: IEndpointRef[],
  deleteArtifacts: boolean,
  settings?: Settings
): Promise<{ results: IDeleteResult[] }> {
  return requestAPI(
    'endpoints/delete',
    jsonInit('POST', {
      endpoints: endpoints.map(e => ({ region: e.region, name: e.name })),
      delete_artifacts: deleteArtifacts
    }),
    settings
  );
}

/** What deleting an endpoint removes and keeps (parts another endpoint still uses). */
export interface IDeletePlan extends IEndpointRef {
  schedules: string[];
  config: string | null;
  models: string[];
  artifacts: string[];
  kept: string[];
  errors: string[];
}

export function planDeletion(
  endpoints: IEndpointRef[],
  settings?: Settings
): Promise<{ plans: IDeletePlan[] }> {
  return requestAPI(
    'endpoints/plan',
    jsonInit('POST', {
      endpoints: endpoints.map(e => ({ region: e.region, name: e.name })),
      delete_artifacts: true
    }),
    settings
  );
}

export function extendTtl(
  ref: IEndpointRef,
  minutes: number,
  settings?: Settings
): Promise<ITtlAnswer> {
  return requestAPI(
    `endpoints/${enc(ref.region)}/${enc(ref.name)}/ttl`,
    jsonInit('PUT', { extend_minutes: minutes }),
    settings
  );
}

export function clearTtl(
  ref: IEndpointRef,
  settings?: Settings
): Promise<ITtlAnswer> {
  return requestAPI(
    `endpoints/${enc(ref.region)}/${enc(ref.name)}/ttl`,
    jsonInit('PUT', { expires_at: null }),
    settings
  );
}

export function stopJob(
  job: {
    region: string;
    kind: JobKind;
    name: string;
  },
  settings?: Settings
): Promise<IStopAnswer> {
  return requestAPI(
    `jobs/${enc(job.region)}/${enc(job.kind)}/${enc(job.name)}/stop`,
    jsonInit('POST', {}),
    settings
  );
}
