/**
 * The endpoints section: a list with a checkbox per row, each endpoint's
 * status, instances, region, age, cost per hour and so far, notebook and
 * TTL (with +1 h and clear), its delete button and its last error.
 */
import { closeIcon, deleteIcon } from '@jupyterlab/ui-components';

import { IEndpoint } from './api';
import { button, checkbox, h } from './dom';
import { duration, instances, parseDate } from './format';
import { IViewContext, rate, rateTitle } from './view-common';

export function renderEndpoints(ctx: IViewContext): HTMLElement {
  const { model, trans } = ctx;
  const endpoints = model.visibleEndpoints();
  const selectable = endpoints.filter(e => model.deletable(e));
  const selected = model.selectedEndpoints();
  const section = h('section', {
    className: 'sm-magics-section sm-magics-endpoints-section',
    attrs: { 'aria-label': trans.__('Endpoints') }
  });
  const listed = model.endpoints?.endpoints.length ?? 0;
  section.append(
    h(
      'div',
      { className: 'sm-magics-section-header' },
      h(
        'h3',
        {},
        trans.__('Endpoints'),
        model.endpoints
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
        onClick: () => void model.startDelete(selected)
      })
    )
  );
  if (!model.endpoints) {
    if (!model.listError) {
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
    onChange: checked => model.select(selectable, checked)
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
    list.appendChild(renderEndpoint(ctx, endpoint));
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
export function renderEndpoint(ctx: IViewContext, endpoint: IEndpoint): HTMLElement {
  const { model, trans, money } = ctx;
  const state = model.rowState(endpoint);
  const busy = !!state.phase;
  const ghost = model.isGhost(endpoint);
  const deletable = model.deletable(endpoint);
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
        checked: deletable && model.isSelected(endpoint),
        disabled: !deletable,
        title: trans.__('Select %1', endpoint.name),
        onChange: checked => model.select([endpoint], checked)
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
        onClick: () => void model.startDelete([endpoint])
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
      { className: 'sm-magics-cell-money sm-magics-rate', title: rateTitle(ctx, endpoint.usd_per_hour) },
      ghost ? '' : rate(ctx, endpoint.usd_per_hour)
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
      endpoint.idle_seconds
        ? h(
            'span',
            {
              className: 'sm-magics-idle',
              title: trans.__('deleted once nobody has invoked it for %1', duration(endpoint.idle_seconds, trans))
            },
            trans.__('idle %1', duration(endpoint.idle_seconds, trans))
          )
        : null,
      h(
        'span',
        { className: 'sm-magics-ttl-actions' },
        button({
          className: 'sm-magics-ttl-extend sm-magics-link',
          label: trans.__('+1 h'),
          title: trans.__('Extend the TTL by one hour'),
          disabled: ttlDisabled,
          onClick: () => void model.changeTtl(endpoint, true)
        }),
        button({
          className: 'sm-magics-ttl-clear sm-magics-link',
          label: trans.__('clear'),
          title: trans.__('Clear the TTL: never delete automatically'),
          disabled: ttlDisabled || !hasTtl,
          onClick: () => void model.changeTtl(endpoint, false)
        })
      )
    ),
    h(
      'div',
      { className: 'sm-magics-cell-so-far sm-magics-so-far', title: trans.__('cost so far') },
      ghost || endpoint.usd_so_far === null || endpoint.usd_so_far === undefined
        ? ''
        : trans.__('%1 so far', money.amount(endpoint.usd_so_far))
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
                onClick: () => model.dismiss(endpoint)
              })
            : null
        )
      : null
  );
}
