/**
 * The running-jobs section: training and tuning jobs with their status,
 * instances, region, elapsed time, cost, and a Stop button.
 */
import { stopIcon } from '@jupyterlab/ui-components';

import { IJob } from './api';
import { button, h } from './dom';
import { duration, instances } from './format';
import { IViewContext, rate, rateTitle } from './view-common';

export function renderJobs(ctx: IViewContext): HTMLElement {
  const { model, trans, money } = ctx;
  const jobs = model.jobs?.jobs ?? [];
  const priced = jobs.filter(j => typeof j.usd_per_hour === 'number');
  const total = priced.reduce((sum, j) => sum + (j.usd_per_hour ?? 0), 0);
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
        model.jobs
          ? h('span', { className: 'sm-magics-count' }, ` (${jobs.length})`)
          : null
      ),
      priced.length > 0
        ? h(
            'span',
            { className: 'sm-magics-jobs-rate', title: trans.__('cost per hour') },
            trans.__('%1/h', money.amount(total))
          )
        : null
    )
  );
  if (model.jobsError) {
    section.append(
      h(
        'div',
        { className: 'sm-magics-error', attrs: { role: 'alert' } },
        trans.__('Could not list jobs: %1', model.jobsError)
      )
    );
  }
  if (!model.jobs) {
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
    list.appendChild(renderJob(ctx, job));
  }
  section.append(list);
  return section;
}

/** One job, the same grid as an endpoint's, without the checkbox. */
export function renderJob(ctx: IViewContext, job: IJob): HTMLElement {
  const { model, trans, money } = ctx;
  const state = model.jobState(job);
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
        onClick: () => void model.stopJob(job)
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
      { className: 'sm-magics-cell-money sm-magics-rate', title: rateTitle(ctx, job.usd_per_hour) },
      rate(ctx, job.usd_per_hour)
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
        : trans.__('%1 so far', money.amount(job.usd_so_far))
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
