/**
 * The left-sidebar panel: live endpoints across regions with their cost, TTL
 * and delete actions; running training and tuning jobs with a Stop button.
 */
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import {
  closeIcon,
  deleteIcon,
  refreshIcon,
  stopIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import {
  ApiError,
  clearTtl,
  deleteEndpoints,
  extendTtl,
  IDeletePlan,
  IEndpoint,
  IEndpointList,
  IJob,
  IJobList,
  IRegionError,
  ITtlAnswer,
  listEndpoints,
  listJobs,
  planDeletion,
  stopJob
} from './api';
import { confirmDelete } from './confirm';
import { button, checkbox, h } from './dom';
import { clock, duration, instances, Money, parseDate } from './format';
import { sagemakerIcon } from './icon';

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

const MIN_REFRESH_SECONDS = 5;

/** What the panel knows of a row beyond the server's listing. */
interface IRowState {
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

interface IJobState {
  stopping?: boolean;
  status?: string;
  error?: string;
}

const endpointKey = (e: { region: string; name: string }): string =>
  `${e.region}/${e.name}`;
const jobKey = (j: { region: string; kind: string; name: string }): string =>
  `${j.region}/${j.kind}/${j.name}`;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class SageMakerPanel extends Widget {
  /**
   * @param settingsReady - the first listing waits for it (settings loading),
   *   so that it asks for the configured regions.
   */
  constructor(
    translator: ITranslator,
    settings: IPanelSettings = DEFAULT_SETTINGS,
    settingsReady: Promise<unknown> = Promise.resolve()
  ) {
    super();
    this._settingsReady = settingsReady.catch(() => undefined);
    this._trans = translator.load('sm_magics');
    this._money = new Money(translator.languageCode ?? 'en');
    this._settings = { ...settings };
    this.id = 'sm-magics-panel';
    this.addClass('sm-magics-panel');
    this.title.icon = sagemakerIcon;
    this.title.caption = this._trans.__('SageMaker');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', this._trans.__('SageMaker'));
    this._render();
  }

  /** The settings in force. */
  get settings(): IPanelSettings {
    return { ...this._settings };
  }

  /** Applies new settings; a change of regions refreshes at once. */
  configure(settings: Partial<IPanelSettings>): void {
    const regionsChanged =
      settings.regions !== undefined && settings.regions !== this._settings.regions;
    this._settings = { ...this._settings, ...settings };
    if (regionsChanged && this._loadedOnce) {
      void this.refresh();
    } else {
      this._schedule();
    }
  }

  /**
   * Lists endpoints and jobs again. Concurrent calls share one request; a call
   * made while one is in flight runs once more after it.
   */
  refresh(): Promise<void> {
    if (this._inFlight) {
      this._again = true;
      return this._inFlight;
    }
    this._inFlight = this._load().finally(() => {
      this._inFlight = null;
      if (this.isDisposed) {
        return;
      }
      if (this._again) {
        this._again = false;
        void this.refresh();
      } else {
        this._render();
        this._schedule();
      }
    });
    this._render();
    return this._inFlight;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._clearTimer();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._refreshIfStale();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      this._refreshIfStale();
    }
  }

  /** Refreshes when shown with nothing loaded, or after missed refreshes. */
  private _refreshIfStale(): void {
    if (!this._inFlight && (this._stale || !this._loadedOnce)) {
      void this.refresh();
    }
  }

  // ---------------------------------------------------------------- loading

  private async _load(): Promise<void> {
    this._stale = false;
    await this._settingsReady;
    const regions = this._settings.regions;
    const [endpoints, jobs] = await Promise.allSettled([
      listEndpoints(regions),
      listJobs(regions)
    ]);
    if (this.isDisposed) {
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

  private _schedule(): void {
    this._clearTimer();
    if (this.isDisposed) {
      return;
    }
    const seconds = Math.max(
      MIN_REFRESH_SECONDS,
      Number(this._settings.refreshSeconds) || DEFAULT_SETTINGS.refreshSeconds
    );
    this._timer = window.setTimeout(() => {
      this._timer = null;
      if (this.isVisible) {
        void this.refresh();
      } else {
        // Hidden: no requests; refresh when shown again.
        this._stale = true;
      }
    }, seconds * 1000);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  // ---------------------------------------------------------------- actions

  private _row(key: string): IRowState {
    let state = this._rows.get(key);
    if (!state) {
      state = {};
      this._rows.set(key, state);
    }
    return state;
  }

  private async _delete(endpoints: IEndpoint[]): Promise<void> {
    if (endpoints.length === 0) {
      return;
    }
    let plans: IDeletePlan[];
    try {
      plans = (await planDeletion(endpoints)).plans;
    } catch (error) {
      for (const endpoint of endpoints) {
        this._row(endpointKey(endpoint)).error = messageOf(error);
      }
      this._render();
      return;
    }
    const answer = await confirmDelete(plans, this._trans);
    if (!answer || this.isDisposed) {
      return;
    }
    for (const endpoint of endpoints) {
      const key = endpointKey(endpoint);
      const state = this._row(key);
      state.phase = 'deleting';
      delete state.error;
      delete state.ghost;
      this._selected.delete(key);
    }
    this._render();
    try {
      const answered = await deleteEndpoints(endpoints, answer.deleteArtifacts);
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
    this._render();
    await this.refresh();
  }

  private async _changeTtl(endpoint: IEndpoint, extend: boolean): Promise<void> {
    const state = this._row(endpointKey(endpoint));
    state.ttlBusy = true;
    delete state.error;
    this._render();
    try {
      const answer: ITtlAnswer = extend
        ? await extendTtl(endpoint, 60)
        : await clearTtl(endpoint);
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
    this._render();
  }

  private async _stop(job: IJob): Promise<void> {
    const key = jobKey(job);
    const state: IJobState = this._jobRows.get(key) ?? {};
    this._jobRows.set(key, state);
    state.stopping = true;
    delete state.error;
    this._render();
    try {
      const answer = await stopJob(job);
      state.status = answer.status;
    } catch (error) {
      state.error = messageOf(error);
    } finally {
      state.stopping = false;
    }
    this._render();
    await this.refresh();
  }

  private _dismiss(key: string): void {
    const state = this._rows.get(key);
    if (state) {
      delete state.error;
      if (state.ghost) {
        this._rows.delete(key);
      }
    }
    this._render();
  }

  private _manualRefresh(): void {
    // A refresh asked for by hand shows the listing as it is: no ghosts.
    for (const [key, state] of this._rows) {
      if (state.ghost) {
        this._rows.delete(key);
      }
    }
    void this.refresh();
  }

  // ---------------------------------------------------------------- rendering

  /** Endpoints to show: the listing, then ghosts of failed deletes. */
  private _visibleEndpoints(): IEndpoint[] {
    const listed = this._endpoints?.endpoints ?? [];
    const ghosts: IEndpoint[] = [];
    for (const state of this._rows.values()) {
      if (state.ghost && this._isGhost(state.ghost)) {
        ghosts.push(state.ghost);
      }
    }
    return listed.concat(ghosts);
  }

  /** Whether the row is shown only because a failed delete found it gone. */
  private _isGhost(endpoint: IEndpoint): boolean {
    const key = endpointKey(endpoint);
    return (
      !!this._rows.get(key)?.ghost &&
      !(this._endpoints?.endpoints ?? []).some(e => endpointKey(e) === key)
    );
  }

  private _deletable(endpoint: IEndpoint): boolean {
    const state = this._rows.get(endpointKey(endpoint));
    return (
      !state?.phase &&
      !this._isGhost(endpoint) &&
      endpoint.status !== 'Deleting'
    );
  }

  private _render(): void {
    const trans = this._trans;
    const root = this.node;
    const focus = this._focusedControl();
    const scrollTop = root.scrollTop;
    root.replaceChildren(
      this._renderHeader(),
      this._renderSummary(),
      this._renderEndpoints(),
      this._renderJobs()
    );
    root.scrollTop = scrollTop;
    this._restoreFocus(focus);
    const list = this._endpoints;
    if (list) {
      const n = list.endpoints.length;
      this.title.caption = list.billed
        ? trans._n(
            'SageMaker: %1 endpoint, burning %2/h',
            'SageMaker: %1 endpoints, burning %2/h',
            n,
            this._money.total(this._burnRate(list))
          )
        : trans._n(
            'SageMaker: %1 endpoint (local engine)',
            'SageMaker: %1 endpoints (local engine)',
            n
          );
    }
  }

  /** `$0.115/h`, or a dash where no price is known. */
  private _rate(usdPerHour: number | null): string {
    return usdPerHour === null || usdPerHour === undefined
      ? '—'
      : this._trans.__('%1/h', this._money.amount(usdPerHour));
  }

  private _rateTitle(usdPerHour: number | null): string {
    return usdPerHour === null || usdPerHour === undefined
      ? this._trans.__('No price known for this instance type in this region')
      : this._trans.__('cost per hour');
  }

  /**
   * The focused control as a selector that finds it again after a render
   * (the DOM is rebuilt each time): its row's name and region, its class.
   */
  private _focusedControl(): string | null {
    const active = document.activeElement;
    if (!(active instanceof HTMLElement) || !this.node.contains(active)) {
      return null;
    }
    const control = Array.from(active.classList).find(
      c => c.startsWith('sm-magics-') && c !== 'sm-magics-button' && c !== 'sm-magics-link'
    );
    if (!control) {
      return null;
    }
    const row = active.closest<HTMLElement>('.sm-magics-row');
    const rowPart = row
      ? `.sm-magics-row[data-name="${CSS.escape(row.dataset.name ?? '')}"]` +
        `[data-region="${CSS.escape(row.dataset.region ?? '')}"] `
      : '';
    return `${rowPart}.${CSS.escape(control)}`;
  }

  private _restoreFocus(selector: string | null): void {
    if (selector) {
      this.node.querySelector<HTMLElement>(selector)?.focus();
    }
  }

  private _burnRate(list: IEndpointList): number {
    if (typeof list.usd_per_hour === 'number') {
      return list.usd_per_hour;
    }
    return list.endpoints.reduce((sum, e) => sum + (e.usd_per_hour ?? 0), 0);
  }

  private _renderHeader(): HTMLElement {
    const trans = this._trans;
    const loading = this._inFlight !== null;
    const updated = parseDate(this._endpoints?.updated_at);
    const refresh = button({
      className: 'sm-magics-refresh' + (loading ? ' sm-magics-loading' : ''),
      icon: refreshIcon,
      title: trans.__('Refresh'),
      onClick: () => this._manualRefresh()
    });
    refresh.setAttribute('aria-busy', loading ? 'true' : 'false');
    return h(
      'div',
      { className: 'sm-magics-header' },
      h('h2', { className: 'sm-magics-title' }, trans.__('SageMaker')),
      h(
        'span',
        {
          className: 'sm-magics-updated',
          title: updated ? updated.toLocaleString() : ''
        },
        updated
          ? trans.__('updated %1', clock(updated))
          : loading
            ? trans.__('loading…')
            : trans.__('not loaded yet')
      ),
      refresh
    );
  }

  private _renderSummary(): HTMLElement {
    const trans = this._trans;
    const list = this._endpoints;
    const summary = h('div', { className: 'sm-magics-summary' });
    if (list) {
      summary.append(
        h(
          'div',
          { className: 'sm-magics-total' },
          h(
            'span',
            {
              className:
                'sm-magics-burning' +
                (list.billed && this._burnRate(list) > 0 ? ' sm-magics-hot' : ''),
              title: trans.__('What the live endpoints cost per hour, together')
            },
            trans.__('burning %1/h', this._money.total(this._burnRate(list)))
          ),
          list.billed
            ? null
            : h(
                'span',
                {
                  className: 'sm-magics-not-billed',
                  title: list.backend?.description ?? ''
                },
                trans.__('local engine: not billed')
              )
        ),
        h(
          'div',
          {
            className: 'sm-magics-regions',
            title: list.regions.join(', ')
          },
          list.regions.length === 1
            ? trans.__('region %1', list.regions[0])
            : trans._n('%1 region', '%1 regions', list.regions.length)
        )
      );
      const regionErrors = this._regionErrors();
      if (regionErrors.length > 0) {
        summary.append(
          h(
            'div',
            {
              className: 'sm-magics-region-errors',
              title: regionErrors.map(e => `${e.region}: ${e.message}`).join('\n')
            },
            trans._n(
              '%1 region not listed: %2',
              '%1 regions not listed: %2',
              regionErrors.length,
              Array.from(new Set(regionErrors.map(e => e.region))).join(', ')
            )
          )
        );
      }
    }
    if (this._listError) {
      summary.append(
        h(
          'div',
          { className: 'sm-magics-error', attrs: { role: 'alert' } },
          trans.__('Could not list endpoints: %1', this._listError)
        )
      );
    }
    return summary;
  }

  private _regionErrors(): IRegionError[] {
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

  private _renderEndpoints(): HTMLElement {
    const trans = this._trans;
    const endpoints = this._visibleEndpoints();
    const selectable = endpoints.filter(e => this._deletable(e));
    const selected = selectable.filter(e => this._selected.has(endpointKey(e)));
    const section = h('section', {
      className: 'sm-magics-section sm-magics-endpoints-section',
      attrs: { 'aria-label': trans.__('Endpoints') }
    });
    const listed = this._endpoints?.endpoints.length ?? 0;
    section.append(
      h(
        'div',
        { className: 'sm-magics-section-header' },
        h(
          'h3',
          {},
          trans.__('Endpoints'),
          this._endpoints
            ? h('span', { className: 'sm-magics-count' }, ` (${listed})`)
            : null
        ),
        button({
          className: 'sm-magics-delete-selected',
          icon: deleteIcon,
          label:
            selected.length > 0
              ? trans._n('Delete %1 selected', 'Delete %1 selected', selected.length)
              : trans.__('Delete selected'),
          title: trans.__('Delete the selected endpoints with their configs and models'),
          disabled: selected.length === 0,
          onClick: () => void this._delete(selected)
        })
      )
    );
    if (!this._endpoints) {
      if (!this._listError) {
        section.append(h('div', { className: 'sm-magics-empty' }, trans.__('Loading…')));
      }
      return section;
    }
    if (endpoints.length === 0) {
      section.append(
        h('div', { className: 'sm-magics-empty' }, trans.__('No live endpoints.'))
      );
      return section;
    }
    const allChecked = selectable.length > 0 && selected.length === selectable.length;
    const selectAll = checkbox({
      className: 'sm-magics-select-all',
      checked: allChecked,
      disabled: selectable.length === 0,
      title: trans.__('Select all endpoints'),
      onChange: checked => {
        for (const e of selectable) {
          if (checked) {
            this._selected.add(endpointKey(e));
          } else {
            this._selected.delete(endpointKey(e));
          }
        }
        this._render();
      }
    });
    selectAll.indeterminate = selected.length > 0 && !allChecked;
    const list = h(
      'div',
      {
        className: 'sm-magics-list sm-magics-endpoints',
        attrs: { role: 'list', 'aria-label': trans.__('Endpoints') }
      },
      h(
        'div',
        { className: 'sm-magics-row sm-magics-list-header' },
        h('div', { className: 'sm-magics-cell-select' }, selectAll),
        h('div', { className: 'sm-magics-cell-name' }, trans.__('Endpoint')),
        h(
          'div',
          {
            className: 'sm-magics-cell-money',
            title: trans.__('Cost per hour, and cost so far')
          },
          trans.__('Cost')
        )
      )
    );
    for (const endpoint of endpoints) {
      list.appendChild(this._renderEndpoint(endpoint));
    }
    section.append(list);
    return section;
  }

  /**
   * One endpoint, a grid:
   *
   *     [x] name ............................ [delete]
   *         status  type x n  region  age    $/h
   *         notebook  TTL  +1 h  clear       $ so far
   *         error
   */
  private _renderEndpoint(endpoint: IEndpoint): HTMLElement {
    const trans = this._trans;
    const key = endpointKey(endpoint);
    const state = this._rows.get(key) ?? {};
    const busy = !!state.phase;
    const ghost = this._isGhost(endpoint);
    const deletable = this._deletable(endpoint);
    const created = parseDate(endpoint.created_at);

    let statusText = endpoint.status;
    let statusClass = `sm-magics-status sm-magics-status-${endpoint.status}`;
    if (busy) {
      statusText = trans.__('Deleting…');
      statusClass = 'sm-magics-status sm-magics-status-Deleting';
    } else if (ghost) {
      statusText = trans.__('gone');
      statusClass = 'sm-magics-status sm-magics-status-Gone';
    }

    const ttlLeft = endpoint.ttl_seconds_left;
    const hasTtl = endpoint.expires_at !== null && endpoint.expires_at !== undefined;
    const ttlText = !hasTtl
      ? trans.__('no TTL')
      : ttlLeft !== null && ttlLeft <= 0
        ? trans.__('TTL: expiring')
        : trans.__('TTL %1', duration(ttlLeft, trans));
    const expires = parseDate(endpoint.expires_at);
    const ttlDisabled = busy || ghost || !!state.ttlBusy || endpoint.status === 'Deleting';

    const errors = [endpoint.error, state.error].filter(
      (e): e is string => typeof e === 'string' && e.length > 0
    );

    return h(
      'div',
      {
        className:
          'sm-magics-row sm-magics-endpoint' +
          (busy ? ' sm-magics-deleting' : '') +
          (ghost ? ' sm-magics-gone' : '') +
          (errors.length > 0 ? ' sm-magics-has-error' : ''),
        data: {
          name: endpoint.name,
          region: endpoint.region,
          status: busy ? 'Deleting' : endpoint.status
        },
        attrs: { role: 'listitem' }
      },
      h(
        'div',
        { className: 'sm-magics-cell-select' },
        checkbox({
          className: 'sm-magics-select',
          checked: deletable && this._selected.has(key),
          disabled: !deletable,
          title: trans.__('Select %1', endpoint.name),
          onChange: checked => {
            if (checked) {
              this._selected.add(key);
            } else {
              this._selected.delete(key);
            }
            this._render();
          }
        })
      ),
      h(
        'div',
        { className: 'sm-magics-cell-name sm-magics-name', title: endpoint.arn ?? endpoint.name },
        endpoint.name
      ),
      h(
        'div',
        { className: 'sm-magics-cell-actions' },
        button({
          className: 'sm-magics-delete',
          icon: deleteIcon,
          title: trans.__('Delete %1 with its endpoint config and models…', endpoint.name),
          disabled: !deletable,
          onClick: () => void this._delete([endpoint])
        })
      ),
      h(
        'div',
        { className: 'sm-magics-cell-details sm-magics-details' },
        h('span', { className: statusClass }, statusText),
        h(
          'span',
          { className: 'sm-magics-instances' },
          instances(endpoint.instance_type, endpoint.instance_count)
        ),
        h('span', { className: 'sm-magics-region' }, endpoint.region),
        h(
          'span',
          {
            className: 'sm-magics-age',
            title: created ? trans.__('created %1', created.toLocaleString()) : ''
          },
          trans.__('%1 old', duration(endpoint.age_seconds, trans))
        )
      ),
      h(
        'div',
        { className: 'sm-magics-cell-money sm-magics-rate', title: this._rateTitle(endpoint.usd_per_hour) },
        ghost ? '' : this._rate(endpoint.usd_per_hour)
      ),
      h(
        'div',
        { className: 'sm-magics-cell-more sm-magics-details' },
        endpoint.notebook
          ? h(
              'span',
              {
                className: 'sm-magics-notebook',
                title: trans.__('created from %1', endpoint.notebook)
              },
              endpoint.notebook
            )
          : null,
        h(
          'span',
          {
            className:
              'sm-magics-ttl' +
              (hasTtl ? '' : ' sm-magics-no-ttl') +
              (hasTtl && ttlLeft !== null && ttlLeft < 15 * 60 ? ' sm-magics-ttl-soon' : ''),
            title: expires
              ? trans.__('deleted automatically at %1', expires.toLocaleString())
              : trans.__('no automatic deletion')
          },
          ttlText
        ),
        h(
          'span',
          { className: 'sm-magics-ttl-actions' },
          button({
            className: 'sm-magics-ttl-extend sm-magics-link',
            label: trans.__('+1 h'),
            title: trans.__('Extend the TTL by one hour'),
            disabled: ttlDisabled,
            onClick: () => void this._changeTtl(endpoint, true)
          }),
          button({
            className: 'sm-magics-ttl-clear sm-magics-link',
            label: trans.__('clear'),
            title: trans.__('Clear the TTL: never delete automatically'),
            disabled: ttlDisabled || !hasTtl,
            onClick: () => void this._changeTtl(endpoint, false)
          })
        )
      ),
      h(
        'div',
        { className: 'sm-magics-cell-so-far sm-magics-so-far', title: trans.__('cost so far') },
        ghost || endpoint.usd_so_far === null || endpoint.usd_so_far === undefined
          ? ''
          : trans.__('%1 so far', this._money.amount(endpoint.usd_so_far))
      ),
      errors.length > 0
        ? h(
            'div',
            { className: 'sm-magics-cell-error sm-magics-row-error', attrs: { role: 'alert' } },
            h('span', { className: 'sm-magics-row-error-text' }, errors.join(' — ')),
            state.error
              ? button({
                  className: 'sm-magics-dismiss',
                  icon: closeIcon,
                  title: trans.__('Dismiss'),
                  onClick: () => this._dismiss(key)
                })
              : null
          )
        : null
    );
  }

  private _renderJobs(): HTMLElement {
    const trans = this._trans;
    const jobs = this._jobs?.jobs ?? [];
    const priced = jobs.filter(j => typeof j.usd_per_hour === 'number');
    const rate = priced.reduce((sum, j) => sum + (j.usd_per_hour ?? 0), 0);
    const section = h('section', {
      className: 'sm-magics-section sm-magics-jobs-section',
      attrs: { 'aria-label': trans.__('Running jobs') }
    });
    section.append(
      h(
        'div',
        { className: 'sm-magics-section-header' },
        h(
          'h3',
          {},
          trans.__('Running jobs'),
          this._jobs
            ? h('span', { className: 'sm-magics-count' }, ` (${jobs.length})`)
            : null
        ),
        priced.length > 0
          ? h(
              'span',
              { className: 'sm-magics-jobs-rate', title: trans.__('cost per hour') },
              trans.__('%1/h', this._money.amount(rate))
            )
          : null
      )
    );
    if (this._jobsError) {
      section.append(
        h(
          'div',
          { className: 'sm-magics-error', attrs: { role: 'alert' } },
          trans.__('Could not list jobs: %1', this._jobsError)
        )
      );
    }
    if (!this._jobs) {
      return section;
    }
    if (jobs.length === 0) {
      section.append(h('div', { className: 'sm-magics-empty' }, trans.__('No running jobs.')));
      return section;
    }
    const list = h('div', {
      className: 'sm-magics-list sm-magics-jobs',
      attrs: { role: 'list', 'aria-label': trans.__('Running jobs') }
    });
    for (const job of jobs) {
      list.appendChild(this._renderJob(job));
    }
    section.append(list);
    return section;
  }

  /** One job, the same grid as an endpoint's, without the checkbox. */
  private _renderJob(job: IJob): HTMLElement {
    const trans = this._trans;
    const state = this._jobRows.get(jobKey(job)) ?? {};
    const status = state.stopping ? 'Stopping' : state.status ?? job.status;
    const stoppable = !state.stopping && status === 'InProgress';
    const kind = job.kind === 'tuning' ? trans.__('tuning') : trans.__('training');
    return h(
      'div',
      {
        className: 'sm-magics-row sm-magics-job' + (state.error ? ' sm-magics-has-error' : ''),
        data: { name: job.name, region: job.region, kind: job.kind, status },
        attrs: { role: 'listitem' }
      },
      h('div', { className: 'sm-magics-cell-name sm-magics-name', title: job.name }, job.name),
      h(
        'div',
        { className: 'sm-magics-cell-actions' },
        button({
          className: 'sm-magics-stop',
          icon: stopIcon,
          label: trans.__('Stop'),
          title: trans.__('Stop %1', job.name),
          disabled: !stoppable,
          onClick: () => void this._stop(job)
        })
      ),
      h(
        'div',
        { className: 'sm-magics-cell-details sm-magics-details' },
        h('span', { className: 'sm-magics-kind' }, kind),
        h(
          'span',
          {
            className: `sm-magics-status sm-magics-status-${status}`,
            title: job.secondary_status ?? ''
          },
          state.stopping
            ? trans.__('Stopping…')
            : job.secondary_status && !state.status
              ? `${status} · ${job.secondary_status}`
              : status
        ),
        h(
          'span',
          { className: 'sm-magics-instances' },
          instances(job.instance_type, job.instance_count)
        ),
        h('span', { className: 'sm-magics-region' }, job.region),
        h('span', { className: 'sm-magics-age' }, duration(job.elapsed_seconds, trans))
      ),
      h(
        'div',
        { className: 'sm-magics-cell-money sm-magics-rate', title: this._rateTitle(job.usd_per_hour) },
        this._rate(job.usd_per_hour)
      ),
      h(
        'div',
        { className: 'sm-magics-cell-more sm-magics-details' },
        job.notebook
          ? h(
              'span',
              {
                className: 'sm-magics-notebook',
                title: trans.__('created from %1', job.notebook)
              },
              job.notebook
            )
          : null
      ),
      h(
        'div',
        { className: 'sm-magics-cell-so-far sm-magics-so-far', title: trans.__('cost so far') },
        job.usd_so_far === null || job.usd_so_far === undefined
          ? ''
          : trans.__('%1 so far', this._money.amount(job.usd_so_far))
      ),
      state.error
        ? h(
            'div',
            { className: 'sm-magics-cell-error sm-magics-row-error', attrs: { role: 'alert' } },
            state.error
          )
        : null
    );
  }

  private _trans: TranslationBundle;
  private _settingsReady: Promise<unknown>;
  private _money: Money;
  private _settings: IPanelSettings;
  private _endpoints: IEndpointList | null = null;
  private _jobs: IJobList | null = null;
  private _listError: string | null = null;
  private _jobsError: string | null = null;
  private _rows = new Map<string, IRowState>();
  private _jobRows = new Map<string, IJobState>();
  private _selected = new Set<string>();
  private _inFlight: Promise<void> | null = null;
  private _again = false;
  private _loadedOnce = false;
  private _stale = false;
  private _timer: number | null = null;
}
