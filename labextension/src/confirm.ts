/**
 * The delete confirmation: names exactly what goes (each endpoint, its
 * endpoint config, its models) and offers to delete the S3 artifacts too.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IEndpoint } from './api';
import { h } from './dom';

/** The dialog body; its value is whether to delete the model artifacts in S3. */
class ConfirmBody extends Widget implements Dialog.IBodyWidget<boolean> {
  constructor(endpoints: IEndpoint[], trans: TranslationBundle) {
    super();
    this.addClass('sm-magics-confirm');
    const n = endpoints.length;
    const list = h('ul', { className: 'sm-magics-confirm-list' });
    for (const endpoint of endpoints) {
      const parts = h('ul', { className: 'sm-magics-confirm-parts' });
      parts.appendChild(
        h(
          'li',
          { data: { kind: 'endpoint-config' } },
          endpoint.config_name
            ? trans.__('endpoint config %1', endpoint.config_name)
            : trans.__('endpoint config: none found')
        )
      );
      const models = endpoint.models ?? [];
      if (models.length === 0) {
        parts.appendChild(
          h('li', { data: { kind: 'model' } }, trans.__('model: none found'))
        );
      }
      for (const model of models) {
        parts.appendChild(
          h('li', { data: { kind: 'model' } }, trans.__('model %1', model))
        );
      }
      list.appendChild(
        h(
          'li',
          {
            className: 'sm-magics-confirm-endpoint',
            data: { name: endpoint.name, region: endpoint.region }
          },
          h(
            'span',
            { className: 'sm-magics-confirm-name' },
            trans.__('endpoint %1', endpoint.name)
          ),
          ' ',
          h('span', { className: 'sm-magics-confirm-region' }, `(${endpoint.region})`),
          parts
        )
      );
    }
    this._artifacts = h('input', {
      className: 'sm-magics-delete-artifacts',
      attrs: { type: 'checkbox' }
    });
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
      list,
      h(
        'label',
        { className: 'sm-magics-confirm-artifacts' },
        this._artifacts,
        ' ',
        trans.__('Also delete the model artifacts in S3')
      )
    );
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
  endpoints: IEndpoint[],
  trans: TranslationBundle
): Promise<{ deleteArtifacts: boolean } | null> {
  const n = endpoints.length;
  const result = await showDialog<boolean>({
    title: trans._n('Delete %1 endpoint?', 'Delete %1 endpoints?', n),
    body: new ConfirmBody(endpoints, trans),
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
