/**
 * Formatting of money, durations and times for the panel.
 */
import { TranslationBundle } from '@jupyterlab/translation';

/**
 * Formats US dollars in the UI's language: `$0.35` in English, `0,35 $US` in French.
 */
export class Money {
  constructor(languageCode: string) {
    this._locale = Money._supported(languageCode);
  }

  /** The burn rate at the top: always two decimals. */
  total(usd: number): string {
    return this._format(usd, 2, 2);
  }

  /** A row's amount: more decimals for small amounts so cents of cents show. */
  amount(usd: number | null): string {
    if (usd === null || usd === undefined || !isFinite(usd)) {
      return '—';
    }
    const abs = Math.abs(usd);
    if (abs === 0) {
      return this._format(0, 2, 2);
    }
    if (abs >= 1) {
      return this._format(usd, 2, 2);
    }
    if (abs >= 0.01) {
      return this._format(usd, 2, 3);
    }
    return this._format(usd, 4, 4);
  }

  private _format(usd: number, min: number, max: number): string {
    const key = `${min}/${max}`;
    let formatter = this._formatters.get(key);
    if (!formatter) {
      formatter = new Intl.NumberFormat(this._locale, {
        style: 'currency',
        currency: 'USD',
        // "$" rather than "US$" / "$US": the panel is narrow and only ever shows dollars.
        currencyDisplay: 'narrowSymbol',
        minimumFractionDigits: min,
        maximumFractionDigits: max
      });
      this._formatters.set(key, formatter);
    }
    return formatter.format(usd);
  }

  private static _supported(languageCode: string): string {
    const code = (languageCode || 'en').replace('_', '-');
    try {
      return Intl.NumberFormat.supportedLocalesOf([code]).length > 0
        ? code
        : 'en-US';
    } catch {
      return 'en-US';
    }
  }

  private _locale: string;
  private _formatters = new Map<string, Intl.NumberFormat>();
}

/** A duration such as an age or a TTL: `45 s`, `12 min`, `2 h 05 min`, `3 d 4 h`. */
export function duration(
  seconds: number | null,
  trans: TranslationBundle
): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '—';
  }
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) {
    return trans.__('%1 s', s);
  }
  // Rounded: an expiry just extended by an hour reads "1 h 00 min", not "59 min".
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) {
    return trans.__('%1 min', minutes);
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    return trans.__('%1 h %2 min', hours, String(minutes % 60).padStart(2, '0'));
  }
  return trans.__('%1 d %2 h', Math.floor(hours / 24), hours % 24);
}

/** `HH:MM:SS`, local time, 24-hour clock. */
export function clock(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(
    date.getSeconds()
  )}`;
}

/** Parses an ISO timestamp; `null` when absent or unreadable. */
export function parseDate(iso: string | null | undefined): Date | null {
  if (!iso) {
    return null;
  }
  const date = new Date(iso);
  return isNaN(date.getTime()) ? null : date;
}

/** `ml.m5.large × 2`, or what is known of it. */
export function instances(
  type: string | null,
  count: number | null
): string {
  if (!type) {
    return count ? `× ${count}` : '—';
  }
  return count === null || count === undefined ? type : `${type} × ${count}`;
}
