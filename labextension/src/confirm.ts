/**
 * The delete confirmation: names exactly what goes (each endpoint, its
 * endpoint config, its models), what stays because another endpoint uses it,
 * and offers to delete the listed S3 model artifacts too.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IDeletePlan } from './api';
import { h } from './dom';

/** The dialog body; its value is whether to delete the model artifacts in S3. */
export class ConfirmBody extends Widget implements Dialog.IBodyWidget<boolean> {
  constructor(plans: IDeletePlan[], trans: TranslationBundle) {
    super();
    this.addClass('sm-magics-confirm');
    const n = plans.length;
    const list = h('ul', { className: 'sm-magics-confirm-list' });
    const artifacts = h('ul', { className: 'sm-magics-confirm-objects' });
    for (const plan of plans) {
      const parts = h('ul', { className: 'sm-magics-confirm-parts' });
      for (const schedule of plan.schedules ?? []) {
        parts.appendChild(
          h(
            'li',
            { data: { kind: 'monitoring-schedule' } },
            trans.__('monitoring schedule %1', schedule)
          )
        );
      }
      if (plan.config) {
        parts.appendChild(
          h(
            'li',
            { data: { kind: 'endpoint-config' } },
            trans.__('endpoint config %1', plan.config)
          )
        );
      }
      for (const model of plan.models) {
        parts.appendChild(
          h('li', { data: { kind: 'model' } }, trans.__('model %1', model))
        );
      }
      for (const kept of plan.kept) {
        parts.appendChild(
          h(
            'li',
            { className: 'sm-magics-confirm-kept', data: { kind: 'kept' } },
            trans.__('kept: %1', kept)
          )
        );
      }
      for (const error of plan.errors) {
        parts.appendChild(
          h('li', { className: 'sm-magics-confirm-error' }, error)
        );
      }
      for (const url of plan.artifacts) {
        artifacts.appendChild(
          h('li', { data: { kind: 'artifact' } }, url)
        );
      }
      list.appendChild(
        h(
          'li',
          {
            className: 'sm-magics-confirm-endpoint',
            data: { name: plan.name, region: plan.region }
          },
          h(
            'span',
            { className: 'sm-magics-confirm-name' },
            trans.__('endpoint %1', plan.name)
          ),
          ' ',
          h('span', { className: 'sm-magics-confirm-region' }, `(${plan.region})`),
          parts
        )
      );
    }
    this._artifacts = h('input', {
      className: 'sm-magics-delete-artifacts',
      attrs: { type: 'checkbox' }
    });
    const objects = artifacts.childElementCount;
    this.node.append(
      h(
        'p',
        {},
        trans._n(
          'This deletes %1 endpoint and what it serves:',
          'This deletes %1 endpoints and what they serve:',
          n
        )
      ),
      list
    );
    if (objects > 0) {
      this.node.append(
        h(
          'label',
          { className: 'sm-magics-confirm-artifacts' },
          this._artifacts,
          ' ',
          trans._n(
            'Also delete this model artifact in S3:',
            'Also delete these %1 model artifacts in S3:',
            objects
          )
        ),
        artifacts
      );
    }
  }

  getValue(): boolean {
    return this._artifacts.checked;
  }

  private _artifacts: HTMLInputElement;
}

/**
 * Asks before deleting; resolves with `null` when cancelled, else with
 * whether the model artifacts in S3 go too.
 */
export async function confirmDelete(
  plans: IDeletePlan[],
  trans: TranslationBundle
): Promise<{ deleteArtifacts: boolean } | null> {
  const n = plans.length;
  const result = await showDialog<boolean>({
    title: trans._n('Delete %1 endpoint?', 'Delete %1 endpoints?', n),
    body: new ConfirmBody(plans, trans),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: trans.__('Delete') })
    ],
    defaultButton: 0
  });
  if (!result.button.accept) {
    return null;
  }
  return { deleteArtifacts: !!result.value };
}
