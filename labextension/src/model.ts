/**
 * The panel's model: what the panel knows and does, without any DOM.
 *
 * It lists endpoints and jobs through the REST API (api.ts), refreshes them on
 * a Lumino `Poll` that stands by while the panel or the browser tab is hidden,
 * keeps per-row state the listing does not carry (a delete or TTL change in
 * flight, the last error, the selection), and walks the delete flow: plan,
 * confirmation, delete. Views read it and call its methods; it tells them to
 * redraw through `changed`. Keeping it apart from the DOM lets jest check the
 * behaviour with a fake server, and lets the views be pure functions of it.
 */
import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ApiError,
  clearTtl,
  deleteEndpoints,
  extendTtl,
  IDeletePlan,
  IEndpoint,
  IEndpointList,
  IEndpointRef,
  IJob,
  IJobList,
  IRegionError,
  listEndpoints,
  listJobs,
  planDeletion,
  stopJob
} from './api';

/** The panel's settings (schema/plugin.json). */
export interface IPanelSettings {
  /** `all`, or comma-separated region names; empty: the server's default. */
  regions: string;
  /** Seconds between automatic refreshes. */
  refreshSeconds: number;
}

export const DEFAULT_SETTINGS: IPanelSettings = {
  regions: '',
  refreshSeconds: 30
};

/** Refreshing more often than this would only load the server and AWS. */
export const MIN_REFRESH_SECONDS = 5;

/** What the panel knows of an endpoint row beyond the server's listing. */
export interface IRowState {
  /** A delete is in flight (`deleting`) or has succeeded (`deleted`). */
  phase?: 'deleting' | 'deleted';
  /** A TTL change is in flight. */
  ttlBusy?: boolean;
  /** The last action's error, shown on the row until the next action. */
  error?: string;
  /**
   * The row as last listed, kept when a failed delete finds the endpoint gone
   * so that the error stays readable; dropped on dismiss or manual refresh.
   */
  ghost?: IEndpoint;
}

/** What the panel knows of a job row beyond the server's listing. */
export interface IJobState {
  stopping?: boolean;
  /** The status a stop answered, until the next listing knows better. */
  status?: string;
  error?: string;
}

/**
 * Where a delete stands: asking the server what would go (`planning`), then
 * waiting for the user to confirm the plans (`confirming`). `null`: no delete
 * being prepared (a confirmed delete shows on its rows as `deleting`).
 */
export type DeleteFlow =
  | { readonly phase: 'planning'; readonly endpoints: IEndpoint[] }
  | {
      readonly phase: 'confirming';
      readonly endpoints: IEndpoint[];
      readonly plans: IDeletePlan[];
    };

export const endpointKey = (e: IEndpointRef): string => `${e.region}/${e.name}`;
export const jobKey = (j: {
  region: string;
  kind: string;
  name: string;
}): string => `${j.region}/${j.kind}/${j.name}`;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export namespace PanelModel {
  export interface IOptions {
    /** Translates the messages the model writes (errors on rows). */
    trans?: TranslationBundle;
    settings?: IPanelSettings;
    /**
     * The first listing waits for it (settings loading), so that it asks for
     * the configured regions.
     */
    settingsReady?: Promise<unknown>;
    /** The Jupyter server to ask; the page's own when left out. */
    serverSettings?: ServerConnection.ISettings;
  }
}

