/**
 * What every view of the panel is drawn with: the model it shows and calls,
 * the translations, the money format. Views are functions of these: they
 * read the model's state, build DOM, and turn DOM events into model calls.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { Money } from './format';
import { PanelModel } from './model';

export interface IViewContext {
  model: PanelModel;
  trans: TranslationBundle;
  money: Money;
}

/** `$0.115/h`, or a dash where no price is known. */
export function rate(ctx: IViewContext, usdPerHour: number | null): string {
  return usdPerHour === null || usdPerHour === undefined
    ? '—'
    : ctx.trans.__('%1/h', ctx.money.amount(usdPerHour));
}

export function rateTitle(ctx: IViewContext, usdPerHour: number | null): string {
  return usdPerHour === null || usdPerHour === undefined
    ? ctx.trans.__('No price known for this instance type in this region')
    : ctx.trans.__('cost per hour');
}
