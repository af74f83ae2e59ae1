/**
 * The top of the panel: its title, when the listing was last updated with a
 * refresh button, and the summary (what the endpoints burn per hour, which
 * regions are listed and which could not be, a failed listing).
 */
import { refreshIcon } from '@jupyterlab/ui-components';

import { button, h } from './dom';
import { clock, parseDate } from './format';
import { IViewContext } from './view-common';

export function renderHeader(ctx: IViewContext): HTMLElement {
  const { model, trans } = ctx;
  const loading = model.loading;
  const updated = parseDate(model.endpoints?.updated_at);
  const refresh = button({
    className: 'sm-magics-refresh' + (loading ? ' sm-magics-loading' : ''),
    icon: refreshIcon,
    title: trans.__('Refresh'),
    onClick: () => void model.manualRefresh()
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

export function renderSummary(ctx: IViewContext): HTMLElement {
  const { model, trans, money } = ctx;
  const list = model.endpoints;
  const summary = h('div', { className: 'sm-magics-summary' });
  if (list) {
    const burnRate = model.burnRate();
    summary.append(
      h(
        'div',
        { className: 'sm-magics-total' },
        h(
          'span',
          {
            className:
              'sm-magics-burning' +
              (list.billed && burnRate > 0 ? ' sm-magics-hot' : ''),
            title: trans.__('What the live endpoints cost per hour, together')
          },
          trans.__('burning %1/h', money.total(burnRate))
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
    const regionErrors = model.regionErrors();
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
  if (model.listError) {
    summary.append(
      h(
        'div',
        { className: 'sm-magics-error', attrs: { role: 'alert' } },
        trans.__('Could not list endpoints: %1', model.listError)
      )
    );
  }
  return summary;
}

/** The sidebar tab's tooltip: how many endpoints, and what they burn. */
export function panelCaption(ctx: IViewContext): string | null {
  const { model, trans, money } = ctx;
  const list = model.endpoints;
  if (!list) {
    return null;
  }
  const n = list.endpoints.length;
  return list.billed
    ? trans._n(
        'SageMaker: %1 endpoint, burning %2/h',
        'SageMaker: %1 endpoints, burning %2/h',
        n,
        money.total(model.burnRate())
      )
    : trans._n(
        'SageMaker: %1 endpoint (local engine)',
        'SageMaker: %1 endpoints (local engine)',
        n
      );
}