export class PanelModel implements IDisposable {
  constructor(options: PanelModel.IOptions = {}) {
    this._trans = options.trans ?? nullTranslator.load('sm_magics');
    this._settings = { ...(options.settings ?? DEFAULT_SETTINGS) };
    this._settingsReady = (options.settingsReady ?? Promise.resolve()).catch(
      () => undefined
    );
    this._server = options.serverSettings ?? ServerConnection.makeSettings();
    const interval = this._intervalMs();
    this._poll = new Poll({
      auto: false,
      name: 'sm-magics:listing',
      // A failed listing is shown, not thrown: the loads never reject, so
      // there is no backoff; the poll is a timer that knows when to stand by.
      frequency: { interval, max: interval, backoff: false },
      linger: 0,
      standby: () => (this._visible ? 'when-hidden' : true),
      factory: () => this._inFlight ?? this.refresh()
    });
    this._poll.ticked.connect(this._onTick, this);
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', this._onPageVisibility);
    }
  }

  /** Emitted whenever anything a view shows has changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted when the delete flow moves on (the panel asks the user on `confirming`). */
  get deleteFlowChanged(): ISignal<this, DeleteFlow | null> {
    return this._deleteFlowChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The settings in force. */
  get settings(): IPanelSettings {
    return { ...this._settings };
  }

  /** The last endpoint listing; `null` before the first answer. */
  get endpoints(): IEndpointList | null {
    return this._endpoints;
  }

  /** The last job listing; `null` before the first answer. */
  get jobs(): IJobList | null {
    return this._jobs;
  }

  /** Why the last endpoint listing failed; `null` when it did not. */
  get listError(): string | null {
    return this._listError;
  }

  /** Why the last job listing failed; `null` when it did not. */
  get jobsError(): string | null {
    return this._jobsError;
  }

  /** A listing is in flight. */
  get loading(): boolean {
    return this._inFlight !== null;
  }

  /** At least one listing has been answered (or has failed). */
  get loadedOnce(): boolean {
    return this._loadedOnce;
  }

  get deleteFlow(): DeleteFlow | null {
    return this._deleteFlow;
  }

  /** The refresh poll's state, for those who want to know when it ticks. */
  get pollState(): Poll['state'] {
    return this._poll.state;
  }

  /** Whether the panel is shown; a hidden panel sends no requests. */
  get isVisible(): boolean {
    return this._visible;
  }

  /**
   * Called by the panel when it is shown or hidden. Shown with nothing loaded,
   * or after refreshes were skipped while hidden, it refreshes at once.
   */
  setVisible(visible: boolean): void {
    this._visible = visible;
    if (visible) {
      this._refreshIfStale();
    }
  }

  /** Applies new settings; a change of regions refreshes at once. */
  configure(settings: Partial<IPanelSettings>): void {
    const regionsChanged =
      settings.regions !== undefined &&
      settings.regions !== this._settings.regions;
    this._settings = { ...this._settings, ...settings };
    const interval = this._intervalMs();
    this._poll.frequency = { interval, max: interval, backoff: false };
    if (regionsChanged && this._loadedOnce) {
      void this.refresh();
    } else {
      this._reschedule();
    }
  }

  /**
   * Lists endpoints and jobs again. Concurrent calls share one request; a call
   * made while one is in flight runs once more after it. Never rejects: a
   * failed listing is kept as `listError` / `jobsError`.
   */
  refresh(): Promise<void> {
    if (this._inFlight) {
      this._again = true;
      return this._inFlight;
    }
    this._inFlight = this._load().finally(() => {
      this._inFlight = null;
      if (this._isDisposed) {
        return;
      }
      if (this._again) {
        this._again = false;
        void this.refresh();
      } else {
        this._changed.emit();
        this._reschedule();
      }
    });
    this._changed.emit();
    return this._inFlight;
  }

  /** A refresh asked for by hand shows the listing as it is: no ghosts. */
  manualRefresh(): Promise<void> {
    for (const [key, state] of this._rows) {
      if (state.ghost) {
        this._rows.delete(key);
      }
    }
    return this.refresh();
  }

  // ------------------------------------------------------------ what to show

  /** The panel's own state of an endpoint row (empty when none). */
  rowState(endpoint: IEndpointRef): Readonly<IRowState> {
    return this._rows.get(endpointKey(endpoint)) ?? {};
  }

  /** The panel's own state of a job row (empty when none). */
  jobState(job: IJob): Readonly<IJobState> {
    return this._jobRows.get(jobKey(job)) ?? {};
  }

  /** Endpoints to show: the listing, then ghosts of failed deletes. */
  visibleEndpoints(): IEndpoint[] {
    const listed = this._endpoints?.endpoints ?? [];
    const ghosts: IEndpoint[] = [];
    for (const state of this._rows.values()) {
      if (state.ghost && this.isGhost(state.ghost)) {
        ghosts.push(state.ghost);
      }
    }
    return listed.concat(ghosts);
  }

  /** Whether the row is shown only because a failed delete found it gone. */
  isGhost(endpoint: IEndpointRef): boolean {
    const key = endpointKey(endpoint);
    return (
      !!this._rows.get(key)?.ghost &&
      !(this._endpoints?.endpoints ?? []).some(e => endpointKey(e) === key)
    );
  }

  /** Whether the endpoint may be selected and deleted now. */
  deletable(endpoint: IEndpoint): boolean {
    const state = this._rows.get(endpointKey(endpoint));
    return (
      !state?.phase &&
      !this.isGhost(endpoint) &&
      endpoint.status !== 'Deleting'
    );
  }

  isSelected(endpoint: IEndpointRef): boolean {
    return this._selected.has(endpointKey(endpoint));
  }

  /** The selected endpoints that can be deleted, in the listing's order. */
  selectedEndpoints(): IEndpoint[] {
    return this.visibleEndpoints().filter(
      e => this.deletable(e) && this._selected.has(endpointKey(e))
    );
  }

  /** Selects or unselects endpoints; those that cannot be deleted stay out. */
  select(endpoints: IEndpoint[], selected: boolean): void {
    for (const endpoint of endpoints) {
      const key = endpointKey(endpoint);
      if (selected && this.deletable(endpoint)) {
        this._selected.add(key);
      } else {
        this._selected.delete(key);
      }
    }
    this._changed.emit();
  }

  /** What the live endpoints cost per hour together (the server's sum when given). */
  burnRate(): number {
    const list = this._endpoints;
    if (!list) {
      return 0;
    }
    if (typeof list.usd_per_hour === 'number') {
      return list.usd_per_hour;
    }
    return list.endpoints.reduce((sum, e) => sum + (e.usd_per_hour ?? 0), 0);
  }

  /** Regions that could not be listed, by endpoints or jobs, each message once. */
  regionErrors(): IRegionError[] {
    const seen = new Set<string>();
    const all = [
      ...(this._endpoints?.region_errors ?? []),
      ...(this._jobs?.region_errors ?? [])
    ];
    return all.filter(e => {
      const key = `${e.region}\n${e.message}`;
      if (seen.has(key)) {
        return false;
      }
      seen.add(key);
      return true;
    });
  }

  // ---------------------------------------------------------------- actions

  /**
   * Starts deleting endpoints: asks the server what would go and moves the
   * flow to `confirming` with the plans; `confirmDelete` or `cancelDelete`
   * ends it. A failed plan puts its error on the rows and ends the flow. One
   * flow at a time: a second start while one is open does nothing.
   */
  async startDelete(endpoints: IEndpoint[]): Promise<void> {
    if (endpoints.length === 0 || this._deleteFlow || this._isDisposed) {
      return;
    }
    this._setFlow({ phase: 'planning', endpoints });
    let plans: IDeletePlan[];
    try {
      plans = (await planDeletion(endpoints, this._server)).plans;
    } catch (error) {
      for (const endpoint of endpoints) {
        this._row(endpointKey(endpoint)).error = messageOf(error);
      }
      this._setFlow(null);
      return;
    }
    if (this._isDisposed) {
      return;
    }
    this._setFlow({ phase: 'confirming', endpoints, plans });
  }

  /** The user said no: nothing is deleted. */
  cancelDelete(): void {
    if (this._deleteFlow) {
      this._setFlow(null);
    }
  }

  /**
   * The user confirmed the plans: deletes the endpoints (and their S3 model
   * artifacts when asked), marks each row deleted or puts the server's error
   * on it, then lists again.
   */
  async confirmDelete(deleteArtifacts: boolean): Promise<void> {
    const flow = this._deleteFlow;
    if (!flow || flow.phase !== 'confirming' || this._isDisposed) {
      return;
    }
    const endpoints = flow.endpoints;
    for (const endpoint of endpoints) {
      const key = endpointKey(endpoint);
      const state = this._row(key);
      state.phase = 'deleting';
      delete state.error;
      delete state.ghost;
      this._selected.delete(key);
    }
    this._setFlow(null);
    try {
      const answered = await deleteEndpoints(
        endpoints,
        deleteArtifacts,
        this._server
      );
      const results = Array.isArray(answered?.results) ? answered.results : [];
      const byKey = new Map(results.map(r => [endpointKey(r), r]));
      for (const endpoint of endpoints) {
        const key = endpointKey(endpoint);
        const state = this._row(key);
        const result = byKey.get(key);
        if (result && result.ok) {
          state.phase = 'deleted';
        } else {
          delete state.phase;
          state.error = result
            ? result.errors.join('; ') || this._trans.__('Not deleted.')
            : this._trans.__('The server did not answer for this endpoint.');
          state.ghost = endpoint;
        }
      }
    } catch (error) {
      for (const endpoint of endpoints) {
        const state = this._row(endpointKey(endpoint));
        delete state.phase;
        state.error = messageOf(error);
        state.ghost = endpoint;
      }
    }
    this._changed.emit();
    await this.refresh();
  }

  /** Extends the TTL by an hour (`extend`) or clears it; the new expiry shows at once. */
  async changeTtl(endpoint: IEndpoint, extend: boolean): Promise<void> {
    const state = this._row(endpointKey(endpoint));
    state.ttlBusy = true;
    delete state.error;
    this._changed.emit();
    try {
      const answer = extend
        ? await extendTtl(endpoint, 60, this._server)
        : await clearTtl(endpoint, this._server);
      // Show the new expiry at once, without waiting for the next listing.
      const listed = this._endpoints?.endpoints.find(
        e => endpointKey(e) === endpointKey(endpoint)
      );
      if (listed) {
        listed.expires_at = answer.expires_at;
        listed.ttl_seconds_left = answer.ttl_seconds_left;
      }
    } catch (error) {
      state.error = messageOf(error);
    } finally {
      state.ttlBusy = false;
    }
    this._changed.emit();
  }

  /** Stops a running job; shows `Stopping` at once, then lists again. */
  async stopJob(job: IJob): Promise<void> {
    const key = jobKey(job);
    const state: IJobState = this._jobRows.get(key) ?? {};
    this._jobRows.set(key, state);
    state.stopping = true;
    delete state.error;
    this._changed.emit();
    try {
      const answer = await stopJob(job, this._server);
      state.status = answer.status;
    } catch (error) {
      state.error = messageOf(error);
    } finally {
      state.stopping = false;
    }
    this._changed.emit();
    await this.refresh();
  }

  /** Hides a row's error; a ghost row goes with it. */
  dismiss(endpoint: IEndpointRef): void {
    const key = endpointKey(endpoint);
    const state = this._rows.get(key);
    if (state) {
      delete state.error;
      if (state.ghost) {
        this._rows.delete(key);
      }
    }
    this._changed.emit();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this._onPageVisibility);
    }
    Signal.clearData(this);
  }

  // ---------------------------------------------------------------- loading

  private async _load(): Promise<void> {
    this._stale = false;
    await this._settingsReady;
    const regions = this._settings.regions;
    const [endpoints, jobs] = await Promise.allSettled([
      listEndpoints(regions, this._server),
      listJobs(regions, this._server)
    ]);
    if (this._isDisposed) {
      return;
    }
    if (endpoints.status === 'fulfilled') {
      this._endpoints = endpoints.value;
      this._listError = null;
      this._pruneRows(endpoints.value);
    } else {
      this._listError = this._loadError(endpoints.reason);
    }
    if (jobs.status === 'fulfilled') {
      this._jobs = jobs.value;
      this._jobsError = null;
      this._pruneJobs(jobs.value);
    } else {
      this._jobsError = this._loadError(jobs.reason);
    }
    this._loadedOnce = true;
  }

  private _loadError(error: unknown): string {
    if (error instanceof ApiError && error.status === 404) {
      return this._trans.__(
        'the sm_magics server extension is not enabled (jupyter server extension enable sm_magics)'
      );
    }
    return messageOf(error);
  }

  /** Forgets state of rows that are gone, except failed deletes kept as ghosts. */
  private _pruneRows(list: IEndpointList): void {
    const listed = new Map(list.endpoints.map(e => [endpointKey(e), e]));
    for (const [key, state] of this._rows) {
      if (listed.has(key)) {
        // A row listed again is no ghost; keep its error and phase.
        delete state.ghost;
        if (state.phase === 'deleted' && listed.get(key)?.status === 'Failed') {
          delete state.phase;
        }
      } else if (!(state.ghost && state.error)) {
        this._rows.delete(key);
      }
    }
    for (const key of Array.from(this._selected)) {
      if (!listed.has(key)) {
        this._selected.delete(key);
      }
    }
  }

  private _pruneJobs(list: IJobList): void {
    const listed = new Set(list.jobs.map(jobKey));
    for (const key of Array.from(this._jobRows.keys())) {
      if (!listed.has(key)) {
        this._jobRows.delete(key);
      }
    }
    for (const job of list.jobs) {
      const state = this._jobRows.get(jobKey(job));
      if (state && !state.stopping) {
        delete state.status; // the listing knows better now
      }
    }
  }

  private _intervalMs(): number {
    const seconds = Math.max(
      MIN_REFRESH_SECONDS,
      Number(this._settings.refreshSeconds) || DEFAULT_SETTINGS.refreshSeconds
    );
    return seconds * 1000;
  }

  /** The next automatic refresh: one full interval from now. */
  private _reschedule(): void {
    if (this._isDisposed) {
      return;
    }
    void this._poll.schedule({
      interval: this._poll.frequency.interval,
      phase: 'resolved'
    });
  }

  /** A tick skipped while hidden: refresh as soon as the panel shows again. */
  private _onTick(_: unknown, state: Poll['state']): void {
    if (state.phase === 'standby') {
      this._stale = true;
    }
  }

  private _onPageVisibility = (): void => {
    if (document.visibilityState !== 'hidden' && this._visible) {
      this._refreshIfStale();
    }
  };

  /** Refreshes when shown with nothing loaded, or after skipped refreshes. */
  private _refreshIfStale(): void {
    if (!this._inFlight && (this._stale || !this._loadedOnce)) {
      void this.refresh();
    }
  }

  private _row(key: string): IRowState {
    let state = this._rows.get(key);
    if (!state) {
      state = {};
      this._rows.set(key, state);
    }
    return state;
  }

  private _setFlow(flow: DeleteFlow | null): void {
    this._deleteFlow = flow;
    this._deleteFlowChanged.emit(flow);
    this._changed.emit();
  }

  private _trans: TranslationBundle;
  private _settings: IPanelSettings;
  private _settingsReady: Promise<unknown>;
  private _server: ServerConnection.ISettings;
  private _poll: Poll;
  private _endpoints: IEndpointList | null = null;
  private _jobs: IJobList | null = null;
  private _listError: string | null = null;
  private _jobsError: string | null = null;
  private _rows = new Map<string, IRowState>();
  private _jobRows = new Map<string, IJobState>();
  private _selected = new Set<string>();
  private _deleteFlow: DeleteFlow | null = null;
  private _inFlight: Promise<void> | null = null;
  private _again = false;
  private _loadedOnce = false;
  private _stale = false;
  private _visible = false;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _deleteFlowChanged = new Signal<this, DeleteFlow | null>(this);
}
